//! Feature transforms: optional `log1p` per column, then z-score, min–max or none.
//!
//! The parameters are computed once from the training data and saved in the model, so `predict`
//! applies exactly the same transform. A normalized value is `(value' − center) / scale`, where
//! `value'` is `ln(1 + value)` for log1p columns and the value itself otherwise. Statistics are
//! taken in f64 over fixed partitions (see `parallel`), so they do not depend on the thread count.

use super::matrix::Matrix;
use crate::error::{Error, Result};
use crate::parallel::{PARTITION_ROWS, fold_partitions};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The normalization applied after the optional log1p (`--normalize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    /// (x − mean) / std, population std; constant columns keep scale 1.
    Zscore,
    /// (x − min) / (max − min); constant columns keep scale 1.
    Minmax,
    /// No scaling.
    None,
}

/// The values below zero in one log1p column: how many, and the first with its input row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Negatives {
    /// Values below zero.
    pub count: u64,
    /// The first of them: (input row, value).
    pub first: Option<(u64, f32)>,
}

impl Negatives {
    /// Adds the findings of the rows that follow.
    pub fn merge(&mut self, later: Negatives) {
        self.count += later.count;
        self.first = self.first.or(later.first);
    }
}

/// A fitted transform, as saved in the model (DESIGN.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transform {
    /// Columns that take ln(1 + x) before normalization.
    pub log1p: Vec<String>,
    /// The normalization kind.
    pub normalize: Normalize,
    /// Per feature: subtracted after log1p (the mean for zscore, the min for minmax, else 0).
    pub center: Vec<f64>,
    /// Per feature: divided by after centering (std, range, or 1).
    pub scale: Vec<f64>,
}

/// Per-column statistics in f64.
#[derive(Debug, Clone, Copy, Default)]
pub struct ColumnStats {
    /// Values seen.
    pub count: f64,
    /// Mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl ColumnStats {
    /// Population variance.
    pub fn variance(&self) -> f64 {
        if self.count > 0.0 {
            self.m2 / self.count
        } else {
            0.0
        }
    }

    fn merge(&mut self, other: &ColumnStats) {
        if other.count == 0.0 {
            return;
        }
        if self.count == 0.0 {
            *self = *other;
            return;
        }
        let count = self.count + other.count;
        let delta = other.mean - self.mean;
        self.mean += delta * other.count / count;
        self.m2 += other.m2 + delta * delta * self.count * other.count / count;
        self.count = count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Per-column mean, variance, min and max of a matrix, in f64, independent of the thread count.
pub fn column_stats(matrix: &Matrix) -> Vec<ColumnStats> {
    let cols = matrix.cols();
    let mut total = vec![ColumnStats::default(); cols];
    fold_partitions(
        matrix.rows(),
        PARTITION_ROWS,
        |rows| {
            let mut part = vec![
                ColumnStats {
                    min: f64::INFINITY,
                    max: f64::NEG_INFINITY,
                    ..Default::default()
                };
                cols
            ];
            for i in rows {
                for (s, &v) in part.iter_mut().zip(matrix.row(i)) {
                    let v = f64::from(v);
                    s.count += 1.0;
                    let delta = v - s.mean;
                    s.mean += delta / s.count;
                    s.m2 += delta * (v - s.mean);
                    s.min = s.min.min(v);
                    s.max = s.max.max(v);
                }
            }
            part
        },
        |part| total.iter_mut().zip(&part).for_each(|(t, p)| t.merge(p)),
    );
    total
}

/// Per-column (min, max) of a matrix: the one pass `predict` adds to check its rows' spread.
pub fn column_ranges(matrix: &Matrix) -> Vec<(f64, f64)> {
    let cols = matrix.cols();
    let mut total = vec![(f32::INFINITY, f32::NEG_INFINITY); cols];
    let widen = |into: &mut [(f32, f32)], row: &[f32]| {
        for ((lo, hi), &v) in into.iter_mut().zip(row) {
            *lo = lo.min(v);
            *hi = hi.max(v);
        }
    };
    fold_partitions(
        matrix.rows(),
        PARTITION_ROWS,
        |rows| {
            let mut part = vec![(f32::INFINITY, f32::NEG_INFINITY); cols];
            for i in rows {
                widen(&mut part, matrix.row(i));
            }
            part
        },
        |part| {
            for (t, p) in total.iter_mut().zip(part) {
                *t = (t.0.min(p.0), t.1.max(p.1));
            }
        },
    );
    total
        .into_iter()
        .map(|(lo, hi)| (f64::from(lo), f64::from(hi)))
        .collect()
}

/// The largest squared distance between two rows that Strata takes: distances are computed in
/// f32 (at most 3.4e38), and sums of up to about 10⁸ of them (a workgroup's inertia, a cluster's
/// silhouette distances) must stay finite too.
pub const MAX_SQUARED_SPAN: f64 = 1e30;

/// Checks that the data's spread fits Strata's 32-bit arithmetic: the largest squared distance
/// between two rows, Σ_j (max_j − min_j)² over `ranges` (each feature's (min, max) in the
/// normalized space), must be at most `MAX_SQUARED_SPAN`. Beyond it distances overflow to
/// infinity and every row lands in one segment.
///
/// # Errors
/// Exit 65, naming the feature with the largest span.
pub fn check_spans(
    features: &[String],
    ranges: impl IntoIterator<Item = (f64, f64)>,
    normalize: Normalize,
) -> Result<()> {
    let spans: Vec<f64> = ranges.into_iter().map(|(lo, hi)| hi - lo).collect();
    let squared: f64 = spans.iter().map(|s| s * s).sum();
    if squared <= MAX_SQUARED_SPAN {
        return Ok(());
    }
    let (j, widest) =
        spans.iter().enumerate().fold(
            (0, 0.0),
            |best, (j, &s)| if s > best.1 { (j, s) } else { best },
        );
    let name = features.get(j).map_or("?", String::as_str);
    let advice = match normalize {
        Normalize::None => "use --normalize zscore or minmax, or rescale the feature",
        _ => "check the feature for values far outside the rest (a wrong unit, a sentinel)",
    };
    Err(Error::data(format!(
        "feature '{name}' spans {widest:.3e} after normalization ({}): squared distances of up \
         to {squared:.3e} do not fit Strata's 32-bit arithmetic (at most {MAX_SQUARED_SPAN:.0e}); \
         {advice}",
        normalize.name()
    )))
}

impl Normalize {
    /// The name `--normalize` takes.
    pub fn name(self) -> &'static str {
        match self {
            Normalize::Zscore => "zscore",
            Normalize::Minmax => "minmax",
            Normalize::None => "none",
        }
    }
}

impl Transform {
    /// Whether feature `j` of `features` takes log1p.
    pub fn log1p_mask(&self, features: &[String]) -> Vec<bool> {
        features.iter().map(|f| self.log1p.contains(f)).collect()
    }

    /// Fits the transform on `matrix` (raw values) and applies it in place. Returns it with the
    /// column statistics of the transformed matrix (derived from one pass over the data).
    ///
    /// `source_row` maps a matrix row to its input row for messages.
    ///
    /// # Errors
    /// A usage error when a log1p column is not a feature; exit 65 when a log1p column has
    /// negative values.
    pub fn fit_apply(
        matrix: &mut Matrix,
        features: &[String],
        log1p: &[String],
        normalize: Normalize,
        source_row: impl Fn(usize) -> u64,
    ) -> Result<(Transform, Vec<ColumnStats>)> {
        for name in log1p {
            if !features.contains(name) {
                return Err(Error::usage(format!(
                    "--log1p names '{name}', which is not a feature; the features are: {}",
                    features.join(", ")
                )));
            }
        }
        let mut transform = Transform {
            log1p: log1p.to_vec(),
            normalize,
            center: vec![0.0; features.len()],
            scale: vec![1.0; features.len()],
        };
        transform.apply_log1p(matrix, features, source_row)?;
        let mut stats = column_stats(matrix);
        if normalize != Normalize::None {
            for (j, s) in stats.iter_mut().enumerate() {
                let (center, spread) = match normalize {
                    Normalize::Zscore => (s.mean, s.variance().sqrt()),
                    Normalize::Minmax => (s.min, s.max - s.min),
                    Normalize::None => unreachable!("handled above"),
                };
                let scale = if spread > 0.0 && spread.is_finite() {
                    spread
                } else {
                    log::warn!(
                        "feature '{}' is constant; it is centered but not scaled",
                        features[j]
                    );
                    1.0
                };
                transform.center[j] = center;
                transform.scale[j] = scale;
                // The same affine map applied to the statistics.
                s.mean = (s.mean - center) / scale;
                s.m2 /= scale * scale;
                s.min = (s.min - center) / scale;
                s.max = (s.max - center) / scale;
            }
            transform.apply_linear(matrix);
        }
        check_spans(features, stats.iter().map(|s| (s.min, s.max)), normalize)?;
        Ok((transform, stats))
    }

    /// Applies a fitted transform in place (predict, init files).
    ///
    /// # Errors
    /// Exit 65 when a log1p column has negative values.
    pub fn apply(
        &self,
        matrix: &mut Matrix,
        features: &[String],
        source_row: impl Fn(usize) -> u64,
    ) -> Result<()> {
        self.apply_log1p(matrix, features, source_row)?;
        self.apply_linear(matrix);
        Ok(())
    }

    /// Applies a fitted transform in place to rows whose log1p columns were found free of
    /// negative values ([`Transform::log1p_negatives`]); the caller decides what to do when not.
    pub fn apply_after_check(&self, matrix: &mut Matrix, features: &[String]) {
        self.take_log1p(matrix, &self.log1p_mask(features));
        self.apply_linear(matrix);
    }

    /// Per feature, the values below zero of the log1p columns, which log1p cannot take (none
    /// for the other columns). `source_row` maps a matrix row to its input row.
    pub fn log1p_negatives(
        &self,
        matrix: &Matrix,
        features: &[String],
        source_row: impl Fn(usize) -> u64,
    ) -> Vec<Negatives> {
        let cols = matrix.cols();
        self.log1p_mask(features)
            .into_iter()
            .enumerate()
            .map(|(j, log1p)| {
                if !log1p {
                    return Negatives::default();
                }
                let column = || matrix.as_slice().chunks(cols).map(move |row| row[j]);
                let count = column().filter(|&v| v < 0.0).count() as u64;
                let first = (count > 0)
                    .then(|| column().enumerate().find(|(_, v)| *v < 0.0))
                    .flatten()
                    .map(|(i, v)| (source_row(i), v));
                Negatives { count, first }
            })
            .collect()
    }

    /// Fails on the first feature with negative values under log1p.
    ///
    /// # Errors
    /// Exit 65 naming the column, the count, the first row and its value.
    pub fn check_log1p(features: &[String], negatives: &[Negatives]) -> Result<()> {
        for (name, found) in features.iter().zip(negatives) {
            if let Some((row, value)) = found.first {
                return Err(Error::data(format!(
                    "--log1p column '{name}' has {} negative value(s), the first at row {row} \
                     ({value}); log1p needs values ≥ 0: leave '{name}' out of --log1p or fix the data",
                    found.count
                )));
            }
        }
        Ok(())
    }

    fn apply_log1p(
        &self,
        matrix: &mut Matrix,
        features: &[String],
        source_row: impl Fn(usize) -> u64,
    ) -> Result<()> {
        let mask = self.log1p_mask(features);
        if !mask.contains(&true) {
            return Ok(());
        }
        Self::check_log1p(
            features,
            &self.log1p_negatives(matrix, features, source_row),
        )?;
        self.take_log1p(matrix, &mask);
        Ok(())
    }

    /// ln(1 + x) of the columns in `mask`, in place.
    fn take_log1p(&self, matrix: &mut Matrix, mask: &[bool]) {
        if !mask.contains(&true) {
            return;
        }
        let cols = matrix.cols();
        matrix
            .as_mut_slice()
            .par_chunks_mut(cols * 1024)
            .for_each(|block| {
                for row in block.chunks_mut(cols) {
                    for (v, _) in row.iter_mut().zip(mask).filter(|(_, m)| **m) {
                        *v = f64::from(*v).ln_1p() as f32;
                    }
                }
            });
    }

    fn apply_linear(&self, matrix: &mut Matrix) {
        if self.center.iter().all(|&c| c == 0.0) && self.scale.iter().all(|&s| s == 1.0) {
            return;
        }
        let cols = matrix.cols();
        matrix
            .as_mut_slice()
            .par_chunks_mut(cols * 1024)
            .for_each(|block| {
                for row in block.chunks_mut(cols) {
                    for ((v, c), s) in row.iter_mut().zip(&self.center).zip(&self.scale) {
                        *v = ((f64::from(*v) - c) / s) as f32;
                    }
                }
            });
    }

    /// Maps a normalized row back to raw input units.
    pub fn invert_row(&self, features: &[String], row: &[f32]) -> Vec<f64> {
        let mask = self.log1p_mask(features);
        row.iter()
            .enumerate()
            .map(|(j, &v)| {
                let v = f64::from(v) * self.scale[j] + self.center[j];
                if mask[j] { raw_of_log1p(v) } else { v }
            })
            .collect()
    }

    /// The map from a normalized value of feature `j` back to raw units.
    pub fn inverter(&self, features: &[String], j: usize) -> impl Fn(f32) -> f64 + use<> {
        let log1p = self.log1p_mask(features)[j];
        let (scale, center) = (self.scale[j], self.center[j]);
        move |v| {
            let v = f64::from(v) * scale + center;
            if log1p { raw_of_log1p(v) } else { v }
        }
    }

    /// Checks that the transform fits `features` (a loaded model may be damaged).
    ///
    /// # Errors
    /// Exit 65 when the parameter counts differ from the feature count.
    pub fn check(&self, features: &[String]) -> Result<()> {
        if self.center.len() != features.len() || self.scale.len() != features.len() {
            return Err(Error::data(format!(
                "the model's transform has {} centers and {} scales for {} features",
                self.center.len(),
                self.scale.len(),
                features.len()
            )));
        }
        if self.scale.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
            return Err(Error::data(
                "the model's transform has a scale that is not a positive number",
            ));
        }
        Ok(())
    }
}

/// The raw value of a log1p feature: ln(1 + x) inverted. The inputs of a log1p column are
/// ≥ 0, and so are its means; a 0 comes back from the f32 normalized value as a rounding error
/// either side of zero, which is clamped to 0 (a warm start from such a centroid was refused
/// as negative).
fn raw_of_log1p(v: f64) -> f64 {
    v.exp_m1().max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    #[test]
    fn zscore_matches_hand_computation_and_constant_columns_keep_scale_one() {
        // Column 0: 1, 2, 3, 4 → mean 2.5, population std sqrt(1.25). Column 1 constant.
        let mut m = Matrix::from_vec(vec![1., 7., 2., 7., 3., 7., 4., 7.], 2);
        let (t, stats) =
            Transform::fit_apply(&mut m, &names(2), &[], Normalize::Zscore, |i| i as u64).unwrap();
        assert!(stats[0].mean.abs() < 1e-12 && (stats[0].variance() - 1.0).abs() < 1e-12);
        assert_eq!(t.center, vec![2.5, 7.0]);
        assert!((t.scale[0] - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(t.scale[1], 1.0);
        assert!((m.row(0)[0] - (-1.5 / 1.25f32.sqrt())).abs() < 1e-6);
        assert_eq!(m.row(3)[1], 0.0);
    }

    #[test]
    fn minmax_and_log1p_invert_back_to_raw_units() {
        let raw = vec![0., 10., 9., 20., 99., 40.];
        let mut m = Matrix::from_vec(raw.clone(), 2);
        let features = names(2);
        let (t, stats) =
            Transform::fit_apply(&mut m, &features, &["f0".into()], Normalize::Minmax, |i| {
                i as u64
            })
            .unwrap();
        assert_eq!((stats[1].min, stats[1].max), (0.0, 1.0));
        assert_eq!(m.row(0), &[0.0, 0.0]);
        assert_eq!(m.row(2), &[1.0, 1.0]);
        assert!((m.row(1)[0] - (10f32.ln() / 100f32.ln())).abs() < 1e-6);
        let back = t.invert_row(&features, m.row(1));
        assert!(
            (back[0] - 9.0).abs() < 1e-4 && (back[1] - 20.0).abs() < 1e-4,
            "{back:?}"
        );
    }

    #[test]
    fn spans_are_checked_against_f32_distances() {
        let features = names(2);
        // 5e14² + 8e14² = 8.9e29, within 1e30; 6e14² + 8.1e14² = 1.0161e30 is not.
        assert!(check_spans(&features, [(0.0, 5e14), (-4e14, 4e14)], Normalize::None).is_ok());
        let err = check_spans(&features, [(0.0, 6e14), (-4e14, 4.1e14)], Normalize::None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("feature 'f1' spans 8.100e14"), "{err}");
        assert!(err.contains("1.016e30"), "{err}");
    }

    #[test]
    fn negative_values_under_log1p_are_an_error_naming_the_row() {
        let mut m = Matrix::from_vec(vec![1., -2., 3.], 1);
        let err = Transform::fit_apply(&mut m, &names(1), &["f0".into()], Normalize::None, |i| {
            i as u64 + 100
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("1 negative value") && err.contains("row 101"),
            "{err}"
        );
    }

    #[test]
    fn stats_do_not_depend_on_partitioning() {
        let values: Vec<f32> = (0..50_000)
            .map(|i| ((i * 7919) % 1000) as f32 * 0.37)
            .collect();
        let m = Matrix::from_vec(values.clone(), 1);
        let s = column_stats(&m)[0];
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / 50_000.0;
        let var = values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / 50_000.0;
        assert!((s.mean - mean).abs() < 1e-9 && (s.variance() - var).abs() < 1e-6);
    }
}
