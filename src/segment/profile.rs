//! Segment profiles: size, share, the centroid, the mean and median of every feature in raw
//! units, an index against the population (segment mean ÷ population mean × 100), and a short
//! readable label built from the features that set the segment apart.
//!
//! Labels: a feature sets a segment apart when its centroid sits at least half a population
//! standard deviation from the population mean in the normalized space (after log1p, so a few
//! very large spenders do not decide it). Up to three such features, the strongest, are named in
//! the order of the feature columns, each with its high or low word, "Very …" from 1.5 standard
//! deviations on. The RFM columns of `strata
//! rfm` speak marketing ("Recent", "Frequent", "High spend"; low `recency_days` is recent);
//! other columns read "High x" / "Low x" unless `--labels FILE` names their words.
//!
//! Medians are lower medians (the ⌈m/2⌉-th smallest of m values), taken in the normalized space
//! and mapped back: every transform is increasing, so that is the lower median of the raw values.

use crate::data::matrix::Matrix;
use crate::data::transform::{ColumnStats, Transform};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One feature of one segment, in raw input units.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureProfile {
    pub mean: f64,
    pub median: f64,
    /// Segment mean ÷ population mean × 100; `None` when the population mean is 0.
    pub index: Option<f64>,
}

/// One segment as reported and printed.
#[derive(Debug, Clone)]
pub struct SegmentProfile {
    /// Segment number.
    pub segment: u32,
    /// Rows in the segment.
    pub size: u64,
    /// size / all rows.
    pub share: f64,
    /// Centroid in raw input units, per feature.
    pub centroid: Vec<f64>,
    /// Mean, median and index per feature (empty for an empty segment).
    pub features: Vec<FeatureProfile>,
    /// Short description, e.g. "Recent · Frequent · High spend".
    pub label: String,
}

/// How far (in population standard deviations) a centroid must sit from the mean for a feature
/// to appear in the label.
const LABEL_THRESHOLD: f64 = 0.5;
/// From this many standard deviations on, the word gets "Very".
const STRONG_THRESHOLD: f64 = 1.5;

/// The words for a feature's high and low side.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Words {
    pub high: String,
    pub low: String,
}

/// Feature name → its words.
#[derive(Debug, Clone)]
pub struct LabelWords {
    words: HashMap<String, Words>,
    /// The file the words were read from, if any: an input of the run.
    source: Option<PathBuf>,
}

impl Default for LabelWords {
    /// Marketing words for the columns `strata rfm` writes.
    fn default() -> Self {
        let pairs = [
            ("recency_days", "Lapsed", "Recent"),
            ("frequency", "Frequent", "Infrequent"),
            ("monetary", "High spend", "Low spend"),
            ("avg_order_value", "Big baskets", "Small baskets"),
            ("tenure_days", "Long-standing", "New"),
        ];
        LabelWords {
            words: pairs
                .into_iter()
                .map(|(f, high, low)| {
                    (
                        f.to_string(),
                        Words {
                            high: high.to_string(),
                            low: low.to_string(),
                        },
                    )
                })
                .collect(),
            source: None,
        }
    }
}

impl LabelWords {
    /// The defaults, overridden by a JSON file `{"feature": {"high": "…", "low": "…"}}`.
    ///
    /// # Errors
    /// Exit 66 when the file cannot be read, 65 when it is not such an object.
    pub fn with_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::open_input(path, &e))?;
        let given: HashMap<String, Words> = serde_json::from_str(&text).map_err(|e| {
            Error::data(format!(
                "labels file '{}': {e}; it must be a JSON object such as \
                 {{\"visits\": {{\"high\": \"Regular visitor\", \"low\": \"Rare visitor\"}}}}",
                path.display()
            ))
        })?;
        let mut words = LabelWords::default();
        words.words.extend(given);
        words.source = Some(path.to_path_buf());
        Ok(words)
    }

    /// The file the words were read from (`--labels`), if any.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    fn word(&self, feature: &str, high: bool) -> String {
        match (self.words.get(feature), high) {
            (Some(w), true) => w.high.clone(),
            (Some(w), false) => w.low.clone(),
            (None, true) => format!("High {feature}"),
            (None, false) => format!("Low {feature}"),
        }
    }
}

/// Words for the features that set a centroid apart: the three strongest, in feature order.
fn label(
    features: &[String],
    centroid: &[f32],
    stats: &[ColumnStats],
    words: &LabelWords,
) -> String {
    let mut apart: Vec<(f64, usize)> = centroid
        .iter()
        .zip(stats)
        .enumerate()
        .filter_map(|(j, (&c, s))| {
            let sd = s.variance().sqrt();
            let z = if sd > 0.0 {
                (f64::from(c) - s.mean) / sd
            } else {
                0.0
            };
            (z.abs() >= LABEL_THRESHOLD).then_some((z, j))
        })
        .collect();
    if apart.is_empty() {
        return "Average".to_string();
    }
    apart.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()).then(a.1.cmp(&b.1)));
    apart.truncate(3);
    apart.sort_by_key(|&(_, j)| j);
    apart
        .iter()
        .map(|&(z, j)| {
            let word = words.word(&features[j], z > 0.0);
            if z.abs() >= STRONG_THRESHOLD {
                let mut chars = word.chars();
                let first = chars.next().map(|c| c.to_lowercase().to_string());
                format!("Very {}{}", first.unwrap_or_default(), chars.as_str())
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Per segment and feature: (mean, median) in raw units, and the population means.
fn feature_summaries(
    features: &[String],
    points: &Matrix,
    labels: &[u32],
    sizes: &[u64],
    transform: &Transform,
) -> (Vec<Vec<(f64, f64)>>, Vec<f64>) {
    let k = sizes.len();
    let d = points.cols();
    let mut offsets = vec![0usize; k + 1];
    for c in 0..k {
        offsets[c + 1] = offsets[c] + sizes[c] as usize;
    }
    let mut per_segment = vec![vec![(0.0, 0.0); d]; k];
    let mut population = vec![0.0; d];
    // One feature at a time: the only large allocation is one column grouped by segment.
    let mut grouped = vec![0f32; points.rows()];
    for j in 0..d {
        let raw = transform.inverter(features, j);
        let mut next = offsets.clone();
        let mut sums = vec![0.0f64; k];
        for (row, &label) in points.as_slice().chunks_exact(d).zip(labels) {
            let c = label as usize;
            grouped[next[c]] = row[j];
            next[c] += 1;
        }
        for c in 0..k {
            let slice = &mut grouped[offsets[c]..offsets[c + 1]];
            sums[c] = slice.iter().map(|&v| raw(v)).sum();
            if slice.is_empty() {
                continue;
            }
            let middle = (slice.len() - 1) / 2;
            let (_, &mut median, _) = slice.select_nth_unstable_by(middle, f32::total_cmp);
            per_segment[c][j] = (sums[c] / slice.len() as f64, raw(median));
        }
        population[j] = sums.iter().sum::<f64>() / points.rows().max(1) as f64;
    }
    (per_segment, population)
}

/// Profiles of every segment. `points` are normalized, `stats` their column statistics.
#[allow(clippy::too_many_arguments)]
pub fn profiles(
    features: &[String],
    points: &Matrix,
    labels: &[u32],
    sizes: &[u64],
    centroids: &Matrix,
    centroids_raw: &[Vec<f64>],
    stats: &[ColumnStats],
    transform: &Transform,
    words: &LabelWords,
) -> Vec<SegmentProfile> {
    let total: u64 = sizes.iter().sum();
    let (summaries, population) = feature_summaries(features, points, labels, sizes, transform);
    (0..sizes.len())
        .map(|c| SegmentProfile {
            segment: c as u32,
            size: sizes[c],
            share: if total > 0 {
                sizes[c] as f64 / total as f64
            } else {
                0.0
            },
            centroid: centroids_raw[c].clone(),
            features: if sizes[c] == 0 {
                Vec::new()
            } else {
                summaries[c]
                    .iter()
                    .zip(&population)
                    .map(|(&(mean, median), &all)| FeatureProfile {
                        mean,
                        median,
                        index: (all != 0.0).then(|| mean / all * 100.0),
                    })
                    .collect()
            },
            label: label(features, centroids.row(c), stats, words),
        })
        .collect()
}

/// A number for a table cell: precision that fits its magnitude.
fn cell(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 || (magnitude > 0.0 && magnitude < 1e-3) {
        format!("{value:.3e}")
    } else if magnitude >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// Rows of cells as right-aligned columns, the last column left as is.
fn columns(header: &[String], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let last = row.len() - 1;
        for (i, value) in row.iter().enumerate() {
            if i == last {
                let _ = write!(out, "{value}");
            } else {
                let pad = widths[i].saturating_sub(value.chars().count());
                let _ = write!(out, "{}{value}  ", " ".repeat(pad));
            }
        }
        let kept = out.trim_end_matches(' ').len();
        out.truncate(kept);
        out.push('\n');
    }
    out
}

/// The profile printed on stdout: segments with size, share and label; then the mean of every
/// feature with its index (population = 100); then the median.
pub fn render_table(features: &[String], profiles: &[SegmentProfile]) -> String {
    let mut header: Vec<String> = ["segment", "size", "share", "label"]
        .map(String::from)
        .to_vec();
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| {
            vec![
                p.segment.to_string(),
                p.size.to_string(),
                format!("{:.1}%", 100.0 * p.share),
                p.label.clone(),
            ]
        })
        .collect();
    let mut out = columns(&header, &rows);

    header = std::iter::once("segment".to_string())
        .chain(features.iter().cloned())
        .chain([String::new()])
        .collect();
    let table = |value: &dyn Fn(&FeatureProfile) -> String| -> String {
        let rows: Vec<Vec<String>> = profiles
            .iter()
            .map(|p| {
                std::iter::once(p.segment.to_string())
                    .chain(
                        (0..features.len())
                            .map(|j| p.features.get(j).map_or("-".to_string(), value)),
                    )
                    .chain([String::new()])
                    .collect()
            })
            .collect();
        columns(&header, &rows)
    };
    out.push_str("\nmean (index: all rows = 100)\n");
    out.push_str(&table(&|f| match f.index {
        Some(index) => format!("{} ({index:.0})", cell(f.mean)),
        None => cell(f.mean),
    }));
    out.push_str("\nmedian\n");
    out.push_str(&table(&|f| cell(f.median)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::transform::{Normalize, column_stats};

    #[test]
    fn rfm_words_follow_marketing_usage_in_feature_order() {
        let features: Vec<String> = ["recency_days", "frequency", "monetary", "visits"]
            .map(String::from)
            .to_vec();
        let stats: Vec<ColumnStats> = (0..4)
            .map(|_| ColumnStats {
                count: 10.0,
                mean: 0.0,
                m2: 10.0,
                min: -3.0,
                max: 3.0,
            })
            .collect();
        let words = LabelWords::default();
        // Low recency is recent; the weakest of four features apart is left out.
        assert_eq!(
            label(&features, &[-1.0, 1.2, 0.9, 0.6], &stats, &words),
            "Recent · Frequent · High spend"
        );
        assert_eq!(
            label(&features, &[1.2, -0.8, 0.0, -1.0], &stats, &words),
            "Lapsed · Infrequent · Low visits"
        );
        assert_eq!(
            label(&features, &[0.1, -0.2, 0.3, 0.0], &stats, &words),
            "Average"
        );
        assert_eq!(
            label(&features, &[-1.6, 0.0, 2.5, 0.0], &stats, &words),
            "Very recent · Very high spend"
        );
    }

    #[test]
    fn means_medians_and_indices_are_in_raw_units() {
        // One feature under log1p + z-score; segment 0 holds 0, 1, 3 and segment 1 holds 7, 15.
        let raw = [0.0f32, 7.0, 1.0, 15.0, 3.0];
        let labels = [0u32, 1, 0, 1, 0];
        let features = vec!["spend".to_string()];
        let mut points = Matrix::from_vec(raw.to_vec(), 1);
        let (transform, _) =
            Transform::fit_apply(&mut points, &features, &features, Normalize::Zscore, |i| {
                i as u64
            })
            .unwrap();
        let stats = column_stats(&points);
        let centroids = Matrix::from_vec(vec![-1.0, 1.0], 1);
        let raw_centroids = vec![vec![1.0], vec![11.0]];
        let p = profiles(
            &features,
            &points,
            &labels,
            &[3, 2],
            &centroids,
            &raw_centroids,
            &stats,
            &transform,
            &LabelWords::default(),
        );
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4 * b.abs().max(1.0);
        let all = (0.0 + 7.0 + 1.0 + 15.0 + 3.0) / 5.0;
        assert!(
            close(p[0].features[0].mean, 4.0 / 3.0),
            "{:?}",
            p[0].features
        );
        assert!(close(p[0].features[0].median, 1.0));
        assert!(close(p[1].features[0].mean, 11.0));
        assert!(close(p[1].features[0].median, 7.0), "lower median of two");
        assert!(close(p[1].features[0].index.unwrap(), 11.0 / all * 100.0));
        assert_eq!(p[0].label, "Low spend");
        let table = render_table(&features, &p);
        assert!(
            table.contains("Low spend") && table.contains("median"),
            "{table}"
        );
    }
}
