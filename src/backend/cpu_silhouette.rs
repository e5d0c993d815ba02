//! Exact silhouette on the CPU: for every point, the sum of its Euclidean distances to every
//! point of every cluster, in O(n) extra memory.
//!
//! The label-sorted points are copied once into a panel: each cluster is padded to a multiple of
//! [`LANES`] points and stored in chunks of `LANES` points, dimension-major inside a chunk
//! (`chunk[j * LANES + l]` is dimension j of point l). A kernel takes [`ROWS`] query points at a
//! time and walks every chunk of every cluster: per dimension one load of `LANES` values serves
//! all query points, so the inner loop is `ROWS × LANES` independent differences and
//! fused multiply-adds that the compiler turns into vector code. Distances are computed as
//! ‖x − y‖² directly (not the expanded ‖x‖² + ‖y‖² − 2x·y, which loses digits for close pairs).
//! Square roots are summed in f32 over a run of chunks and then in f64, so long clusters do not
//! lose precision. Padding lanes of a cluster's last chunk are masked out.
//!
//! On x86-64 the kernel is compiled twice, for the baseline and for AVX2 + FMA, and the faster one
//! is chosen at run time, so one binary runs everywhere and uses the wide units where they exist.

use crate::data::matrix::Matrix;
use crate::metrics::silhouette::silhouette_of;
use rayon::prelude::*;

/// Points per chunk (one 256-bit vector of f32).
const LANES: usize = 8;
/// Query points per kernel pass.
const ROWS: usize = 8;
/// Chunks summed in f32 before the partial sum goes into f64.
const F32_RUN: usize = 64;
/// Query points per parallel task.
const TASK_ROWS: usize = 64;

/// Seconds of exact silhouette that `--silhouette auto` spends before it samples instead.
pub const AUTO_BUDGET_S: f64 = 5.0;

/// Point pairs per second per thread at 16 features: measured on an AMD EPYC core with AVX2
/// (20,000 points in 0.14 s on 2 threads, BENCHMARKS.md), rounded down.
const PAIRS_PER_SECOND_PER_THREAD_AT_16: f64 = 1.2e9;

/// The most points whose exact silhouette should take about `seconds` on `threads` threads at
/// `d` features (the work is n² pairs of d differences).
pub fn rows_within(seconds: f64, d: usize, threads: usize) -> usize {
    let rate = PAIRS_PER_SECOND_PER_THREAD_AT_16 * threads.max(1) as f64 * 16.0 / d.max(1) as f64;
    (seconds * rate).sqrt() as usize
}

/// The label-sorted points, chunked per cluster.
struct Panel {
    d: usize,
    /// `LANES × d` values per chunk.
    chunks: Vec<f32>,
    /// Cluster c owns chunks `first[c]..first[c + 1]`.
    first: Vec<usize>,
    /// Points in cluster c.
    sizes: Vec<usize>,
}

impl Panel {
    fn new(sorted: &Matrix, offsets: &[usize]) -> Self {
        let d = sorted.cols();
        let k = offsets.len() - 1;
        let sizes: Vec<usize> = (0..k).map(|c| offsets[c + 1] - offsets[c]).collect();
        let mut first = vec![0usize; k + 1];
        for c in 0..k {
            first[c + 1] = first[c] + sizes[c].div_ceil(LANES);
        }
        let mut chunks = vec![0f32; first[k] * LANES * d];
        for c in 0..k {
            for (t, p) in (offsets[c]..offsets[c + 1]).enumerate() {
                let base = (first[c] + t / LANES) * LANES * d + t % LANES;
                for (j, &v) in sorted.row(p).iter().enumerate() {
                    chunks[base + j * LANES] = v;
                }
            }
        }
        Panel {
            d,
            chunks,
            first,
            sizes,
        }
    }

    fn chunk(&self, index: usize) -> &[f32] {
        let len = LANES * self.d;
        &self.chunks[index * len..(index + 1) * len]
    }
}

/// Sums, for each of the `ROWS` query points in `xs` (dimension-major: `xs[j * ROWS + r]`), the
/// distances to every point of cluster `c`.
#[inline(always)]
fn cluster_sums<const FMA: bool>(panel: &Panel, xs: &[f32], c: usize) -> [f64; ROWS] {
    let d = panel.d;
    let (first, last) = (panel.first[c], panel.first[c + 1]);
    let mut total = [0f64; ROWS];
    if first == last {
        return total;
    }
    let valid_in_last = panel.sizes[c] - (last - first - 1) * LANES;
    let mut mask = [0f32; LANES];
    mask[..valid_in_last].fill(1.0);
    let mut index = first;
    while index < last {
        let run_end = (index + F32_RUN).min(last);
        let mut part = [[0f32; LANES]; ROWS];
        for i in index..run_end {
            let chunk = panel.chunk(i);
            let mut acc = [[0f32; LANES]; ROWS];
            for j in 0..d {
                let y: &[f32; LANES] = chunk[j * LANES..(j + 1) * LANES].try_into().unwrap();
                let x: &[f32; ROWS] = xs[j * ROWS..(j + 1) * ROWS].try_into().unwrap();
                for r in 0..ROWS {
                    for l in 0..LANES {
                        let diff = y[l] - x[r];
                        acc[r][l] = if FMA {
                            diff.mul_add(diff, acc[r][l])
                        } else {
                            diff * diff + acc[r][l]
                        };
                    }
                }
            }
            let weight = if i + 1 == last { mask } else { [1.0; LANES] };
            for r in 0..ROWS {
                for l in 0..LANES {
                    part[r][l] += acc[r][l].sqrt() * weight[l];
                }
            }
        }
        for r in 0..ROWS {
            total[r] += part[r].iter().map(|&v| f64::from(v)).sum::<f64>();
        }
        index = run_end;
    }
    total
}

/// Silhouettes of sorted rows `rows` (at most `TASK_ROWS`), written to `out`.
#[inline(always)]
fn block<const FMA: bool>(
    panel: &Panel,
    sorted: &Matrix,
    offsets: &[usize],
    rows: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let d = panel.d;
    let k = offsets.len() - 1;
    let mut xs = vec![0f32; d * ROWS];
    let mut sums = vec![[0f64; ROWS]; k];
    for group in rows.clone().step_by(ROWS) {
        // A short last group repeats its last row; the extra results are dropped.
        for r in 0..ROWS {
            let row = sorted.row((group + r).min(rows.end - 1));
            for j in 0..d {
                xs[j * ROWS + r] = row[j];
            }
        }
        for (c, slot) in sums.iter_mut().enumerate() {
            *slot = cluster_sums::<FMA>(panel, &xs, c);
        }
        let slots = &mut out[group - rows.start..(group + ROWS).min(rows.end) - rows.start];
        for (r, slot) in slots.iter_mut().enumerate() {
            let i = group + r;
            let own = offsets.partition_point(|&o| o <= i) - 1;
            let best = (0..k)
                .filter(|&c| c != own && panel.sizes[c] > 0)
                .map(|c| sums[c][r] / panel.sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            *slot = silhouette_of(sums[own][r], panel.sizes[own], best);
        }
    }
}

type BlockFn = fn(&Panel, &Matrix, &[usize], std::ops::Range<usize>, &mut [f32]);

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn block_avx2(
    panel: &Panel,
    sorted: &Matrix,
    offsets: &[usize],
    rows: std::ops::Range<usize>,
    out: &mut [f32],
) {
    block::<true>(panel, sorted, offsets, rows, out);
}

fn block_baseline(
    panel: &Panel,
    sorted: &Matrix,
    offsets: &[usize],
    rows: std::ops::Range<usize>,
    out: &mut [f32],
) {
    block::<false>(panel, sorted, offsets, rows, out);
}

fn pick_kernel() -> BlockFn {
    #[cfg(target_arch = "x86_64")]
    if super::avx2_fma() {
        return |panel, sorted, offsets, rows, out| {
            // SAFETY: the CPU was just found to support AVX2 and FMA.
            unsafe { block_avx2(panel, sorted, offsets, rows, out) }
        };
    }
    block_baseline
}

/// Exact per-point silhouettes of points sorted by label (`offsets[c]..offsets[c + 1]` is
/// cluster c), in sorted order.
pub fn exact_sorted(sorted: &Matrix, offsets: &[usize]) -> Vec<f32> {
    let panel = Panel::new(sorted, offsets);
    let kernel = pick_kernel();
    let mut out = vec![0f32; sorted.rows()];
    let progress = crate::progress::stage(
        "silhouette",
        crate::progress::Total::Exactly(sorted.rows() as u64),
        "rows",
    );
    out.par_chunks_mut(TASK_ROWS)
        .enumerate()
        .for_each(|(task, out)| {
            let start = task * TASK_ROWS;
            kernel(&panel, sorted, offsets, start..start + out.len(), out);
            progress.add(out.len() as u64);
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, pair by pair in f64.
    fn naive(points: &[Vec<f64>], labels: &[usize], k: usize) -> Vec<f64> {
        let n = points.len();
        let dist = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y) * (x - y))
                .sum::<f64>()
                .sqrt()
        };
        (0..n)
            .map(|i| {
                let mut sums = vec![0.0; k];
                let mut sizes = vec![0usize; k];
                for j in 0..n {
                    sums[labels[j]] += dist(&points[i], &points[j]);
                    sizes[labels[j]] += 1;
                }
                let own = labels[i];
                if sizes[own] == 1 {
                    return 0.0;
                }
                let a = sums[own] / (sizes[own] - 1) as f64;
                let b = (0..k)
                    .filter(|&c| c != own && sizes[c] > 0)
                    .map(|c| sums[c] / sizes[c] as f64)
                    .fold(f64::INFINITY, f64::min);
                (b - a) / a.max(b)
            })
            .collect()
    }

    #[test]
    fn the_auto_limit_follows_threads_and_width() {
        let base = rows_within(5.0, 16, 2);
        assert!((100_000..130_000).contains(&base), "{base}");
        // Four times the work per second: twice the points.
        let wide = rows_within(5.0, 16, 8);
        assert!(wide.abs_diff(2 * base) <= 1, "{wide} vs {base}");
        assert!(rows_within(5.0, 64, 2).abs_diff(base / 2) <= 1);
    }

    #[test]
    fn matches_the_definition_across_padding_and_groups() {
        // Cluster sizes that are not multiples of LANES, a singleton, an empty cluster, and a row
        // count that is not a multiple of ROWS or TASK_ROWS.
        let sizes = [1usize, 9, 0, 17, 70, 8];
        let d = 3;
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f64 / (1u64 << 24) as f64) * 4.0 - 2.0
        };
        let mut points = Vec::new();
        let mut labels = Vec::new();
        for (c, &size) in sizes.iter().enumerate() {
            for _ in 0..size {
                points.push(
                    (0..d)
                        .map(|j| next() + (c * (j + 1)) as f64)
                        .collect::<Vec<_>>(),
                );
                labels.push(c);
            }
        }
        let mut offsets = vec![0usize];
        for &s in &sizes {
            offsets.push(offsets.last().unwrap() + s);
        }
        let flat: Vec<f32> = points.iter().flatten().map(|&v| v as f32).collect();
        let sorted = Matrix::from_vec(flat, d);
        let got = exact_sorted(&sorted, &offsets);
        let rounded: Vec<Vec<f64>> = sorted.to_rows_f64();
        let want = naive(&rounded, &labels, sizes.len());
        assert_eq!(got[0], 0.0, "a singleton scores 0");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((f64::from(*g) - w).abs() < 1e-5, "row {i}: {g} vs {w}");
        }
        let panel = Panel::new(&sorted, &offsets);
        let mut baseline = vec![0f32; sorted.rows()];
        block_baseline(&panel, &sorted, &offsets, 0..sorted.rows(), &mut baseline);
        for (i, (b, g)) in baseline.iter().zip(&got).enumerate() {
            assert!(
                (b - g).abs() < 1e-6,
                "row {i}: baseline {b}, dispatched {g}"
            );
        }
    }
}
