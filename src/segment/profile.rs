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

/// How the medians' bounds are drawn and the features split into passes: bounds from about
/// `rows` sampled rows (all of them when there are fewer), `sigmas` standard deviations of the
/// sample median's rank either side; `per_pass` features at a time.
#[derive(Debug, Clone, Copy)]
struct Sampling {
    rows: usize,
    sigmas: f64,
    per_pass: usize,
}

/// Values kept between the bounds, expected per row of a pass: about 3 bytes a row, less than
/// the column a feature's grouping by segment would take.
const KEPT_PER_ROW: f64 = 0.75;

impl Sampling {
    /// The fewest passes over `n` rows of `d` features in `k` segments for which the sample of
    /// a pass takes no more than a column (rows × features per pass ≤ n, 2^19 rows at most),
    /// and the values kept between its bounds are expected under `KEPT_PER_ROW` a row when the
    /// segments are of equal size. At most 64 features a pass.
    fn plan(n: usize, k: usize, d: usize) -> Self {
        let sigmas = 5.0;
        let d = d.max(1);
        let mut passes = d.div_ceil(64);
        loop {
            let per_pass = d.div_ceil(passes);
            let rows = (n / per_pass).clamp(1 << 12, 1 << 19);
            let kept = per_pass as f64 * sigmas * (k as f64 / rows.min(n).max(1) as f64).sqrt();
            if kept <= KEPT_PER_ROW || per_pass == 1 {
                return Self {
                    rows,
                    sigmas,
                    per_pass,
                };
            }
            passes += 1;
        }
    }
}

/// Most blocks of rows in a pass: each keeps its own partial sums until they are added up in
/// block order.
const MAX_BLOCKS: usize = 256;
/// Fewest rows in a block.
const BLOCK_ROWS: usize = 1 << 16;

/// Rows per block of a pass over `n` rows: set by `n` alone, so sums do not depend on threads.
fn block_rows(n: usize) -> usize {
    n.div_ceil(MAX_BLOCKS).max(BLOCK_ROWS)
}

/// An f32 as an i32 whose order is `f32::total_cmp`'s (signed, so vector compares take it).
fn order_key(v: f32) -> i32 {
    let bits = v.to_bits() as i32;
    bits ^ (((bits >> 31) as u32) >> 1) as i32
}

/// The f32 of an [`order_key`] (the mapping is its own inverse).
fn from_order_key(key: i32) -> f32 {
    f32::from_bits((key ^ (((key >> 31) as u32) >> 1) as i32) as u32)
}

/// A pass over the features `cols`, per slot (segment · features in the pass + feature).
struct Tally<C> {
    /// Σ f64(v) of the normalized values, in row order within a block.
    sums: Vec<f64>,
    /// Σ raw(v) for features under log1p (0 for the others).
    curved: Vec<f64>,
    /// Smallest normalized value per feature.
    least: Vec<f32>,
    below: Vec<C>,
    at_low: Vec<C>,
    at_high: Vec<C>,
    /// Values strictly between the bounds (order keys).
    inside: Vec<Vec<i32>>,
}

impl<C: Copy + Default> Tally<C> {
    fn new(slots: usize, features: usize) -> Self {
        Self {
            sums: vec![0.0; slots],
            curved: vec![0.0; slots],
            least: vec![f32::INFINITY; features],
            below: vec![C::default(); slots],
            at_low: vec![C::default(); slots],
            at_high: vec![C::default(); slots],
            inside: vec![Vec::new(); slots],
        }
    }
}

/// Per segment and feature: (mean, median) in raw units; per feature the population mean and
/// whether any raw value is below zero.
type Summaries = (Vec<Vec<(f64, f64)>>, Vec<Population>);

/// The [`Summaries`] of the profile.
///
/// The lower median of each segment and feature is found without grouping the column by
/// segment. A sample of the rows gives each (segment, feature) bounds that hold its median but
/// for a chance of about one in 3.5 million per side; one pass over the matrix then counts the
/// values below the lower bound and at each bound, keeps those strictly between (a few per
/// cent), and sums the values; the median is selected among the kept values by its rank. Should
/// a median fall outside its bounds, that segment's feature is gathered in full and the median
/// selected there, so the result is exact whatever the sample. Features go several to a pass
/// (16 features in one pass up to k = 46 from 8.4 million rows on, see `Sampling::plan`), so the
/// matrix is read once per pass instead of once per feature. Sums are kept per block of rows
/// and added in block order, so they do not depend on the thread count.
fn feature_summaries(
    features: &[String],
    points: &Matrix,
    labels: &[u32],
    sizes: &[u64],
    transform: &Transform,
) -> Summaries {
    let sampling = Sampling::plan(points.rows(), sizes.len(), points.cols());
    feature_summaries_with(features, points, labels, sizes, transform, sampling)
}

fn feature_summaries_with(
    features: &[String],
    points: &Matrix,
    labels: &[u32],
    sizes: &[u64],
    transform: &Transform,
    sampling: Sampling,
) -> Summaries {
    let (k, d, n) = (sizes.len(), points.cols(), points.rows());
    let log1p = transform.log1p_mask(features);
    let sampled = sample_rows(n, sampling.rows);
    let mut per_segment = vec![vec![(0.0, 0.0); d]; k];
    let mut population = Vec::with_capacity(d);
    for first in (0..d).step_by(sampling.per_pass) {
        let cols = first..(first + sampling.per_pass).min(d);
        let g = cols.len();
        let (low, high) = median_bounds(points, labels, k, cols.clone(), &sampled, sampling);
        let curved: Vec<(usize, _)> = cols
            .clone()
            .filter(|&j| log1p[j])
            .map(|j| (j - first, transform.inverter(features, j)))
            .collect();
        let mut tally = count_pass(points, labels, k, cols.clone(), &low, &high, &curved);
        let medians: Vec<Option<f32>> = (0..k * g)
            .into_par_iter()
            .zip(std::mem::take(&mut tally.inside).into_par_iter())
            .map(|(slot, mut inside)| {
                median_key(
                    sizes[slot / g],
                    &tally,
                    slot,
                    &mut inside,
                    low[slot],
                    high[slot],
                )
                .map(from_order_key)
            })
            .collect();
        for (jj, j) in cols.enumerate() {
            let raw = transform.inverter(features, j);
            // Σ raw(v) of a segment: straight from the sums when the inverse is affine.
            let raw_sum = |slot: usize, size: u64| {
                if log1p[j] {
                    tally.curved[slot]
                } else {
                    tally.sums[slot] * transform.scale[j] + transform.center[j] * size as f64
                }
            };
            let mut total = 0.0;
            for c in 0..k {
                let slot = c * g + jj;
                let sum = raw_sum(slot, sizes[c]);
                total += sum;
                if sizes[c] == 0 {
                    continue;
                }
                let median = medians[slot].unwrap_or_else(|| {
                    log::debug!("profile: median of segment {c}, feature {j} outside its bounds");
                    exact_median(points, labels, c as u32, j)
                });
                per_segment[c][j] = (sum / sizes[c] as f64, raw(median));
            }
            let least = tally.least[jj];
            let mean = total / n.max(1) as f64;
            population.push(Population {
                mean,
                // A raw 0 comes back from the normalized f32 as a rounding error of the mean's
                // size times 1e-7, either side of zero: that is no negative value.
                negative: least.is_finite() && raw(least) < -1e-5 * mean.abs(),
            });
        }
    }
    (per_segment, population)
}

/// The order key of the lower median of a slot's `size` values from its tally (`inside` is
/// its values between the bounds, reordered here); None when the segment is empty or the
/// median lies outside the bounds.
fn median_key(
    size: u64,
    tally: &Tally<u64>,
    slot: usize,
    inside: &mut [i32],
    low: i32,
    high: i32,
) -> Option<i32> {
    let rank = size.checked_sub(1)? / 2;
    let rank = rank.checked_sub(tally.below[slot])?;
    let Some(rank) = rank.checked_sub(tally.at_low[slot]) else {
        return Some(low);
    };
    match usize::try_from(rank) {
        Ok(place) if place < inside.len() => Some(*inside.select_nth_unstable(place).1),
        _ => (rank - (inside.len() as u64) < tally.at_high[slot]).then_some(high),
    }
}

/// About `rows` of the `n` rows, in order: those whose hash falls in the first rows / n of the
/// hash range (all of them when there are no more).
fn sample_rows(n: usize, rows: usize) -> Vec<usize> {
    if n <= rows {
        return (0..n).collect();
    }
    let cut = (rows as f64 / n as f64 * u64::MAX as f64) as u64;
    (0..n)
        .into_par_iter()
        .filter(|&i| crate::data::ids::hash_int(i as u64) < cut)
        .collect()
}

/// Per slot (segment · features + feature of `cols`): order keys of a low and a high bound of
/// its lower median, from the sampled `rows`. A slot with no sampled row gets the widest
/// bounds.
fn median_bounds(
    points: &Matrix,
    labels: &[u32],
    k: usize,
    cols: std::ops::Range<usize>,
    rows: &[usize],
    sampling: Sampling,
) -> (Vec<i32>, Vec<i32>) {
    let g = cols.len();
    // The sampled values by slot, gathered in parallel pieces of rows (every feature of the
    // pass at once), then each slot's pieces joined.
    let pieces: Vec<Vec<Vec<i32>>> = rows
        .par_chunks(1 << 14)
        .map(|part| {
            let mut piece = vec![Vec::new(); k * g];
            for &i in part {
                let base = labels[i] as usize * g;
                for (jj, &v) in points.row(i)[cols.clone()].iter().enumerate() {
                    piece[base + jj].push(order_key(v));
                }
            }
            piece
        })
        .collect();
    let bounds: Vec<(i32, i32)> = (0..k * g)
        .into_par_iter()
        .map(|slot| {
            let mut keys: Vec<i32> = pieces
                .iter()
                .flat_map(|p| p[slot].iter().copied())
                .collect();
            let s = keys.len();
            if s == 0 {
                return (i32::MIN, i32::MAX);
            }
            // The sample median's rank has a standard deviation of about √s / 2.
            let middle = (s - 1) / 2;
            let margin = (sampling.sigmas * (s as f64).sqrt() / 2.0).ceil() as usize + 1;
            let low = match middle.checked_sub(margin) {
                Some(at) => *keys.select_nth_unstable(at).1,
                None => i32::MIN,
            };
            let high = match middle + margin {
                at if at < s => *keys.select_nth_unstable(at).1,
                _ => i32::MAX,
            };
            (low, high)
        })
        .collect();
    bounds.into_iter().unzip()
}

/// One pass over the rows for the features `cols`: sums, smallest values, and the values
/// against each slot's bounds; blocks in parallel, added up in block order. `curved` holds the
/// features (index in the pass) under log1p with their inverse, summed in raw units.
fn count_pass(
    points: &Matrix,
    labels: &[u32],
    k: usize,
    cols: std::ops::Range<usize>,
    low: &[i32],
    high: &[i32],
    curved: &[(usize, impl Fn(f32) -> f64 + Sync)],
) -> Tally<u64> {
    let (d, g) = (points.cols(), cols.len());
    let block = block_rows(points.rows());
    let blocks: Vec<Tally<u32>> = points
        .as_slice()
        .par_chunks(block * d)
        .zip(labels.par_chunks(block))
        .map(|(rows, block_labels)| {
            let mut t = Tally::new(k * g, g);
            let pass = PassBounds {
                d,
                cols: cols.clone(),
                low,
                high,
            };
            tally_block(&mut t, rows, block_labels, &pass);
            for (jj, raw) in curved {
                for (row, &label) in rows.chunks_exact(d).zip(block_labels) {
                    t.curved[label as usize * g + jj] += raw(row[cols.start + jj]);
                }
            }
            t
        })
        .collect();
    let mut total = Tally::<u64>::new(k * g, g);
    for b in &blocks {
        for slot in 0..k * g {
            total.sums[slot] += b.sums[slot];
            total.curved[slot] += b.curved[slot];
            total.below[slot] += u64::from(b.below[slot]);
            total.at_low[slot] += u64::from(b.at_low[slot]);
            total.at_high[slot] += u64::from(b.at_high[slot]);
        }
        for jj in 0..g {
            total.least[jj] = total.least[jj].min(b.least[jj]);
        }
    }
    // Each slot's pieces joined on the worker threads, each piece freed once copied, so the
    // memory freed is reused there for the next slot: the kept values are held about once.
    let mut by_slot: Vec<Vec<Vec<i32>>> = (0..k * g)
        .map(|_| Vec::with_capacity(blocks.len()))
        .collect();
    for b in blocks {
        for (slot, piece) in b.inside.into_iter().enumerate() {
            by_slot[slot].push(piece);
        }
    }
    total.inside = by_slot
        .into_par_iter()
        .map(|pieces| {
            let mut joined = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
            for piece in pieces {
                joined.extend_from_slice(&piece);
            }
            joined
        })
        .collect();
    total
}

/// What each block of a pass is tallied against: the features `cols` of rows of `d`, and
/// per slot the order keys of the bounds.
struct PassBounds<'a> {
    d: usize,
    cols: std::ops::Range<usize>,
    low: &'a [i32],
    high: &'a [i32],
}

/// Adds one block's rows to `t` (all but the curved sums). AVX2 where the CPU has it, with the
/// same arithmetic.
fn tally_block(t: &mut Tally<u32>, rows: &[f32], labels: &[u32], pass: &PassBounds) {
    #[cfg(target_arch = "x86_64")]
    if crate::backend::avx2_fma() {
        // SAFETY: the CPU was just found to support AVX2 and FMA.
        return unsafe { tally_block_avx2(t, rows, labels, pass) };
    }
    tally_rows(t, rows, labels, pass);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tally_block_avx2(t: &mut Tally<u32>, rows: &[f32], labels: &[u32], pass: &PassBounds) {
    tally_rows(t, rows, labels, pass);
}

#[inline(always)]
fn tally_rows(t: &mut Tally<u32>, rows: &[f32], labels: &[u32], pass: &PassBounds) {
    let PassBounds {
        d,
        ref cols,
        low,
        high,
    } = *pass;
    let g = cols.len();
    assert!(g <= 64, "at most 64 features per pass");
    let least = &mut t.least[..g];
    for (row, &label) in rows.chunks_exact(d).zip(labels) {
        let slots = label as usize * g..(label as usize + 1) * g;
        let values = &row[cols.clone()];
        let sums = &mut t.sums[slots.clone()];
        let below = &mut t.below[slots.clone()];
        let at_low = &mut t.at_low[slots.clone()];
        let at_high = &mut t.at_high[slots.clone()];
        let (low, high) = (&low[slots.clone()], &high[slots.clone()]);
        let mut between = 0u64;
        for jj in 0..g {
            let v = values[jj];
            sums[jj] += f64::from(v);
            least[jj] = least[jj].min(v);
            // Counted without branches: a value falls either side of the bounds at random,
            // which a branch would mispredict half the time.
            let key = order_key(v);
            below[jj] += u32::from(key < low[jj]);
            at_low[jj] += u32::from(key == low[jj]);
            at_high[jj] += u32::from(key == high[jj] && high[jj] != low[jj]);
            between |= u64::from(key > low[jj] && key < high[jj]) << jj;
        }
        while between != 0 {
            let jj = between.trailing_zeros() as usize;
            between &= between - 1;
            t.inside[slots.start + jj].push(order_key(values[jj]));
        }
    }
}

/// The lower median of feature `j` over the rows of `segment` (which has some), gathered in
/// full: the fallback when the sample's bounds missed it.
fn exact_median(points: &Matrix, labels: &[u32], segment: u32, j: usize) -> f32 {
    let mut keys: Vec<i32> = points
        .as_slice()
        .par_chunks(points.cols())
        .zip(labels.par_iter())
        .filter(|&(_, &label)| label == segment)
        .map(|(row, _)| order_key(row[j]))
        .collect();
    let middle = (keys.len() - 1) / 2;
    from_order_key(*keys.select_nth_unstable(middle).1)
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
pub(crate) fn cell(value: f64) -> String {
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
pub(crate) fn columns(header: &[String], rows: &[Vec<String>]) -> String {
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
    use crate::kmeans::segment_sizes;

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

    /// A seeded stream of 31-bit draws for the tests below.
    fn draws(mut state: u64) -> impl FnMut() -> u32 {
        move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        }
    }

    /// Per segment and feature (mean, median); per feature the population mean.
    type Oracle = (Vec<Vec<(f64, f64)>>, Vec<f64>);

    /// The summaries taken the plain way: each segment's values in row order, summed in that
    /// order, sorted for the lower median.
    fn oracle(
        features: &[String],
        points: &Matrix,
        labels: &[u32],
        sizes: &[u64],
        transform: &Transform,
    ) -> Oracle {
        let (k, d, n) = (sizes.len(), points.cols(), points.rows());
        let mut per_segment = vec![vec![(0.0, 0.0); d]; k];
        let mut means = Vec::new();
        for j in 0..d {
            let inverse = transform.inverter(features, j);
            let mut total = 0.0;
            for (c, segment) in per_segment.iter_mut().enumerate() {
                let mut values: Vec<f32> = (0..n)
                    .filter(|&i| labels[i] as usize == c)
                    .map(|i| points.row(i)[j])
                    .collect();
                let sum: f64 = values.iter().map(|&v| inverse(v)).sum();
                total += sum;
                if !values.is_empty() {
                    values.sort_by(f32::total_cmp);
                    let median = inverse(values[(values.len() - 1) / 2]);
                    segment[j] = (sum / values.len() as f64, median);
                }
            }
            means.push(total / n as f64);
        }
        (per_segment, means)
    }

    /// Medians equal to the oracle's; means within rounding of the order of summation.
    fn assert_matches_oracle(got: &Summaries, want: &Oracle, scale: f64) {
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (scale + b.abs());
        for (c, (g, w)) in got.0.iter().zip(&want.0).enumerate() {
            for (j, (&(gm, gmed), &(wm, wmed))) in g.iter().zip(w).enumerate() {
                assert_eq!(gmed, wmed, "median of segment {c}, feature {j}");
                assert!(
                    close(gm, wm),
                    "mean of segment {c}, feature {j}: {gm} vs {wm}"
                );
            }
        }
        for (j, (g, &w)) in got.1.iter().zip(&want.1).enumerate() {
            assert!(
                close(g.mean, w),
                "population mean of feature {j}: {} vs {w}",
                g.mean
            );
        }
    }

    #[test]
    fn order_keys_sort_as_total_cmp_and_map_back() {
        let mut values = vec![
            f32::NEG_INFINITY,
            -f32::MAX,
            -1.5,
            -f32::MIN_POSITIVE,
            -1e-45,
            -0.0,
            0.0,
            1e-45,
            f32::MIN_POSITIVE,
            1.0,
            f32::MAX,
            f32::INFINITY,
        ];
        let mut draw = draws(7);
        // Random bit patterns, both signs, NaNs left out (the data has none).
        values.extend(
            (0..1000)
                .map(|_| f32::from_bits(draw() ^ (draw() << 16)))
                .filter(|v| !v.is_nan()),
        );
        for &a in &values {
            assert_eq!(from_order_key(order_key(a)).to_bits(), a.to_bits());
            for &b in &values[..12] {
                assert_eq!(
                    order_key(a).cmp(&order_key(b)),
                    a.total_cmp(&b),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn summaries_over_many_blocks_equal_a_segment_by_segment_oracle_for_any_thread_count() {
        // Several blocks of rows (the last one short) and more rows than the sample, five
        // segments of which one is empty, three features of which one is under log1p.
        let n = 3 * BLOCK_ROWS + 123;
        let (k, d) = (5usize, 3usize);
        let mut draw = draws(12_345);
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
        let sizes = segment_sizes(&labels, k);
        assert_eq!(sizes[3], 0);
        assert!(
            n > Sampling::plan(n, k, d).rows,
            "the bounds come from a sample"
        );

        let got = feature_summaries(&features, &points, &labels, &sizes, &transform);
        let want = oracle(&features, &points, &labels, &sizes, &transform);
        assert_matches_oracle(&got, &want, 1e3);
        assert!(
            got.0[3].iter().all(|&s| s == (0.0, 0.0)),
            "the empty segment"
        );
        let one_thread = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| feature_summaries(&features, &points, &labels, &sizes, &transform));
        assert_eq!(one_thread, got);
    }

    #[test]
    fn a_tally_counts_each_value_once_against_its_bounds() {
        // One segment, one feature: 1 ×3, 2 ×6, 3, 4 ×2; the lower median (rank 5) is 2.
        let values = [
            1.0f32, 2.0, 1.0, 2.0, 2.0, 3.0, 2.0, 1.0, 2.0, 4.0, 2.0, 4.0,
        ];
        let points = Matrix::from_vec(values.to_vec(), 1);
        let labels = vec![0u32; values.len()];
        type Inverse = fn(f32) -> f64;
        let none: [(usize, Inverse); 0] = [];
        let key = order_key;
        let tally_of = |low: f32, high: f32| {
            count_pass(&points, &labels, 1, 0..1, &[key(low)], &[key(high)], &none)
        };
        let median_of = |low: f32, high: f32| {
            let mut t = tally_of(low, high);
            let mut inside = std::mem::take(&mut t.inside[0]);
            median_key(12, &t, 0, &mut inside, key(low), key(high)).map(from_order_key)
        };
        let t = tally_of(1.0, 3.0);
        assert_eq!((t.below[0], t.at_low[0], t.at_high[0]), (0, 3, 1));
        assert_eq!(t.inside[0].len(), 6);
        assert_eq!(t.sums[0], 26.0);
        assert_eq!(t.least[0], 1.0);
        assert_eq!(median_of(1.0, 3.0), Some(2.0), "between the bounds");
        assert_eq!(median_of(2.0, 2.0), Some(2.0), "on both bounds at once");
        assert_eq!(median_of(0.5, 2.0), Some(2.0), "on the high bound");
        assert_eq!(median_of(2.0, 4.0), Some(2.0), "on the low bound");
        // Bounds that miss: a value equal to both bounds is counted once, so no median is
        // made up from a second count of it.
        let t = tally_of(1.0, 1.0);
        assert_eq!((t.below[0], t.at_low[0], t.at_high[0]), (0, 3, 0));
        assert_eq!(median_of(1.0, 1.0), None);
        assert_eq!(median_of(3.0, 4.0), None, "median below the bounds");
        assert_eq!(median_of(0.0, 1.5), None, "median above the bounds");
        assert_eq!(
            median_key(0, &tally_of(1.0, 3.0), 0, &mut [], key(1.0), key(3.0)),
            None
        );
    }

    #[test]
    fn medians_are_exact_when_the_bounds_miss_and_on_ties() {
        // Bounds from 40 sampled rows with no margin miss many medians (the full gathering
        // takes over); a feature of few distinct values puts medians on the bounds themselves;
        // one feature per pass; signed zeros and a column without normalization.
        let n = 20_000;
        let (k, d) = (7usize, 4usize);
        let mut draw = draws(99);
        let labels: Vec<u32> = (0..n).map(|_| draw() % k as u32).collect();
        let raw: Vec<f32> = (0..n * d)
            .map(|i| match i % d {
                0 => (draw() % 1000) as f32 - 500.0,
                1 => [1.0, 1.0, 1.0, 2.0, 0.0][draw() as usize % 5],
                2 => [-0.0, 0.0, 0.5][draw() as usize % 3],
                _ => (draw() % 7) as f32,
            })
            .collect();
        let features: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let mut points = Matrix::from_vec(raw, d);
        let (transform, _) =
            Transform::fit_apply(&mut points, &features, &[], Normalize::None, |i| i as u64)
                .unwrap();
        let sizes = segment_sizes(&labels, k);
        let want = oracle(&features, &points, &labels, &sizes, &transform);
        let sampled = |rows, sigmas, per_pass| Sampling {
            rows,
            sigmas,
            per_pass,
        };
        for sampling in [
            sampled(40, 0.0, d),
            sampled(n, 0.0, d),
            sampled(40, 5.0, 1),
            sampled(300, 5.0, 3),
            Sampling::plan(n, k, d),
        ] {
            let got =
                feature_summaries_with(&features, &points, &labels, &sizes, &transform, sampling);
            assert_matches_oracle(&got, &want, 1e3);
        }
    }
}
