//! The rayon CPU backend.
//!
//! Points are borrowed from the host matrix. The assignment takes sixteen rows at a time,
//! copied feature-major into a small panel so that the rows are the lanes of two vectors, and
//! passes of up to six centroids (stored × −2, feature-major per pass): per feature, two loads
//! of the rows and one broadcast per centroid feed twelve multiply-adds held in registers, then
//! each row keeps its running minimum and index lane by lane, with no horizontal reduction. It is
//! compiled for the baseline, for AVX2 + FMA and for AVX-512 (32 rows, passes of up to twelve
//! centroids), and the widest the CPU runs is chosen at start (`Simd::chosen`).
//! The search uses ‖c‖² − 2x·c; the chosen distance is then computed exactly as ‖x − c‖².
//! Partial sums are f64 per fixed partition, merged in partition order, so results do not depend
//! on the thread count.

use super::{Assignment, Backend, BackendInfo, BackendKind, Simd, StepPartials};
use crate::data::matrix::Matrix;
use crate::error::Result;
use crate::parallel::{PARTITION_ROWS, fold_partitions_mut};
use rayon::prelude::*;

/// The CPU backend over borrowed points.
pub struct CpuBackend<'a> {
    points: &'a Matrix,
    part_rows: usize,
    labels: Vec<u32>,
    closest: Vec<f32>,
    part_potential: Vec<f64>,
    seed_distances: SeedDistancesFn,
    seeding: Deferred,
}

/// The k-means++ centre committed last, whose distances are folded into `closest` by the next
/// pass over the points (the candidates' trial pass) instead of a pass of its own; the
/// partitions the sampling needed before that are brought up to date on their own. The
/// partition potentials after the commit are the chosen candidate's sums from the trial pass:
/// the same values in the same order as a pass of its own would give.
#[derive(Default)]
struct Deferred {
    /// The centre not yet folded into `closest`.
    centre: Option<Vec<f32>>,
    /// Partitions already brought up to date with it.
    applied: Vec<bool>,
    /// The last trial pass: its candidates and their potentials per partition (`p·t + s`).
    candidates: Option<Matrix>,
    part_sums: Vec<f64>,
}

/// How a seeding pass treats the first of its centres.
#[derive(Clone, Copy, PartialEq)]
enum Lead {
    /// No lead: every centre is a trial candidate.
    None,
    /// Its distances replace `closest` (the first centre).
    Replace,
    /// `closest` takes the minimum with its distances (a committed centre).
    Min,
}

/// Rows per seeding chunk: the distance buffer (rows × centres) stays in cache.
const SEED_CHUNK: usize = 1024;

/// One partition of a seeding pass: `centres` against `rows` (row-major, d features), the lead
/// (if any) updating `closest` first; returns the partition's potential after that update (when
/// the lead is the only centre; 0 otherwise) and each trial candidate's sum of min(distance,
/// closest), both in f64 in row order.
fn seed_partition(
    kernel: SeedDistancesFn,
    rows: &[f32],
    centres: &Matrix,
    lead: Lead,
    closest: &mut [f32],
) -> (f64, Vec<f64>) {
    let d = centres.cols();
    let first = usize::from(lead != Lead::None);
    let t = centres.rows();
    let mut sums = vec![0.0f64; t - first];
    let mut potential = 0.0f64;
    let mut buffer = vec![0f32; t * SEED_CHUNK.min(closest.len())];
    for (rows, closest) in rows
        .chunks(SEED_CHUNK * d)
        .zip(closest.chunks_mut(SEED_CHUNK))
    {
        let len = closest.len();
        let distances = &mut buffer[..t * len];
        kernel(rows, centres, distances);
        let (lead_distances, trials) = distances.split_at(first * len);
        match lead {
            Lead::None => {}
            Lead::Replace => closest.copy_from_slice(lead_distances),
            Lead::Min => {
                for (c, &x) in closest.iter_mut().zip(lead_distances) {
                    if x < *c {
                        *c = x;
                    }
                }
            }
        }
        if first == t {
            potential = closest.iter().fold(potential, |sum, &c| sum + f64::from(c));
        }
        for (group, sums) in trials
            .chunks(TRIAL_SUMS * len)
            .zip(sums.chunks_mut(TRIAL_SUMS))
        {
            match sums.len() {
                1 => add_trials::<1>(group, closest, sums),
                2 => add_trials::<2>(group, closest, sums),
                3 => add_trials::<3>(group, closest, sums),
                4 => add_trials::<4>(group, closest, sums),
                5 => add_trials::<5>(group, closest, sums),
                6 => add_trials::<6>(group, closest, sums),
                7 => add_trials::<7>(group, closest, sums),
                _ => add_trials::<8>(group, closest, sums),
            }
        }
    }
    (potential, sums)
}

/// Trial sums kept in registers at once by [`add_trials`].
const TRIAL_SUMS: usize = 8;

/// Adds min(distance, closest) of each row, in row order, to each of `G` trial sums; `trials`
/// holds the G candidates' distances candidate by candidate (`trials[s·len + i]`). The sums stay
/// in registers across the rows, and the G dependency chains run side by side; the additions
/// are the ones of a plain loop, in the same order. Distances are never NaN (finite inputs), so
/// the comparison is `f32::min`.
#[inline]
fn add_trials<const G: usize>(trials: &[f32], closest: &[f32], sums: &mut [f64]) {
    let len = closest.len();
    assert!(trials.len() == G * len && sums.len() == G);
    let rows: [&[f32]; G] = std::array::from_fn(|s| &trials[s * len..(s + 1) * len]);
    let mut acc: [f64; G] = std::array::from_fn(|s| sums[s]);
    for (i, &c) in closest.iter().enumerate() {
        for s in 0..G {
            let x = rows[s][i];
            acc[s] += f64::from(if x < c { x } else { c });
        }
    }
    sums.copy_from_slice(&acc);
}

/// Rows per vector of the search (one 256-bit vector of f32).
const LANES: usize = 8;
/// Rows per search group: two vectors.
const GROUP: usize = 2 * LANES;
/// Most centroids per search pass (two vectors of rows by six centroids is twelve accumulators,
/// as many as the sixteen AVX registers hold beside the rows and one centroid value).
const CENTRES: usize = 6;
/// Most centroids per pass of the AVX-512 search: two vectors of sixteen rows by twelve
/// centroids is 24 accumulators of the 32 registers, beside the rows and the running minima.
const CENTRES_512: usize = 12;

/// Centroids laid out for the search: split into passes of at most `width` consecutive
/// centroids (the kernel's), as even as can be (k = 32 at width 6 is 6, 6, 5, 5, 5, 5: a pass
/// of one or two would wait on the multiply-add latency), scaled by −2 and stored feature by
/// feature inside a pass (the pass of `size` centroids from `start` holds `w[j·size + c]` at
/// `start·d`), so that a pass reads its centroids' feature j from consecutive floats; with their
/// squared norms. Scaling by −2 is exact, so x·(−2c) rounds as (−2x)·c. How the centroids are
/// cut into passes does not change any row's result: each centroid's value is the same sum in
/// the same order, and the running minimum takes them in increasing index.
struct Search {
    d: usize,
    passes: Vec<(usize, usize)>,
    weights: Vec<f32>,
    norms: Vec<f32>,
    kernel: NearestFn,
    accumulate: AccumulateFn,
}

/// A search kernel and the most centroids one of its passes takes.
#[derive(Clone, Copy)]
struct NearestKernel {
    run: NearestFn,
    width: usize,
}

type NearestFn = fn(&Search, &[f32], &mut [u32]);
type AccumulateFn = fn(&[f32], &[u32], &mut [u32], &Matrix, &mut StepPartials);

/// The rows of one search group, feature-major: `panel[j][r]` is feature j of row r. Aligned so
/// that each feature's two vectors share one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct PanelFeature([f32; GROUP]);

/// Copies rows `first..first + count` of `rows` (row-major, d features) into `panel`. A short
/// group repeats its last row; the extra answers are dropped.
fn fill_panel(rows: &[f32], d: usize, first: usize, count: usize, panel: &mut [PanelFeature]) {
    for r in 0..GROUP {
        let row = &rows[(first + r.min(count - 1)) * d..][..d];
        for (feature, &v) in panel.iter_mut().zip(row) {
            feature.0[r] = v;
        }
    }
}

/// Adds rows to the partial sums of their new labels (`fresh`), counting the rows whose label
/// changed from `labels` (which is updated): counts, f64 sums, and the exact ‖x − c‖² inertia.
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

/// [`accumulate_rows`] written with AVX2 intrinsics: ‖x − c‖² in the same eight lanes and the
/// same final order as [`sq_distance`], the f64 sums four at a time, and the counters kept in
/// registers rather than written back for every row. No fused operations: the results are
/// bit for bit those of the portable form. `D` is the number of features when it is known at
/// compile time (the per-row loops then unroll, which halves the time at d = 16), or 0 for any.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn accumulate_avx2<const D: usize>(
    rows: &[f32],
    fresh: &[u32],
    labels: &mut [u32],
    centroids: &Matrix,
    part: &mut StepPartials,
) {
    use std::arch::x86_64::{
        _mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_loadu_ps, _mm_movehdup_ps, _mm_movehl_ps,
        _mm256_add_pd, _mm256_add_ps, _mm256_castps256_ps128, _mm256_cvtps_pd,
        _mm256_extractf128_ps, _mm256_loadu_pd, _mm256_loadu_ps, _mm256_mul_ps, _mm256_setzero_ps,
        _mm256_storeu_pd, _mm256_sub_ps,
    };
    let (k, d) = (centroids.rows(), if D == 0 { centroids.cols() } else { D });
    let n = fresh.len();
    assert!(d == centroids.cols() && rows.len() == n * d && labels.len() == n);
    assert!(part.sums.len() == k * d && part.counts.len() == k);
    let (wide, quads) = (d / 8 * 8, d / 4 * 4);
    let (mut inertia, mut changed) = (part.inertia, part.changed);
    let (sums, counts) = (part.sums.as_mut_ptr(), part.counts.as_mut_ptr());
    for (i, (&label, old)) in fresh.iter().zip(labels.iter_mut()).enumerate() {
        let c = label as usize;
        assert!(c < k, "a label out of range");
        changed += u64::from(*old != label);
        *old = label;
        // SAFETY: row i of `rows` and centroid c (c < k, asserted) hold d floats each; the
        // vector loads stop at `wide` ≤ d and `quads` ≤ d; cluster c's count and its d sums are
        // in bounds of `counts` (k) and `sums` (k·d), both asserted above.
        unsafe {
            let x = rows.as_ptr().add(i * d);
            let centre = centroids.as_slice().as_ptr().add(c * d);
            *counts.add(c) += 1;
            let mut lanes = _mm256_setzero_ps();
            for j in (0..wide).step_by(8) {
                let diff = _mm256_sub_ps(_mm256_loadu_ps(x.add(j)), _mm256_loadu_ps(centre.add(j)));
                lanes = _mm256_add_ps(lanes, _mm256_mul_ps(diff, diff));
            }
            // ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), then the tail, as sq_distance.
            let halves = _mm_add_ps(
                _mm256_castps256_ps128(lanes),
                _mm256_extractf128_ps::<1>(lanes),
            );
            let pairs = _mm_add_ps(halves, _mm_movehdup_ps(halves));
            let mut dist = _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehl_ps(pairs, pairs)));
            if wide < d {
                let mut tail = 0.0f32;
                for j in wide..d {
                    let diff = *x.add(j) - *centre.add(j);
                    tail += diff * diff;
                }
                dist += tail;
            }
            inertia += f64::from(dist);
            let sum = sums.add(c * d);
            for j in (0..quads).step_by(4) {
                let v = _mm256_cvtps_pd(_mm_loadu_ps(x.add(j)));
                _mm256_storeu_pd(sum.add(j), _mm256_add_pd(_mm256_loadu_pd(sum.add(j)), v));
            }
            for j in quads..d {
                *sum.add(j) += f64::from(*x.add(j));
            }
        }
    }
    part.inertia = inertia;
    part.changed = changed;
}

impl Search {
    fn new(centroids: &Matrix) -> Self {
        Self::with_kernel(centroids, nearest_kernel(Simd::chosen()))
    }

    fn with_kernel(centroids: &Matrix, kernel: NearestKernel) -> Self {
        let (k, d) = (centroids.rows(), centroids.cols());
        let count = k.div_ceil(kernel.width);
        let mut passes = Vec::with_capacity(count);
        let mut weights = vec![0.0; k * d];
        let mut start = 0;
        for p in 0..count {
            let size = k / count + usize::from(p < k % count);
            let pass = &mut weights[start * d..(start + size) * d];
            for c in 0..size {
                for (j, &v) in centroids.row(start + c).iter().enumerate() {
                    pass[j * size + c] = -2.0 * v;
                }
            }
            passes.push((start, size));
            start += size;
        }
        let norms = (0..k)
            .map(|c| centroids.row(c).iter().map(|v| v * v).sum())
            .collect();
        Self {
            d,
            passes,
            weights,
            norms,
            kernel: kernel.run,
            accumulate: pick_accumulate(d),
        }
    }

    /// Nearest centroid of each row in `rows` (row-major, a multiple of d), written to `labels`.
    fn nearest(&self, rows: &[f32], labels: &mut [u32]) {
        (self.kernel)(self, rows, labels);
    }
}

/// The search kernel: for [`GROUP`] rows at a time, laid out feature-major so that the rows
/// are the vector lanes, and each centroid c in increasing order, ‖c‖² − 2x·c accumulated
/// over the features (one value of the centroid serves every row), then a running minimum
/// per row. Ties go to the lowest index, as scikit-learn's.
fn nearest_rows(search: &Search, rows: &[f32], labels: &mut [u32]) {
    let d = search.d;
    let n = labels.len();
    let mut panel = vec![PanelFeature([0.0; GROUP]); d];
    for first in (0..n).step_by(GROUP) {
        let count = GROUP.min(n - first);
        fill_panel(rows, d, first, count, &mut panel);
        let mut best = [f32::INFINITY; GROUP];
        let mut best_index = [0u32; GROUP];
        for &(start, size) in &search.passes {
            let group = &search.weights[start * d..(start + size) * d];
            for c in 0..size {
                let mut acc = [search.norms[start + c]; GROUP];
                for (feature, w) in panel.iter().zip(group[c..].iter().step_by(size)) {
                    for (a, &x) in acc.iter_mut().zip(&feature.0) {
                        *a += x * w;
                    }
                }
                for r in 0..GROUP {
                    if acc[r] < best[r] {
                        best[r] = acc[r];
                        best_index[r] = (start + c) as u32;
                    }
                }
            }
        }
        labels[first..first + count].copy_from_slice(&best_index[..count]);
    }
}

/// Groups of rows ahead of the one being copied whose cache lines [`fill_panel_avx2`] asks
/// for. Left to the hardware prefetcher, the transpose's short loads from sixteen lines at a
/// time waited on memory: asking for the lines a few groups early took about a third off the
/// seeding passes and up to a third off the search at small k (2, 4 and 8 groups measured
/// alike).
const PREFETCH_GROUPS: usize = 4;

/// Copies a full group of rows into `panel` with 8 × 8 transposes in registers (the
/// features past the last multiple of 8 one at a time). Each vector is loaded as two halves,
/// four features of row r and of row r + 4, so the transpose needs no lane-crossing shuffle.
/// First asks for the cache lines of the group [`PREFETCH_GROUPS`] ahead, when `rows` has it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fill_panel_avx2(rows: &[f32], d: usize, first: usize, panel: &mut [PanelFeature]) {
    use std::arch::x86_64::{
        _MM_HINT_T0, _mm_loadu_ps, _mm_prefetch, _mm256_castps128_ps256, _mm256_insertf128_ps,
        _mm256_shuffle_ps, _mm256_store_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
    };
    let ahead = (first + PREFETCH_GROUPS * GROUP) * d;
    if let Some(later) = rows.get(ahead..ahead + GROUP * d) {
        // Sixteen floats to a 64-byte line.
        for line in later.chunks(16) {
            _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast());
        }
    }
    let rows = &rows[first * d..(first + GROUP) * d];
    assert!(panel.len() == d);
    let wide = d / 8 * 8;
    for half in 0..GROUP / LANES {
        let base = half * LANES * d;
        for block in (0..wide).step_by(8) {
            // SAFETY: the eight rows of this half each hold d features and block + 8 ≤ d, so
            // every four-float load is in `rows`; the stores write the aligned vector at offset
            // half·8 of the GROUP floats of features block..block + 8 < d = panel.len().
            unsafe {
                let p = rows.as_ptr().add(base + block);
                // Rows r and r + 4, features block + at..block + at + 4.
                let pair = |r: usize, at: usize| {
                    _mm256_insertf128_ps::<1>(
                        _mm256_castps128_ps256(_mm_loadu_ps(p.add(r * d + at))),
                        _mm_loadu_ps(p.add((r + 4) * d + at)),
                    )
                };
                for at in [0, 4] {
                    let (a0, a1, a2, a3) = (pair(0, at), pair(1, at), pair(2, at), pair(3, at));
                    let (t0, t1) = (_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
                    let (t2, t3) = (_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
                    let columns = [
                        _mm256_shuffle_ps::<0b01_00_01_00>(t0, t2),
                        _mm256_shuffle_ps::<0b11_10_11_10>(t0, t2),
                        _mm256_shuffle_ps::<0b01_00_01_00>(t1, t3),
                        _mm256_shuffle_ps::<0b11_10_11_10>(t1, t3),
                    ];
                    for (j, column) in columns.into_iter().enumerate() {
                        let feature = panel.as_mut_ptr().add(block + at + j);
                        _mm256_store_ps((*feature).0.as_mut_ptr().add(half * LANES), column);
                    }
                }
            }
        }
        for j in wide..d {
            for r in 0..LANES {
                panel[j].0[half * LANES + r] = rows[base + r * d + j];
            }
        }
    }
}

/// `C` centroids from `start` on (one group of the layout, or its first C) against the
/// [`GROUP`] rows of `panel`: ‖c‖² − 2x·c accumulated in registers, then folded into the
/// running minimum (`best`, `best_index`) in increasing centroid order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // acc[r][c] reads better indexed by rows and centroid
fn search_centres<const C: usize>(
    search: &Search,
    panel: &[PanelFeature],
    start: usize,
    best: &mut [std::arch::x86_64::__m256; 2],
    best_index: &mut [std::arch::x86_64::__m256i; 2],
) {
    use std::arch::x86_64::{
        __m256, _CMP_LT_OQ, _mm256_blendv_ps, _mm256_broadcast_ss, _mm256_castps_si256,
        _mm256_castsi256_ps, _mm256_cmp_ps, _mm256_fmadd_ps, _mm256_load_ps, _mm256_set1_epi32,
        _mm256_set1_ps,
    };
    let d = search.d;
    let weights = &search.weights[start * d..(start + C) * d];
    let mut acc: [[__m256; C]; 2] = [[_mm256_set1_ps(0.0); C]; 2];
    for c in 0..C {
        let norm = _mm256_set1_ps(search.norms[start + c]);
        acc[0][c] = norm;
        acc[1][c] = norm;
    }
    for (feature, w) in panel.iter().zip(weights.chunks_exact(C)) {
        // SAFETY: a feature row is GROUP = 16 floats, 64-byte aligned: two aligned vectors.
        let (xa, xb) = unsafe {
            let p = feature.0.as_ptr();
            (_mm256_load_ps(p), _mm256_load_ps(p.add(LANES)))
        };
        for c in 0..C {
            let wc = _mm256_broadcast_ss(&w[c]);
            acc[0][c] = _mm256_fmadd_ps(xa, wc, acc[0][c]);
            acc[1][c] = _mm256_fmadd_ps(xb, wc, acc[1][c]);
        }
    }
    for c in 0..C {
        let index = _mm256_castsi256_ps(_mm256_set1_epi32((start + c) as i32));
        for r in 0..2 {
            let better = _mm256_cmp_ps::<_CMP_LT_OQ>(acc[r][c], best[r]);
            best[r] = std::arch::x86_64::_mm256_min_ps(acc[r][c], best[r]);
            best_index[r] = _mm256_castps_si256(_mm256_blendv_ps(
                _mm256_castsi256_ps(best_index[r]),
                index,
                better,
            ));
        }
    }
}

/// [`nearest_rows`] written with AVX2 + FMA intrinsics: the compiler does not keep the
/// generic form's accumulators in registers across centroids, so the vector form is spelled
/// out, [`CENTRES`] centroids by two vectors of rows per pass. Same order and tie rule; the
/// multiply-adds are fused (one rounding instead of two), which can move a near-tie.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn nearest_avx2(search: &Search, rows: &[f32], labels: &mut [u32]) {
    use std::arch::x86_64::{_mm256_set1_epi32, _mm256_set1_ps, _mm256_storeu_si256};
    let d = search.d;
    let n = labels.len();
    let mut panel = vec![PanelFeature([0.0; GROUP]); d];
    for first in (0..n).step_by(GROUP) {
        let count = GROUP.min(n - first);
        if count == GROUP {
            fill_panel_avx2(rows, d, first, &mut panel);
        } else {
            fill_panel(rows, d, first, count, &mut panel);
        }
        let mut best = [_mm256_set1_ps(f32::INFINITY); 2];
        let mut best_index = [_mm256_set1_epi32(0); 2];
        for &(start, size) in &search.passes {
            let (best, best_index) = (&mut best, &mut best_index);
            match size {
                6 => search_centres::<6>(search, &panel, start, best, best_index),
                5 => search_centres::<5>(search, &panel, start, best, best_index),
                4 => search_centres::<4>(search, &panel, start, best, best_index),
                3 => search_centres::<3>(search, &panel, start, best, best_index),
                2 => search_centres::<2>(search, &panel, start, best, best_index),
                _ => search_centres::<1>(search, &panel, start, best, best_index),
            }
        }
        let mut chosen = [0u32; GROUP];
        for (r, index) in best_index.iter().enumerate() {
            // SAFETY: writes eight u32 into chosen[r·8..r·8 + 8].
            unsafe { _mm256_storeu_si256(chosen.as_mut_ptr().add(r * LANES).cast(), *index) };
        }
        labels[first..first + count].copy_from_slice(&chosen[..count]);
    }
}

/// Fills the two panels of a 32-row group of the AVX-512 search (rows `first..first + count`
/// of `rows`): rows 0–15 into `low`, 16–31 into `high`. A short group repeats its last row.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn fill_panel_pair(
    rows: &[f32],
    d: usize,
    first: usize,
    count: usize,
    low: &mut [PanelFeature],
    high: &mut [PanelFeature],
) {
    if count == 2 * GROUP {
        fill_panel_avx2(rows, d, first, low);
        fill_panel_avx2(rows, d, first + GROUP, high);
        return;
    }
    fill_panel(rows, d, first, count.min(GROUP), low);
    if count > GROUP {
        fill_panel(rows, d, first + GROUP, count - GROUP, high);
    } else {
        high.copy_from_slice(low);
    }
}

/// `C` centroids from `start` on against the 32 rows of `low` and `high` (one 512-bit vector
/// of sixteen rows per feature each): the same sums as [`search_centres`], lane by lane, in
/// registers, then folded into the running minimum in increasing centroid order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // acc[r][c] reads better indexed by rows and centroid
fn search_centres_512<const C: usize>(
    search: &Search,
    low: &[PanelFeature],
    high: &[PanelFeature],
    start: usize,
    best: &mut [std::arch::x86_64::__m512; 2],
    best_index: &mut [std::arch::x86_64::__m512i; 2],
) {
    use std::arch::x86_64::{
        __m512, _CMP_LT_OQ, _mm512_cmp_ps_mask, _mm512_fmadd_ps, _mm512_load_ps,
        _mm512_mask_mov_epi32, _mm512_min_ps, _mm512_set1_epi32, _mm512_set1_ps,
    };
    let d = search.d;
    let weights = &search.weights[start * d..(start + C) * d];
    let mut acc: [[__m512; C]; 2] = [[_mm512_set1_ps(0.0); C]; 2];
    for c in 0..C {
        let norm = _mm512_set1_ps(search.norms[start + c]);
        acc[0][c] = norm;
        acc[1][c] = norm;
    }
    for ((a, b), w) in low.iter().zip(high).zip(weights.chunks_exact(C)) {
        // SAFETY: a feature row is GROUP = 16 floats, 64-byte aligned: one aligned vector.
        let (xa, xb) = unsafe { (_mm512_load_ps(a.0.as_ptr()), _mm512_load_ps(b.0.as_ptr())) };
        for c in 0..C {
            let wc = _mm512_set1_ps(w[c]);
            acc[0][c] = _mm512_fmadd_ps(xa, wc, acc[0][c]);
            acc[1][c] = _mm512_fmadd_ps(xb, wc, acc[1][c]);
        }
    }
    for c in 0..C {
        let index = _mm512_set1_epi32((start + c) as i32);
        for r in 0..2 {
            let better = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(acc[r][c], best[r]);
            best[r] = _mm512_min_ps(acc[r][c], best[r]);
            best_index[r] = _mm512_mask_mov_epi32(best_index[r], better, index);
        }
    }
}

/// [`nearest_avx2`] with 512-bit vectors: 32 rows per group (two panels of sixteen, one vector
/// each per feature) and passes of up to [`CENTRES_512`] centroids, so each pass keeps twice
/// the rows and twice the centroids in registers. Every row's value for every centroid is the
/// same fused sum in the same order as the AVX2 kernel's, and the same running minimum, so the
/// labels are the same, near-ties included.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn nearest_avx512(search: &Search, rows: &[f32], labels: &mut [u32]) {
    use std::arch::x86_64::{_mm512_set1_epi32, _mm512_set1_ps, _mm512_storeu_si512};
    let d = search.d;
    let n = labels.len();
    let mut panels = vec![PanelFeature([0.0; GROUP]); 2 * d];
    for first in (0..n).step_by(2 * GROUP) {
        let count = (2 * GROUP).min(n - first);
        let (low, high) = panels.split_at_mut(d);
        fill_panel_pair(rows, d, first, count, low, high);
        let (low, high) = (&*low, &*high);
        let mut best = [_mm512_set1_ps(f32::INFINITY); 2];
        let mut best_index = [_mm512_set1_epi32(0); 2];
        for &(start, size) in &search.passes {
            let (b, i) = (&mut best, &mut best_index);
            match size {
                12 => search_centres_512::<12>(search, low, high, start, b, i),
                11 => search_centres_512::<11>(search, low, high, start, b, i),
                10 => search_centres_512::<10>(search, low, high, start, b, i),
                9 => search_centres_512::<9>(search, low, high, start, b, i),
                8 => search_centres_512::<8>(search, low, high, start, b, i),
                7 => search_centres_512::<7>(search, low, high, start, b, i),
                6 => search_centres_512::<6>(search, low, high, start, b, i),
                5 => search_centres_512::<5>(search, low, high, start, b, i),
                4 => search_centres_512::<4>(search, low, high, start, b, i),
                3 => search_centres_512::<3>(search, low, high, start, b, i),
                2 => search_centres_512::<2>(search, low, high, start, b, i),
                _ => search_centres_512::<1>(search, low, high, start, b, i),
            }
        }
        let mut chosen = [0u32; 2 * GROUP];
        for (r, index) in best_index.iter().enumerate() {
            // SAFETY: writes sixteen u32 into chosen[r·16..r·16 + 16].
            unsafe { _mm512_storeu_si512(chosen.as_mut_ptr().add(r * GROUP).cast(), *index) };
        }
        labels[first..first + count].copy_from_slice(&chosen[..count]);
    }
}

/// The accumulation for d features, with AVX2 where present (compiled for each d up to 16,
/// the usual sizes of customer features, and once for any d): the same arithmetic in the same
/// order.
fn pick_accumulate(d: usize) -> AccumulateFn {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_fma() {
        macro_rules! by_dims {
            ($($dims:literal)*) => {
                match d {
                    $($dims => |rows, fresh, labels, centroids, part| {
                        // SAFETY: the CPU was just found to support AVX2 and FMA.
                        unsafe { accumulate_avx2::<$dims>(rows, fresh, labels, centroids, part) }
                    },)*
                    _ => |rows, fresh, labels, centroids, part| {
                        // SAFETY: as above.
                        unsafe { accumulate_avx2::<0>(rows, fresh, labels, centroids, part) }
                    },
                }
            };
        }
        return by_dims!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    }
    let _ = d;
    accumulate_rows
}

/// Most centres per seeding pass: two vectors of rows each, eight accumulators.
const SEED_CENTRES: usize = 4;

type SeedDistancesFn = fn(&[f32], &Matrix, &mut [f32]);

/// Squared distances from every row of `rows` (row-major, d features) to each centre, written
/// centre by centre (`out[c·n + i]`). Each is Σ_j (x_j − c_j)² summed feature by feature in
/// order, multiply and add rounded separately, as the GPU's seeding shader sums it.
fn seed_distances_rows(rows: &[f32], centres: &Matrix, out: &mut [f32]) {
    let d = centres.cols();
    let n = rows.len() / d;
    for (i, x) in rows.chunks_exact(d).enumerate() {
        for c in 0..centres.rows() {
            let mut acc = 0.0f32;
            for (a, b) in x.iter().zip(centres.row(c)) {
                let diff = a - b;
                acc += diff * diff;
            }
            out[c * n + i] = acc;
        }
    }
}

/// [`seed_distances_rows`] with AVX2: sixteen rows at a time in the search's panel (rows as
/// lanes), up to [`SEED_CENTRES`] centres per pass. The same operations in the same order, so
/// the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn seed_distances_avx2(rows: &[f32], centres: &Matrix, out: &mut [f32]) {
    let (d, t) = (centres.cols(), centres.rows());
    let n = rows.len() / d;
    assert!(out.len() == n * t);
    let mut panel = vec![PanelFeature([0.0; GROUP]); d];
    for first in (0..n).step_by(GROUP) {
        let count = GROUP.min(n - first);
        if count == GROUP {
            fill_panel_avx2(rows, d, first, &mut panel);
        } else {
            fill_panel(rows, d, first, count, &mut panel);
        }
        for start in (0..t).step_by(SEED_CENTRES) {
            let rows = first..first + count;
            match SEED_CENTRES.min(t - start) {
                4 => seed_pass::<4>(&panel, centres, start, rows, out),
                3 => seed_pass::<3>(&panel, centres, start, rows, out),
                2 => seed_pass::<2>(&panel, centres, start, rows, out),
                _ => seed_pass::<1>(&panel, centres, start, rows, out),
            }
        }
    }
}

/// Centres `start..start + C` against the panel's rows (`rows` of the partition): writes their
/// squared distances to `out` (`out[c·n + i]`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // acc[r][c] reads better indexed by rows and centre
fn seed_pass<const C: usize>(
    panel: &[PanelFeature],
    centres: &Matrix,
    start: usize,
    rows: std::ops::Range<usize>,
    out: &mut [f32],
) {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_load_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps, _mm256_sub_ps,
    };
    let d = centres.cols();
    let n = out.len() / centres.rows();
    let values = &centres.as_slice()[start * d..(start + C) * d];
    let mut acc: [[__m256; C]; 2] = [[_mm256_setzero_ps(); C]; 2];
    for (j, feature) in panel.iter().enumerate() {
        // SAFETY: a feature row is GROUP = 16 floats, 64-byte aligned: two aligned vectors.
        let (xa, xb) = unsafe {
            let p = feature.0.as_ptr();
            (_mm256_load_ps(p), _mm256_load_ps(p.add(LANES)))
        };
        for c in 0..C {
            let w = _mm256_set1_ps(values[c * d + j]);
            let (da, db) = (_mm256_sub_ps(xa, w), _mm256_sub_ps(xb, w));
            acc[0][c] = _mm256_add_ps(acc[0][c], _mm256_mul_ps(da, da));
            acc[1][c] = _mm256_add_ps(acc[1][c], _mm256_mul_ps(db, db));
        }
    }
    for c in 0..C {
        let mut lanes = [0f32; GROUP];
        // SAFETY: two stores of eight floats into the sixteen of `lanes`.
        unsafe {
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc[0][c]);
            _mm256_storeu_ps(lanes.as_mut_ptr().add(LANES), acc[1][c]);
        }
        let at = (start + c) * n + rows.start;
        out[at..at + rows.len()].copy_from_slice(&lanes[..rows.len()]);
    }
}

/// The seeding kernel for `level`, which the CPU must run (a level at most [`Simd::chosen`]).
/// AVX-512 takes the AVX2 kernel: a 512-bit form gained under 10% (BENCHMARKS.md), as most of
/// a seeding pass is copying rows into panels and summing the candidates' potentials.
fn seed_kernel(level: Simd) -> SeedDistancesFn {
    assert_runnable(level);
    #[cfg(target_arch = "x86_64")]
    match level {
        Simd::Avx2 | Simd::Avx512 => {
            return |rows, centres, out| {
                // SAFETY: the CPU was found to support AVX2 and FMA.
                unsafe { seed_distances_avx2(rows, centres, out) }
            };
        }
        Simd::Portable => {}
    }
    seed_distances_rows
}

/// Stops on a kernel level this CPU does not run: its instructions would fault.
fn assert_runnable(level: Simd) {
    assert!(
        level <= Simd::detected(),
        "{} is not run by this CPU",
        level.name()
    );
}

/// The search kernel for `level`, which the CPU must run (a level at most [`Simd::chosen`]).
fn nearest_kernel(level: Simd) -> NearestKernel {
    assert_runnable(level);
    #[cfg(target_arch = "x86_64")]
    match level {
        Simd::Avx512 => {
            return NearestKernel {
                run: |search, rows, labels| {
                    // SAFETY: the CPU was found to support AVX-512 (foundation), AVX2 and FMA.
                    unsafe { nearest_avx512(search, rows, labels) }
                },
                width: CENTRES_512,
            };
        }
        Simd::Avx2 => {
            return NearestKernel {
                run: |search, rows, labels| {
                    // SAFETY: the CPU was found to support AVX2 and FMA.
                    unsafe { nearest_avx2(search, rows, labels) }
                },
                width: CENTRES,
            };
        }
        Simd::Portable => {}
    }
    NearestKernel {
        run: nearest_rows,
        width: CENTRES,
    }
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
            seed_distances: seed_kernel(Simd::chosen()),
            seeding: Deferred::default(),
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
        let centre = Matrix::from_vec(centre.to_vec(), d);
        let kernel = self.seed_distances;
        let lead = if replace { Lead::Replace } else { Lead::Min };
        let mut potentials = Vec::with_capacity(n.div_ceil(self.part_rows));
        fold_partitions_mut(
            n,
            self.part_rows,
            &mut self.closest,
            |range, closest| {
                let rows = &points.as_slice()[range.start * d..range.end * d];
                seed_partition(kernel, rows, &centre, lead, closest).0
            },
            |potential| potentials.push(potential),
        );
        self.part_potential = potentials;
        self.part_potential.iter().sum()
    }

    /// Folds the deferred centre's distances into the partitions the `targets` fall in.
    fn bring_up_to_date(&mut self, targets: &[f64]) {
        let Some(centre) = &self.seeding.centre else {
            return;
        };
        let (n, d) = (self.points.rows(), self.points.cols());
        let centre = Matrix::from_vec(centre.clone(), d);
        let last = self.part_potential.len() - 1;
        for &target in targets {
            let p = super::partition_of(&self.part_potential, target).map_or(last, |(p, _)| p);
            if !std::mem::replace(&mut self.seeding.applied[p], true) {
                let range = p * self.part_rows..((p + 1) * self.part_rows).min(n);
                let rows = &self.points.as_slice()[range.start * d..range.end * d];
                let closest = &mut self.closest[range];
                seed_partition(self.seed_distances, rows, &centre, Lead::Min, closest);
            }
        }
    }
}

impl Backend for CpuBackend<'_> {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Cpu,
            adapter: format!(
                "rayon CPU backend on {} ({})",
                std::env::consts::ARCH,
                Simd::chosen().name()
            ),
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
        self.seeding = Deferred::default();
        Ok(self.update_closest(centre, true))
    }

    fn seed_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        self.bring_up_to_date(targets);
        Ok(super::sample_by_potential(
            &self.closest,
            &self.part_potential,
            self.part_rows,
            targets,
        ))
    }

    fn seed_trials(&mut self, candidates: &Matrix) -> Result<Vec<f64>> {
        let (n, d) = (self.points.rows(), self.points.cols());
        let t = candidates.rows();
        // The deferred centre, if any, leads the pass and updates `closest` before the trials.
        let (centres, lead) = match self.seeding.centre.take() {
            Some(centre) => {
                let mut centres = Matrix::from_vec(centre, d);
                for c in 0..t {
                    centres.push_row(candidates.row(c));
                }
                (centres, Lead::Min)
            }
            None => (candidates.clone(), Lead::None),
        };
        let points = self.points;
        let kernel = self.seed_distances;
        let mut totals = vec![0.0f64; t];
        let mut part_sums = Vec::with_capacity(n.div_ceil(self.part_rows) * t);
        fold_partitions_mut(
            n,
            self.part_rows,
            &mut self.closest,
            |range, closest| {
                let rows = &points.as_slice()[range.start * d..range.end * d];
                seed_partition(kernel, rows, &centres, lead, closest).1
            },
            |sums| {
                totals.iter_mut().zip(&sums).for_each(|(a, b)| *a += b);
                part_sums.extend_from_slice(&sums);
            },
        );
        self.seeding.candidates = Some(candidates.clone());
        self.seeding.part_sums = part_sums;
        Ok(totals)
    }

    fn seed_commit(&mut self, centre: &[f32]) -> Result<()> {
        let chosen = self.seeding.candidates.take().and_then(|c| {
            (0..c.rows())
                .find(|&s| c.row(s) == centre)
                .map(|s| (s, c.rows()))
        });
        match chosen {
            Some((s, t)) => {
                // Its trial sums are the partition potentials after the commit.
                self.part_potential = self
                    .seeding
                    .part_sums
                    .iter()
                    .skip(s)
                    .step_by(t)
                    .copied()
                    .collect();
                self.seeding.applied = vec![false; self.part_potential.len()];
                self.seeding.centre = Some(centre.to_vec());
            }
            None => {
                // Not one of the last candidates: a pass of its own, after any centre still
                // waiting to be folded in.
                if let Some(waiting) = self.seeding.centre.take() {
                    self.update_closest(&waiting, false);
                }
                self.update_closest(centre, false);
            }
        }
        Ok(())
    }

    fn end_seeding(&mut self) {
        self.closest = Vec::new();
        self.part_potential = Vec::new();
        self.seeding = Deferred::default();
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

    /// `len` reproducible, varied values without a random generator: (i·step mod modulus)·scale
    /// − offset.
    fn spread(len: usize, step: usize, modulus: usize, scale: f32, offset: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * step % modulus) as f32) * scale - offset)
            .collect()
    }

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
            let points = Matrix::from_vec(spread(n * d, 37, 101, 0.1, 0.0), d);
            let centroids = Matrix::from_vec(spread(k * d, 53, 89, 0.1, 0.0), d);
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

    /// Every level of the kernels this CPU runs, the portable one first.
    fn levels() -> Vec<Simd> {
        let levels = Simd::runnable();
        if levels.last() != Some(&Simd::Avx512) {
            println!("note: this CPU runs no AVX-512; its kernels are not tested here");
        }
        levels
    }

    #[test]
    fn every_search_kernel_agrees_with_the_portable_one_and_keeps_the_lowest_index_on_ties() {
        // k from one pass to many (passes of up to six or twelve centroids, made even), rows
        // not a multiple of the groups of 16 and 32, d with and without a part past a multiple
        // of 8, exact ties (duplicate centroids).
        for level in levels() {
            for (n, d, k) in [
                (97, 16, 1),
                (50, 5, 7),
                (61, 16, 9),
                (40, 3, 16),
                (77, 16, 17),
                (31, 2, 33),
                (45, 11, 13),
                (64, 24, 64),
                (100, 17, 25),
                (33, 64, 12),
                (1, 4, 3),
            ] {
                let points = Matrix::from_vec(spread(n * d, 7919, 1013, 0.01, 5.0), d);
                let mut values: Vec<f32> = spread(k * d, 104_729, 977, 0.01, 5.0);
                if k > 2 {
                    // Centroid k − 1 repeats centroid 1: never chosen over it.
                    let copy = values[d..2 * d].to_vec();
                    values[(k - 1) * d..].copy_from_slice(&copy);
                }
                let centroids = Matrix::from_vec(values, d);
                let search = Search::with_kernel(&centroids, nearest_kernel(level));
                let (mut fast, mut portable) = (vec![0u32; n], vec![0u32; n]);
                search.nearest(points.as_slice(), &mut fast);
                nearest_rows(&search, points.as_slice(), &mut portable);
                let case = format!("{} n={n} d={d} k={k}", level.name());
                assert_eq!(fast, portable, "{case}");
                for (i, &label) in fast.iter().enumerate() {
                    assert_eq!(label, brute(points.row(i), &centroids), "{case} row {i}");
                    if k > 2 {
                        assert_ne!(label as usize, k - 1, "a tie goes to the lower index");
                    }
                }
            }
        }
    }

    /// The search's result for one row, one centroid at a time: ‖c‖² (as `Search` sums it),
    /// then x_j·(−2c_j) added per feature in order, with one rounding (`fused`, as the AVX2 and
    /// AVX-512 kernels do) or two, and the first centroid with the smallest value.
    fn nearest_one_by_one(x: &[f32], centroids: &Matrix, fused: bool) -> u32 {
        let mut best = (f32::INFINITY, 0);
        for c in 0..centroids.rows() {
            let centre = centroids.row(c);
            let mut value: f32 = centre.iter().map(|v| v * v).sum();
            for (a, w) in x.iter().zip(centre) {
                value = if fused {
                    a.mul_add(-2.0 * w, value)
                } else {
                    value + a * (-2.0 * w)
                };
            }
            if value < best.0 {
                best = (value, c as u32);
            }
        }
        best.1
    }

    #[test]
    fn the_fused_search_kernels_resolve_near_ties_alike_whatever_their_width() {
        // Points and centroids on a grid of tenths (not exact in binary), so many rows are at
        // the same distance from two centroids in exact arithmetic and the rounding decides.
        // Every fused kernel (AVX2 and AVX-512, whose passes and groups of rows differ) must
        // give what one fused sum per centroid gives, row by row.
        let fused: Vec<Simd> = levels().into_iter().filter(|&l| l >= Simd::Avx2).collect();
        let mut decided_by_rounding = 0;
        for (n, d, k) in [
            (2001, 3, 24),
            (3003, 5, 12),
            (999, 17, 13),
            (640, 64, 30),
            (1500, 16, 64),
            (777, 2, 7),
        ] {
            let mut rng = crate::rng::SeededRng::new(n as u64, crate::rng::Stream::Demo);
            let mut grid = |len: usize| -> Vec<f32> {
                (0..len)
                    .map(|_| (rng.below(7) as f32 - 3.0) * 0.1)
                    .collect()
            };
            let centroids = Matrix::from_vec(grid(k * d), d);
            let points = Matrix::from_vec(grid(n * d), d);
            let expected: Vec<u32> = (0..n)
                .map(|i| nearest_one_by_one(points.row(i), &centroids, true))
                .collect();
            decided_by_rounding += (0..n)
                .filter(|&i| nearest_one_by_one(points.row(i), &centroids, false) != expected[i])
                .count();
            for &level in &fused {
                let search = Search::with_kernel(&centroids, nearest_kernel(level));
                let mut labels = vec![0u32; n];
                search.nearest(points.as_slice(), &mut labels);
                assert_eq!(labels, expected, "{} n={n} d={d} k={k}", level.name());
            }
        }
        // Rounding twice changes some rows' labels: the cases reach near-ties (107 rows).
        assert!(decided_by_rounding > 0, "no near-tie in the cases");
    }

    #[test]
    fn the_dispatched_accumulation_equals_the_portable_one_bit_for_bit() {
        // Every d compiled on its own (1 to 16) and two taken at run time (20, 27), with and
        // without a tail past the last multiple of 8 and of 4.
        for d in (1..=16).chain([20, 27]) {
            let (n, k) = (53, 5);
            let points: Vec<f32> = spread(n * d, 7919, 1013, 0.013, 6.0);
            let centroids = Matrix::from_vec(spread(k * d, 104_729, 977, 0.01, 5.0), d);
            let fresh: Vec<u32> = (0..n).map(|i| (i * 3 % k) as u32).collect();
            let before: Vec<u32> = (0..n).map(|i| (i % 4 % k) as u32).collect();
            let (mut fast, mut portable) = (StepPartials::zeros(k, d), StepPartials::zeros(k, d));
            let (mut fast_labels, mut portable_labels) = (before.clone(), before);
            (Search::new(&centroids).accumulate)(
                &points,
                &fresh,
                &mut fast_labels,
                &centroids,
                &mut fast,
            );
            accumulate_rows(
                &points,
                &fresh,
                &mut portable_labels,
                &centroids,
                &mut portable,
            );
            assert_eq!(fast_labels, fresh);
            assert_eq!(portable_labels, fresh);
            assert_eq!(fast.changed, portable.changed, "d={d}");
            assert_eq!(fast.counts, portable.counts, "d={d}");
            assert_eq!(fast.inertia.to_bits(), portable.inertia.to_bits(), "d={d}");
            let bits = |sums: &[f64]| sums.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast.sums), bits(&portable.sums), "d={d}");
            // The inertia is the sum of the exact distances, row by row.
            let exact: f64 = points
                .chunks_exact(d)
                .zip(&fresh)
                .map(|(x, &c)| f64::from(sq_distance(x, centroids.row(c as usize))))
                .sum();
            assert_eq!(fast.inertia, exact, "d={d}");
        }
    }

    #[test]
    fn every_seeding_kernel_equals_the_feature_by_feature_sum_bit_for_bit() {
        // Rows not a multiple of the group of 16, d with and without a part past a multiple
        // of 8, and 1 to 17 centres (passes of 4, 3, 2 and 1).
        for level in levels() {
            for (n, d, t) in [
                (40, 16, 5),
                (17, 3, 1),
                (70, 11, 9),
                (16, 8, 4),
                (5, 20, 7),
                (33, 1, 2),
                (64, 16, 17),
                (95, 5, 12),
            ] {
                let points: Vec<f32> = spread(n * d, 7919, 1013, 0.017, 8.0);
                let centres = Matrix::from_vec(spread(t * d, 104_729, 977, 0.013, 6.0), d);
                let (mut fast, mut portable) = (vec![0f32; n * t], vec![0f32; n * t]);
                seed_kernel(level)(&points, &centres, &mut fast);
                seed_distances_rows(&points, &centres, &mut portable);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                let case = format!("{} n={n} d={d} t={t}", level.name());
                assert_eq!(bits(&fast), bits(&portable), "{case}");
                for c in 0..t {
                    for (i, x) in points.chunks_exact(d).enumerate() {
                        let mut sum = 0.0f32;
                        for (a, b) in x.iter().zip(centres.row(c)) {
                            sum += (a - b) * (a - b);
                        }
                        assert_eq!(fast[c * n + i], sum, "{case} row {i} centre {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_seeding_partition_sums_like_a_plain_loop_over_the_rows_bit_for_bit() {
        // 2,500 rows: two full chunks of SEED_CHUNK and a short one. Trial counts on both
        // sides of the TRIAL_SUMS kept in registers at once (9 and 11 take two groups).
        let (n, d) = (2_500, 3);
        let rows = spread(n * d, 7919, 1013, 0.017, 8.0);
        let start = spread(n, 31, 997, 0.5, 0.0);
        for trials in [1, 3, 8, 9, 11] {
            for lead in [Lead::None, Lead::Replace, Lead::Min] {
                let t = trials + usize::from(lead != Lead::None);
                let centres = Matrix::from_vec(spread(t * d, 104_729, 977, 0.013, 6.0), d);
                let mut closest = start.clone();
                let (potential, sums) = seed_partition(
                    seed_kernel(Simd::chosen()),
                    &rows,
                    &centres,
                    lead,
                    &mut closest,
                );
                // The reference: row by row, the lead first, then each trial's running sum.
                let mut expected = start.clone();
                let mut expected_sums = vec![0.0f64; trials];
                let mut distances = vec![0f32; n * t];
                seed_distances_rows(&rows, &centres, &mut distances);
                for (i, c) in expected.iter_mut().enumerate() {
                    match lead {
                        Lead::None => {}
                        Lead::Replace => *c = distances[i],
                        Lead::Min => *c = c.min(distances[i]),
                    }
                    let first = t - trials;
                    for (s, sum) in expected_sums.iter_mut().enumerate() {
                        *sum += f64::from(distances[(first + s) * n + i].min(*c));
                    }
                }
                let case = format!("{trials} trial(s), lead {}", t - trials);
                assert_eq!(closest, expected, "{case}");
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&sums), bits(&expected_sums), "{case}");
                // With trials in the pass, the potential after the lead is not summed.
                assert_eq!(potential, 0.0, "{case}");
            }
        }
        // A lead with no trials returns the potential after it, summed row by row.
        let centre = Matrix::from_vec(vec![0.5, -1.0, 2.0], d);
        let mut closest = start.clone();
        let (potential, sums) = seed_partition(
            seed_kernel(Simd::chosen()),
            &rows,
            &centre,
            Lead::Min,
            &mut closest,
        );
        assert!(sums.is_empty());
        let plain: f64 = closest.iter().map(|&c| f64::from(c)).sum();
        assert_eq!(potential.to_bits(), plain.to_bits());
    }

    #[test]
    fn a_deferred_commit_gives_the_same_samples_trials_and_potentials_as_an_immediate_one() {
        let (n, d, k) = (1000, 5, 12);
        let points = Matrix::from_vec(spread(n * d, 7919, 1013, 0.01, 5.0), d);
        let (mut deferred, mut immediate) = (
            CpuBackend::with_partition_rows(&points, 64),
            CpuBackend::with_partition_rows(&points, 64),
        );
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut rng = crate::rng::SeededRng::new(7, crate::rng::Stream::Init { run: 0 });
        let mut potential = deferred.seed_first(points.row(3)).unwrap();
        assert_eq!(potential, immediate.seed_first(points.row(3)).unwrap());
        for _ in 1..k {
            let targets: Vec<f64> = (0..4).map(|_| rng.uniform() * potential).collect();
            let picks = deferred.seed_sample(&targets).unwrap();
            assert_eq!(picks, immediate.seed_sample(&targets).unwrap());
            let mut candidates = Matrix::with_capacity(picks.len(), d);
            for &i in &picks {
                candidates.push_row(points.row(i));
            }
            let trials = deferred.seed_trials(&candidates).unwrap();
            assert_eq!(
                bits(&trials),
                bits(&immediate.seed_trials(&candidates).unwrap())
            );
            let best = (0..trials.len()).fold(0, |b, i| if trials[i] < trials[b] { i } else { b });
            potential = trials[best];
            deferred.seed_commit(candidates.row(best)).unwrap();
            // Forgetting the trials makes the other backend update `closest` at once.
            immediate.seeding.candidates = None;
            immediate.seed_commit(candidates.row(best)).unwrap();
            assert!(deferred.seeding.centre.is_some() && immediate.seeding.centre.is_none());
            assert_eq!(
                bits(&deferred.part_potential),
                bits(&immediate.part_potential)
            );
            assert_eq!(potential, immediate.part_potential.iter().sum::<f64>());
        }
        // A commit with no trial pass before it folds in the centre still waiting first.
        assert!(deferred.seeding.centre.is_some());
        deferred.seed_commit(points.row(500)).unwrap();
        immediate.seed_commit(points.row(500)).unwrap();
        assert!(deferred.seeding.centre.is_none());
        assert_eq!(
            bits(&deferred.part_potential),
            bits(&immediate.part_potential)
        );
        assert_eq!(deferred.closest, immediate.closest);
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
