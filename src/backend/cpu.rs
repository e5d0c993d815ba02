//! The rayon CPU backend.
//!
//! Points are borrowed from the host matrix. The assignment takes four rows at a time against
//! blocks of eight centroids, stored transposed (d × k, padded to a multiple of 8) so one vector
//! load of feature j of eight centroids serves the four rows, with accumulators and a lane-wise
//! running minimum held in registers. It is compiled for the baseline and for AVX2 + FMA and the
//! widest the CPU runs is chosen at start. The search uses ‖c‖² − 2x·c; the chosen distance is
//! then computed exactly as ‖x − c‖². Partial sums are f64 per fixed partition, merged in
//! partition order, so results do not depend on the thread count.

use super::{Assignment, Backend, BackendInfo, BackendKind, StepPartials};
use crate::data::matrix::Matrix;
use crate::error::Result;
use crate::parallel::{PARTITION_ROWS, fold_partitions, fold_partitions_mut};
use rayon::prelude::*;

/// The CPU backend over borrowed points.
pub struct CpuBackend<'a> {
    points: &'a Matrix,
    part_rows: usize,
    labels: Vec<u32>,
    closest: Vec<f32>,
    part_potential: Vec<f64>,
}

/// Centroids per search block (one 256-bit vector of f32).
const LANES: usize = 8;
/// Rows per search pass.
const SEARCH_ROWS: usize = 6;

/// Centroids laid out for the search: padded to a multiple of [`LANES`], transposed and
/// scaled by −2 (`transposed[j * k_padded + c]` = −2·c_j), with their squared norms (+∞ for the
/// padding, which is never nearest). Scaling by −2 is exact, so x·(−2c) rounds as (−2x)·c.
struct Search {
    k_padded: usize,
    d: usize,
    transposed: Vec<f32>,
    norms: Vec<f32>,
    kernel: NearestFn,
    accumulate: AccumulateFn,
}

type NearestFn = fn(&Search, &[f32], &mut [u32]);
type AccumulateFn = fn(&[f32], &[u32], &mut [u32], &Matrix, &mut StepPartials);

/// Adds rows to the partial sums of their new labels (`fresh`), counting the rows whose label
/// changed from `labels` (which is updated): counts, f64 sums, and the exact ‖x − c‖² inertia.
#[inline(always)]
fn accumulate_rows(
    rows: &[f32],
    fresh: &[u32],
    labels: &mut [u32],
    centroids: &Matrix,
    part: &mut StepPartials,
) {
    let d = centroids.cols();
    for ((x, &label), old) in rows.chunks_exact(d).zip(fresh).zip(labels.iter_mut()) {
        let c = label as usize;
        if *old != label {
            part.changed += 1;
            *old = label;
        }
        part.counts[c] += 1;
        part.inertia += f64::from(sq_distance(x, centroids.row(c)));
        for (s, &v) in part.sums[c * d..(c + 1) * d].iter_mut().zip(x) {
            *s += f64::from(v);
        }
    }
}

fn accumulate_baseline(
    rows: &[f32],
    fresh: &[u32],
    labels: &mut [u32],
    centroids: &Matrix,
    part: &mut StepPartials,
) {
    accumulate_rows(rows, fresh, labels, centroids, part);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn accumulate_avx2(
    rows: &[f32],
    fresh: &[u32],
    labels: &mut [u32],
    centroids: &Matrix,
    part: &mut StepPartials,
) {
    accumulate_rows(rows, fresh, labels, centroids, part);
}

impl Search {
    fn new(centroids: &Matrix) -> Self {
        let (k, d) = (centroids.rows(), centroids.cols());
        let k_padded = k.div_ceil(LANES) * LANES;
        let mut transposed = vec![0.0; k_padded * d];
        for c in 0..k {
            for (j, &v) in centroids.row(c).iter().enumerate() {
                transposed[j * k_padded + c] = -2.0 * v;
            }
        }
        let mut norms: Vec<f32> = (0..k)
            .map(|c| centroids.row(c).iter().map(|v| v * v).sum())
            .collect();
        norms.resize(k_padded, f32::INFINITY);
        Self {
            k_padded,
            d,
            transposed,
            norms,
            kernel: pick_nearest(),
            accumulate: pick_accumulate(),
        }
    }

    /// Nearest centroid of each row in `rows` (row-major, a multiple of d), written to `labels`.
    fn nearest(&self, rows: &[f32], labels: &mut [u32]) {
        (self.kernel)(self, rows, labels);
    }
}

/// The search kernel: for [`SEARCH_ROWS`] rows at a time and each block of [`LANES`]
/// centroids, ‖c‖² − 2x·c accumulated over the features in registers (one load of the
/// centroids' feature j serves every row), then a lane-wise running minimum; the lanes are
/// reduced at the end. Ties go to the lowest index, as scikit-learn's.
fn nearest_rows(search: &Search, rows: &[f32], labels: &mut [u32]) {
    let (k_padded, d) = (search.k_padded, search.d);
    let n = labels.len();
    let mut x = vec![0f32; d * SEARCH_ROWS];
    for group in (0..n).step_by(SEARCH_ROWS) {
        let count = SEARCH_ROWS.min(n - group);
        for r in 0..SEARCH_ROWS {
            // A short last group repeats its last row; the extra answers are dropped.
            let row = &rows[(group + r.min(count - 1)) * d..][..d];
            for j in 0..d {
                x[j * SEARCH_ROWS + r] = row[j];
            }
        }
        let mut best = [[f32::INFINITY; LANES]; SEARCH_ROWS];
        let mut best_index = [[0u32; LANES]; SEARCH_ROWS];
        for block in (0..k_padded).step_by(LANES) {
            let norms: &[f32; LANES] = search.norms[block..block + LANES].try_into().unwrap();
            let mut acc = [*norms; SEARCH_ROWS];
            for j in 0..d {
                let w: &[f32; LANES] = search.transposed[j * k_padded + block..][..LANES]
                    .try_into()
                    .unwrap();
                let xj: &[f32; SEARCH_ROWS] = x[j * SEARCH_ROWS..(j + 1) * SEARCH_ROWS]
                    .try_into()
                    .unwrap();
                for r in 0..SEARCH_ROWS {
                    for l in 0..LANES {
                        acc[r][l] += xj[r] * w[l];
                    }
                }
            }
            for r in 0..SEARCH_ROWS {
                for l in 0..LANES {
                    let better = acc[r][l] < best[r][l];
                    best[r][l] = if better { acc[r][l] } else { best[r][l] };
                    best_index[r][l] = if better {
                        (block + l) as u32
                    } else {
                        best_index[r][l]
                    };
                }
            }
        }
        for r in 0..count {
            let mut choice = (best[r][0], best_index[r][0]);
            for l in 1..LANES {
                let candidate = (best[r][l], best_index[r][l]);
                if candidate.0 < choice.0 || (candidate.0 == choice.0 && candidate.1 < choice.1) {
                    choice = candidate;
                }
            }
            labels[group + r] = choice.1;
        }
    }
}

/// `B` blocks of centroids from `block` on, for the [`SEARCH_ROWS`] rows `x` (each of d
/// features): accumulates ‖c‖² − 2x·c in registers and folds it into the
/// lane-wise running minimum (`best`, `best_index`), blocks in increasing order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // acc[r][b] reads better indexed by row and block
fn search_blocks<const B: usize>(
    search: &Search,
    x: &[&[f32]; SEARCH_ROWS],
    block: usize,
    best: &mut [std::arch::x86_64::__m256; SEARCH_ROWS],
    best_index: &mut [std::arch::x86_64::__m256i; SEARCH_ROWS],
) {
    use std::arch::x86_64::{
        __m256, _CMP_LT_OQ, _mm256_add_epi32, _mm256_blendv_ps, _mm256_castps_si256,
        _mm256_castsi256_ps, _mm256_cmp_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_epi32,
        _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps,
    };
    let k_padded = search.k_padded;
    let load = |values: &[f32]| {
        let values: &[f32; LANES] = values[..LANES].try_into().unwrap();
        // SAFETY: reads exactly LANES floats from an array of LANES floats.
        unsafe { _mm256_loadu_ps(values.as_ptr()) }
    };
    let mut acc: [[__m256; B]; SEARCH_ROWS] = [[_mm256_setzero_ps(); B]; SEARCH_ROWS];
    for b in 0..B {
        let norms = load(&search.norms[block + b * LANES..]);
        for row in acc.iter_mut() {
            row[b] = norms;
        }
    }
    for j in 0..search.d {
        let mut w = [_mm256_setzero_ps(); B];
        for (b, w) in w.iter_mut().enumerate() {
            *w = load(&search.transposed[j * k_padded + block + b * LANES..]);
        }
        for (r, row) in x.iter().enumerate() {
            // SAFETY: every row holds d = search.d features and j < d.
            let xr = _mm256_set1_ps(unsafe { *row.get_unchecked(j) });
            for b in 0..B {
                acc[r][b] = _mm256_fmadd_ps(xr, w[b], acc[r][b]);
            }
        }
    }
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for b in 0..B {
        let index = _mm256_add_epi32(_mm256_set1_epi32((block + b * LANES) as i32), lanes);
        for r in 0..SEARCH_ROWS {
            let better = _mm256_cmp_ps::<_CMP_LT_OQ>(acc[r][b], best[r]);
            best[r] = _mm256_blendv_ps(best[r], acc[r][b], better);
            best_index[r] = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(best_index[r]),
                _mm256_castsi256_ps(index),
                better,
            ));
        }
    }
}

/// [`nearest_rows`] written with AVX2 + FMA intrinsics: the compiler does not vectorize the
/// generic form across the eight centroid lanes (it emits scalar fused multiply-adds), so the
/// vector form is spelled out. Same arithmetic, same order, same tie rule.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn nearest_avx2(search: &Search, rows: &[f32], labels: &mut [u32]) {
    use std::arch::x86_64::{
        _CMP_EQ_OQ, _mm256_blendv_epi8, _mm256_castps_si256, _mm256_cmp_ps, _mm256_cvtsi256_si32,
        _mm256_min_epu32, _mm256_min_ps, _mm256_permute2f128_ps, _mm256_permute2x128_si256,
        _mm256_set1_epi32, _mm256_set1_ps, _mm256_shuffle_epi32, _mm256_shuffle_ps,
    };
    let (k_padded, d) = (search.k_padded, search.d);
    let n = labels.len();
    for group in (0..n).step_by(SEARCH_ROWS) {
        let count = SEARCH_ROWS.min(n - group);
        // A short last group repeats its last row; the extra answers are dropped.
        let x: [&[f32]; SEARCH_ROWS] =
            std::array::from_fn(|r| &rows[(group + r.min(count - 1)) * d..][..d]);
        let mut best = [_mm256_set1_ps(f32::INFINITY); SEARCH_ROWS];
        let mut best_index = [_mm256_set1_epi32(0); SEARCH_ROWS];
        // Two blocks of centroids per pass halve the broadcasts of the rows' features.
        let mut block = 0;
        while block + 2 * LANES <= k_padded {
            search_blocks::<2>(search, &x, block, &mut best, &mut best_index);
            block += 2 * LANES;
        }
        if block < k_padded {
            search_blocks::<1>(search, &x, block, &mut best, &mut best_index);
        }
        for r in 0..count {
            // Horizontal minimum of the values, then the lowest index among the lanes that
            // hold it, without branches (the comparisons are unpredictable).
            let v = best[r];
            let m = _mm256_min_ps(v, _mm256_permute2f128_ps::<1>(v, v));
            let m = _mm256_min_ps(m, _mm256_shuffle_ps::<0b01_00_11_10>(m, m));
            let m = _mm256_min_ps(m, _mm256_shuffle_ps::<0b10_11_00_01>(m, m));
            let holds = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_EQ_OQ>(v, m));
            let c = _mm256_blendv_epi8(_mm256_set1_epi32(-1), best_index[r], holds);
            let c = _mm256_min_epu32(c, _mm256_permute2x128_si256::<1>(c, c));
            let c = _mm256_min_epu32(c, _mm256_shuffle_epi32::<0b01_00_11_10>(c));
            let c = _mm256_min_epu32(c, _mm256_shuffle_epi32::<0b10_11_00_01>(c));
            labels[group + r] = _mm256_cvtsi256_si32(c) as u32;
        }
    }
}

/// The accumulation compiled for AVX2 where present: the same arithmetic in the same order
/// (no fused operations in it), in wider vectors.
fn pick_accumulate() -> AccumulateFn {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_fma() {
        return |rows, fresh, labels, centroids, part| {
            // SAFETY: the CPU was just found to support AVX2 and FMA.
            unsafe { accumulate_avx2(rows, fresh, labels, centroids, part) }
        };
    }
    accumulate_baseline
}

/// The widest search kernel this CPU runs: AVX2 + FMA where present, else the baseline.
fn pick_nearest() -> NearestFn {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_fma() {
        return |search, rows, labels| {
            // SAFETY: the CPU was just found to support AVX2 and FMA.
            unsafe { nearest_avx2(search, rows, labels) }
        };
    }
    nearest_rows
}

/// ‖x − c‖², accumulated in f32 over eight independent lanes (so it vectorizes), then summed
/// in a fixed order.
#[inline]
pub fn sq_distance(x: &[f32], c: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (xs, cs) = (x.chunks_exact(8), c.chunks_exact(8));
    let (x_tail, c_tail) = (xs.remainder(), cs.remainder());
    for (xa, ca) in xs.zip(cs) {
        for l in 0..8 {
            let diff = xa[l] - ca[l];
            lanes[l] += diff * diff;
        }
    }
    let mut tail = 0.0f32;
    for (a, b) in x_tail.iter().zip(c_tail) {
        tail += (a - b) * (a - b);
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
        + tail
}

impl<'a> CpuBackend<'a> {
    /// A backend over `points`, which stay borrowed for its lifetime.
    pub fn new(points: &'a Matrix) -> Self {
        Self::with_partition_rows(points, PARTITION_ROWS)
    }

    /// Like `new`, with a given partition size (tests use small ones to cover many partitions).
    pub fn with_partition_rows(points: &'a Matrix, part_rows: usize) -> Self {
        Self {
            points,
            part_rows: part_rows.max(4),
            labels: vec![u32::MAX; points.rows()],
            closest: Vec::new(),
            part_potential: Vec::new(),
        }
    }

    fn rows_of(&self, range: std::ops::Range<usize>) -> &[f32] {
        let d = self.points.cols();
        &self.points.as_slice()[range.start * d..range.end * d]
    }

    /// Updates `closest` with the distances to `centre` (`replace`: overwrite instead of min) and
    /// recomputes the per-partition potentials; returns the total.
    fn update_closest(&mut self, centre: &[f32], replace: bool) -> f64 {
        let n = self.points.rows();
        if self.closest.len() != n {
            self.closest = vec![f32::INFINITY; n];
        }
        let points = self.points;
        let d = points.cols();
        let mut potentials = Vec::with_capacity(n.div_ceil(self.part_rows));
        let mut closest = std::mem::take(&mut self.closest);
        fold_partitions_mut(
            n,
            self.part_rows,
            &mut closest,
            |range, out| {
                let rows = &points.as_slice()[range.start * d..range.end * d];
                let mut sum = 0.0f64;
                for (x, c) in rows.chunks_exact(d).zip(out.iter_mut()) {
                    let dist = sq_distance(x, centre);
                    if replace || dist < *c {
                        *c = dist;
                    }
                    sum += f64::from(*c);
                }
                sum
            },
            |sum| potentials.push(sum),
        );
        self.closest = closest;
        self.part_potential = potentials;
        self.part_potential.iter().sum()
    }
}

impl Backend for CpuBackend<'_> {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Cpu,
            adapter: format!("rayon CPU backend on {}", std::env::consts::ARCH),
            threads: rayon::current_num_threads(),
        }
    }

    fn rows(&self) -> usize {
        self.points.rows()
    }

    fn dims(&self) -> usize {
        self.points.cols()
    }

    fn reset_labels(&mut self) -> Result<()> {
        self.labels.fill(u32::MAX);
        Ok(())
    }

    fn step(&mut self, centroids: &Matrix) -> Result<StepPartials> {
        let search = Search::new(centroids);
        let (k, d) = (centroids.rows(), search.d);
        let mut total = StepPartials::zeros(k, d);
        let points = self.points;
        fold_partitions_mut(
            points.rows(),
            self.part_rows,
            &mut self.labels,
            |range, labels| {
                let rows = &points.as_slice()[range.start * d..range.end * d];
                let mut part = StepPartials::zeros(k, d);
                let mut fresh = vec![0u32; labels.len()];
                search.nearest(rows, &mut fresh);
                (search.accumulate)(rows, &fresh, labels, centroids, &mut part);
                part
            },
            |part| total.merge(&part),
        );
        Ok(total)
    }

    fn assign(&mut self, centroids: &Matrix) -> Result<Assignment> {
        let search = Search::new(centroids);
        let d = search.d;
        let n = self.points.rows();
        let mut labels = vec![0u32; n];
        let mut sq_distances = vec![0f32; n];
        let part_rows = self.part_rows;
        labels
            .par_chunks_mut(part_rows)
            .zip(sq_distances.par_chunks_mut(part_rows))
            .enumerate()
            .for_each(|(p, (labels, dists))| {
                let start = p * part_rows;
                let rows = self.rows_of(start..start + labels.len());
                search.nearest(rows, labels);
                for ((x, &label), dist) in rows
                    .chunks_exact(d)
                    .zip(labels.iter())
                    .zip(dists.iter_mut())
                {
                    *dist = sq_distance(x, centroids.row(label as usize));
                }
            });
        Ok(Assignment {
            labels,
            sq_distances,
        })
    }

    fn seed_first(&mut self, centre: &[f32]) -> Result<f64> {
        Ok(self.update_closest(centre, true))
    }

    fn seed_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        Ok(super::sample_by_potential(
            &self.closest,
            &self.part_potential,
            self.part_rows,
            targets,
        ))
    }

    fn seed_trials(&mut self, candidates: &Matrix) -> Result<Vec<f64>> {
        let t = candidates.rows();
        let d = self.points.cols();
        let mut totals = vec![0.0f64; t];
        let closest = &self.closest;
        fold_partitions(
            self.points.rows(),
            self.part_rows,
            |range| {
                let rows = self.rows_of(range.clone());
                let mut sums = vec![0.0f64; t];
                for (x, &c) in rows.chunks_exact(d).zip(&closest[range]) {
                    for (s, cand) in sums.iter_mut().zip(candidates.as_slice().chunks_exact(d)) {
                        *s += f64::from(sq_distance(x, cand).min(c));
                    }
                }
                sums
            },
            |sums| totals.iter_mut().zip(&sums).for_each(|(a, b)| *a += b),
        );
        Ok(totals)
    }

    fn seed_commit(&mut self, centre: &[f32]) -> Result<()> {
        self.update_closest(centre, false);
        Ok(())
    }

    fn end_seeding(&mut self) {
        self.closest = Vec::new();
        self.part_potential = Vec::new();
    }

    fn silhouette_exact(&mut self, sorted: &Matrix, offsets: &[usize]) -> Result<Vec<f32>> {
        Ok(super::cpu_silhouette::exact_sorted(sorted, offsets))
    }

    fn exact_silhouette_limit(&self) -> usize {
        super::cpu_silhouette::rows_within(
            super::cpu_silhouette::AUTO_BUDGET_S,
            self.points.cols(),
            rayon::current_num_threads(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force nearest centroid in f64, lowest index on ties.
    fn brute(x: &[f32], centroids: &Matrix) -> u32 {
        let mut best = (f64::INFINITY, 0);
        for c in 0..centroids.rows() {
            let dist: f64 = x
                .iter()
                .zip(centroids.row(c))
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum();
            if dist < best.0 {
                best = (dist, c as u32);
            }
        }
        best.1
    }

    #[test]
    fn assignment_matches_brute_force_for_every_remainder() {
        for (n, d, k) in [(13, 3, 5), (8, 1, 2), (33, 7, 9), (1, 2, 1)] {
            let points = Matrix::from_vec(
                (0..n * d).map(|i| ((i * 37 % 101) as f32) * 0.1).collect(),
                d,
            );
            let centroids = Matrix::from_vec(
                (0..k * d).map(|i| ((i * 53 % 89) as f32) * 0.1).collect(),
                d,
            );
            let mut backend = CpuBackend::with_partition_rows(&points, 4);
            let got = backend.assign(&centroids).unwrap();
            for i in 0..n {
                assert_eq!(
                    got.labels[i],
                    brute(points.row(i), &centroids),
                    "n={n} d={d} k={k} row {i}"
                );
            }
            let step = backend.step(&centroids).unwrap();
            assert_eq!(step.counts.iter().sum::<u64>(), n as u64);
            assert_eq!(step.changed, n as u64);
            assert_eq!(backend.step(&centroids).unwrap().changed, 0);
        }
    }

    #[test]
    fn the_dispatched_search_agrees_with_the_portable_one_and_keeps_the_lowest_index_on_ties() {
        // k around the block sizes (8 and 16), rows not a multiple of SEARCH_ROWS, exact ties
        // (duplicate centroids).
        for (n, d, k) in [
            (97, 16, 1),
            (50, 5, 7),
            (61, 16, 9),
            (40, 3, 16),
            (77, 16, 17),
            (31, 2, 33),
        ] {
            let points = Matrix::from_vec(
                (0..n * d)
                    .map(|i| ((i * 7919 % 1013) as f32) * 0.01 - 5.0)
                    .collect(),
                d,
            );
            let mut values: Vec<f32> = (0..k * d)
                .map(|i| ((i * 104_729 % 977) as f32) * 0.01 - 5.0)
                .collect();
            if k > 2 {
                // Centroid k − 1 repeats centroid 1: never chosen over it.
                let copy = values[d..2 * d].to_vec();
                values[(k - 1) * d..].copy_from_slice(&copy);
            }
            let centroids = Matrix::from_vec(values, d);
            let search = Search::new(&centroids);
            let (mut fast, mut portable) = (vec![0u32; n], vec![0u32; n]);
            search.nearest(points.as_slice(), &mut fast);
            nearest_rows(&search, points.as_slice(), &mut portable);
            assert_eq!(fast, portable, "n={n} d={d} k={k}");
            for (i, &label) in fast.iter().enumerate() {
                assert_eq!(
                    label,
                    brute(points.row(i), &centroids),
                    "n={n} d={d} k={k} row {i}"
                );
                if k > 2 {
                    assert_ne!(label as usize, k - 1, "a tie goes to the lower index");
                }
            }
        }
    }

    #[test]
    fn seeding_potentials_and_sampling_follow_the_cumulative_sum() {
        // Points 0, 1, 2, 3 on a line; centre at 0: distances 0, 1, 4, 9 (cumsum 0, 1, 5, 14).
        let points = Matrix::from_vec(vec![0., 1., 2., 3.], 1);
        let mut backend = CpuBackend::with_partition_rows(&points, 4);
        assert_eq!(backend.seed_first(&[0.0]).unwrap(), 14.0);
        assert_eq!(
            backend.seed_sample(&[0.5, 1.0, 1.01, 13.9, 20.0]).unwrap(),
            vec![1, 1, 2, 3, 3]
        );
        // Candidate at 3: min(0,9)+min(1,4)+min(4,1)+min(9,0) = 2.
        let candidates = Matrix::from_vec(vec![3.0, 1.0], 1);
        assert_eq!(
            backend.seed_trials(&candidates).unwrap(),
            vec![2.0, 0.0 + 0.0 + 1.0 + 4.0]
        );
        backend.seed_commit(&[3.0]).unwrap();
        assert_eq!(backend.seed_sample(&[1.5]).unwrap(), vec![2]);
    }
}
