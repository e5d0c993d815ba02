//! `strata fit`: the main job.

use crate::backend::BackendChoice;
use crate::data::ids::DuplicatePolicy;
use crate::data::read::ColumnRequest;
use crate::data::transform::Normalize;
use crate::data::validate::MissingPolicy;
use crate::error::{Error, Result};
use crate::metrics::silhouette::SilhouetteMode;
use crate::metrics::sweep::{Criterion, parse_k};
use crate::pipeline::{FitJob, InitSpec, Outputs, Preparation, run_fit};
use crate::segment::profile::LabelWords;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `--normalize` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NormalizeArg {
    /// (x − mean) / std
    Zscore,
    /// (x − min) / (max − min)
    Minmax,
    /// as is
    None,
}

impl From<NormalizeArg> for Normalize {
    fn from(arg: NormalizeArg) -> Self {
        match arg {
            NormalizeArg::Zscore => Normalize::Zscore,
            NormalizeArg::Minmax => Normalize::Minmax,
            NormalizeArg::None => Normalize::None,
        }
    }
}

/// `--missing` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MissingArg {
    /// a null or NaN feature is an error
    Error,
    /// leave out rows with any missing feature
    Drop,
    /// fill with the column mean
    Mean,
    /// fill with the column median
    Median,
}

impl From<MissingArg> for MissingPolicy {
    fn from(arg: MissingArg) -> Self {
        match arg {
            MissingArg::Error => MissingPolicy::Error,
            MissingArg::Drop => MissingPolicy::Drop,
            MissingArg::Mean => MissingPolicy::Mean,
            MissingArg::Median => MissingPolicy::Median,
        }
    }
}

/// `--duplicates` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DuplicatesArg {
    /// a repeated id is an error
    Error,
    /// keep the first row of each id
    First,
    /// keep the last row of each id
    Last,
}

impl From<DuplicatesArg> for DuplicatePolicy {
    fn from(arg: DuplicatesArg) -> Self {
        match arg {
            DuplicatesArg::Error => DuplicatePolicy::Error,
            DuplicatesArg::First => DuplicatePolicy::First,
            DuplicatesArg::Last => DuplicatePolicy::Last,
        }
    }
}

/// Input, column and transform flags shared by the commands that fit.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Input file: .parquet, .arrow/.feather/.ipc, or .csv/.tsv (by extension, .txt too for a
    /// file given alone, or named as Redshift's unload names its parts, 0000_part_00; .csv.gz,
    /// .csv.zst and names like 0000_part_00.gz are decompressed as they are read; a CSV split
    /// by semicolons or tabs is told from its header row, or from a first line `sep=;` written
    /// for Excel, and its decimal commas are read); or a folder of part files in one of those
    /// formats, read as one table in file-name order; or `-`, standard input (CSV, compressed
    /// or not, or an Arrow IPC stream).
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Id column, written beside each row's segment (default: the 0-based input row).
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// Feature columns (default: every numeric column except the id, --exclude, --truth, a
    /// column with no name and a row index pandas wrote, such as `Unnamed: 0`); a boolean
    /// column named here is read as 1 and 0.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Columns to leave out of the default feature set.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// A column of known segments: never a feature; the report gives the adjusted Rand index.
    #[arg(long, value_name = "COL")]
    pub truth: Option<String>,
    /// Normalization after log1p.
    #[arg(long, value_enum, default_value = "zscore")]
    pub normalize: NormalizeArg,
    /// Columns that take ln(1 + x) first (values must be ≥ 0).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub log1p: Vec<String>,
    /// Null or NaN feature values.
    #[arg(long, value_enum, default_value = "error")]
    pub missing: MissingArg,
    /// Repeated ids (needs --id).
    #[arg(long, value_enum, default_value = "error")]
    pub duplicates: DuplicatesArg,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// auto: a real GPU if present, else the CPU; gpu: any adapter; cpu: rayon.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,
    #[command(flatten)]
    pub csv: super::CsvArgs,
    #[command(flatten)]
    pub gpu: super::GpuArg,
    /// CPU worker threads (default: one per core). Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Seeding, iteration and scoring flags shared by the commands that fit.
#[derive(Debug, Clone, Args)]
pub struct KMeansArgs {
    /// kmeans++, random, or (fit only) a file of k rows with the feature columns in raw units,
    /// or an earlier fit's model (.json): a warm start whose segment i continues the model's.
    #[arg(long, value_name = "kmeans++|random|PATH", default_value = "kmeans++")]
    pub init: String,
    /// Restarts, keeping the lowest inertia (default 1; 10 with --init random).
    #[arg(long, value_name = "N")]
    pub n_init: Option<usize>,
    /// Most Lloyd iterations per restart.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub max_iter: usize,
    /// Convergence tolerance, relative to the mean feature variance (as scikit-learn).
    #[arg(long, value_name = "X", default_value_t = 1e-4)]
    pub tol: f64,
    /// Silhouette: exact (all pairs), sample:N (seeded sample), simplified (centroids), none;
    /// auto is exact when it fits the backend's time budget, else a sample of 10,000.
    #[arg(long, value_name = "MODE", default_value = "auto")]
    pub silhouette: String,
}

impl KMeansArgs {
    /// The seeding and the restarts it implies (1, or 10 with random seeding).
    pub fn init_and_restarts(&self) -> (InitSpec, usize) {
        let init = parse_init(&self.init);
        let n_init = self
            .n_init
            .unwrap_or(if init == InitSpec::Random { 10 } else { 1 });
        (init, n_init)
    }
}

/// Flags of `strata fit`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  strata fit --input customers.parquet --id customer_id --k 6 \\\n    \
--log1p frequency,monetary --output segments.parquet --model model.json --report report.json"
)]
pub struct FitArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Number of segments; or candidates (a range 2..10 or a list 3,5,8): each is fitted and
    /// scored as `strata sweep` does, and k is chosen by --criterion.
    #[arg(long, value_name = "N|A..B|A,B,C")]
    pub k: String,
    /// How k is chosen from several candidates (`silhouette` falls back to gap, then elbow, when
    /// it cannot decide).
    #[arg(long, value_enum, default_value = "silhouette")]
    pub criterion: Criterion,
    #[command(flatten)]
    pub kmeans: KMeansArgs,
    /// Write each row's silhouette as a `silhouette` column of the segments file.
    #[arg(long)]
    pub per_point_silhouette: bool,
    /// Words for segment labels: a JSON object {"feature": {"high": "...", "low": "..."}}
    /// (the RFM columns of `strata rfm` have marketing words already).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Columns to describe the segments by, never clustered on (region, channel, age): each
    /// segment's share of every category with its index against all rows (numbers: mean,
    /// median, index), printed after the profile and in the report under `described`. Numbers
    /// (integers included) are summarized as numbers, any other type as categories; a code
    /// stored as a number is described by its values with `:categories` after its name
    /// (`--describe region,tier:categories`). A column with more than 10,000 distinct values is
    /// left out with a warning.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub describe: Vec<String>,
    /// Smallest segment to keep, in rows (500) or as a share of the rows (2%): a smaller
    /// segment is merged into the one with the nearest centroid and Lloyd resumes, until all
    /// meet it. The report lists the merges.
    #[arg(long, value_name = "N|P%")]
    pub min_segment_size: Option<String>,
    /// Segments file: Arrow IPC, or Parquet/CSV by extension (.tsv: CSV with tabs; .gz or .zst
    /// after either: compressed).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Marketing export: a plain CSV of id, segment and segment_label, one row per customer,
    /// for email and ad platforms to import as a tag or list (compressed when named .csv.gz or
    /// .csv.zst).
    #[arg(long, value_name = "PATH")]
    pub export_csv: Option<PathBuf>,
    /// Model file (JSON), for `strata predict`.
    #[arg(long, value_name = "PATH")]
    pub model: Option<PathBuf>,
    /// Report file (JSON).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Print the report as JSON on stdout instead of the segment table.
    #[arg(long)]
    pub json: bool,
}

/// Parses `--init`.
pub fn parse_init(init: &str) -> InitSpec {
    match init {
        "kmeans++" | "k-means++" => InitSpec::KMeansPlusPlus,
        "random" => InitSpec::Random,
        path => InitSpec::File(PathBuf::from(path)),
    }
}

impl InputArgs {
    /// `--duplicates first|last` needs an id.
    ///
    /// # Errors
    /// A usage error without `--id`.
    pub fn check_duplicates(&self) -> Result<()> {
        if !matches!(self.duplicates, DuplicatesArg::Error) && self.id.is_none() {
            return Err(Error::usage(
                "--duplicates first/last needs --id to know what a duplicate is",
            ));
        }
        Ok(())
    }

    /// The columns, cleaning and transform these flags ask for.
    pub fn preparation(&self) -> Preparation {
        Preparation {
            columns: ColumnRequest {
                id: self.id.clone(),
                features: self.features.clone(),
                exclude: self.exclude.clone(),
                truth: self.truth.clone(),
                describe: Vec::new(),
            },
            normalize: self.normalize.into(),
            log1p: self.log1p.clone(),
            missing: self.missing.into(),
            duplicates: self.duplicates.into(),
        }
    }
}

/// Runs `strata fit`.
///
/// # Errors
/// Any error of the job.
pub fn run(args: FitArgs) -> Result<()> {
    super::set_threads(args.input.threads)?;
    args.input
        .gpu
        .apply(args.input.backend != BackendChoice::Cpu)?;
    let (init, n_init) = args.kmeans.init_and_restarts();
    let k = parse_k(&args.k)?;
    args.input.check_duplicates()?;
    let job = FitJob {
        command: "fit".to_string(),
        source: args.input.csv.source(&args.input.input)?,
        prep: {
            let mut prep = args.input.preparation();
            prep.columns.describe = args.describe.clone();
            prep
        },
        k,
        criterion: args.criterion,
        init,
        n_init,
        max_iter: args.kmeans.max_iter,
        tol: args.kmeans.tol,
        seed: args.input.seed,
        backend: args.input.backend,
        silhouette: SilhouetteMode::parse(&args.kmeans.silhouette)?,
        per_point_silhouette: args.per_point_silhouette,
        min_segment_size: args
            .min_segment_size
            .as_deref()
            .map(crate::kmeans::MinSize::parse)
            .transpose()?,
        label_words: match &args.labels {
            Some(path) => LabelWords::with_file(path)?,
            None => LabelWords::default(),
        },
        outputs: Outputs {
            segments: args.output,
            model: args.model,
            report: args.report,
            export_csv: args.export_csv,
        },
    };
    let outcome = run_fit(job)?;
    if args.json {
        super::print_json(&outcome.report)?;
    } else {
        out!("{}", outcome.table);
    }
    Ok(())
}
