//! `strata bench`: the same job on each backend from the same start; times, throughput,
//! agreement.

use crate::bench::{BenchBackend, render, run as run_bench};
use crate::error::{Error, Result};
use crate::output::write::{StagedFile, write_json};
use crate::synth::blobs::{BlobSpec, Blobs};
use clap::Args;
use std::path::PathBuf;

/// Flags of `strata bench`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  strata bench --rows 1000000 --dims 16 --k 32 --iters 20 \
--backends cpu,gpu --report bench.json\n  strata bench --input customers.parquet --exclude id --k 8 \
--backends cpu\n\nPhases: device (GPU context), upload (points to the backend), seed (greedy \
k-means++), lloyd (exactly --iters iterations from the same start on every backend), assign \
(final labels). Data generation and file reading are not timed. GFLOP/s counts 2*n*k*d per \
iteration, GB/s the n*d*4 bytes of points read per iteration. ARI and the relative inertia \
difference compare each backend's final labels with the first backend's.\n\nWith \
STRATA_GPU_PROFILE=1 in the environment, an adapter with timestamp queries also reports the GPU \
time of each kernel in the seed and lloyd phases, and the GPU's idle time between timed \
submissions (the host's turnaround: read-back, host sums, the next submission). The timestamps \
come back with each submission's results, so a profiled Lloyd phase takes about as long as an \
unprofiled one."
)]
pub struct BenchArgs {
    /// Rows of generated data (Gaussian blobs, one per segment).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub rows: u64,
    /// Features of generated data.
    #[arg(long, value_name = "D", default_value_t = 16)]
    pub dims: usize,
    /// Standard deviation of the generated blobs (centres in [-10, 10]).
    #[arg(long, default_value_t = 4.0)]
    pub std: f64,
    /// Benchmark a file instead (its numeric columns, z-scored; --rows and --dims ignored).
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// With --input: the feature columns (default: every numeric column).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// With --input: columns to leave out.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Segments.
    #[arg(long, value_name = "K", default_value_t = 32)]
    pub k: usize,
    /// Lloyd iterations (exactly this many: no early stop).
    #[arg(long, value_name = "I", default_value_t = 20)]
    pub iters: usize,
    /// Backends, in order; the first is the reference for speedup and agreement.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu")]
    pub backends: Vec<BenchBackend>,
    /// Seed of the data, the start and the seeding.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub gpu: super::GpuArg,
    /// CPU worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Report file (JSON).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `strata bench`.
///
/// # Errors
/// Usage errors for empty shapes; 69 without an adapter for `gpu`; data errors of `--input`.
pub fn run(args: BenchArgs) -> Result<()> {
    super::set_threads(args.threads)?;
    args.gpu.apply(args.backends.contains(&BenchBackend::Gpu))?;
    if let Some(path) = &args.report {
        StagedFile::preflight(path)?;
    }
    let (points, source) = match &args.input {
        Some(path) => crate::pipeline::load_normalized(path, args.features.clone(), &args.exclude)?,
        None => {
            if args.rows == 0 || args.dims == 0 {
                return Err(Error::usage("--rows and --dims must be at least 1"));
            }
            let blobs = Blobs::new(BlobSpec {
                rows: args.rows,
                dims: args.dims,
                centers: args.k.max(1),
                std: args.std,
                box_half_width: 10.0,
                seed: args.seed,
                batch_rows: 65_536,
            })?;
            let source = format!(
                "generated: {} blobs, std {}, seed {}",
                args.k, args.std, args.seed
            );
            (blobs.matrix()?, source)
        }
    };
    let report = run_bench(
        &points,
        source,
        args.k,
        args.iters,
        args.seed,
        &args.backends,
    )?;
    if let Some(path) = &args.report {
        write_json(path, &report)?.commit()?;
    }
    if args.json {
        super::print_json(&report)?;
    } else {
        out!("{}", render(&report));
    }
    Ok(())
}
