//! `strata bench`: the same data and the same initial centroids on each backend; the time of
//! each phase, throughput, and how far the backends agree.
//!
//! Phases per backend: `device` (GPU context: adapter, device, pipelines; 0 on the CPU),
//! `upload` (the points handed to the backend), `seed` (greedy k-means++ from the bench seed,
//! the same centres on every backend), `lloyd` (exactly `iters` iterations from the shared
//! initial centroids, no early stop), `assign` (the final assignment). Data generation and file
//! reading are not timed. Throughput over the Lloyd phase: GFLOP/s counts 2·n·k·d per iteration
//! (the distance search), GB/s the n·d·4 bytes of points read per iteration. Agreement with the
//! first backend: adjusted Rand index of the final labels and relative inertia difference.

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{GpuBackend, GpuContext, IdleTime, KernelTime};
use crate::backend::{Backend, BackendInfo};
use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::kmeans::{init, lloyd};
use crate::metrics::indices::adjusted_rand_index;
use crate::rng::{SeededRng, Stream};
use serde::Serialize;
use std::time::Instant;

/// The backends a bench can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BenchBackend {
    /// The rayon CPU backend.
    Cpu,
    /// The wgpu backend on any adapter.
    Gpu,
}

/// Seconds per phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseTimes {
    pub device: f64,
    pub upload: f64,
    pub seed: f64,
    pub lloyd: f64,
    pub assign: f64,
}

/// Agreement with the first backend.
#[derive(Debug, Clone, Serialize)]
pub struct Agreement {
    pub against: BenchBackend,
    pub adjusted_rand_index: f64,
    pub relative_inertia_difference: f64,
}

/// One backend's results.
#[derive(Debug, Clone, Serialize)]
pub struct BackendResult {
    pub backend: BenchBackend,
    pub info: BackendInfo,
    pub times_s: PhaseTimes,
    pub ms_per_iteration: f64,
    pub gflops: f64,
    pub gbps: f64,
    pub inertia: f64,
    /// First backend's ms per iteration ÷ this one's.
    pub speedup: f64,
    /// `None` for the first backend.
    pub agreement: Option<Agreement>,
    /// GPU time per kernel (`STRATA_GPU_PROFILE=1` on an adapter with timestamp queries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernels: Option<PhaseKernels>,
}

/// GPU time per kernel in the seeding and Lloyd phases, and the GPU's idle time between the
/// timed submissions of each (the host's turnaround).
#[derive(Debug, Clone, Serialize)]
pub struct PhaseKernels {
    pub seed: Vec<KernelTime>,
    pub lloyd: Vec<KernelTime>,
    pub seed_idle: IdleTime,
    pub lloyd_idle: IdleTime,
}

/// What was benchmarked.
#[derive(Debug, Clone, Serialize)]
pub struct BenchData {
    pub source: String,
    pub rows: usize,
    pub dims: usize,
    pub k: usize,
    pub iters: usize,
    pub seed: u64,
}

/// The bench report (`--report`).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub strata_version: String,
    pub command: String,
    pub data: BenchData,
    pub backends: Vec<BackendResult>,
}

/// Runs every backend in `backends` on `points`.
///
/// # Errors
/// A usage error for k above the rows or no iterations; exit 69 when the GPU is asked for and
/// no adapter exists; backend failures.
pub fn run(
    points: &Matrix,
    source: String,
    k: usize,
    iters: usize,
    seed: u64,
    backends: &[BenchBackend],
) -> Result<BenchReport> {
    let (n, d) = (points.rows(), points.cols());
    if k == 0 || k > n {
        return Err(Error::usage(format!(
            "--k must be between 1 and the rows ({n})"
        )));
    }
    if iters == 0 {
        return Err(Error::usage("--iters must be at least 1"));
    }
    // The shared start of the Lloyd phase: k distinct rows drawn from the seed.
    let mut rng = SeededRng::new(seed, Stream::Init { run: 0 });
    let mut start = Matrix::with_capacity(k, d);
    for i in rng.distinct_indices(n, k) {
        start.push_row(points.row(i));
    }
    let mut results: Vec<BackendResult> = Vec::new();
    let mut first: Option<(BenchBackend, Vec<u32>, f64, f64)> = None;
    for &which in backends {
        let _context = crate::progress::context(match which {
            BenchBackend::Cpu => "cpu",
            BenchBackend::Gpu => "gpu",
        });
        let mut times = PhaseTimes::default();
        let started = Instant::now();
        let mut context = None;
        let mut backend: Box<dyn Backend + '_> = match which {
            BenchBackend::Cpu => Box::new(CpuBackend::new(points)),
            BenchBackend::Gpu => {
                let ctx = GpuContext::new(false)?;
                times.device = started.elapsed().as_secs_f64();
                context = Some(ctx.clone());
                let upload = Instant::now();
                let backend = GpuBackend::new(ctx, points)?;
                times.upload = upload.elapsed().as_secs_f64();
                Box::new(backend)
            }
        };
        if which == BenchBackend::Cpu {
            times.upload = started.elapsed().as_secs_f64();
        }
        let phase = Instant::now();
        let mut seed_rng = SeededRng::new(seed, Stream::Init { run: 1 });
        init::kmeans_plusplus(backend.as_mut(), points, k, &mut seed_rng)?;
        times.seed = phase.elapsed().as_secs_f64();
        let kernel_times = || context.as_ref().and_then(|c| c.take_kernel_times());
        let seed_kernels = kernel_times();
        let phase = Instant::now();
        let outcome = lloyd::run_until(backend.as_mut(), points, start.clone(), iters, None)?;
        times.lloyd = phase.elapsed().as_secs_f64();
        let kernels = seed_kernels
            .zip(kernel_times())
            .map(|(seed, lloyd)| PhaseKernels {
                seed: seed.kernels,
                lloyd: lloyd.kernels,
                seed_idle: seed.idle,
                lloyd_idle: lloyd.idle,
            });
        let phase = Instant::now();
        let assignment = backend.assign(&outcome.centroids)?;
        times.assign = phase.elapsed().as_secs_f64();
        let inertia: f64 = assignment.sq_distances.iter().map(|&v| f64::from(v)).sum();
        let per_iter = times.lloyd / iters as f64;
        let work = iters as f64 / times.lloyd.max(f64::MIN_POSITIVE);
        let (agreement, speedup) = match &first {
            None => (None, 1.0),
            Some((against, labels, base_inertia, base_ms)) => (
                Some(Agreement {
                    against: *against,
                    adjusted_rand_index: adjusted_rand_index(labels, &assignment.labels),
                    relative_inertia_difference: (inertia - base_inertia).abs()
                        / base_inertia.abs().max(f64::MIN_POSITIVE),
                }),
                base_ms / (1000.0 * per_iter),
            ),
        };
        if first.is_none() {
            first = Some((which, assignment.labels.clone(), inertia, 1000.0 * per_iter));
        }
        log::info!(
            "{}: {:.2} ms per iteration",
            serde_json::to_string(&which)
                .unwrap_or_default()
                .trim_matches('"'),
            1000.0 * per_iter
        );
        results.push(BackendResult {
            backend: which,
            info: backend.info(),
            ms_per_iteration: 1000.0 * per_iter,
            gflops: 2.0 * (n * k * d) as f64 * work / 1e9,
            gbps: (n * d * 4) as f64 * work / 1e9,
            inertia,
            speedup,
            agreement,
            times_s: times,
            kernels,
        });
    }
    Ok(BenchReport {
        strata_version: env!("CARGO_PKG_VERSION").to_string(),
        command: "bench".to_string(),
        data: BenchData {
            source,
            rows: n,
            dims: d,
            k,
            iters,
            seed,
        },
        backends: results,
    })
}

/// The report as a table for stdout.
pub fn render(report: &BenchReport) -> String {
    let data = &report.data;
    let mut out = format!(
        "{} rows × {} features, k = {}, {} Lloyd iterations from the same start ({})\n\n",
        data.rows, data.dims, data.k, data.iters, data.source
    );
    out.push_str(&format!(
        "{:<8}{:>10}{:>10}{:>10}{:>12}{:>10}{:>10}{:>10}{:>9}{:>16}{:>8}{:>11}\n",
        "backend",
        "device s",
        "upload s",
        "seed s",
        "ms/iter",
        "GFLOP/s",
        "GB/s",
        "assign s",
        "speedup",
        "inertia",
        "ARI",
        "rel. diff"
    ));
    for r in &report.backends {
        let t = &r.times_s;
        let (ari, diff) = r.agreement.as_ref().map_or(("-".into(), "-".into()), |a| {
            (
                format!("{:.4}", a.adjusted_rand_index),
                format!("{:.1e}", a.relative_inertia_difference),
            )
        });
        out.push_str(&format!(
            "{:<8}{:>10.3}{:>10.3}{:>10.3}{:>12.2}{:>10.1}{:>10.2}{:>10.3}{:>8.2}x{:>16.6e}{:>8}{:>11}\n",
            serde_json::to_string(&r.backend).unwrap_or_default().trim_matches('"'),
            t.device,
            t.upload,
            t.seed,
            r.ms_per_iteration,
            r.gflops,
            r.gbps,
            t.assign,
            r.speedup,
            r.inertia,
            ari,
            diff
        ));
    }
    for r in &report.backends {
        let Some(kernels) = &r.kernels else { continue };
        out.push_str("\nGPU time per kernel (timestamp queries)\n");
        let phases = [
            ("seed", &kernels.seed, &kernels.seed_idle),
            ("lloyd", &kernels.lloyd, &kernels.lloyd_idle),
        ];
        for (phase, list, idle) in phases {
            let per_iter = |ms: f64| match phase {
                "lloyd" => format!("{:.3} ms/iter", ms / report.data.iters as f64),
                _ => String::new(),
            };
            for t in list {
                out.push_str(&format!(
                    "{phase:<8}{:<24}{:>8} dispatches{:>12.3} ms{:>18}\n",
                    t.kernel,
                    t.dispatches,
                    t.total_ms,
                    per_iter(t.total_ms)
                ));
            }
            let per_gap = idle.total_ms / idle.gaps.max(1) as f64;
            out.push_str(&format!(
                "{phase:<8}{:<24}{:>8} gaps      {:>12.3} ms{:>18}\n",
                "(GPU idle between)",
                idle.gaps,
                idle.total_ms,
                format!("{per_gap:.3} ms/gap")
            ));
        }
    }
    for r in &report.backends {
        out.push_str(&format!(
            "\n{}: {}",
            serde_json::to_string(&r.backend)
                .unwrap_or_default()
                .trim_matches('"'),
            r.info.adapter
        ));
    }
    out.push('\n');
    out
}
