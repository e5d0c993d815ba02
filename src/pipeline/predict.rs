//! `predict`: new rows assigned with a saved model, streamed.
//!
//! The input is read, cleaned, transformed, assigned and written one block of rows at a time
//! (about 64 MiB of features), so a nightly scoring run of any size holds one block, not the
//! whole input. Every check is still made on the whole input, with the counts and first rows
//! a whole read gives in its message: each block adds what it finds to
//! [`Findings`], a block that fails a check is not assigned (nor any after it; the rest are
//! read only to complete the counts), and the checks run at the end, in the order a whole
//! read makes them. A failed run leaves no file behind, as always.

use super::{Outputs, input_paths};
use crate::backend::{BackendChoice, BackendInfo, BlockAssigner};
use crate::data::read::{ColumnRequest, ColumnScan, Dataset, DatasetReader, Source};
use crate::data::transform::{Negatives, Transform, check_spans, column_ranges};
use crate::data::validate::{self, Cleaning, MissingPolicy};
use crate::error::{Error, Result};
use crate::kmeans::model::Model;
use crate::output::report::{InputInfo, Timings};
use crate::output::segments::{SegmentRows, SegmentSink};
use crate::output::write::{commit_all, preflight_outputs, write_json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A predict job: assign new rows with a saved model.
pub struct PredictJob {
    /// The model file.
    pub model: PathBuf,
    /// The rows to assign.
    pub source: Source,
    /// Id column of the new rows.
    pub id: Option<String>,
    /// Missing-value policy (mean/median use the model's fill values).
    pub missing: MissingPolicy,
    /// Backend.
    pub backend: BackendChoice,
    /// Segments file.
    pub output: PathBuf,
    /// Optional report.
    pub report: Option<PathBuf>,
}

/// What `predict` reports.
#[derive(Debug, serde::Serialize)]
pub struct PredictReport {
    pub strata_version: String,
    pub command: String,
    pub model: String,
    pub input: InputInfo,
    /// How the rows were read and checked: what decided `input.rows_dropped`.
    pub params: PredictParams,
    pub backend: BackendInfo,
    pub inertia: f64,
    /// Rows per segment.
    pub sizes: Vec<u64>,
    pub timings_s: Timings,
}

/// The choices a `predict` run was given, as `fit`'s report's `params` holds its own.
#[derive(Debug, serde::Serialize)]
pub struct PredictParams {
    pub missing: MissingPolicy,
    /// The words read as missing values in a CSV input (`--null-values`), besides empty fields.
    pub null_values: Vec<String>,
    /// How a CSV input's text was read when no byte-order mark said (`--encoding`).
    pub encoding: crate::data::read::Encoding,
    pub backend: BackendChoice,
}

/// Environment variable that sets the rows per block (tests use it to cover several blocks on
/// small inputs).
pub const BLOCK_ROWS_ENV: &str = "STRATA_PREDICT_BLOCK_ROWS";

/// Bytes of features per block.
const BLOCK_BYTES: usize = 64 << 20;

/// Rows per block for `dims` features: `BLOCK_BYTES` of them, at least one record batch of
/// 65,536 rows and at most 1,048,576 rows; or what `STRATA_PREDICT_BLOCK_ROWS` says.
fn block_rows(dims: usize) -> usize {
    crate::positive_from_env(BLOCK_ROWS_ENV)
        .unwrap_or_else(|| (BLOCK_BYTES / (4 * dims.max(1))).clamp(1 << 16, 1 << 20))
}

/// What the blocks read so far found, over all of them: what the checks need to decide, and
/// to say, as if the whole input had been read at once.
struct Findings {
    /// Per feature: missing and infinite values.
    scans: Vec<ColumnScan>,
    /// Rows dropped and values filled.
    cleaning: Cleaning,
    /// Rows kept after the missing-value policy.
    kept: u64,
    /// Per feature: negative values under log1p.
    negatives: Vec<Negatives>,
    /// Per feature: the range of the kept rows after the transform, and of the centroids.
    ranges: Vec<(f64, f64)>,
}

impl Findings {
    /// Whether `block` can be assigned as far as its own values go: no ±Inf, no missing value
    /// under `--missing error`, and no null id read so far.
    fn block_is_clean(block: &Dataset, missing: MissingPolicy, null_ids: bool) -> bool {
        !null_ids
            && block.scans.iter().all(|s| s.infinite == 0)
            && (missing != MissingPolicy::Error || block.scans.iter().all(|s| s.missing == 0))
    }

    /// Adds what `block` (the rows from input row `first_row` on) holds to the findings, and
    /// prepares its rows for assignment: the missing-value policy applied, the model's
    /// transform applied, with the input row of each row kept. `None` when the block fails a
    /// check: the run will fail, with the message that [`Findings::check`] gives once every
    /// block has been read.
    fn add(
        &mut self,
        mut block: Dataset,
        first_row: u64,
        null_ids: bool,
        model: &Model,
        missing: MissingPolicy,
        fill: Option<&[f64]>,
    ) -> Result<Option<(Dataset, Vec<u64>)>> {
        for (scan, more) in self.scans.iter_mut().zip(&block.scans) {
            scan.merge(more.clone());
        }
        if !Self::block_is_clean(&block, missing, null_ids) {
            return Ok(None);
        }
        let mut cleaning = Cleaning::default();
        validate::handle_missing(&mut block, missing, fill, &mut cleaning)?;
        self.cleaning.dropped_missing += cleaning.dropped_missing;
        self.cleaning.filled += cleaning.filled;
        // The fill values used: the model's, the same for every block that had a value missing.
        if let Some(values) = cleaning.fill_values {
            self.cleaning.fill_values = Some(values);
        }
        let kept = block.matrix.rows();
        self.kept += kept as u64;
        // Input rows of the kept rows: the key of the segments file without ids, and the rows
        // that messages name.
        let source_rows: Vec<u64> = match block.source_rows.take() {
            Some(rows) => rows.into_iter().map(|r| first_row + r).collect(),
            None => (first_row..first_row + kept as u64).collect(),
        };
        let negatives = model
            .transform
            .log1p_negatives(&block.matrix, &block.features, |i| source_rows[i]);
        let has_negatives = negatives.iter().any(|n| n.count > 0);
        for (total, more) in self.negatives.iter_mut().zip(negatives) {
            total.merge(more);
        }
        if has_negatives {
            return Ok(None);
        }
        model
            .transform
            .apply_after_check(&mut block.matrix, &block.features);
        for (total, more) in self.ranges.iter_mut().zip(column_ranges(&block.matrix)) {
            *total = (total.0.min(more.0), total.1.max(more.1));
        }
        // Ranges only widen: past the limit now is past it at the end.
        let spans = check_spans(
            &block.features,
            self.ranges.iter().copied(),
            model.transform.normalize,
        );
        Ok(spans.is_ok().then_some((block, source_rows)))
    }

    /// The checks of a whole read, in its order, over everything found (after the null ids,
    /// which the reader checks); logs what the missing-value policy did.
    fn check(&self, reader: &DatasetReader, model: &Model, missing: MissingPolicy) -> Result<()> {
        let features = reader.features();
        validate::reject_infinite(features, &self.scans)?;
        if missing == MissingPolicy::Error {
            validate::reject_missing(features, &self.scans)?;
        }
        validate::log_missing(
            features,
            &self.scans,
            missing,
            &self.cleaning,
            "the model's",
        );
        validate::require_rows(reader.name(), reader.rows_read(), self.kept, &self.cleaning)?;
        Transform::check_log1p(features, &self.negatives)?;
        // New rows far outside the training data can overflow the distances as well.
        check_spans(
            features,
            self.ranges.iter().copied(),
            model.transform.normalize,
        )
    }
}

/// Time spent in each phase, summed over the blocks.
#[derive(Default)]
struct Phases {
    read: Duration,
    prepare: Duration,
    assign: Duration,
    write: Duration,
}

/// Runs a predict job.
///
/// # Errors
/// Any error of the data path; exit 65 when the input lacks a model feature or the model is
/// damaged.
pub fn run_predict(job: PredictJob) -> Result<PredictReport> {
    let started = Instant::now();
    let outputs = Outputs {
        segments: Some(job.output.clone()),
        model: None,
        report: job.report.clone(),
        export_csv: None,
    };
    let mut inputs = input_paths(&job.source, None);
    inputs.push(&job.model);
    preflight_outputs(&inputs, &outputs.paths())?;
    let model = Model::load(&job.model)?;
    let fill = match job.missing {
        MissingPolicy::Mean | MissingPolicy::Median => match &model.fill {
            Some(fill) if fill.policy == job.missing => Some(fill.values.clone()),
            _ => {
                return Err(Error::usage(format!(
                    "--missing {:?} needs the fill values of a model fitted with --missing {:?}; this \
                     model has {}: use --missing error or drop, or refit",
                    job.missing,
                    job.missing,
                    model.fill.as_ref().map_or("none".to_string(), |f| format!("{:?} values", f.policy))
                ).to_lowercase()));
            }
        },
        _ => None,
    };
    let columns = ColumnRequest {
        id: job.id.clone(),
        features: Some(model.features.clone()),
        ..Default::default()
    };
    let mut phases = Phases::default();
    let null_values = job.source.null_values().to_vec();
    let encoding = job.source.encoding();
    let mut reader = DatasetReader::open(job.source, &columns)?;
    let features = reader.features().to_vec();
    let centroids = model.centroid_matrix();
    let mut found = Findings {
        scans: vec![ColumnScan::default(); features.len()],
        cleaning: Cleaning::default(),
        kept: 0,
        negatives: vec![Negatives::default(); features.len()],
        ranges: column_ranges(&centroids),
    };
    let rows_per_block = block_rows(features.len());
    // Created once the first block is read: a CSV's integer ids may turn to text in it.
    let mut sink: Option<SegmentSink> = None;
    // Rows read: each block is assigned and written before the next is read.
    reader.report_to(crate::progress::stage(
        format!("predicting {}", reader.name()),
        reader.rows_total(),
        "rows",
    ));
    let mut assigner = BlockAssigner::new(job.backend, centroids.rows());
    let mut sizes = vec![0u64; model.k];
    let mut inertia = 0.0f64;
    // Whether a block failed a check: no block is assigned after it.
    let mut failed = false;
    let (mut blocks, mut largest) = (0usize, 0u64);
    loop {
        let phase = Instant::now();
        let block = reader.next_block(rows_per_block)?;
        phases.read += phase.elapsed();
        if sink.is_none() {
            sink = Some(SegmentSink::create(&job.output, reader.id_field())?);
        }
        if block.input_rows == 0 {
            break;
        }
        blocks += 1;
        largest = largest.max(block.input_rows);
        let phase = Instant::now();
        let first_row = reader.rows_read() - block.input_rows;
        let prepared = found.add(
            block,
            first_row,
            reader.has_null_ids(),
            &model,
            job.missing,
            fill.as_deref(),
        )?;
        phases.prepare += phase.elapsed();
        let Some((block, source_rows)) = prepared else {
            failed = true;
            continue;
        };
        if failed || block.matrix.rows() == 0 {
            continue;
        }

        let phase = Instant::now();
        let assignment = assigner.assign(&block.matrix, &centroids)?;
        // One running sum in row order: the same total whatever the blocks.
        for &d in &assignment.sq_distances {
            inertia += f64::from(d);
        }
        for &label in &assignment.labels {
            sizes[label as usize] += 1;
        }
        phases.assign += phase.elapsed();
        let phase = Instant::now();
        let out = sink.as_mut().expect("created after the first block");
        out.push(&SegmentRows {
            ids: block.ids.as_ref(),
            source_rows: Some(&source_rows),
            labels: &assignment.labels,
            sq_distances: &assignment.sq_distances,
            silhouette: None,
        })?;
        phases.write += phase.elapsed();
        reader.recycle(block.matrix);
    }
    reader.check_ids()?;
    log::info!(
        "read {} row(s) × {} feature(s) from {} in {:.2}s",
        reader.rows_read(),
        features.len(),
        reader.name(),
        phases.read.as_secs_f64()
    );
    found.check(&reader, &model, job.missing)?;
    let Some(info) = assigner.info().filter(|_| !failed) else {
        return Err(Error::Internal(
            "a block of the input failed a check that the whole input passed".into(),
        ));
    };
    let phase = Instant::now();
    let sink = sink.expect("created after the first block");
    let mut staged = vec![sink.finish()?];
    phases.write += phase.elapsed();
    let timings = Timings {
        read: phases.read.as_secs_f64(),
        prepare: phases.prepare.as_secs_f64(),
        lloyd: phases.assign.as_secs_f64(),
        write: phases.write.as_secs_f64(),
        total: started.elapsed().as_secs_f64(),
        ..Timings::default()
    };
    let report = PredictReport {
        strata_version: env!("CARGO_PKG_VERSION").to_string(),
        command: "predict".to_string(),
        model: job.model.display().to_string(),
        input: InputInfo {
            path: reader.name().to_string(),
            rows: reader.rows_read(),
            rows_dropped: found.cleaning.rows_dropped(),
            features,
            id_column: job.id.clone(),
        },
        params: PredictParams {
            missing: job.missing,
            null_values,
            encoding,
            backend: job.backend,
        },
        backend: info,
        inertia,
        sizes,
        timings_s: timings,
    };
    if let Some(path) = &job.report {
        staged.push(write_json(path, &report)?);
    }
    commit_all(staged)?;
    log::info!(
        "assigned {} row(s) to {} segment(s) in {blocks} block(s) of at most {largest} rows; \
         wrote {}",
        found.kept,
        model.k,
        job.output.display()
    );
    Ok(report)
}
