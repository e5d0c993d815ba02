//! `strata sweep`: fit a range of k on data loaded once, score each, recommend one.

use super::fit::{InputArgs, KMeansArgs};
use crate::error::Result;
use crate::metrics::silhouette::SilhouetteMode;
use crate::metrics::sweep::{Criterion, parse_k};
use crate::pipeline::{DEFAULT_GAP_REFS, DEFAULT_GAP_ROWS, SweepJob, run_sweep};
use clap::Args;
use std::path::PathBuf;

/// Flags of `strata sweep`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  strata sweep --input customers.parquet --id customer_id \
--log1p frequency,monetary \\\n    --k 2..12 --report sweep.json --csv sweep.csv --plot sweep.svg\n\n\
Each k is fitted exactly as `strata fit --k K` with the same flags would fit it. The \
recommendation is given by every criterion (elbow: Kneedle knee of inertia; silhouette: max; \
gap: Tibshirani's rule; Davies-Bouldin: min; Calinski-Harabasz: max) and overall by --criterion."
)]
pub struct SweepArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Candidates: a range 2..12 (inclusive) or a list 3,5,8.
    #[arg(long, value_name = "A..B|A,B,C")]
    pub k: String,
    /// The criterion of the overall recommendation (silhouette falls back to gap, then elbow,
    /// when it cannot decide).
    #[arg(long, value_enum, default_value = "silhouette")]
    pub criterion: Criterion,
    #[command(flatten)]
    pub kmeans: KMeansArgs,
    /// Reference sets of the gap statistic, uniform in the data's bounding box (0: no gap).
    #[arg(long, value_name = "B", default_value_t = DEFAULT_GAP_REFS)]
    pub gap_refs: usize,
    /// Most points per reference set (fewer than the rows: ln W is scaled to the row count).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_GAP_ROWS)]
    pub gap_rows: usize,
    /// Report file (JSON): `results` per k and `recommended`.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// CSV file, one row per k (separated by tabs when named .tsv; compressed when named .gz or
    /// .zst after that, e.g. sweep.csv.gz).
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
    /// SVG chart: inertia, silhouette and gap against k, the recommendation marked.
    #[arg(long, value_name = "PATH")]
    pub plot: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `strata sweep`.
///
/// # Errors
/// Any error of the job.
pub fn run(args: SweepArgs) -> Result<()> {
    super::set_threads(args.input.threads)?;
    args.input
        .gpu
        .apply(args.input.backend != crate::backend::BackendChoice::Cpu)?;
    let (init, n_init) = args.kmeans.init_and_restarts();
    args.input.check_duplicates()?;
    let job = SweepJob {
        source: args.input.csv.source(&args.input.input)?,
        prep: args.input.preparation(),
        ks: parse_k(&args.k)?,
        criterion: args.criterion,
        init,
        n_init,
        max_iter: args.kmeans.max_iter,
        tol: args.kmeans.tol,
        seed: args.input.seed,
        backend: args.input.backend,
        silhouette: SilhouetteMode::parse(&args.kmeans.silhouette)?,
        gap_refs: args.gap_refs,
        gap_rows: args.gap_rows,
        report: args.report,
        csv: args.csv,
        plot: args.plot,
    };
    let (report, table) = run_sweep(job)?;
    if args.json {
        super::print_json(&report)?;
    } else {
        out!("{table}");
    }
    Ok(())
}
