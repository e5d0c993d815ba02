//! Silhouette scores, Euclidean, in the normalized space.
//!
//! - exact: every point against every point. Points are sorted by label so each cluster is a
//!   contiguous range; a backend then walks the ranges for each point keeping O(1) state (the
//!   running sum of the current range, the own-cluster sum, the best other mean): O(n) memory,
//!   never an n×n matrix. Singleton clusters score 0, as scikit-learn's.
//! - sampled: a seeded uniform sample of N points scored among themselves (scikit-learn's
//!   `sample_size`), with the standard error of the mean.
//! - simplified: a = distance to the own centroid, b = to the nearest other centroid; O(n·k).

use crate::backend::Backend;
use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::rng::{SeededRng, Stream};
use rayon::prelude::*;

/// What the user asked for (`--silhouette`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilhouetteMode {
    /// Exact when it fits the backend's budget, else a sample.
    Auto,
    /// Every pair.
    Exact,
    /// A seeded sample of this many points.
    Sample(usize),
    /// Centroid-based.
    Simplified,
    /// Not computed.
    None,
}

/// Points in the default sample of `auto`.
pub const AUTO_SAMPLE: usize = 10_000;

impl SilhouetteMode {
    /// Parses `auto|exact|sample:N|simplified|none`.
    ///
    /// # Errors
    /// A usage error for anything else, or a sample of 0 or 1 points.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "auto" => Ok(SilhouetteMode::Auto),
            "exact" => Ok(SilhouetteMode::Exact),
            "simplified" => Ok(SilhouetteMode::Simplified),
            "none" => Ok(SilhouetteMode::None),
            _ => match text.strip_prefix("sample:").map(str::parse::<usize>) {
                Some(Ok(n)) if n >= 2 => Ok(SilhouetteMode::Sample(n)),
                _ => Err(Error::usage(format!(
                    "--silhouette must be auto, exact, sample:N (N ≥ 2), simplified or none, not '{text}'"
                ))),
            },
        }
    }
}

impl std::fmt::Display for SilhouetteMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SilhouetteMode::Auto => f.write_str("auto"),
            SilhouetteMode::Exact => f.write_str("exact"),
            SilhouetteMode::Sample(n) => write!(f, "sample:{n}"),
            SilhouetteMode::Simplified => f.write_str("simplified"),
            SilhouetteMode::None => f.write_str("none"),
        }
    }
}

/// A computed silhouette.
#[derive(Debug, Clone, PartialEq)]
pub struct Silhouette {
    /// exact, sampled, simplified or none.
    pub method: &'static str,
    /// Mean silhouette; `None` when undefined (fewer than 2 clusters, or one point per cluster).
    pub value: Option<f64>,
    /// Points scored, for a sample.
    pub sample_size: Option<u64>,
    /// Standard error of a sampled mean.
    pub std_error: Option<f64>,
    /// Mean per segment over the scored points (`None` for a segment with none scored).
    pub per_segment: Vec<Option<f64>>,
    /// Per point, in input order (exact and simplified).
    pub per_point: Option<Vec<f32>>,
}

impl Silhouette {
    fn none(k: usize) -> Self {
        Silhouette {
            method: "none",
            value: None,
            sample_size: None,
            std_error: None,
            per_segment: vec![None; k],
            per_point: None,
        }
    }
}

/// s = (b − a) / max(a, b) with a = own_sum / (own_size − 1); 0 for a singleton cluster.
pub fn silhouette_of(own_sum: f64, own_size: usize, best_other_mean: f64) -> f32 {
    if own_size <= 1 || !best_other_mean.is_finite() {
        return 0.0;
    }
    let a = own_sum / (own_size - 1) as f64;
    let b = best_other_mean;
    let m = a.max(b);
    if m > 0.0 { ((b - a) / m) as f32 } else { 0.0 }
}

/// Sorts rows by label (stable): the sorted matrix, cluster offsets, and each sorted row's
/// index in `points`.
fn sort_by_label(points: &Matrix, labels: &[u32], k: usize) -> (Matrix, Vec<usize>, Vec<usize>) {
    let mut offsets = vec![0usize; k + 1];
    for &l in labels {
        offsets[l as usize + 1] += 1;
    }
    for c in 0..k {
        offsets[c + 1] += offsets[c];
    }
    let mut next = offsets.clone();
    let mut order = vec![0usize; labels.len()];
    for (i, &l) in labels.iter().enumerate() {
        order[next[l as usize]] = i;
        next[l as usize] += 1;
    }
    let mut sorted = Matrix::with_capacity(labels.len(), points.cols());
    for &i in &order {
        sorted.push_row(points.row(i));
    }
    (sorted, offsets, order)
}

/// Exact silhouettes of `points` (per point, input order) through `backend`; `None` when the
/// score is undefined (fewer than 2 non-empty clusters, or as many clusters as points).
///
/// # Errors
/// On a backend failure.
pub fn exact(
    backend: &mut dyn Backend,
    points: &Matrix,
    labels: &[u32],
    k: usize,
) -> Result<Option<Vec<f32>>> {
    let (sorted, offsets, order) = sort_by_label(points, labels, k);
    let present = (0..k).filter(|&c| offsets[c + 1] > offsets[c]).count();
    if present < 2 || present >= points.rows() {
        return Ok(None);
    }
    let by_sorted = backend.silhouette_exact(&sorted, &offsets)?;
    let mut per_point = vec![0f32; labels.len()];
    for (r, &i) in order.iter().enumerate() {
        per_point[i] = by_sorted[r];
    }
    Ok(Some(per_point))
}

/// Simplified silhouettes: own centroid against the nearest other centroid.
pub fn simplified(points: &Matrix, labels: &[u32], centroids: &Matrix) -> Vec<f32> {
    let k = centroids.rows();
    (0..points.rows())
        .into_par_iter()
        .map(|i| {
            let x = points.row(i);
            let own = labels[i] as usize;
            let a = f64::from(crate::backend::cpu::sq_distance(x, centroids.row(own))).sqrt();
            let b = (0..k)
                .filter(|&c| c != own)
                .map(|c| f64::from(crate::backend::cpu::sq_distance(x, centroids.row(c))).sqrt())
                .fold(f64::INFINITY, f64::min);
            if !b.is_finite() || a.max(b) == 0.0 {
                0.0
            } else {
                ((b - a) / a.max(b)) as f32
            }
        })
        .collect()
}

fn mean_by_segment(values: &[f32], labels: &[u32], k: usize) -> (f64, Vec<Option<f64>>) {
    let mut sums = vec![0.0f64; k];
    let mut counts = vec![0u64; k];
    for (&v, &l) in values.iter().zip(labels) {
        sums[l as usize] += f64::from(v);
        counts[l as usize] += 1;
    }
    let total = sums.iter().sum::<f64>() / values.len().max(1) as f64;
    let per = sums
        .iter()
        .zip(&counts)
        .map(|(&s, &c)| (c > 0).then(|| s / c as f64))
        .collect();
    (total, per)
}

/// Scores a clustering under `mode`. `keep_per_point` keeps per-point values (exact and
/// simplified) for the segments file.
///
/// # Errors
/// On a backend failure; a usage error when per-point values are asked of a sample.
pub fn score(
    backend: &mut dyn Backend,
    points: &Matrix,
    labels: &[u32],
    centroids: &Matrix,
    mode: SilhouetteMode,
    seed: u64,
    keep_per_point: bool,
) -> Result<Silhouette> {
    let k = centroids.rows();
    let n = points.rows();
    let mode = match mode {
        SilhouetteMode::Auto if n <= backend.exact_silhouette_limit() => SilhouetteMode::Exact,
        SilhouetteMode::Auto if keep_per_point => SilhouetteMode::Simplified,
        SilhouetteMode::Auto => SilhouetteMode::Sample(AUTO_SAMPLE),
        SilhouetteMode::Sample(size) if size >= n => SilhouetteMode::Exact,
        other => other,
    };
    match mode {
        SilhouetteMode::None | SilhouetteMode::Auto => Ok(Silhouette::none(k)),
        SilhouetteMode::Exact => {
            let Some(values) = exact(backend, points, labels, k)? else {
                return Ok(Silhouette {
                    method: "exact",
                    ..Silhouette::none(k)
                });
            };
            let (value, per_segment) = mean_by_segment(&values, labels, k);
            Ok(Silhouette {
                method: "exact",
                value: Some(value),
                sample_size: None,
                std_error: None,
                per_segment,
                per_point: keep_per_point.then_some(values),
            })
        }
        SilhouetteMode::Simplified => {
            let values = simplified(points, labels, centroids);
            let (value, per_segment) = mean_by_segment(&values, labels, k);
            Ok(Silhouette {
                method: "simplified",
                value: (k >= 2).then_some(value),
                sample_size: None,
                std_error: None,
                per_segment,
                per_point: keep_per_point.then_some(values),
            })
        }
        SilhouetteMode::Sample(size) => {
            if keep_per_point {
                return Err(Error::usage(
                    "--per-point-silhouette needs every point scored: use --silhouette exact or simplified",
                ));
            }
            let mut rng = SeededRng::new(seed, Stream::Silhouette);
            let picked = rng.distinct_indices(n, size);
            let mut sample = Matrix::with_capacity(size, points.cols());
            let sample_labels: Vec<u32> = picked.iter().map(|&i| labels[i]).collect();
            for &i in &picked {
                sample.push_row(points.row(i));
            }
            let Some(values) = exact(backend, &sample, &sample_labels, k)? else {
                return Ok(Silhouette {
                    method: "sampled",
                    sample_size: Some(size as u64),
                    ..Silhouette::none(k)
                });
            };
            let (value, per_segment) = mean_by_segment(&values, &sample_labels, k);
            let variance = values
                .iter()
                .map(|&v| (f64::from(v) - value).powi(2))
                .sum::<f64>()
                / (size - 1) as f64;
            Ok(Silhouette {
                method: "sampled",
                value: Some(value),
                sample_size: Some(size as u64),
                std_error: Some((variance / size as f64).sqrt()),
                per_segment,
                per_point: None,
            })
        }
    }
}
