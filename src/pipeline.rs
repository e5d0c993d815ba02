//! The jobs: `fit` (input → segments, model, report) and `predict` (new rows → segments with a
//! saved model), as validated settings that the command line and the demo both build.
//!
//! The data path of DESIGN.md §1: read → validate → transform → backend → init → Lloyd → final
//! assignment → metrics → profiles → write. Outputs are checked for writability before any work
//! and committed together at the end, so a failed run leaves no file behind.

mod predict;

pub use predict::{BLOCK_ROWS_ENV, PredictJob, PredictReport, run_predict};

use crate::backend::{self, Backend, BackendChoice};
use crate::data::ids::DuplicatePolicy;
use crate::data::matrix::Matrix;
use crate::data::read::{ColumnRequest, Dataset, Source, read_dataset};
use crate::data::transform::{Normalize, Transform};
use crate::data::validate::{self, Cleaning, MissingPolicy};
use crate::error::{Error, Result};
use crate::kmeans::model::{FORMAT_VERSION, Fill, Model};
use crate::kmeans::params::{Init, KMeansParams};
use crate::kmeans::{self, segment_sizes};
use crate::metrics::indices::{adjusted_rand_index, validity_indices};
use crate::metrics::silhouette::{self, SilhouetteMode};
use crate::metrics::sweep::{self, Criterion, KResult, Recommended, SweepSettings};
use crate::output::report::{
    InputInfo, KSelection, MinSizeInfo, ParamsInfo, Report, SegmentEntry, SilhouetteInfo, Timings,
    TruthInfo,
};
use crate::output::segments::SegmentRows;
use crate::output::write::{
    commit_all, csv_delimiter, preflight_outputs, resolved, write_json, write_text,
};
use crate::progress::Total;
use crate::segment::describe::{Description, describe};
use crate::segment::profile::{LabelWords, SegmentProfile, profiles, render_table};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to seed, as the user asked.
#[derive(Debug, Clone, PartialEq)]
pub enum InitSpec {
    /// Greedy k-means++.
    KMeansPlusPlus,
    /// Uniform random rows.
    Random,
    /// Centroids from a file: k rows, feature columns by name, raw units.
    File(PathBuf),
}

impl InitSpec {
    /// The seeding when it draws centres from the data (k-means++ or random); `None` for a
    /// file, which fixes k.
    fn drawn(&self) -> Option<Init> {
        match self {
            InitSpec::KMeansPlusPlus => Some(Init::KMeansPlusPlus),
            InitSpec::Random => Some(Init::Random),
            InitSpec::File(_) => None,
        }
    }
}

/// An init file with several candidate k.
fn init_file_fixes_k() -> Error {
    Error::usage(
        "an init file fixes the number of segments: give a single --k, or use --init kmeans++ \
         or random",
    )
}

/// Where outputs go.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// Segments file.
    pub segments: Option<PathBuf>,
    /// Model JSON.
    pub model: Option<PathBuf>,
    /// Report JSON.
    pub report: Option<PathBuf>,
    /// Marketing export: id, segment, segment label (CSV).
    pub export_csv: Option<PathBuf>,
}

impl Outputs {
    fn paths(&self) -> Vec<&Path> {
        self.segments
            .iter()
            .chain(&self.model)
            .chain(&self.report)
            .chain(&self.export_csv)
            .map(PathBuf::as_path)
            .collect()
    }
}

/// Checks that the points hold at least `k` distinct rows (the largest k a run fits), with a
/// progress line: on many rows it takes a few seconds.
///
/// # Errors
/// Exit 65 when they do not.
fn require_distinct_rows(matrix: &Matrix, k: usize) -> Result<()> {
    let _progress = crate::progress::stage("counting distinct rows", Total::Unknown, "");
    validate::require_distinct_rows(matrix, k)
}

/// The files a run reads: its input and, for `--init FILE`, the init file.
fn input_paths<'a>(source: &'a Source, init: Option<&'a InitSpec>) -> Vec<&'a Path> {
    let data = match source {
        Source::File(path, _) => Some(path.as_path()),
        Source::Memory { .. } => None,
    };
    let init = match init {
        Some(InitSpec::File(path)) => Some(path.as_path()),
        _ => None,
    };
    data.into_iter().chain(init).collect()
}

/// Which columns to read and how to clean and transform them: the shared front of `fit` and
/// `sweep`.
#[derive(Debug, Clone)]
pub struct Preparation {
    /// Which columns.
    pub columns: ColumnRequest,
    /// Normalization.
    pub normalize: Normalize,
    /// log1p columns.
    pub log1p: Vec<String>,
    /// Missing-value policy.
    pub missing: MissingPolicy,
    /// Duplicate-id policy.
    pub duplicates: DuplicatePolicy,
}

/// A fit, fully specified.
pub struct FitJob {
    /// Command name for the report (fit or demo).
    pub command: String,
    /// Where rows come from.
    pub source: Source,
    /// Columns, cleaning and transform.
    pub prep: Preparation,
    /// Number of segments, or several candidates to choose from by `criterion`.
    pub k: Vec<usize>,
    /// How k is chosen when there are several candidates.
    pub criterion: Criterion,
    /// Seeding.
    pub init: InitSpec,
    /// Restarts.
    pub n_init: usize,
    /// Lloyd iteration budget per restart.
    pub max_iter: usize,
    /// Relative tolerance.
    pub tol: f64,
    /// Seed.
    pub seed: u64,
    /// Backend.
    pub backend: BackendChoice,
    /// Silhouette.
    pub silhouette: SilhouetteMode,
    /// Write per-point silhouettes as a `silhouette` column of the segments file.
    pub per_point_silhouette: bool,
    /// Words for segment labels.
    pub label_words: LabelWords,
    /// Segments below this size are merged into their nearest neighbour.
    pub min_segment_size: Option<kmeans::MinSize>,
    /// Outputs.
    pub outputs: Outputs,
}

/// What a fit produced, beside its files.
pub struct FitOutcome {
    /// The report (also written with `--report`).
    pub report: Report,
    /// The segment table for stdout.
    pub table: String,
    /// The model (also written with `--model`).
    pub model: Model,
    /// Segment of every kept row.
    pub labels: Vec<u32>,
}

fn source_row_fn(source_rows: &Option<Vec<u64>>) -> impl Fn(usize) -> u64 + '_ {
    move |i| source_rows.as_ref().map_or(i as u64, |rows| rows[i])
}

/// Reads, checks and fills a data set under the missing/duplicate policies.
fn load(
    source: Source,
    columns: &ColumnRequest,
    missing: MissingPolicy,
    fill: Option<&[f64]>,
    duplicates: Option<DuplicatePolicy>,
) -> Result<(Dataset, Cleaning)> {
    let started = Instant::now();
    let mut data = read_dataset(source, columns)?;
    log::info!(
        "read {} row(s) × {} feature(s) from {} in {:.2}s",
        data.input_rows,
        data.features.len(),
        data.name,
        started.elapsed().as_secs_f64()
    );
    let _progress = crate::progress::stage("checking values and ids", Total::Unknown, "");
    let mut cleaning = Cleaning::default();
    validate::reject_infinite(&data.features, &data.scans)?;
    validate::handle_missing(&mut data, missing, fill, &mut cleaning)?;
    validate::log_missing(&data.features, &data.scans, missing, &cleaning, "its");
    if let Some(policy) = duplicates {
        validate::handle_duplicates(&mut data, policy, &mut cleaning)?;
    }
    validate::require_rows(
        &data.name,
        data.input_rows,
        data.matrix.rows() as u64,
        &cleaning,
    )?;
    Ok((data, cleaning))
}

/// Rows read, cleaned and transformed, ready for a backend.
struct Prepared {
    data: Dataset,
    cleaning: Cleaning,
    transform: Transform,
    /// Column statistics in the normalized space.
    stats: Vec<crate::data::transform::ColumnStats>,
}

/// Reads, validates and transforms the input (the shared front of `fit` and `sweep`), timing
/// the read and prepare phases.
fn prepare(source: Source, prep: &Preparation, timings: &mut Timings) -> Result<Prepared> {
    let started = Instant::now();
    let (mut data, cleaning) = load(
        source,
        &prep.columns,
        prep.missing,
        None,
        Some(prep.duplicates),
    )?;
    timings.read = started.elapsed().as_secs_f64();
    let phase = Instant::now();
    let progress = crate::progress::stage("normalizing", Total::Unknown, "");
    let (transform, stats) = Transform::fit_apply(
        &mut data.matrix,
        &data.features,
        &prep.log1p,
        prep.normalize,
        source_row_fn(&data.source_rows),
    )?;
    drop(progress);
    timings.prepare = phase.elapsed().as_secs_f64();
    Ok(Prepared {
        data,
        cleaning,
        transform,
        stats,
    })
}

/// Reads a file's features (every numeric column by default) and z-scores them, strictly (a
/// missing value or a repeated row is not fixed up): the data of `strata bench --input`.
///
/// # Errors
/// Any error of reading and validation, with its exit code.
pub fn load_normalized(
    path: &Path,
    features: Option<Vec<String>>,
    exclude: &[String],
) -> Result<(Matrix, String)> {
    let prep = Preparation {
        columns: ColumnRequest {
            features,
            exclude: exclude.to_vec(),
            ..Default::default()
        },
        normalize: Normalize::Zscore,
        log1p: Vec::new(),
        missing: MissingPolicy::Error,
        duplicates: DuplicatePolicy::Error,
    };
    let prepared = prepare(Source::file(path), &prep, &mut Timings::default())?;
    Ok((prepared.data.matrix, prepared.data.name))
}

/// Builds the backend and logs what it is.
fn select_backend(
    choice: BackendChoice,
    points: &Matrix,
    largest_k: usize,
) -> Result<Box<dyn Backend + '_>> {
    let backend = backend::select(choice, points, largest_k)?;
    let info = backend.info();
    log::info!(
        "backend: {} ({}, {} thread(s))",
        serde_json::to_string(&info.kind)
            .unwrap_or_default()
            .trim_matches('"'),
        info.adapter,
        info.threads
    );
    Ok(backend)
}

/// The gap statistic's reference sets go to the kind of backend the data went to.
fn reference_backend(info: &backend::BackendInfo) -> BackendChoice {
    match info.kind {
        backend::BackendKind::Gpu => BackendChoice::Gpu,
        backend::BackendKind::Cpu => BackendChoice::Cpu,
    }
}

/// Reference sets of the gap statistic unless `--gap-refs` says otherwise.
pub const DEFAULT_GAP_REFS: usize = 10;
/// Most points per reference set unless `--gap-rows` says otherwise.
pub const DEFAULT_GAP_ROWS: usize = 100_000;

/// Reads initial centroids from a file (raw units) and maps them to the normalized space: a
/// table of k rows with the feature columns by name, or (`.json`) a Strata model, whose raw
/// centroids warm-start the fit so that segment i continues the model's segment i.
fn read_init_file(
    path: &Path,
    features: &[String],
    transform: &Transform,
    k: usize,
) -> Result<Matrix> {
    let mut centroids = if is_model_file(path) {
        model_centroids(path, features, &transform.log1p_mask(features), k)?
    } else {
        read_init_table(path, features, k)?
    };
    transform
        .apply(&mut centroids, features, |i| i as u64)
        .map_err(|e| Error::data(format!("init file: {e}")))?;
    Ok(centroids)
}

/// An init path naming a model file rather than a table.
fn is_model_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// A model's raw centroids, `features` in this fit's order. Under `log1p`, a value a rounding
/// error below zero (as models written before raw log1p values were clamped at 0 can hold,
/// for a segment whose every value was 0) is read as 0.
fn model_centroids(path: &Path, features: &[String], log1p: &[bool], k: usize) -> Result<Matrix> {
    let model = Model::load(path)?;
    if model.k != k {
        return Err(Error::data(format!(
            "init model '{}' holds {} segments but --k is {k}; give --k {} to continue its \
             segments, or use --init kmeans++ for a new segmentation",
            path.display(),
            model.k,
            model.k
        )));
    }
    // Each feature's column in the model, by name.
    let columns: Vec<Option<usize>> = features
        .iter()
        .map(|f| model.features.iter().position(|m| m == f))
        .collect();
    let missing: Vec<&str> = features
        .iter()
        .zip(&columns)
        .filter(|(_, c)| c.is_none())
        .map(|(f, _)| f.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::data(format!(
            "init model '{}' has no centroid values for feature(s) {}; it was fitted on {}",
            path.display(),
            missing.join(", "),
            model.features.join(", ")
        )));
    }
    let columns: Vec<usize> = columns.into_iter().flatten().collect();
    let mut centroids = Matrix::with_capacity(k, features.len());
    let mut row = Vec::with_capacity(features.len());
    for raw in &model.centroids_raw {
        row.clear();
        row.extend(columns.iter().zip(log1p).map(|(&j, &log)| {
            let v = raw[j];
            if log && v < 0.0 && v > -1e-3 {
                0.0
            } else {
                v as f32
            }
        }));
        if row.iter().any(|v| !v.is_finite()) {
            return Err(Error::data(format!(
                "init model '{}' has a raw centroid value beyond the 32-bit float range",
                path.display()
            )));
        }
        centroids.push_row(&row);
    }
    Ok(centroids)
}

/// Initial centroids from a table of k rows, in raw units.
fn read_init_table(path: &Path, features: &[String], k: usize) -> Result<Matrix> {
    let columns = ColumnRequest {
        features: Some(features.to_vec()),
        ..Default::default()
    };
    let data = read_dataset(Source::file(path), &columns).map_err(|e| match e {
        Error::Data(m) => Error::Data(format!("init file: {m}")),
        other => other,
    })?;
    let bad: u64 = data.scans.iter().map(|s| s.missing + s.infinite).sum();
    if bad > 0 {
        return Err(Error::data(format!(
            "init file '{}' has {bad} missing or infinite value(s); every centroid needs every feature",
            path.display()
        )));
    }
    if data.matrix.rows() != k {
        return Err(Error::data(format!(
            "init file '{}' has {} row(s) but --k is {k}; it must hold exactly one row per segment",
            path.display(),
            data.matrix.rows()
        )));
    }
    Ok(data.matrix)
}

/// Runs a fit job.
///
/// # Errors
/// Any error of the data path, with its exit code.
pub fn run_fit(job: FitJob) -> Result<FitOutcome> {
    let started = Instant::now();
    let mut timings = Timings::default();
    let mut inputs = input_paths(&job.source, Some(&job.init));
    // A model rolled forward (`--init model.json --model model.json`) may replace itself: it
    // is read in full before anything is written, and replaced only when the run succeeds.
    if let (InitSpec::File(init), Some(model)) = (&job.init, &job.outputs.model)
        && is_model_file(init)
        && resolved(init) == resolved(model)
    {
        inputs.retain(|p| *p != init.as_path());
    }
    inputs.extend(job.label_words.source());
    preflight_outputs(&inputs, &job.outputs.paths())?;

    let largest = job.k.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return Err(Error::usage("--k must be at least 1"));
    }
    if job.k.len() > 1 && job.init.drawn().is_none() {
        return Err(init_file_fixes_k());
    }
    let null_values = job.source.null_values().to_vec();
    let encoding = job.source.encoding();
    let Prepared {
        data,
        cleaning,
        transform,
        stats,
    } = prepare(job.source, &job.prep, &mut timings)?;
    let phase = Instant::now();
    require_distinct_rows(&data.matrix, largest)?;
    timings.prepare += phase.elapsed().as_secs_f64();

    let mut backend = select_backend(job.backend, &data.matrix, largest)?;
    let info = backend.info();
    let (k, k_selection) = if job.k.len() == 1 {
        (job.k[0], None)
    } else {
        let settings = SweepSettings {
            ks: job.k.clone(),
            params: KMeansParams {
                k: largest,
                init: job.init.drawn().ok_or_else(init_file_fixes_k)?,
                n_init: job.n_init,
                max_iter: job.max_iter,
                tol: job.tol,
                seed: job.seed,
            }
            .validate(data.features.len())?,
            silhouette: job.silhouette,
            gap_refs: if job.criterion == Criterion::Gap {
                DEFAULT_GAP_REFS
            } else {
                0
            },
            gap_rows: DEFAULT_GAP_ROWS,
            reference_backend: reference_backend(&info),
        };
        let results = sweep::evaluate(backend.as_mut(), &data.matrix, &stats, &settings)?;
        let recommended = sweep::recommend(&results, job.criterion);
        log::info!(
            "k = {} chosen from {:?} by {}",
            recommended.k,
            job.k,
            serde_json::to_string(&recommended.criterion)
                .unwrap_or_default()
                .trim_matches('"')
        );
        let k = recommended.k;
        (
            k,
            Some(KSelection {
                candidates: job.k.clone(),
                criterion: recommended.criterion,
                results,
                recommended,
            }),
        )
    };
    let init = match &job.init {
        InitSpec::KMeansPlusPlus => Init::KMeansPlusPlus,
        InitSpec::Random => Init::Random,
        InitSpec::File(path) => Init::Given(read_init_file(path, &data.features, &transform, k)?),
    };
    let params = KMeansParams {
        k,
        init,
        n_init: job.n_init,
        max_iter: job.max_iter,
        tol: job.tol,
        seed: job.seed,
    }
    .validate(data.features.len())?;
    let mut fit = kmeans::fit(backend.as_mut(), &data.matrix, &params, &stats)?;
    let min_segment_size = match job.min_segment_size {
        Some(min) => {
            let rows = min.rows(data.matrix.rows());
            let merged = kmeans::merge_small_segments(
                backend.as_mut(),
                &data.matrix,
                &mut fit,
                &params,
                &stats,
                rows,
            )?;
            Some(MinSizeInfo {
                requested: min.to_string(),
                rows,
                k_requested: k,
                k_final: fit.centroids.rows(),
                merged,
            })
        }
        None => None,
    };
    let k = fit.centroids.rows();
    timings.init = fit.init_seconds;
    timings.lloyd = fit.lloyd_seconds;
    log::info!(
        "k = {}: inertia {:.6e} after {} iteration(s){}",
        k,
        fit.inertia,
        fit.iterations,
        if fit.converged {
            ", converged"
        } else {
            ", not converged (raise --max-iter)"
        }
    );

    let phase = Instant::now();
    let scores = silhouette::score(
        backend.as_mut(),
        &data.matrix,
        &fit.labels,
        &fit.centroids,
        job.silhouette,
        job.seed,
        job.per_point_silhouette,
    )?;
    drop(backend);
    if let Some(value) = scores.value {
        log::info!("silhouette ({}): {value:.4}", scores.method);
    }
    let indices = validity_indices(&data.matrix, &fit.labels, k);
    let truth = match (&job.prep.columns.truth, &data.truth) {
        (Some(column), Some(codes)) => Some(TruthInfo {
            column: column.clone(),
            adjusted_rand_index: adjusted_rand_index(codes, &fit.labels),
        }),
        _ => None,
    };
    let centroids_raw: Vec<Vec<f64>> = (0..k)
        .map(|c| transform.invert_row(&data.features, fit.centroids.row(c)))
        .collect();
    let sizes = segment_sizes(&fit.labels, k);
    let profiling = Instant::now();
    let progress = crate::progress::stage("profiles", Total::Unknown, "");
    let segment_profiles = profiles(
        &data.features,
        &data.matrix,
        &fit.labels,
        &sizes,
        &fit.centroids,
        &centroids_raw,
        &stats,
        &transform,
        &job.label_words,
    );
    let descriptions = describe(&data.described, &fit.labels, &sizes)?;
    drop(progress);
    log::debug!(
        "profiles (means, medians{}) in {:.3}s",
        if descriptions.is_empty() {
            ""
        } else {
            ", described columns"
        },
        profiling.elapsed().as_secs_f64()
    );
    // Scores and profiles (means, medians, labels) together.
    timings.metrics = phase.elapsed().as_secs_f64();
    let model = Model {
        format_version: FORMAT_VERSION,
        strata_version: env!("CARGO_PKG_VERSION").to_string(),
        features: data.features.clone(),
        transform,
        fill: cleaning.fill_values.clone().map(|values| Fill {
            policy: job.prep.missing,
            values,
        }),
        k,
        centroids: fit.centroids.to_rows_f64(),
        centroids_raw,
        seed: job.seed,
        rows: data.matrix.rows() as u64,
        id_column: data.ids.as_ref().map(|ids| ids.name().to_string()),
    };

    let phase = Instant::now();
    let mut staged = Vec::new();
    let rows = SegmentRows {
        ids: data.ids.as_ref(),
        source_rows: data.source_rows.as_deref(),
        labels: &fit.labels,
        sq_distances: &fit.sq_distances,
        silhouette: scores.per_point.as_deref(),
    };
    if let Some(path) = &job.outputs.segments {
        staged.push(rows.write(path)?);
    }
    if let Some(path) = &job.outputs.export_csv {
        let names: Vec<String> = segment_profiles.iter().map(|p| p.label.clone()).collect();
        staged.push(rows.write_export(path, &names)?);
    }
    if let Some(path) = &job.outputs.model {
        staged.push(write_json(path, &model)?);
    }
    timings.write = phase.elapsed().as_secs_f64();
    timings.total = started.elapsed().as_secs_f64();

    let report = Report {
        strata_version: env!("CARGO_PKG_VERSION").to_string(),
        command: job.command,
        input: InputInfo {
            path: data.name.clone(),
            rows: data.input_rows,
            rows_dropped: cleaning.rows_dropped(),
            features: data.features.clone(),
            id_column: model.id_column.clone(),
        },
        params: ParamsInfo {
            k: params.k,
            seed: job.seed,
            init: params.init.name().to_string(),
            init_file: match &job.init {
                InitSpec::File(path) => Some(path.display().to_string()),
                _ => None,
            },
            n_init: job.n_init,
            max_iter: job.max_iter,
            tol: job.tol,
            normalize: job.prep.normalize,
            log1p: job.prep.log1p.clone(),
            backend: job.backend,
            missing: job.prep.missing,
            null_values,
            encoding,
            duplicates: format!("{:?}", job.prep.duplicates).to_lowercase(),
            describe: job.prep.columns.describe.clone(),
        },
        backend: info,
        iterations: fit.iterations,
        converged: fit.converged,
        inertia: fit.inertia,
        silhouette: SilhouetteInfo {
            method: scores.method.to_string(),
            value: scores.value,
            sample_size: scores.sample_size,
            std_error: scores.std_error,
        },
        davies_bouldin: indices.davies_bouldin,
        calinski_harabasz: indices.calinski_harabasz,
        segments: segment_entries(
            &data.features,
            &segment_profiles,
            &scores.per_segment,
            &descriptions,
        ),
        restarts: fit.runs.clone(),
        best_restart: fit.best_run,
        truth,
        described: descriptions
            .iter()
            .map(|d| (d.column.clone(), serde_json::json!(d.population)))
            .collect(),
        k_selection,
        min_segment_size,
        timings_s: timings,
    };
    if let Some(path) = &job.outputs.report {
        staged.push(write_json(path, &report)?);
    }
    commit_all(staged)?;
    for path in job.outputs.paths() {
        log::info!("wrote {}", path.display());
    }
    let mut table = render_table(&data.features, &segment_profiles);
    table.push_str(&crate::segment::describe::render(&descriptions));
    Ok(FitOutcome {
        report,
        table,
        model,
        labels: fit.labels,
    })
}

fn segment_entries(
    features: &[String],
    profiles: &[SegmentProfile],
    silhouettes: &[Option<f64>],
    descriptions: &[Description],
) -> Vec<SegmentEntry> {
    profiles
        .iter()
        .zip(silhouettes)
        .map(|(p, &silhouette)| SegmentEntry {
            silhouette,
            segment: p.segment,
            size: p.size,
            share: p.share,
            centroid: features
                .iter()
                .cloned()
                .zip(p.centroid.iter().map(|&v| serde_json::json!(v)))
                .collect(),
            label: p.label.clone(),
            profile: features
                .iter()
                .cloned()
                .zip(p.features.iter().map(|f| serde_json::json!(f)))
                .collect(),
            described: descriptions
                .iter()
                .map(|d| {
                    let summary = &d.segments[p.segment as usize];
                    (d.column.clone(), serde_json::json!(summary))
                })
                .collect(),
        })
        .collect()
}

/// A sweep over k, fully specified.
pub struct SweepJob {
    /// Where rows come from.
    pub source: Source,
    /// Columns, cleaning and transform.
    pub prep: Preparation,
    /// Candidate k, ascending.
    pub ks: Vec<usize>,
    /// Criterion of the overall recommendation.
    pub criterion: Criterion,
    /// k-means++ or random (a file fixes k).
    pub init: InitSpec,
    /// Restarts per k.
    pub n_init: usize,
    /// Lloyd iteration budget per restart.
    pub max_iter: usize,
    /// Relative tolerance.
    pub tol: f64,
    /// Seed (the same rules as `fit`: each k is what `fit --k k --seed S` gives).
    pub seed: u64,
    /// Backend.
    pub backend: BackendChoice,
    /// Silhouette per k.
    pub silhouette: SilhouetteMode,
    /// Reference sets of the gap statistic (0: off).
    pub gap_refs: usize,
    /// Most points per reference set.
    pub gap_rows: usize,
    /// Report JSON.
    pub report: Option<PathBuf>,
    /// CSV, one row per k.
    pub csv: Option<PathBuf>,
    /// SVG chart.
    pub plot: Option<PathBuf>,
}

/// The parameters a sweep used.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepParams {
    pub k: Vec<usize>,
    pub criterion: Criterion,
    pub seed: u64,
    pub init: String,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub normalize: Normalize,
    pub log1p: Vec<String>,
    pub backend: BackendChoice,
    pub missing: crate::data::validate::MissingPolicy,
    /// The words read as missing values in a CSV input, besides empty fields.
    pub null_values: Vec<String>,
    /// How a CSV input's text was read when no byte-order mark said.
    pub encoding: crate::data::read::Encoding,
    pub duplicates: String,
    pub silhouette: String,
    pub gap_refs: usize,
    pub gap_rows: usize,
}

/// Wall-clock seconds of a sweep.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SweepTimings {
    pub read: f64,
    pub prepare: f64,
    /// Fits and scores of every k.
    pub fits: f64,
    /// Reference fits of the gap statistic.
    pub gap: f64,
    pub write: f64,
    pub total: f64,
}

/// What `sweep` reports (`--report`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepReport {
    pub strata_version: String,
    pub command: String,
    pub input: InputInfo,
    pub params: SweepParams,
    pub backend: backend::BackendInfo,
    /// One entry per k, ascending.
    pub results: Vec<KResult>,
    pub recommended: Recommended,
    pub timings_s: SweepTimings,
}

/// Runs a sweep: the data is read, normalized and handed to the backend once.
///
/// # Errors
/// Any error of the data path, with its exit code.
pub fn run_sweep(job: SweepJob) -> Result<(SweepReport, String)> {
    let started = Instant::now();
    let outputs: Vec<&Path> = [&job.report, &job.csv, &job.plot]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
    preflight_outputs(&input_paths(&job.source, Some(&job.init)), &outputs)?;
    let largest = job.ks.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return Err(Error::usage("--k must be at least 1"));
    }
    let init = job.init.drawn().ok_or_else(init_file_fixes_k)?;
    let mut timings = Timings::default();
    let null_values = job.source.null_values().to_vec();
    let encoding = job.source.encoding();
    let Prepared {
        data,
        cleaning,
        stats,
        ..
    } = prepare(job.source, &job.prep, &mut timings)?;
    require_distinct_rows(&data.matrix, largest)?;
    let mut backend = select_backend(job.backend, &data.matrix, largest)?;
    let info = backend.info();
    let settings = SweepSettings {
        ks: job.ks.clone(),
        params: KMeansParams {
            k: largest,
            init,
            n_init: job.n_init,
            max_iter: job.max_iter,
            tol: job.tol,
            seed: job.seed,
        }
        .validate(data.features.len())?,
        silhouette: job.silhouette,
        gap_refs: job.gap_refs,
        gap_rows: job.gap_rows,
        reference_backend: reference_backend(&info),
    };
    let phase = Instant::now();
    let results = sweep::evaluate(backend.as_mut(), &data.matrix, &stats, &settings)?;
    drop(backend);
    let elapsed = phase.elapsed().as_secs_f64();
    let fits: f64 = results.iter().map(|r| r.seconds).sum();
    let recommended = sweep::recommend(&results, job.criterion);

    let phase = Instant::now();
    let mut staged = Vec::new();
    if let Some(path) = &job.csv {
        staged.push(write_text(
            path,
            &sweep::to_csv(&results, csv_delimiter(path)),
        )?);
    }
    if let Some(path) = &job.plot {
        let title = format!("Choosing the number of segments: {}", data.name);
        staged.push(write_text(
            path,
            &crate::output::plot::sweep_svg(&title, &results, &recommended),
        )?);
    }
    let mut report = SweepReport {
        strata_version: env!("CARGO_PKG_VERSION").to_string(),
        command: "sweep".to_string(),
        input: InputInfo {
            path: data.name.clone(),
            rows: data.input_rows,
            rows_dropped: cleaning.rows_dropped(),
            features: data.features.clone(),
            id_column: data.ids.as_ref().map(|ids| ids.name().to_string()),
        },
        params: SweepParams {
            k: job.ks.clone(),
            criterion: job.criterion,
            seed: job.seed,
            init: settings.params.init.name().to_string(),
            n_init: job.n_init,
            max_iter: job.max_iter,
            tol: job.tol,
            normalize: job.prep.normalize,
            log1p: job.prep.log1p.clone(),
            backend: job.backend,
            missing: job.prep.missing,
            null_values,
            encoding,
            duplicates: format!("{:?}", job.prep.duplicates).to_lowercase(),
            silhouette: job.silhouette.to_string(),
            gap_refs: job.gap_refs,
            gap_rows: job.gap_rows,
        },
        backend: info,
        results,
        recommended,
        timings_s: SweepTimings {
            read: timings.read,
            prepare: timings.prepare,
            fits,
            gap: (elapsed - fits).max(0.0),
            write: 0.0,
            total: 0.0,
        },
    };
    if let Some(path) = &job.report {
        report.timings_s.write = phase.elapsed().as_secs_f64();
        report.timings_s.total = started.elapsed().as_secs_f64();
        staged.push(write_json(path, &report)?);
    }
    commit_all(staged)?;
    for path in &outputs {
        log::info!("wrote {}", path.display());
    }
    report.timings_s.write = phase.elapsed().as_secs_f64();
    report.timings_s.total = started.elapsed().as_secs_f64();
    let table = sweep::render_table(&report.results, &report.recommended);
    Ok((report, table))
}
