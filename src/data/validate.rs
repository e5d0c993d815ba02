//! Strict checks on what was read, and the policies that relax them.
//!
//! ±Inf is always an error. Missing values (null or NaN) are an error unless `--missing` says to
//! drop or fill them; duplicate ids are an error unless `--duplicates` says which row to keep.
//! Every message names the column, the count and the first row, and says what to do.

use super::ids::DuplicatePolicy;
use super::matrix::Matrix;
use super::read::{ColumnScan, Dataset};
use crate::error::{Error, Result};
use std::collections::HashSet;

/// What to do with null and NaN feature values (`--missing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingPolicy {
    /// A missing value is an error.
    Error,
    /// Rows with any missing feature are left out.
    Drop,
    /// Missing values take the column's mean.
    Mean,
    /// Missing values take the column's median.
    Median,
}

/// What the checks changed.
#[derive(Debug, Default, Clone)]
pub struct Cleaning {
    /// Rows dropped for missing values.
    pub dropped_missing: u64,
    /// Rows dropped as duplicate ids.
    pub dropped_duplicates: u64,
    /// Values filled in, all columns together.
    pub filled: u64,
    /// The fill value of each feature in raw units (for mean/median), as used.
    pub fill_values: Option<Vec<f64>>,
}

impl Cleaning {
    /// All rows dropped.
    pub fn rows_dropped(&self) -> u64 {
        self.dropped_missing + self.dropped_duplicates
    }
}

/// Fails on any ±Inf (or a value beyond the f32 range) in a feature, from the scans of the
/// features read.
///
/// # Errors
/// Exit 65 naming the column, the count, the first row and its value.
pub fn reject_infinite(features: &[String], scans: &[ColumnScan]) -> Result<()> {
    for (name, scan) in features.iter().zip(scans) {
        if let Some((row, value)) = scan.first_infinite {
            return Err(Error::data(format!(
                "feature '{name}' has {} infinite or out-of-range value(s), the first at row {row} \
                 ({value:e}); Strata computes in 32-bit floats, so values must be finite and within \
                 ±3.4e38: fix or remove those rows",
                scan.infinite
            )));
        }
    }
    Ok(())
}

/// Fails on any missing value, as `--missing error` does, from the scans of the features read.
///
/// # Errors
/// Exit 65 naming each column with its count and first row.
pub fn reject_missing(features: &[String], scans: &[ColumnScan]) -> Result<()> {
    let columns: Vec<String> = features
        .iter()
        .zip(scans)
        .filter(|(_, s)| s.missing > 0)
        .map(|(name, s)| {
            format!(
                "'{name}': {} (first at row {})",
                s.missing,
                s.first_missing.unwrap_or(0)
            )
        })
        .collect();
    if columns.is_empty() {
        return Ok(());
    }
    Err(Error::data(format!(
        "missing values (null or NaN) in {}; choose --missing drop, mean or median to handle \
         them",
        columns.join(", ")
    )))
}

/// Says in the log what `policy` did with the missing values the scans counted; `whose` fill
/// values were used ("its": the column's own; "the model's").
pub fn log_missing(
    features: &[String],
    scans: &[ColumnScan],
    policy: MissingPolicy,
    cleaning: &Cleaning,
    whose: &str,
) {
    match policy {
        MissingPolicy::Error => {}
        MissingPolicy::Drop => {
            if scans.iter().any(|s| s.missing > 0) {
                log::warn!(
                    "dropping {} row(s) with missing values (--missing drop)",
                    cleaning.dropped_missing
                );
            }
        }
        MissingPolicy::Mean | MissingPolicy::Median => {
            let how = format!("{policy:?}").to_lowercase();
            for (j, (name, scan)) in features.iter().zip(scans).enumerate() {
                if scan.missing > 0 {
                    let value = cleaning
                        .fill_values
                        .as_ref()
                        .map_or(String::new(), |values| format!(", {}", values[j]));
                    log::warn!(
                        "filled {} missing value(s) of '{name}' with {whose} {how}{value} \
                         (--missing {how})",
                        scan.missing
                    );
                }
            }
        }
    }
}

/// Applies `policy` to missing feature values (saying nothing: [`log_missing`] does). `fill`
/// supplies fill values from a saved model (predict); without it they are computed from this
/// data.
///
/// # Errors
/// Exit 65 under `error` when any value is missing, naming each column with its count.
pub fn handle_missing(
    data: &mut Dataset,
    policy: MissingPolicy,
    fill: Option<&[f64]>,
    cleaning: &mut Cleaning,
) -> Result<()> {
    let total: u64 = data.scans.iter().map(|s| s.missing).sum();
    if total == 0 {
        return Ok(());
    }
    match policy {
        MissingPolicy::Error => reject_missing(&data.features, &data.scans),
        MissingPolicy::Drop => {
            let cols = data.matrix.cols();
            let keep: Vec<bool> = data
                .matrix
                .as_slice()
                .chunks(cols)
                .map(|row| row.iter().all(|v| !v.is_nan()))
                .collect();
            let dropped = keep.iter().filter(|&&k| !k).count() as u64;
            drop_rows(data, &keep);
            cleaning.dropped_missing = dropped;
            Ok(())
        }
        MissingPolicy::Mean | MissingPolicy::Median => {
            let values: Vec<f64> = match fill {
                Some(values) => values.to_vec(),
                None => (0..data.features.len())
                    .map(|j| column_fill(&data.matrix, j, policy, data.input_rows, &data.scans[j]))
                    .collect::<Result<_>>()
                    .map_err(|e| Error::data(format!("{e}")))?,
            };
            let cols = data.matrix.cols();
            for row in data.matrix.as_mut_slice().chunks_mut(cols) {
                for (v, &f) in row.iter_mut().zip(&values) {
                    if v.is_nan() {
                        *v = f as f32;
                    }
                }
            }
            cleaning.filled = total;
            cleaning.fill_values = Some(values);
            Ok(())
        }
    }
}

fn column_fill(
    matrix: &Matrix,
    col: usize,
    policy: MissingPolicy,
    rows: u64,
    scan: &super::read::ColumnScan,
) -> Result<f64> {
    let present = scan.present(rows);
    if present == 0 {
        return Err(Error::data(format!(
            "feature {col} has no values at all, so there is nothing to fill it with"
        )));
    }
    if policy == MissingPolicy::Mean {
        return Ok(scan.sum / present as f64);
    }
    let mut values: Vec<f32> = matrix
        .as_slice()
        .chunks(matrix.cols())
        .map(|row| row[col])
        .filter(|v| !v.is_nan())
        .collect();
    let n = values.len();
    let mid = n / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let upper = f64::from(*upper);
    if n % 2 == 1 {
        return Ok(upper);
    }
    let lower = values[..mid]
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    Ok((f64::from(lower) + upper) / 2.0)
}

/// Applies `policy` to duplicate ids.
///
/// # Errors
/// Exit 65 under `error`, with the count and one example with its two rows.
pub fn handle_duplicates(
    data: &mut Dataset,
    policy: DuplicatePolicy,
    cleaning: &mut Cleaning,
) -> Result<()> {
    let Some(ids) = data.ids.as_ref() else {
        return Ok(());
    };
    let found = ids.duplicates(policy);
    if found.rows == 0 {
        return Ok(());
    }
    let source_row = |i: u64| data.source_rows.as_ref().map_or(i, |rows| rows[i as usize]);
    let (example, a, b) = found.example.clone().unwrap_or_default();
    let (a, b) = (source_row(a), source_row(b));
    if policy == DuplicatePolicy::Error {
        return Err(Error::data(format!(
            "id column '{}' has {} duplicate row(s) over {} id(s), e.g. {example} at rows {a} and \
             {b}; choose --duplicates first or last to keep one row per id",
            ids.name(),
            found.rows,
            found.ids
        )));
    }
    log::warn!(
        "dropping {} duplicate row(s) over {} id(s), e.g. {example} at rows {a} and {b} (--duplicates {policy:?})",
        found.rows,
        found.ids
    );
    let keep: Vec<bool> = found.drop.iter().map(|d| !d).collect();
    drop_rows(data, &keep);
    cleaning.dropped_duplicates = found.rows;
    Ok(())
}

/// Keeps only the rows where `keep` is true, in every per-row structure of the data set.
pub fn drop_rows(data: &mut Dataset, keep: &[bool]) {
    data.matrix.retain_rows(|i| keep[i]);
    if let Some(ids) = data.ids.as_mut() {
        ids.retain(keep);
    }
    if let Some(truth) = data.truth.as_mut() {
        crate::data::ids::retain_vec(truth, keep);
    }
    for column in &mut data.described {
        column.retain(keep);
    }
    let rows: Vec<u64> = match data.source_rows.take() {
        Some(rows) => rows
            .into_iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(r, _)| r)
            .collect(),
        None => (0..keep.len() as u64)
            .filter(|&i| keep[i as usize])
            .collect(),
    };
    data.source_rows = Some(rows);
}

/// Fails when no rows are left to cluster: `kept` of the `input_rows` rows of input `name`.
///
/// # Errors
/// Exit 65, saying whether the input was empty or everything was dropped.
pub fn require_rows(name: &str, input_rows: u64, kept: u64, cleaning: &Cleaning) -> Result<()> {
    if kept > 0 {
        return Ok(());
    }
    if input_rows == 0 {
        return Err(Error::data(format!("input '{name}' has no rows")));
    }
    Err(Error::data(format!(
        "all {input_rows} input rows were dropped ({} for missing values, {} as duplicates); \
         nothing is left to cluster",
        cleaning.dropped_missing, cleaning.dropped_duplicates
    )))
}

/// Fails when the matrix has fewer than `k` distinct rows (k-means cannot place k centroids).
/// Stops as soon as `k` distinct rows are seen, so it is quick on real data.
///
/// # Errors
/// Exit 65 with the number of distinct rows.
pub fn require_distinct_rows(matrix: &Matrix, k: usize) -> Result<()> {
    let mut seen: HashSet<Vec<u32>> = HashSet::with_capacity(k.min(1 << 20));
    for i in 0..matrix.rows() {
        // +0.0 and -0.0 are the same point.
        seen.insert(matrix.row(i).iter().map(|v| (v + 0.0).to_bits()).collect());
        if seen.len() >= k {
            return Ok(());
        }
    }
    Err(Error::data(format!(
        "k = {k} but the data has only {} distinct row(s) (of {}); choose --k {} or less",
        seen.len(),
        matrix.rows(),
        seen.len()
    )))
}
