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
use crate::kmeans::segment_sizes;
use rayon::prelude::*;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// One feature of one segment, in raw input units.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FeatureProfile {
    pub mean: f64,
    pub median: f64,
    /// Segment mean ÷ population mean × 100; `None` when the population mean is 0 or some value
    /// of the feature is negative (the ratio then says nothing: a segment above the mean can
    /// get a negative index).
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

/// One feature over all rows, in raw units.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Population {
    mean: f64,
    /// Some value is below zero: a ratio to the mean means nothing then.
    negative: bool,
}

/// Rows per task when a feature column is grouped by segment.
const GROUP_ROWS: usize = 1 << 16;

/// Per segment and feature: (mean, median) in raw units; per feature the population mean and
/// whether any raw value is below zero.
///
/// One feature at a time is grouped by segment into the only large buffer (one column): each
/// segment's values in row order. Blocks of rows are grouped in parallel, each into its own
/// part of every segment's range (a counting sort, so the order is the same as one pass
/// would give); then each segment's part is summed in row order and its median selected, the
/// segments in parallel. Every sum runs in the same order whatever the thread count.
fn feature_summaries(
    features: &[String],
    points: &Matrix,
    labels: &[u32],
    sizes: &[u64],
    transform: &Transform,
) -> (Vec<Vec<(f64, f64)>>, Vec<Population>) {
    let k = sizes.len();
    let d = points.cols();
    let n = points.rows();
    // counts[b][c]: rows of segment c in block b.
    let counts: Vec<Vec<u64>> = labels
        .par_chunks(GROUP_ROWS)
        .map(|block| segment_sizes(block, k))
        .collect();
    let mut per_segment = vec![vec![(0.0, 0.0); d]; k];
    let mut population = Vec::with_capacity(d);
    let mut grouped = vec![0f32; n];
    for j in 0..d {
        let raw = transform.inverter(features, j);
        // The column is laid out segment by segment, and within a segment block by block:
        // cut it into those pieces and hand each block its k pieces.
        let mut pieces: Vec<Vec<&mut [f32]>> =
            (0..counts.len()).map(|_| Vec::with_capacity(k)).collect();
        let mut rest = grouped.as_mut_slice();
        for c in 0..k {
            for (b, count) in counts.iter().enumerate() {
                let (piece, tail) = rest.split_at_mut(count[c] as usize);
                pieces[b].push(piece);
                rest = tail;
            }
        }
        pieces
            .into_par_iter()
            .zip(points.as_slice().par_chunks(GROUP_ROWS * d))
            .zip(labels.par_chunks(GROUP_ROWS))
            .for_each(|((pieces, rows), block_labels)| {
                // Each segment's next slot in this block's piece of it.
                let mut slots: Vec<_> = pieces.into_iter().map(|p| p.iter_mut()).collect();
                for (row, &label) in rows.chunks_exact(d).zip(block_labels) {
                    if let Some(slot) = slots[label as usize].next() {
                        *slot = row[j];
                    }
                }
            });
        let mut parts = Vec::with_capacity(k);
        let mut rest = grouped.as_mut_slice();
        for &size in sizes {
            let (part, tail) = rest.split_at_mut(size as usize);
            parts.push(part);
            rest = tail;
        }
        // Each segment's sum of raw values, its median where it has rows, and its smallest
        // value (the transform keeps the order of values, so the smallest stays smallest).
        let summaries: Vec<(f64, Option<f64>, f32)> = parts
            .into_par_iter()
            .map(|slice| {
                let sum: f64 = slice.iter().map(|&v| raw(v)).sum();
                let least = slice.iter().copied().fold(f32::INFINITY, f32::min);
                if slice.is_empty() {
                    return (sum, None, least);
                }
                let middle = (slice.len() - 1) / 2;
                let (_, &mut median, _) = slice.select_nth_unstable_by(middle, f32::total_cmp);
                (sum, Some(raw(median)), least)
            })
            .collect();
        for (c, &(sum, median, _)) in summaries.iter().enumerate() {
            if let Some(median) = median {
                per_segment[c][j] = (sum / sizes[c] as f64, median);
            }
        }
        let total: f64 = summaries.iter().map(|&(sum, ..)| sum).sum();
        let least = summaries.iter().map(|s| s.2).fold(f32::INFINITY, f32::min);
        let mean = total / n.max(1) as f64;
        population.push(Population {
            mean,
            // A raw 0 comes back from the normalized f32 as a rounding error of the mean's
            // size times 1e-7, either side of zero: that is no negative value.
            negative: least.is_finite() && raw(least) < -1e-5 * mean.abs(),
        });
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
                        index: (all.mean > 0.0 && !all.negative).then(|| mean / all.mean * 100.0),
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

    #[test]
    fn an_index_is_given_only_for_features_without_negative_values() {
        // `spend` is ≥ 0 with a raw 0, which comes back from the z-score as a rounding error
        // below zero; `change` has one negative value and a positive mean: a ratio to it
        // means nothing.
        let features = vec!["spend".to_string(), "change".to_string()];
        let spend = [0.0f32, 170.0, 127.0, 102.0, 54.0];
        let change = [-2.0f32, 7.0, 1.0, 15.0, 3.0];
        let rows: Vec<f32> = spend
            .iter()
            .zip(&change)
            .flat_map(|(&s, &c)| [s, c])
            .collect();
        let labels = [0u32, 1, 0, 1, 0];
        let mut points = Matrix::from_vec(rows, 2);
        let (transform, _) =
            Transform::fit_apply(&mut points, &features, &[], Normalize::Zscore, |i| i as u64)
                .unwrap();
        let zero = transform.inverter(&features, 0)(points.row(0)[0]);
        assert!(zero < 0.0 && zero > -1e-4, "{zero}");
        let stats = column_stats(&points);
        let centroids = Matrix::from_vec(vec![-1.0, -1.0, 1.0, 1.0], 2);
        let raw_centroids = vec![vec![60.3, 0.7], vec![136.0, 11.0]];
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
        let spend = p[1].features[0].index.expect("spend has no negative value");
        assert!((spend - 136.0 / 90.6 * 100.0).abs() < 1e-3, "{spend}");
        assert_eq!(p[0].features[1].index, None);
        assert_eq!(p[1].features[1].index, None);
        assert!((p[1].features[1].mean - 11.0).abs() < 1e-4);
    }

    #[test]
    fn summaries_over_many_blocks_equal_a_segment_by_segment_oracle_for_any_thread_count() {
        // Several blocks of rows (the last one short), five segments of which one is empty,
        // three features of which one is under log1p.
        let n = 3 * GROUP_ROWS + 123;
        let (k, d) = (5usize, 3usize);
        let mut state = 12_345u64;
        let mut draw = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        let labels: Vec<u32> = (0..n)
            .map(|_| match draw() % 4 {
                3 => 4,
                c => c,
            })
            .collect();
        let raw: Vec<f32> = (0..n * d)
            .map(|i| (draw() % 100_000) as f32 / 100.0 + (i % d) as f32)
            .collect();
        let features: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let mut points = Matrix::from_vec(raw.clone(), d);
        let log1p = vec!["b".to_string()];
        let (transform, _) =
            Transform::fit_apply(&mut points, &features, &log1p, Normalize::Zscore, |i| {
                i as u64
            })
            .unwrap();
        let mut sizes = vec![0u64; k];
        for &label in &labels {
            sizes[label as usize] += 1;
        }
        assert_eq!(sizes[3], 0);

        let (per_segment, population) =
            feature_summaries(&features, &points, &labels, &sizes, &transform);
        for j in 0..d {
            let inverse = transform.inverter(&features, j);
            let mut total = 0.0;
            for (c, segment) in per_segment.iter().enumerate() {
                // The segment's values in row order, summed in that order; the lower median.
                let mut values: Vec<f32> = (0..n)
                    .filter(|&i| labels[i] as usize == c)
                    .map(|i| points.row(i)[j])
                    .collect();
                let sum: f64 = values.iter().map(|&v| inverse(v)).sum();
                total += sum;
                if values.is_empty() {
                    assert_eq!(segment[j], (0.0, 0.0));
                    continue;
                }
                values.sort_by(f32::total_cmp);
                let median = inverse(values[(values.len() - 1) / 2]);
                let want = (sum / values.len() as f64, median);
                assert_eq!(segment[j], want, "segment {c} feature {j}");
            }
            assert_eq!(population[j].mean, total / n as f64, "feature {j}");
        }
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| feature_summaries(&features, &points, &labels, &sizes, &transform));
        assert_eq!(one_thread, (per_segment, population));
    }
}
