//! Segment profiles: size, share, centroid in raw units, and a short readable label built from
//! the features that set the segment apart from the population.

use crate::data::matrix::Matrix;
use crate::data::transform::ColumnStats;
use std::fmt::Write;

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
    /// Short description, e.g. "High monetary · Low recency_days".
    pub label: String,
}

/// How far (in population standard deviations) a centroid must sit from the mean for a feature
/// to appear in the label.
const LABEL_THRESHOLD: f64 = 0.5;

/// Words for the features that set a centroid apart: up to three, strongest first.
fn label(features: &[String], centroid: &[f32], stats: &[ColumnStats]) -> String {
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
    apart.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()).then(a.1.cmp(&b.1)));
    if apart.is_empty() {
        return "Average".to_string();
    }
    apart
        .iter()
        .take(3)
        .map(|&(z, j)| format!("{} {}", if z > 0.0 { "High" } else { "Low" }, features[j]))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Profiles of every segment. `stats` are the normalized matrix's column statistics.
pub fn profiles(
    features: &[String],
    sizes: &[u64],
    centroids: &Matrix,
    centroids_raw: &[Vec<f64>],
    stats: &[ColumnStats],
) -> Vec<SegmentProfile> {
    let total: u64 = sizes.iter().sum();
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
            label: label(features, centroids.row(c), stats),
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

/// The segment table printed on stdout: segment, size, share, centroid (raw units), label.
pub fn render_table(features: &[String], profiles: &[SegmentProfile]) -> String {
    let mut header = vec![
        "segment".to_string(),
        "size".to_string(),
        "share".to_string(),
    ];
    header.extend(features.iter().cloned());
    header.push("label".to_string());
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| {
            let mut row = vec![
                p.segment.to_string(),
                p.size.to_string(),
                format!("{:.1}%", 100.0 * p.share),
            ];
            row.extend(p.centroid.iter().map(|&v| cell(v)));
            row.push(p.label.clone());
            row
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let last = row.len() - 1;
        for (i, value) in row.iter().enumerate() {
            if i == last {
                let _ = write!(out, "{value}");
            } else {
                let _ = write!(out, "{value:>width$}  ", width = widths[i]);
            }
        }
        out.push('\n');
    }
    out
}
