//! The run report (`--report`, JSON): the keys of DESIGN.md §4, which scripts read.

use crate::backend::BackendInfo;
use crate::kmeans::RunSummary;
use crate::metrics::sweep::{Criterion, KResult, Recommended};
use serde::Serialize;

/// The input as read.
#[derive(Debug, Clone, Serialize)]
pub struct InputInfo {
    /// Input path (or the demo's name).
    pub path: String,
    /// Rows in the input.
    pub rows: u64,
    /// Rows left out (missing values, duplicate ids).
    pub rows_dropped: u64,
    /// Feature names.
    pub features: Vec<String>,
    /// Id column, if any.
    pub id_column: Option<String>,
}

/// The parameters the run used.
#[derive(Debug, Clone, Serialize)]
pub struct ParamsInfo {
    pub k: usize,
    pub seed: u64,
    pub init: String,
    /// The init file (a table of centroids, or an earlier fit's model) when `init` is "file",
    /// as given on the command line: which model a nightly run continued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_file: Option<String>,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub normalize: crate::data::transform::Normalize,
    pub log1p: Vec<String>,
    pub backend: crate::backend::BackendChoice,
    pub missing: crate::data::validate::MissingPolicy,
    /// The words read as missing values in a CSV input (`--null-values`), besides empty fields.
    pub null_values: Vec<String>,
    /// How a CSV input's text was read when no byte-order mark said (`--encoding`).
    pub encoding: crate::data::read::Encoding,
    pub duplicates: String,
    /// The columns the segments are described by (`--describe`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub describe: Vec<String>,
}

/// The silhouette as computed (or not).
#[derive(Debug, Clone, Serialize)]
pub struct SilhouetteInfo {
    /// exact, sampled, simplified or none.
    pub method: String,
    /// Mean silhouette, when computed.
    pub value: Option<f64>,
    /// Points scored, for a sample.
    pub sample_size: Option<u64>,
    /// Standard error of a sampled mean.
    pub std_error: Option<f64>,
}

/// One segment in the report.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentEntry {
    pub segment: u32,
    pub size: u64,
    pub share: f64,
    /// Feature name → centroid value in raw units.
    pub centroid: serde_json::Map<String, serde_json::Value>,
    pub label: String,
    /// Mean silhouette of the segment's scored points.
    pub silhouette: Option<f64>,
    /// Feature name → mean, median (raw units) and index against the population.
    pub profile: serde_json::Map<String, serde_json::Value>,
    /// Described column (`--describe`) → the segment's summary of it.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub described: serde_json::Map<String, serde_json::Value>,
}

/// Wall-clock seconds per phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub read: f64,
    pub prepare: f64,
    pub init: f64,
    pub lloyd: f64,
    pub metrics: f64,
    pub write: f64,
    pub total: f64,
}

/// Agreement with a known labeling (`--truth`).
#[derive(Debug, Clone, Serialize)]
pub struct TruthInfo {
    pub column: String,
    pub adjusted_rand_index: f64,
}

/// The report of a `fit` (or `demo`) run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub strata_version: String,
    pub command: String,
    pub input: InputInfo,
    pub params: ParamsInfo,
    pub backend: BackendInfo,
    pub iterations: usize,
    pub converged: bool,
    pub inertia: f64,
    pub silhouette: SilhouetteInfo,
    pub davies_bouldin: Option<f64>,
    pub calinski_harabasz: Option<f64>,
    pub segments: Vec<SegmentEntry>,
    pub restarts: Vec<RunSummary>,
    pub best_restart: usize,
    pub truth: Option<TruthInfo>,
    /// Described column (`--describe`) → its summary over all rows; each segment's is in
    /// `segments`.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub described: serde_json::Map<String, serde_json::Value>,
    /// How k was chosen, when `--k` gave several candidates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k_selection: Option<KSelection>,
    /// What `--min-segment-size` merged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_segment_size: Option<MinSizeInfo>,
    pub timings_s: Timings,
}

/// `--min-segment-size`: the threshold and the merges it caused.
#[derive(Debug, Clone, Serialize)]
pub struct MinSizeInfo {
    /// As given: rows, or a percentage such as "2%".
    pub requested: String,
    /// The threshold in rows.
    pub rows: u64,
    pub k_requested: usize,
    pub k_final: usize,
    /// In order; segment numbers as they were before each merge.
    pub merged: Vec<crate::kmeans::Merge>,
}

/// k chosen from candidates (`fit --k 2..10`): the sweep's results and recommendation.
#[derive(Debug, Clone, Serialize)]
pub struct KSelection {
    pub candidates: Vec<usize>,
    /// The criterion that decided.
    pub criterion: Criterion,
    pub results: Vec<KResult>,
    pub recommended: Recommended,
}
