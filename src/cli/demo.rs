//! `strata demo`: the embedded default. A seeded synthetic retail customer base, normalized
//! (log1p on the skewed columns, then z-score), clustered with the best of three k-means++
//! restarts, and printed as a
//! segment profile, with the agreement against the hidden personas.

use crate::backend::BackendChoice;
use crate::data::ids::DuplicatePolicy;
use crate::data::read::{ColumnRequest, Source};
use crate::data::transform::Normalize;
use crate::data::validate::MissingPolicy;
use crate::error::Result;
use crate::metrics::silhouette::SilhouetteMode;
use crate::metrics::sweep::Criterion;
use crate::pipeline::{FitJob, InitSpec, Outputs, Preparation, run_fit};
use crate::synth::retail;
use clap::Args;
use std::path::PathBuf;

/// Flags of `strata demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Customers to generate.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub customers: usize,
    /// Number of segments.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub k: usize,
    /// Seed of the data and of the fit.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// auto, gpu or cpu.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub gpu: super::GpuArg,
    /// CPU worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Also write the segments file.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Also write the model.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Also write the report.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
}

/// The demo's fit job over `customers` generated customers.
pub fn job(args: &DemoArgs) -> FitJob {
    let (schema, batches) = retail::customers(args.customers, args.seed);
    FitJob {
        command: "demo".to_string(),
        source: Source::Memory {
            name: format!("demo: {} synthetic retail customers", args.customers),
            schema,
            batches,
        },
        prep: Preparation {
            columns: ColumnRequest {
                id: Some("customer_id".to_string()),
                features: Some(retail::FEATURES.iter().map(|s| s.to_string()).collect()),
                exclude: Vec::new(),
                truth: Some("persona".to_string()),
                // Each segment's make-up by the hidden personas it was meant to find.
                describe: vec!["persona".to_string()],
            },
            normalize: Normalize::Zscore,
            log1p: retail::SKEWED.iter().map(|s| s.to_string()).collect(),
            missing: MissingPolicy::Error,
            duplicates: DuplicatePolicy::Error,
        },
        k: vec![args.k],
        criterion: Criterion::default(),
        label_words: crate::segment::profile::LabelWords::default(),
        min_segment_size: None,
        init: InitSpec::KMeansPlusPlus,
        n_init: 3,
        max_iter: 300,
        tol: 1e-4,
        seed: args.seed,
        backend: args.backend,
        silhouette: SilhouetteMode::Auto,
        per_point_silhouette: false,
        outputs: Outputs {
            segments: args.output.clone(),
            model: args.model.clone(),
            report: args.report.clone(),
            export_csv: None,
        },
    }
}

/// Runs `strata demo`.
///
/// # Errors
/// Any error of the job.
pub fn run(args: DemoArgs) -> Result<()> {
    super::set_threads(args.threads)?;
    args.gpu.apply(args.backend != BackendChoice::Cpu)?;
    let outcome = run_fit(job(&args))?;
    let r = &outcome.report;
    outln!(
        "Strata demo: {} synthetic retail customers, k = {}, {} backend, {} iterations, {:.2}s",
        r.input.rows,
        r.params.k,
        serde_json::to_string(&r.backend.kind)
            .unwrap_or_default()
            .trim_matches('"'),
        r.iterations,
        r.timings_s.total
    );
    outln!(
        "features: {} (log1p on {}; z-scored)\n",
        r.input.features.join(", "),
        r.params.log1p.join(", ")
    );
    out!("{}", outcome.table);
    if let Some(value) = r.silhouette.value {
        let how = match r.silhouette.sample_size {
            Some(n) => format!(
                "a sample of {n} customers, standard error {:.3}",
                r.silhouette.std_error.unwrap_or(0.0)
            ),
            None => r.silhouette.method.clone(),
        };
        outln!("\nsilhouette: {value:.3} ({how})");
    }
    if let Some(truth) = &r.truth {
        outln!(
            "\nagreement with the hidden personas (adjusted Rand index): {:.3}",
            truth.adjusted_rand_index
        );
    }
    Ok(())
}
