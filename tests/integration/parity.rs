//! Backend parity. One backend-neutral suite is instantiated once per backend (the CPU, and the
//! GPU on whatever adapter exists, lavapipe included), and direct comparisons run the same cases
//! on both: same seed ⇒ same k-means++ centres; same init ⇒ at every step of the CPU's path,
//! equal labels from the same centroids except near-ties and partial sums equal to an f64
//! oracle; and where that path has no near-tie, independent runs end with equal labels except
//! near-ties, inertia within 1e-5 relative, centroids within 1e-4. (A near-tie decided the
//! other way moves a centroid by a point's share of its cluster, after which Lloyd's
//! iterations may settle elsewhere on either backend.) The GPU cases run with both forms of
//! its Lloyd step.
//!
//! GPU tests skip with a note when there is no adapter, and fail instead when
//! `STRATA_REQUIRE_GPU=1`.

use crate::util::{assert_close, fixtures, json};
use std::sync::{Arc, OnceLock};
use strata::backend::cpu::CpuBackend;
use strata::backend::gpu::{GpuBackend, GpuContext};
use strata::backend::{Backend, StepPartials};
use strata::data::matrix::Matrix;
use strata::kmeans::init::kmeans_plusplus;
use strata::kmeans::lloyd;
use strata::rng::{SeededRng, Stream};
use strata::synth::blobs::{BlobSpec, Blobs};

/// The shared GPU context, or `None` (with a printed note) when no adapter exists.
pub fn gpu() -> Option<Arc<GpuContext>> {
    static CONTEXT: OnceLock<Option<Arc<GpuContext>>> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| match GpuContext::new(false) {
        Ok(ctx) => Some(ctx),
        Err(e) => {
            assert!(
                std::env::var("STRATA_REQUIRE_GPU").as_deref() != Ok("1"),
                "STRATA_REQUIRE_GPU=1 but no GPU adapter: {e}"
            );
            None
        }
    });
    if context.is_none() {
        eprintln!(
            "note: no GPU adapter; GPU test skipped (set STRATA_REQUIRE_GPU=1 to make this a failure)"
        );
    }
    context.clone()
}

/// A backend constructor: `chunk_rows` forces small GPU chunks and small CPU partitions.
pub type Make = for<'a> fn(&'a Matrix, Option<usize>) -> Option<Box<dyn Backend + 'a>>;

pub fn cpu_backend(points: &Matrix, part_rows: Option<usize>) -> Option<Box<dyn Backend + '_>> {
    Some(Box::new(CpuBackend::with_partition_rows(
        points,
        part_rows.unwrap_or(1000),
    )))
}

pub fn gpu_backend(points: &Matrix, chunk_rows: Option<usize>) -> Option<Box<dyn Backend + '_>> {
    Some(Box::new(
        GpuBackend::with_chunk_rows(gpu()?, points, chunk_rows).expect("GPU backend"),
    ))
}

/// The GPU backend with each Lloyd step in one pass (`assign_accumulate`) where the shape
/// allows.
pub fn gpu_fused_backend(
    points: &Matrix,
    chunk_rows: Option<usize>,
) -> Option<Box<dyn Backend + '_>> {
    Some(Box::new(
        GpuBackend::with_chunk_rows(gpu()?, points, chunk_rows)
            .and_then(GpuBackend::with_fused_step)
            .expect("GPU backend"),
    ))
}

/// Workgroups per dispatch dimension in the 2-D dispatch cases: so few that a few thousand rows
/// need the second dimension in every per-point kernel (real limits, 65,535 and up, need
/// millions).
const SMALL_GRID: u32 = 8;

/// The GPU backend with at most `SMALL_GRID` workgroups per dispatch dimension.
pub fn gpu_backend_2d(points: &Matrix, chunk_rows: Option<usize>) -> Option<Box<dyn Backend + '_>> {
    Some(Box::new(
        GpuBackend::with_layout(gpu()?, points, chunk_rows, Some(SMALL_GRID)).expect("GPU backend"),
    ))
}

/// `gpu_backend_2d` with the one-pass Lloyd step.
pub fn gpu_fused_backend_2d(
    points: &Matrix,
    chunk_rows: Option<usize>,
) -> Option<Box<dyn Backend + '_>> {
    Some(Box::new(
        GpuBackend::with_layout(gpu()?, points, chunk_rows, Some(SMALL_GRID))
            .and_then(GpuBackend::with_fused_step)
            .expect("GPU backend"),
    ))
}

/// Seeded blobs as a matrix.
pub fn blob_matrix(rows: u64, dims: usize, centers: usize, seed: u64) -> Matrix {
    let spec = BlobSpec {
        rows,
        dims,
        centers,
        std: 1.5,
        box_half_width: 6.0,
        seed,
        batch_rows: 4096,
    };
    Blobs::new(spec).and_then(|b| b.matrix()).unwrap()
}

fn sq(x: &[f32], c: &[f32]) -> f64 {
    x.iter().zip(c).map(|(a, b)| f64::from(a - b).powi(2)).sum()
}

/// The two nearest centroids of `x` are within 1e-5 relative: either label is right.
fn near_tie(x: &[f32], centroids: &Matrix) -> bool {
    let mut d: Vec<f64> = (0..centroids.rows())
        .map(|c| sq(x, centroids.row(c)))
        .collect();
    d.sort_by(f64::total_cmp);
    d.len() > 1 && d[1] - d[0] <= 1e-5 * d[1].max(1e-12)
}

/// Labels equal except near-ties; returns the number of near-tie differences.
fn compare_labels(what: &str, points: &Matrix, centroids: &Matrix, a: &[u32], b: &[u32]) -> usize {
    let mut ties = 0;
    for i in 0..points.rows() {
        if a[i] != b[i] {
            assert!(
                near_tie(points.row(i), centroids),
                "{what}: row {i} labelled {} and {}, not a near-tie",
                a[i],
                b[i]
            );
            ties += 1;
        }
    }
    ties
}

// ---------------------------------------------------------------------------------------------
// The backend-neutral suite.

/// scikit-learn's Lloyd fixture, through a backend with small partitions/chunks.
fn sklearn_fixture(make: Make) {
    let case = fixtures().join("lloyd/blobs_16d");
    let expected = json(&case.join("expected.json"));
    let read = |file: &str, skip: usize| -> Matrix {
        let text = std::fs::read_to_string(case.join(file)).unwrap();
        let values = text
            .lines()
            .skip(1)
            .flat_map(|l| {
                l.split(',')
                    .skip(skip)
                    .map(|v| v.parse::<f32>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        Matrix::from_vec(values, 16)
    };
    let (points, init) = (read("data.csv", 1), read("init.csv", 0));
    let Some(mut backend) = make(&points, Some(300)) else {
        return;
    };
    let outcome = lloyd::run(backend.as_mut(), &points, init, 100, 0.0).unwrap();
    assert_eq!(
        outcome.iterations as u64,
        expected["n_iter"].as_u64().unwrap()
    );
    let assignment = backend.assign(&outcome.centroids).unwrap();
    let want: Vec<u32> = expected["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    compare_labels(
        "sklearn labels",
        &points,
        &outcome.centroids,
        &assignment.labels,
        &want,
    );
    let inertia: f64 = assignment.sq_distances.iter().map(|&d| f64::from(d)).sum();
    assert_close(
        "inertia",
        inertia,
        expected["inertia"].as_f64().unwrap(),
        1e-5,
        0.0,
    );
}

/// A step's partial sums against a brute-force f64 oracle, on `rows` points in parts of
/// `part_rows` (GPU chunks hold several 16,384-row ranges of the partial sums when `part_rows`
/// is large).
fn step_matches_oracle(make: Make, rows: u64, part_rows: usize) {
    let points = blob_matrix(rows, 5, 4, 11);
    let centroids = Matrix::from_vec(points.as_slice()[..7 * 5].to_vec(), 5);
    let Some(mut backend) = make(&points, Some(part_rows)) else {
        return;
    };
    let got = backend.step(&centroids).unwrap();
    let mut counts = vec![0u64; 7];
    let mut sums = vec![0.0f64; 7 * 5];
    let mut inertia = 0.0;
    for i in 0..points.rows() {
        let x = points.row(i);
        let (c, d) =
            (0..7)
                .map(|c| (c, sq(x, centroids.row(c))))
                .fold(
                    (0, f64::INFINITY),
                    |b, (c, d)| if d < b.1 { (c, d) } else { b },
                );
        counts[c] += 1;
        inertia += d;
        for j in 0..5 {
            sums[c * 5 + j] += f64::from(x[j]);
        }
    }
    assert_eq!(got.counts, counts);
    assert_eq!(
        got.changed,
        points.rows() as u64,
        "every label is new on the first step"
    );
    assert_close("inertia", got.inertia, inertia, 1e-6, 0.0);
    for (i, (g, w)) in got.sums.iter().zip(&sums).enumerate() {
        assert_close(&format!("sum {i}"), *g, *w, 1e-5, 1e-3);
    }
    assert_eq!(
        backend.step(&centroids).unwrap().changed,
        0,
        "same centroids, no label changes"
    );
    // A new run (a restart, another k) forgets the labels: every one is new again.
    backend.reset_labels().unwrap();
    assert_eq!(
        backend.step(&centroids).unwrap().changed,
        points.rows() as u64,
        "every label is new after a reset"
    );
    assert_eq!(backend.step(&centroids).unwrap().changed, 0);
}

/// Partial sums that cancel (hand oracle): one feature, one cluster, nine 16,384-row ranges
/// summing to 2²⁶, 1, −2²⁶, then 2, 2²⁶, −2²⁶, then 0, 0, 0. Added in f32 in that order, the 1
/// and the 2 are lost (2²⁶ + 1 and 2 + 2²⁶ round to 2²⁶). The GPU folds each three ranges into
/// one group and must keep them in the groups' rounding errors, whichever of the two terms is the
/// larger, so that the total is exactly 3, as in f64. (The one-pass step's ranges are its
/// workgroups' 1,024 rows, so there the same values span 129 ranges in 11 groups; the total must
/// still be exactly 3.)
fn cancelling_ranges_add_exactly(make: Make) {
    const RANGE: usize = 16_384;
    let mut values = vec![0.0f32; 8 * RANGE + 100];
    values[..RANGE].fill(4096.0);
    values[RANGE] = 1.0;
    values[2 * RANGE..3 * RANGE].fill(-4096.0);
    values[3 * RANGE] = 2.0;
    values[4 * RANGE..5 * RANGE].fill(4096.0);
    values[5 * RANGE..6 * RANGE].fill(-4096.0);
    let rows = values.len() as u64;
    let points = Matrix::from_vec(values, 1);
    let Some(mut backend) = make(&points, None) else {
        return;
    };
    let got = backend.step(&Matrix::from_vec(vec![0.0], 1)).unwrap();
    assert_eq!(got.counts, [rows]);
    assert_eq!(got.sums, [3.0]);
    // Σ x² = 4 · 2¹⁴ · 2²⁴ + 1 + 4, exact in f64.
    assert_close("inertia", got.inertia, 2.0f64.powi(40) + 5.0, 1e-6, 0.0);
}

/// Small values after a large one (hand oracle): 2²⁴ then 40,000 ones, one feature and one
/// cluster. In plain f32 each 2²⁴ + 1 rounds back to 2²⁴; compensated sums keep every one: the
/// sum is exactly 2²⁴ + 40,000. The ones span several of the GPU's ranges (16,384 rows, or a
/// one-pass step's workgroup of 256 to 1,024), and the first range's own sum, 2²⁴ + 16,383 or
/// 2²⁴ + 255 to 1,023, is odd, so no f32 holds it: a range's sum must come with the rounding
/// error its compensation keeps.
fn small_values_after_a_large_one_are_kept(make: Make) {
    let mut values = vec![1.0f32; 40_001];
    values[0] = 16_777_216.0;
    let points = Matrix::from_vec(values, 1);
    let Some(mut backend) = make(&points, None) else {
        return;
    };
    let got = backend.step(&Matrix::from_vec(vec![0.0], 1)).unwrap();
    assert_eq!(got.counts, [40_001]);
    assert_eq!(got.sums, [16_777_216.0 + 40_000.0]);
}

/// An empty cluster is re-seeded with the farthest point (hand oracle: the far-out point 100).
fn empty_cluster_is_reseeded(make: Make) {
    let mut values: Vec<f32> = (0..300).map(|i| (i % 10) as f32 * 0.1).collect();
    values.push(100.0);
    let points = Matrix::from_vec(values, 1);
    let init = Matrix::from_vec(vec![0.2, 0.7, -50.0], 1);
    let Some(mut backend) = make(&points, Some(100)) else {
        return;
    };
    let outcome = lloyd::run(backend.as_mut(), &points, init, 20, 0.0).unwrap();
    assert_eq!(outcome.relocations, 1);
    let assignment = backend.assign(&outcome.centroids).unwrap();
    assert_eq!(
        assignment.labels[300], 2,
        "the far point owns the re-seeded cluster"
    );
    assert_eq!(outcome.centroids.row(2), &[100.0]);
}

/// k-means++ sampling against the exact cumulative sum (hand oracle): points 0..2000 on a line,
/// in parts of 1000 rows, so the running sums cross GPU workgroup blocks (256 rows) and chunks.
/// With the first centre at 0 the closest distances are i², whose running sum to m is
/// m(m + 1)(2m + 1)/6, exact in f32 per point and in f64 in total. A target equal to that sum
/// picks m; half a unit less picks m too, half a unit more picks m + 1. A block's sum is far
/// past f32's 24 bits, so the GPU's compensated block sums must be exact for these to hold.
fn seeding_samples_the_exact_cumulative_sum(make: Make) {
    let n = 2_000usize;
    let points = Matrix::from_vec((0..n).map(|i| i as f32).collect(), 1);
    let Some(mut backend) = make(&points, Some(1_000)) else {
        return;
    };
    let cumulative = |m: usize| (m * (m + 1) * (2 * m + 1) / 6) as f64;
    assert_eq!(backend.seed_first(&[0.0]).unwrap(), cumulative(n - 1));
    let edges = [
        1usize, 2, 255, 256, 257, 511, 512, 767, 768, 999, 1000, 1001, 1255, 1256, 1500, 1998, 1999,
    ];
    let mut targets = vec![0.0, cumulative(n - 1) + 1.0];
    let mut expected = vec![0, n - 1];
    for &m in &edges {
        targets.extend([cumulative(m), cumulative(m) - 0.5, cumulative(m) + 0.5]);
        expected.extend([m, m, (m + 1).min(n - 1)]);
    }
    assert_eq!(backend.seed_sample(&targets).unwrap(), expected);

    // A candidate at 1999 leaves min(i², (1999 − i)²) per point.
    let after: Vec<f64> = (0..n)
        .map(|i| (i * i).min((n - 1 - i) * (n - 1 - i)) as f64)
        .collect();
    let candidates = Matrix::from_vec(vec![1999.0, 1000.0], 1);
    let trials = backend.seed_trials(&candidates).unwrap();
    assert_close("trial at 1999", trials[0], after.iter().sum(), 1e-6, 0.0);
    backend.seed_commit(&[1999.0]).unwrap();
    let running: Vec<f64> = after
        .iter()
        .scan(0.0, |sum, &c| {
            *sum += c;
            Some(*sum)
        })
        .collect();
    // Past the middle the distances shrink; the picks still land on the exact running sums.
    let picks = [10usize, 256, 999, 1000, 1001, 1500, 1998];
    let targets: Vec<f64> = picks.iter().map(|&m| running[m]).collect();
    assert_eq!(backend.seed_sample(&targets).unwrap(), picks);
    backend.end_seeding();
}

macro_rules! backend_suite {
    ($($backend:ident => $make:expr),*) => {$(
        mod $backend {
            #[test]
            fn sklearn_fixture() {
                super::sklearn_fixture($make);
            }
            #[test]
            fn step_matches_oracle() {
                super::step_matches_oracle($make, 2_345, 500);
            }
            /// 110,000 rows: 7 ranges of partial sums, folded on the GPU in groups of 3, 3, 1.
            #[test]
            fn step_matches_oracle_over_several_ranges() {
                super::step_matches_oracle($make, 120_000, 110_000);
            }
            #[test]
            fn cancelling_ranges_add_exactly() {
                super::cancelling_ranges_add_exactly($make);
            }
            #[test]
            fn small_values_after_a_large_one_are_kept() {
                super::small_values_after_a_large_one_are_kept($make);
            }
            #[test]
            fn empty_cluster_is_reseeded() {
                super::empty_cluster_is_reseeded($make);
            }
            #[test]
            fn seeding_samples_the_exact_cumulative_sum() {
                super::seeding_samples_the_exact_cumulative_sum($make);
            }
        }
    )*};
}

backend_suite!(
    cpu => super::cpu_backend,
    gpu => super::gpu_backend,
    gpu_fused => super::gpu_fused_backend
);

// ---------------------------------------------------------------------------------------------
// GPU against CPU on the same cases.

/// A step's counts and sums against an f64 oracle of `labels` (the backend's own assignment
/// from the same centroids).
fn step_matches_labels(what: &str, got: StepPartials, points: &Matrix, labels: &[u32]) {
    let d = points.cols();
    let mut counts = vec![0u64; got.k];
    let mut sums = vec![0.0f64; got.k * d];
    for (i, &label) in labels.iter().enumerate() {
        let c = label as usize;
        counts[c] += 1;
        for (s, &x) in sums[c * d..(c + 1) * d].iter_mut().zip(points.row(i)) {
            *s += f64::from(x);
        }
    }
    assert_eq!(got.counts, counts, "{what}: counts");
    for (i, (g, w)) in got.sums.iter().zip(&sums).enumerate() {
        assert_close(&format!("{what}: sum {i}"), *g, *w, 1e-5, 1e-3);
    }
}

/// Same seed ⇒ same k-means++ centres; same init ⇒ the same labels from the same centroids
/// (except near-ties) at every step of the CPU's path, with exact partial sums; and, where that
/// path has no near-tie, the same Lloyd result from independent runs.
fn parity(name: &str, points: &Matrix, k: usize, chunk_rows: Option<usize>, init: Option<Matrix>) {
    parity_of(gpu_backend, name, points, k, chunk_rows, init.clone());
    let one_pass = format!("{name} (one-pass step)");
    parity_of(gpu_fused_backend, &one_pass, points, k, chunk_rows, init);
}

fn parity_of(
    make: Make,
    name: &str,
    points: &Matrix,
    k: usize,
    chunk_rows: Option<usize>,
    init: Option<Matrix>,
) {
    let Some(mut gpu) = make(points, chunk_rows) else {
        return;
    };
    let mut cpu = CpuBackend::new(points);
    let seeded = init.is_none();
    let init = match init {
        Some(init) => init,
        None => {
            let a = kmeans_plusplus(
                &mut cpu,
                points,
                k,
                &mut SeededRng::new(5, Stream::Init { run: 0 }),
            )
            .unwrap();
            let b = kmeans_plusplus(
                gpu.as_mut(),
                points,
                k,
                &mut SeededRng::new(5, Stream::Init { run: 0 }),
            )
            .unwrap();
            assert_eq!(a, b, "{name}: k-means++ picked different centres");
            a
        }
    };
    // In lockstep along the CPU's path: both backends assign from the same centroids (labels
    // equal except near-ties), and the GPU's partial sums match an f64 oracle of its own labels.
    let mut centroids = init.clone();
    let mut path_ties = 0;
    for iteration in 0..40 {
        let what = format!("{name}, iteration {iteration}");
        let a = cpu.assign(&centroids).unwrap();
        let b = gpu.assign(&centroids).unwrap();
        path_ties += compare_labels(&what, points, &centroids, &a.labels, &b.labels);
        step_matches_labels(&what, gpu.step(&centroids).unwrap(), points, &b.labels);
        let next = lloyd::run(&mut cpu, points, centroids.clone(), 1, 0.0).unwrap();
        if next.centroids == centroids {
            break;
        }
        centroids = next.centroids;
    }
    if path_ties > 0 {
        // A flipped near-tie moves a centroid by a point's share of its cluster, and Lloyd's
        // iterations from there may settle elsewhere: the whole runs are not comparable.
        eprintln!(
            "{name}: {path_ties} near-tie label difference(s) along the CPU's path; whole runs not compared"
        );
        return;
    }
    let on_cpu = lloyd::run(&mut cpu, points, init.clone(), 40, 0.0).unwrap();
    let on_gpu = lloyd::run(gpu.as_mut(), points, init, 40, 0.0).unwrap();
    let a = cpu.assign(&on_cpu.centroids).unwrap();
    let b = gpu.assign(&on_gpu.centroids).unwrap();
    let ties = compare_labels(name, points, &on_cpu.centroids, &a.labels, &b.labels);
    let inertia = |s: &[f32]| s.iter().map(|&d| f64::from(d)).sum::<f64>();
    assert_close(
        &format!("{name}: inertia"),
        inertia(&b.sq_distances),
        inertia(&a.sq_distances),
        1e-5,
        1e-9,
    );
    for (i, (g, c)) in on_gpu
        .centroids
        .as_slice()
        .iter()
        .zip(on_cpu.centroids.as_slice())
        .enumerate()
    {
        assert_close(
            &format!("{name}: centroid value {i}"),
            f64::from(*g),
            f64::from(*c),
            1e-4,
            1e-4,
        );
    }
    eprintln!(
        "{name}: {} rows, k = {k}, seeded = {seeded}, {ties} near-tie label difference(s)",
        points.rows()
    );
}

#[test]
fn parity_several_chunks_and_n_not_a_multiple_of_the_workgroup() {
    parity("chunks", &blob_matrix(5_037, 8, 6, 1), 6, Some(1_000), None);
}

/// Grids with a second dimension, and spare workgroups in their last row, in every per-point
/// kernel (k-means++ distances and trials, assignment, both Lloyd steps, the exact silhouette):
/// 40,003 rows are 157 seeding workgroups (8 × 20 on the grid), 40 assignment workgroups at four
/// rows per invocation (8 × 5); in chunks of 15,000 rows, 8 × 2 each.
#[test]
fn parity_two_dimensional_dispatch() {
    let points = blob_matrix(40_003, 4, 5, 12);
    parity_of(gpu_backend_2d, "2-D grid", &points, 5, None, None);
    parity_of(
        gpu_fused_backend_2d,
        "2-D grid (one-pass step)",
        &points,
        5,
        None,
        None,
    );
    parity_of(
        gpu_backend_2d,
        "2-D grid, chunks",
        &points,
        5,
        Some(15_000),
        None,
    );
    parity_of(
        gpu_fused_backend_2d,
        "2-D grid, chunks (one-pass step)",
        &points,
        5,
        Some(15_000),
        None,
    );

    let points = blob_matrix(12_001, 4, 5, 13);
    let labels: Vec<u32> = (0..points.rows())
        .map(|i| ((points.row(i)[0] + 6.0) * 3.0) as u32 % 5)
        .collect();
    crate::scores::exact_silhouettes_agree(gpu_backend_2d, "2-D grid", &points, &labels, 5);
}

#[test]
fn parity_k1() {
    parity("k1", &blob_matrix(3_000, 4, 3, 2), 1, Some(700), None);
}

#[test]
fn parity_d1() {
    parity("d1", &blob_matrix(4_001, 1, 5, 3), 5, None, None);
}

#[test]
fn parity_k256() {
    parity(
        "k256",
        &blob_matrix(12_000, 8, 30, 4),
        256,
        Some(5_000),
        None,
    );
}

/// More clusters than `sort_by_cluster_small` takes: the general sort.
#[test]
fn parity_k300() {
    parity(
        "k300",
        &blob_matrix(6_000, 3, 40, 9),
        300,
        Some(4_000),
        None,
    );
}

#[test]
fn parity_d64() {
    parity("d64", &blob_matrix(3_000, 64, 10, 5), 16, None, None);
}

/// 20 features: three rows per invocation of the register kernel (768 per workgroup), with
/// chunks and a last workgroup that is mostly past the end.
#[test]
fn parity_d20_three_rows_per_invocation() {
    parity("d20", &blob_matrix(4_100, 20, 7, 10), 7, Some(1_700), None);
}

/// 32 features: two rows per invocation of the register kernel.
#[test]
fn parity_d32_two_rows_per_invocation() {
    parity("d32", &blob_matrix(3_300, 32, 6, 11), 6, None, None);
}

/// Past 64 features the GPU assignment reads the point 16 vec4s at a time: here a block of 16
/// and one of 2, the last with two features of zero padding.
#[test]
fn parity_d70() {
    parity("d70", &blob_matrix(2_000, 70, 6, 7), 6, Some(900), None);
}

/// 150 features, three blocks of the point, and 40 centroids in two tiles of the general
/// assignment (26 and 14): each centroid's product carries over the blocks within its tile.
#[test]
fn parity_d150_several_tiles() {
    parity("d150", &blob_matrix(2_500, 150, 40, 12), 40, None, None);
}

/// Features not a multiple of four: the register kernel's zero padding.
#[test]
fn parity_d7_several_ranges() {
    parity("d7", &blob_matrix(40_000, 7, 9, 8), 9, None, None);
}

/// Passes that alternate direction (`STRATA_GPU_ALTERNATE=1`) change only the order in which the
/// device takes blocks of rows, ranges and chunks: k-means++ potentials, candidate scores and
/// samples over three rounds, then four Lloyd steps and the final assignment, are bit for bit
/// those of passes in row order, in both forms of the step and with both sorts (k = 5 and
/// k = 300), on chunks of four, four and two 16,384-row ranges (the last one short), and on a
/// two-dimensional grid whose last row has spare workgroups (49 assignment workgroups per full
/// chunk at four rows per invocation, on grids of 8 × 7; 196 k-means++ workgroups, 8 × 25).
#[test]
fn alternating_passes_change_no_value() {
    let points = blob_matrix(120_003, 4, 6, 14);
    type Layout = fn(&Matrix) -> Option<GpuBackend>;
    let forward: Layout = |points| {
        Some(GpuBackend::with_layout(gpu()?, points, Some(50_000), Some(SMALL_GRID)).unwrap())
    };
    let fused: Layout = |points| {
        Some(
            GpuBackend::with_layout(gpu()?, points, Some(50_000), Some(SMALL_GRID))
                .and_then(GpuBackend::with_fused_step)
                .unwrap(),
        )
    };
    let (Some(mut plain), Some(alternating)) = (forward(&points), forward(&points)) else {
        return;
    };
    let mut alternating = alternating.with_alternating_passes();
    let first = plain.seed_first(points.row(7)).unwrap();
    assert_eq!(alternating.seed_first(points.row(7)).unwrap(), first);
    for round in 0..3 {
        let rows: Vec<usize> = (0..5).map(|i| 1_000 + 23_456 * i + 7 * round).collect();
        let values: Vec<f32> = rows.iter().flat_map(|&r| points.row(r).to_vec()).collect();
        let candidates = Matrix::from_vec(values, 4);
        let scores = plain.seed_trials(&candidates).unwrap();
        assert_eq!(
            alternating.seed_trials(&candidates).unwrap(),
            scores,
            "round {round}"
        );
        let best = rows[round % 5];
        plain.seed_commit(points.row(best)).unwrap();
        alternating.seed_commit(points.row(best)).unwrap();
        let total = scores[round % 5];
        let targets: Vec<f64> = (1..40).map(|i| total * f64::from(i) / 40.0).collect();
        assert_eq!(
            alternating.seed_sample(&targets).unwrap(),
            plain.seed_sample(&targets).unwrap(),
            "round {round}: samples"
        );
    }
    // A second seeding (the next restart) begins on an odd pass: its update runs backwards.
    let again = plain.seed_first(points.row(99_999)).unwrap();
    assert_eq!(alternating.seed_first(points.row(99_999)).unwrap(), again);
    let targets: Vec<f64> = (1..40).map(|i| again * f64::from(i) / 40.0).collect();
    assert_eq!(
        alternating.seed_sample(&targets).unwrap(),
        plain.seed_sample(&targets).unwrap(),
        "second seeding: samples"
    );
    for (form, make) in [("three passes", forward), ("one pass", fused)] {
        for k in [5, 300] {
            let (Some(mut plain), Some(alternating)) = (make(&points), make(&points)) else {
                return;
            };
            let mut alternating = alternating.with_alternating_passes();
            let mut centroids = Matrix::from_vec(points.as_slice()[..k * 4].to_vec(), 4);
            for step in 0..4 {
                let want = plain.step(&centroids).unwrap();
                let got = alternating.step(&centroids).unwrap();
                assert_eq!(got, want, "{form}, k = {k}, step {step}");
                let means: Vec<f32> = (0..k * 4)
                    .map(|i| {
                        let count = want.counts[i / 4].max(1) as f64;
                        (want.sums[i] / count) as f32
                    })
                    .collect();
                centroids = Matrix::from_vec(means, 4);
            }
            assert_eq!(
                alternating.assign(&centroids).unwrap(),
                plain.assign(&centroids).unwrap(),
                "{form}, k = {k}: final assignment"
            );
        }
    }
}

/// k-means++ sampling on both backends from the same distances: the GPU finds the block from
/// its workgroups' sums and reads only that block back; the CPU scans its partitions. Uniform
/// targets over 30,000 points in 7 chunks pick the same points.
#[test]
fn seeding_samples_agree() {
    let points = blob_matrix(30_000, 5, 8, 12);
    let Some(mut gpu) = gpu_backend(&points, Some(4_500)) else {
        return;
    };
    let mut cpu = CpuBackend::new(&points);
    let mut rng = SeededRng::new(3, Stream::Init { run: 0 });
    let potential = cpu.seed_first(points.row(17)).unwrap();
    assert_close(
        "potential",
        gpu.seed_first(points.row(17)).unwrap(),
        potential,
        1e-7,
        0.0,
    );
    for centre in [None, Some(29_000)] {
        if let Some(row) = centre {
            cpu.seed_commit(points.row(row)).unwrap();
            gpu.seed_commit(points.row(row)).unwrap();
        }
        let targets: Vec<f64> = (0..2_000).map(|_| rng.uniform() * potential).collect();
        assert_eq!(
            gpu.seed_sample(&targets).unwrap(),
            cpu.seed_sample(&targets).unwrap()
        );
    }
}

#[test]
fn parity_empty_cluster() {
    let points = blob_matrix(2_000, 3, 3, 6);
    let mut init = Matrix::from_vec(points.as_slice()[..3 * 3].to_vec(), 3);
    init.push_row(&[1e3, 1e3, 1e3]);
    parity("empty", &points, 4, Some(512), Some(init));
}

/// The demo data: the GPU backend's segments equal the CPU backend's (near-ties counted).
#[test]
fn demo_segments_agree() {
    if gpu().is_none() {
        return;
    }
    let run = |backend| {
        let args = strata::cli::demo::DemoArgs {
            customers: 20_000,
            k: 5,
            seed: 0,
            backend,
            gpu: Default::default(),
            threads: None,
            output: None,
            model: None,
            report: None,
        };
        strata::pipeline::run_fit(strata::cli::demo::job(&args)).unwrap()
    };
    let cpu = run(strata::backend::BackendChoice::Cpu);
    let gpu = run(strata::backend::BackendChoice::Gpu);
    assert_eq!(gpu.report.backend.kind, strata::backend::BackendKind::Gpu);
    let differ = cpu
        .labels
        .iter()
        .zip(&gpu.labels)
        .filter(|(a, b)| a != b)
        .count();
    eprintln!(
        "demo: {differ} of {} labels differ between backends",
        cpu.labels.len()
    );
    assert!(differ <= 2, "{differ} labels differ");
    assert_close(
        "demo inertia",
        gpu.report.inertia,
        cpu.report.inertia,
        1e-5,
        0.0,
    );
}

/// The exact silhouette's compensated sums (hand oracle): point 0 at 0 shares its cluster with
/// a point at 2²⁴ and 1,000 points at 1, in that order, and the other cluster is one point at
/// −16,761. In plain f32 the ones are lost (a = 2²⁴/1001, s = +3.3e-5); kept, a = (2²⁴ + 1000)/1001
/// and s = (16761 − a)/a = −2.7e-5. (The CPU backend sums in f32 over runs of chunks, then in
/// f64, by design; here it keeps 937 of the ones.)
#[test]
fn gpu_silhouette_sums_keep_small_distances() {
    let mut values = vec![0.0f32, 16_777_216.0];
    values.extend([1.0f32; 1_000]);
    values.push(-16_761.0);
    let sorted = Matrix::from_vec(values, 1);
    let Some(mut backend) = gpu_backend(&sorted, None) else {
        return;
    };
    let scores = backend
        .silhouette_exact(&sorted, &[0, 1_002, 1_003])
        .unwrap();
    let a = (16_777_216.0 + 1_000.0) / 1_001.0;
    let b = 16_761.0;
    let want = (b - a) / f64::max(a, b);
    assert_close("s(0)", f64::from(scores[0]), want, 0.0, 2e-6);
}

/// An assignment walks all k centroids in one invocation (the general kernel, d > 64, also
/// the blocks of 16 vec4s of the point). llvmpipe stops an invocation's loops after 65,535
/// iterations in all: at k = 70,000, d = 4 no centroid past about 64,770 was chosen; at d =
/// 1,024, k = 2,500 stopped short and 2,300 did not (and when the general kernel read the point
/// again for every centroid, k = 300 already stopped near 250, 200 of 600 labels wrong). On a
/// software adapter such shapes (here k = 1,300 at d = 1,024, and k = 33,000 at d = 16) are
/// refused; a smaller k runs there and agrees with the CPU (k = 300 at d = 1,024), and on a
/// hardware adapter every shape runs and agrees.
#[test]
fn software_adapter_refuses_an_assignment_past_its_loop_cap() {
    for (rows, d, k, within) in [(1_300, 1_024, 1_300, 300), (33_000, 16, 33_000, 500)] {
        let what = format!("k = {k}, d = {d}");
        let points = blob_matrix(rows, d, 8, 13);
        // Off the data: a centroid on a row ties with a row next to it in the expanded form.
        let centres = |k: usize| {
            Matrix::from_vec(
                points.as_slice()[..k * d].iter().map(|v| v + 0.5).collect(),
                d,
            )
        };
        let centroids = centres(k);
        let Some(mut gpu) = gpu_backend(&points, None) else {
            return;
        };
        let software = crate::parity::gpu().is_some_and(|ctx| ctx.adapter().software);
        let got = gpu.assign(&centroids);
        let centroids = if software {
            let Err(refused) = got else {
                panic!("{what} ran on a software adapter");
            };
            let message = refused.to_string();
            assert!(message.contains("--backend cpu"), "{what}: {message}");
            centres(within)
        } else {
            centroids
        };
        let b = gpu.assign(&centroids).unwrap();
        let a = CpuBackend::new(&points).assign(&centroids).unwrap();
        compare_labels(&what, &points, &centroids, &a.labels, &b.labels);
    }
}

/// `STRATA_GPU_GROUPS_PER_DIM` reaches the backend from the command line: a fit on grids of
/// 8 workgroups per dimension (30,000 rows: 118 seeding workgroups, 8 × 15; 30 assignment
/// workgroups, 8 × 4) writes the same segments as on the device's own grids.
#[test]
fn a_narrow_grid_from_the_environment_gives_the_same_fit() {
    if gpu().is_none() {
        return;
    }
    let scratch = crate::util::Scratch::new("groups-per-dim");
    crate::util::strata_ok(
        &scratch.path,
        &[
            "generate",
            "--rows",
            "30000",
            "--dims",
            "4",
            "--centers",
            "5",
            "--seed",
            "3",
            "--output",
            "g.arrow",
        ],
    );
    let fit = |output: &str, env: &[(&str, &str)]| {
        let args = [
            "-v",
            "fit",
            "--input",
            "g.arrow",
            "--id",
            "id",
            "--exclude",
            "true_segment",
            "--k",
            "5",
            "--backend",
            "gpu",
            "--silhouette",
            "none",
            "--output",
            output,
        ];
        let run = crate::util::strata_env(&scratch.path, &args, env);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run
    };
    // Empty: the device's own limit, whatever the environment the tests run in says.
    let wide = fit("wide.csv", &[("STRATA_GPU_GROUPS_PER_DIM", "")]);
    assert!(!wide.stderr.contains("workgroups per dimension"));
    let narrow = fit("narrow.csv", &[("STRATA_GPU_GROUPS_PER_DIM", "8")]);
    assert!(
        narrow
            .stderr
            .contains("grids of at most 8 workgroups per dimension"),
        "{}",
        narrow.stderr
    );
    let read = |name: &str| std::fs::read_to_string(scratch.join(name)).unwrap();
    assert_eq!(read("wide.csv"), read("narrow.csv"));
}

/// A shape the GPU backend cannot run stops `--backend gpu` before any work, naming the limit:
/// with grids of 2 workgroups per dimension, k = 64 centroids of 16 features need 5 blocks of
/// partial-sum slots (64 × 17 = 1,088 slots, 256 per block).
#[test]
fn a_shape_beyond_the_grid_stops_a_gpu_fit_with_a_usage_error() {
    if gpu().is_none() {
        return;
    }
    let scratch = crate::util::Scratch::new("shape-beyond-grid");
    crate::util::strata_ok(
        &scratch.path,
        &[
            "generate", "--rows", "500", "--dims", "16", "--seed", "2", "--output", "g.arrow",
        ],
    );
    let args = [
        "fit",
        "--input",
        "g.arrow",
        "--id",
        "id",
        "--exclude",
        "true_segment",
        "--k",
        "64",
        "--backend",
        "gpu",
        "--output",
        "o.arrow",
    ];
    let run = crate::util::strata_env(&scratch.path, &args, &[("STRATA_GPU_GROUPS_PER_DIM", "2")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("k × (features + 1) = 1088 is too large for the GPU backend's partial sums"),
        "{}",
        run.stderr
    );
    assert_eq!(scratch.files(), ["g.arrow"]);
}

/// Results from the device that cannot be right stop the run with exit 70 and leave nothing
/// behind. Here a shader swapped in through `STRATA_SHADER_DIR` records every label k too high:
/// `fit` finds partial sums that count no point (or, with the one-pass step, a label past the
/// last centroid in the final assignment), `predict` such a label. Both used to end in a panic
/// in host code (exit 101), indexing a cluster by the label.
#[test]
fn impossible_results_from_the_device_stop_the_run() {
    if gpu().is_none() {
        return;
    }
    let scratch = crate::util::Scratch::new("impossible-results");
    let shaders = scratch.join("shaders");
    std::fs::create_dir_all(&shaders).unwrap();
    let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/assign.wgsl"));
    let wrong = source.replace(
        "    labels[row] = best;\n",
        "    labels[row] = best + params.k;\n",
    );
    assert_ne!(wrong, source, "the line to change is in assign.wgsl");
    std::fs::write(shaders.join("assign.wgsl"), wrong).unwrap();
    // 3,000 rows in four blobs.
    crate::sweep::blobs(&scratch, "g.parquet");
    let fit = |backend: &'static str| {
        crate::util::fit_blobs(
            "g.parquet",
            "4",
            &[
                "--backend",
                backend,
                "--output",
                "segments.parquet",
                "--model",
                "model.json",
                "--report",
                "report.json",
            ],
        )
    };
    crate::util::strata_ok(&scratch.path, &fit("cpu"));
    let before = scratch.files();
    let predict = [
        "predict",
        "--model",
        "model.json",
        "--input",
        "g.parquet",
        "--backend",
        "gpu",
        "--output",
        "predicted.parquet",
    ];
    let dir = shaders.to_str().unwrap();
    for (args, fused, says) in [
        (
            &fit("gpu")[..],
            "0",
            "partial sums that count 0 points of 3000",
        ),
        // The one-pass step sums by the labels it found, not those it recorded: the final
        // assignment is where the fault shows.
        (&fit("gpu")[..], "1", "with 4 centroids"),
        (&predict[..], "0", "with 4 centroids"),
    ] {
        let env = [("STRATA_SHADER_DIR", dir), ("STRATA_GPU_FUSED_STEP", fused)];
        let run = crate::util::strata_env(&scratch.path, args, &env);
        assert_eq!(run.code, 70, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("the GPU (") && run.stderr.contains(says),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("--backend cpu"), "{}", run.stderr);
        assert_eq!(scratch.files(), before, "{args:?} left files behind");
    }
}
