//! The rayon CPU backend.
//!
//! Points are borrowed from the host matrix. The assignment works on blocks of four rows against
//! all centroids, stored transposed (d × k) so the inner loop runs over centroids and vectorizes
//! for small d. The search uses ‖c‖² − 2x·c; the chosen distance is then computed exactly as
//! ‖x − c‖². Partial sums are f64 per fixed partition, merged in partition order, so results do not
//! depend on the thread count.

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

/// Centroids laid out for the search: transposed, with their squared norms.
struct Search {
    k: usize,
    d: usize,
    transposed: Vec<f32>,
    norms: Vec<f32>,
}

impl Search {
    fn new(centroids: &Matrix) -> Self {
        let (k, d) = (centroids.rows(), centroids.cols());
        let mut transposed = vec![0.0; k * d];
        for c in 0..k {
            for (j, &v) in centroids.row(c).iter().enumerate() {
                transposed[j * k + c] = v;
            }
        }
        let norms = (0..k)
            .map(|c| centroids.row(c).iter().map(|v| v * v).sum())
            .collect();
        Self {
            k,
            d,
            transposed,
            norms,
        }
    }

    /// Nearest centroid of each row in `rows` (row-major, a multiple of d), written to `labels`.
    fn nearest(&self, rows: &[f32], labels: &mut [u32], scratch: &mut Vec<f32>) {
        let (k, d) = (self.k, self.d);
        scratch.resize(4 * k, 0.0);
        let mut groups = rows.chunks_exact(4 * d);
        let mut out = labels.chunks_exact_mut(4);
        for (group, out) in (&mut groups).zip(&mut out) {
            let (s0, rest) = scratch.split_at_mut(k);
            let (s1, rest) = rest.split_at_mut(k);
            let (s2, s3) = rest.split_at_mut(k);
            for s in [&mut *s0, &mut *s1, &mut *s2, &mut *s3] {
                s.copy_from_slice(&self.norms);
            }
            let (x0, rest) = group.split_at(d);
            let (x1, rest) = rest.split_at(d);
            let (x2, x3) = rest.split_at(d);
            for (j, w) in self.transposed.chunks_exact(k).enumerate() {
                let (a0, a1, a2, a3) = (-2.0 * x0[j], -2.0 * x1[j], -2.0 * x2[j], -2.0 * x3[j]);
                for c in 0..k {
                    let wc = w[c];
                    s0[c] += a0 * wc;
                    s1[c] += a1 * wc;
                    s2[c] += a2 * wc;
                    s3[c] += a3 * wc;
                }
            }
            out[0] = argmin(s0);
            out[1] = argmin(s1);
            out[2] = argmin(s2);
            out[3] = argmin(s3);
        }
        let s = &mut scratch[..k];
        for (x, out) in groups.remainder().chunks_exact(d).zip(out.into_remainder()) {
            s.copy_from_slice(&self.norms);
            for (j, w) in self.transposed.chunks_exact(k).enumerate() {
                let a = -2.0 * x[j];
                s.iter_mut().zip(w).for_each(|(s, &wc)| *s += a * wc);
            }
            *out = argmin(s);
        }
    }
}

/// Index of the smallest value; the lowest index wins ties (as scikit-learn's).
fn argmin(values: &[f32]) -> u32 {
    let mut best = 0;
    let mut best_value = values[0];
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v < best_value {
            best = i;
            best_value = v;
        }
    }
    best as u32
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
        let (k, d) = (search.k, search.d);
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
                search.nearest(rows, &mut fresh, &mut Vec::new());
                for ((x, &label), old) in rows.chunks_exact(d).zip(&fresh).zip(labels.iter_mut()) {
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
            .for_each_init(Vec::new, |scratch, (p, (labels, dists))| {
                let start = p * part_rows;
                let rows = self.rows_of(start..start + labels.len());
                search.nearest(rows, labels, scratch);
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
