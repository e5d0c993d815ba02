//! `strata predict`: assign new rows with a saved model.

use super::fit::MissingArg;
use crate::backend::BackendChoice;
use crate::error::Result;
use crate::pipeline::{PredictJob, run_predict};
use clap::Args;
use std::path::PathBuf;

/// Flags of `strata predict`.
#[derive(Debug, Args)]
#[command(
    after_help = "The input is read, checked, transformed, assigned and written one block of \
rows at a time (about 64 MiB of features); every check still covers the whole input, and a \
failed run leaves no file.\n\nExample:\n  strata predict --model model.json --input \
new_customers.parquet --id customer_id --output new_segments.parquet"
)]
pub struct PredictArgs {
    /// A model written by `strata fit --model`.
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Rows to assign, a file, a folder of part files or `-` (standard input) as for `fit`;
    /// they need the model's feature columns.
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Segments file: Arrow IPC, or Parquet/CSV by extension (.tsv: CSV with tabs; .gz or .zst
    /// after either: compressed).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// Id column (default: the 0-based input row).
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// Null or NaN features: error, drop, or mean/median with the model's fill values.
    #[arg(long, value_enum, default_value = "error")]
    pub missing: MissingArg,
    #[command(flatten)]
    pub csv: super::CsvArgs,
    /// auto, gpu or cpu.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub gpu: super::GpuArg,
    /// CPU worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Report file (JSON).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of the segment sizes.
    #[arg(long)]
    pub json: bool,
}

/// Runs `strata predict`.
///
/// # Errors
/// Any error of the job.
pub fn run(args: PredictArgs) -> Result<()> {
    super::set_threads(args.threads)?;
    args.gpu.apply(args.backend != BackendChoice::Cpu)?;
    let report = run_predict(PredictJob {
        model: args.model,
        source: args.csv.source(&args.input)?,
        id: args.id,
        missing: args.missing.into(),
        backend: args.backend,
        output: args.output,
        report: args.report,
    })?;
    if args.json {
        return super::print_json(&report);
    }
    let total: u64 = report.sizes.iter().sum();
    outln!("segment  size  share");
    for (segment, &size) in report.sizes.iter().enumerate() {
        // The share as `fit` computes it, so both print the same figure for the same sizes.
        let share = size as f64 / total.max(1) as f64;
        outln!("{segment:>7}  {size}  {:.1}%", 100.0 * share);
    }
    Ok(())
}
