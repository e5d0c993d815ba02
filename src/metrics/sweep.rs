//! Choosing k: fit every candidate k on data loaded once, score each, and recommend one.
//!
//! Per k: inertia, silhouette (as `--silhouette` says), Davies–Bouldin, Calinski–Harabasz and,
//! with reference sets, the gap statistic (Tibshirani, Walther & Hastie 2001) with its standard
//! error. Recommendations, one per criterion:
//! - elbow: the knee of ln(inertia) against k, the point farthest below the chord from the first
//!   to the last k once both axes are scaled to [0, 1] (the maximum of Kneedle's difference
//!   curve); none when the curve has no knee (fewer than 3 k, or no point below the chord).
//!   The logarithm makes the knee the point where the *relative* gain of one more segment
//!   collapses, the way the gap statistic also reads ln W; on raw inertia the first large drops
//!   dominate the scaling and the knee lands a step early;
//! - silhouette: the largest mean silhouette;
//! - gap: the smallest k with Gap(k) ≥ Gap(k′) − s(k′), k′ the next candidate (Tibshirani's
//!   rule), else the largest gap;
//! - Davies–Bouldin: the smallest; Calinski–Harabasz: the largest.
//!
//! The gap statistic compares ln W_k (W_k = inertia) with its mean over B reference sets drawn
//! uniformly in the data's bounding box (normalized space) and clustered the same way. A
//! reference set holds min(n, `gap_rows`) points; when that is fewer than n, each reference
//! ln W is scaled to n points by adding ln(n / rows) (inertia grows in proportion to the points
//! for a fixed distribution), which keeps the cost bounded on 50 million rows.

use crate::backend::{self, Backend, BackendChoice};
use crate::data::matrix::Matrix;
use crate::data::transform::{ColumnStats, column_stats};
use crate::error::{Error, Result};
use crate::kmeans::{self, params::KMeansParams};
use crate::metrics::indices::validity_indices;
use crate::metrics::silhouette::{self, SilhouetteMode};
use crate::rng::{SeededRng, Stream};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// The criterion that picks k.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Largest mean silhouette (the default: it is what marketers validate segments with).
    #[default]
    Silhouette,
    /// The knee of inertia against k (Kneedle).
    Elbow,
    /// Tibshirani's gap rule (needs reference sets).
    Gap,
    /// Smallest Davies–Bouldin index.
    DaviesBouldin,
    /// Largest Calinski–Harabasz index.
    CalinskiHarabasz,
}

/// Parses `--k`: one number, an inclusive range `A..B`, or a list `A,B,C`. Returns the
/// candidates sorted, without repeats.
///
/// # Errors
/// A usage error for anything else, or a k below 1.
pub fn parse_k(text: &str) -> Result<Vec<usize>> {
    let bad = || {
        Error::usage(format!(
            "--k must be a number, a range such as 2..12, or a list such as 3,5,8; not '{text}'"
        ))
    };
    let number = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
    let mut ks: Vec<usize> = if let Some((a, b)) = text.split_once("..") {
        let b = b.strip_prefix('=').unwrap_or(b);
        let (a, b) = (number(a)?, number(b)?);
        if a > b {
            return Err(Error::usage(format!(
                "--k {text}: the range is empty; write the smaller k first"
            )));
        }
        (a..=b).collect()
    } else {
        text.split(',').map(number).collect::<Result<_>>()?
    };
    if ks.contains(&0) {
        return Err(Error::usage("--k must be at least 1"));
    }
    ks.sort_unstable();
    ks.dedup();
    Ok(ks)
}

/// How to sweep.
#[derive(Debug, Clone)]
pub struct SweepSettings {
    /// Candidate k, ascending.
    pub ks: Vec<usize>,
    /// Fit parameters; `k` is set per candidate.
    pub params: KMeansParams,
    /// Silhouette per k.
    pub silhouette: SilhouetteMode,
    /// Reference sets of the gap statistic (0: no gap statistic).
    pub gap_refs: usize,
    /// Most points per reference set.
    pub gap_rows: usize,
    /// Backend of the reference fits.
    pub reference_backend: BackendChoice,
}

/// The scores of one k.
#[derive(Debug, Clone, Serialize)]
pub struct KResult {
    pub k: usize,
    pub inertia: f64,
    /// Mean silhouette (`None` for k = 1 or when not computed).
    pub silhouette: Option<f64>,
    /// exact, sampled, simplified or none.
    pub silhouette_method: &'static str,
    pub davies_bouldin: Option<f64>,
    pub calinski_harabasz: Option<f64>,
    /// Gap statistic; `None` without reference sets.
    pub gap: Option<f64>,
    /// Its standard error s_k = sd_k · √(1 + 1/B).
    pub gap_se: Option<f64>,
    pub iterations: usize,
    pub converged: bool,
    /// Seconds for this k: fit and scores (the reference fits are timed apart).
    pub seconds: f64,
}

/// The recommended k, overall and per criterion (`None` where a criterion cannot decide).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recommended {
    /// The recommendation.
    pub k: usize,
    /// The criterion it comes from: the one asked for, or the first that could decide of
    /// silhouette, gap, elbow (else the smallest k).
    pub criterion: Criterion,
    pub elbow: Option<usize>,
    pub silhouette: Option<usize>,
    pub gap: Option<usize>,
    pub davies_bouldin: Option<usize>,
    pub calinski_harabasz: Option<usize>,
}

/// Fits and scores every candidate k on `points` (held by `backend`), then the gap statistic.
///
/// # Errors
/// On a backend failure; a usage error when a reference set would be smaller than the largest k.
pub fn evaluate(
    backend: &mut dyn Backend,
    points: &Matrix,
    stats: &[ColumnStats],
    settings: &SweepSettings,
) -> Result<Vec<KResult>> {
    let mut results = Vec::with_capacity(settings.ks.len());
    let count = settings.ks.len();
    for (i, &k) in settings.ks.iter().enumerate() {
        let _context = crate::progress::context(format!("k = {k} ({} of {count})", i + 1));
        let started = Instant::now();
        let params = KMeansParams {
            k,
            ..settings.params.clone()
        };
        let fit = kmeans::fit(backend, points, &params, stats)?;
        let scores = silhouette::score(
            backend,
            points,
            &fit.labels,
            &fit.centroids,
            settings.silhouette,
            params.seed,
            false,
        )?;
        let indices = validity_indices(points, &fit.labels, k);
        log::info!(
            "k = {k}: inertia {:.6e}, silhouette {}, {} iteration(s)",
            fit.inertia,
            scores
                .value
                .map_or("-".to_string(), |v| format!("{v:.4} ({})", scores.method)),
            fit.iterations
        );
        results.push(KResult {
            k,
            inertia: fit.inertia,
            silhouette: scores.value,
            silhouette_method: scores.method,
            davies_bouldin: indices.davies_bouldin,
            calinski_harabasz: indices.calinski_harabasz,
            gap: None,
            gap_se: None,
            iterations: fit.iterations,
            converged: fit.converged,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    if let Some((a, b, fall)) = uneven_fall(&results) {
        log::warn!(
            "inertia fell by {:.0}% from k = {a} to k = {b}, more than twice the step before: \
             the fits below k = {b} may have stopped in poor local minima, which bends every \
             criterion there; compare with more starts per k ({})",
            100.0 * fall,
            if settings.params.n_init > 1 {
                format!("more than --n-init {}", settings.params.n_init)
            } else {
                "--n-init 3".to_string()
            }
        );
    }
    if settings.gap_refs > 0 {
        gap_statistic(points, stats, settings, &mut results)?;
    }
    Ok(results)
}

/// A late, large fall of inertia after small ones: `(a, b, fall)` where going from candidate
/// `a` to the next candidate `b` cut the inertia by the fraction `fall`, more than twice the
/// previous step's fall per unit of k, and by at least 5%.
///
/// With good fits inertia mostly falls less at each step. A step that falls much more than the
/// one before it often means the fits below `b` stopped in poor local minima, two true segments
/// kept in one (k-means++ from one start does that now and then), until the step split them;
/// every criterion is bent there.
pub fn uneven_fall(results: &[KResult]) -> Option<(usize, usize, f64)> {
    let falls: Vec<(usize, usize, f64)> = results
        .windows(2)
        .map(|w| {
            let fall = (w[0].inertia - w[1].inertia) / w[0].inertia;
            (w[0].k, w[1].k, fall / (w[1].k - w[0].k) as f64)
        })
        .collect();
    falls.windows(2).find_map(|w| {
        let ((_, _, before), (a, b, per_k)) = (w[0], w[1]);
        let fall = per_k * (b - a) as f64;
        (fall >= 0.05 && per_k > 2.0 * before.max(0.0)).then_some((a, b, fall))
    })
}

/// Draws reference set `set`: `rows` points uniform in the bounding box of `stats`.
fn reference_set(stats: &[ColumnStats], rows: usize, seed: u64, set: u32) -> Matrix {
    let mut rng = SeededRng::new(seed, Stream::GapReference { set });
    let mut matrix = Matrix::with_capacity(rows, stats.len());
    let mut row = vec![0f32; stats.len()];
    for _ in 0..rows {
        for (v, s) in row.iter_mut().zip(stats) {
            *v = (s.min + rng.uniform() * (s.max - s.min)) as f32;
        }
        matrix.push_row(&row);
    }
    matrix
}

/// Fills `gap` and `gap_se` of every result.
fn gap_statistic(
    points: &Matrix,
    stats: &[ColumnStats],
    settings: &SweepSettings,
    results: &mut [KResult],
) -> Result<()> {
    let n = points.rows();
    let rows = n.min(settings.gap_rows);
    let largest = settings.ks.last().copied().unwrap_or(1);
    if rows < largest {
        return Err(Error::usage(format!(
            "--gap-rows {} is below the largest k ({largest}); raise it or set --gap-refs 0",
            settings.gap_rows
        )));
    }
    let started = Instant::now();
    let scale = (n as f64 / rows as f64).ln();
    // ln W of reference set b at each candidate k.
    let reference_log_w = |b: usize| -> Result<Vec<f64>> {
        let set = u32::try_from(b).map_err(|_| Error::usage("--gap-refs is too large"))?;
        let reference = reference_set(stats, rows, settings.params.seed, set);
        let reference_stats = column_stats(&reference);
        let mut reference_backend =
            backend::select(settings.reference_backend, &reference, largest)?;
        let seed = SeededRng::new(settings.params.seed, Stream::GapReference { set }).next_u64();
        let mut per_k = Vec::with_capacity(settings.ks.len());
        for &k in &settings.ks {
            let params = KMeansParams {
                k,
                seed,
                ..settings.params.clone()
            };
            let fit = kmeans::fit(
                reference_backend.as_mut(),
                &reference,
                &params,
                &reference_stats,
            )?;
            per_k.push(fit.inertia.max(f64::MIN_POSITIVE).ln() + scale);
        }
        Ok(per_k)
    };
    // log_w[b][i]: ln W of reference set b at the i-th candidate k. On the CPU the sets are
    // fitted side by side: one set's 100,000 points give each thread too little to do per
    // iteration. Each fit is the same whatever thread runs it, so the result is too. On the
    // GPU they go one after another: each already fills the device.
    // One line for all the sets: the fits inside it show nothing of their own.
    let progress = crate::progress::stage(
        "gap statistic",
        crate::progress::Total::Exactly(settings.gap_refs as u64),
        "reference sets",
    );
    let counted = |b: usize| {
        let log_w = reference_log_w(b);
        progress.add(1);
        log_w
    };
    let log_w: Vec<Vec<f64>> = if settings.reference_backend == BackendChoice::Cpu {
        (0..settings.gap_refs)
            .into_par_iter()
            .map(counted)
            .collect::<Result<_>>()?
    } else {
        (0..settings.gap_refs).map(counted).collect::<Result<_>>()?
    };
    drop(progress);
    let refs = settings.gap_refs as f64;
    for (i, result) in results.iter_mut().enumerate() {
        let mean = log_w.iter().map(|w| w[i]).sum::<f64>() / refs;
        let sd = (log_w.iter().map(|w| (w[i] - mean).powi(2)).sum::<f64>() / refs).sqrt();
        result.gap = Some(mean - result.inertia.max(f64::MIN_POSITIVE).ln());
        result.gap_se = Some(sd * (1.0 + 1.0 / refs).sqrt());
    }
    log::info!(
        "gap statistic: {} reference set(s) of {rows} point(s) in {:.2}s",
        settings.gap_refs,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The knee of a decreasing curve `values` against `ks` (Kneedle's difference-curve maximum).
pub fn knee(ks: &[usize], values: &[f64]) -> Option<usize> {
    if ks.len() < 3 {
        return None;
    }
    let (k0, k1) = (ks[0] as f64, ks[ks.len() - 1] as f64);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return None;
    }
    let mut best: Option<(usize, f64)> = None;
    for (&k, &w) in ks.iter().zip(values) {
        let x = (k as f64 - k0) / (k1 - k0);
        let y = (w - lo) / (hi - lo);
        let below_chord = (1.0 - x) - y;
        if below_chord > 1e-12 && best.is_none_or(|(_, b)| below_chord > b) {
            best = Some((k, below_chord));
        }
    }
    best.map(|(k, _)| k)
}

/// Tibshirani's rule over consecutive candidates; the largest gap when no k satisfies it.
pub fn gap_choice(ks: &[usize], gap: &[f64], gap_se: &[f64]) -> Option<usize> {
    if ks.is_empty() {
        return None;
    }
    (0..ks.len() - 1)
        .find(|&i| gap[i] >= gap[i + 1] - gap_se[i + 1])
        .map(|i| ks[i])
        .or_else(|| arg_best(ks, gap, |a, b| a > b))
}

/// The k whose value is best under `better` (the first on ties); values that are `None` or
/// not finite are skipped.
fn arg_best(ks: &[usize], values: &[f64], better: impl Fn(f64, f64) -> bool) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (&k, &v) in ks.iter().zip(values) {
        if v.is_finite() && best.is_none_or(|(_, b)| better(v, b)) {
            best = Some((k, v));
        }
    }
    best.map(|(k, _)| k)
}

fn defined(results: &[KResult], value: impl Fn(&KResult) -> Option<f64>) -> (Vec<usize>, Vec<f64>) {
    results
        .iter()
        .filter_map(|r| value(r).map(|v| (r.k, v)))
        .unzip()
}

/// Recommends k by every criterion, and overall by `criterion`.
pub fn recommend(results: &[KResult], criterion: Criterion) -> Recommended {
    let (ks, log_inertia) = defined(results, |r| Some(r.inertia.max(f64::MIN_POSITIVE).ln()));
    let elbow = knee(&ks, &log_inertia);
    let (ks, values) = defined(results, |r| r.silhouette);
    let silhouette = arg_best(&ks, &values, |a, b| a > b);
    let (ks, values) = defined(results, |r| r.davies_bouldin);
    let davies_bouldin = arg_best(&ks, &values, |a, b| a < b);
    let (ks, values) = defined(results, |r| r.calinski_harabasz);
    let calinski_harabasz = arg_best(&ks, &values, |a, b| a > b);
    let with_gap: Vec<&KResult> = results.iter().filter(|r| r.gap.is_some()).collect();
    let gap = gap_choice(
        &with_gap.iter().map(|r| r.k).collect::<Vec<_>>(),
        &with_gap.iter().filter_map(|r| r.gap).collect::<Vec<_>>(),
        &with_gap.iter().filter_map(|r| r.gap_se).collect::<Vec<_>>(),
    );
    let by = |c: Criterion| match c {
        Criterion::Silhouette => silhouette,
        Criterion::Elbow => elbow,
        Criterion::Gap => gap,
        Criterion::DaviesBouldin => davies_bouldin,
        Criterion::CalinskiHarabasz => calinski_harabasz,
    };
    let (criterion, k) = [
        criterion,
        Criterion::Silhouette,
        Criterion::Gap,
        Criterion::Elbow,
        Criterion::CalinskiHarabasz,
        Criterion::DaviesBouldin,
    ]
    .into_iter()
    .find_map(|c| by(c).map(|k| (c, k)))
    .unwrap_or((criterion, results.first().map_or(1, |r| r.k)));
    Recommended {
        k,
        criterion,
        elbow,
        silhouette,
        gap,
        davies_bouldin,
        calinski_harabasz,
    }
}

/// The results as CSV separated by `delimiter`, one row per k; undefined values are empty.
pub fn to_csv(results: &[KResult], delimiter: u8) -> String {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    let row = |fields: &[String]| {
        let mut line = fields.join(&char::from(delimiter).to_string());
        line.push('\n');
        line
    };
    let header = [
        "k",
        "inertia",
        "silhouette",
        "silhouette_method",
        "davies_bouldin",
        "calinski_harabasz",
        "gap",
        "gap_se",
        "iterations",
        "converged",
        "seconds",
    ];
    let mut out = row(&header.map(String::from));
    for r in results {
        out.push_str(&row(&[
            r.k.to_string(),
            r.inertia.to_string(),
            opt(r.silhouette),
            r.silhouette_method.to_string(),
            opt(r.davies_bouldin),
            opt(r.calinski_harabasz),
            opt(r.gap),
            opt(r.gap_se),
            r.iterations.to_string(),
            r.converged.to_string(),
            format!("{:.6}", r.seconds),
        ]));
    }
    out
}

/// The results as a text table for stdout.
pub fn render_table(results: &[KResult], recommended: &Recommended) -> String {
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    let mut out = format!(
        "{:>4}  {:>14}  {:>10}  {:>14}  {:>17}  {:>8}  {:>8}\n",
        "k", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz", "gap", "gap_se"
    );
    for r in results {
        let mark = if r.k == recommended.k { " ←" } else { "" };
        out.push_str(&format!(
            "{:>4}  {:>14.6e}  {:>10}  {:>14}  {:>17}  {:>8}  {:>8}{mark}\n",
            r.k,
            r.inertia,
            opt(r.silhouette, 4),
            opt(r.davies_bouldin, 4),
            opt(r.calinski_harabasz, 1),
            opt(r.gap, 4),
            opt(r.gap_se, 4),
        ));
    }
    let k = |v: Option<usize>| v.map_or("-".to_string(), |k| k.to_string());
    out.push_str(&format!(
        "\nrecommended k = {} (by {}); elbow {}, silhouette {}, gap {}, davies_bouldin {}, calinski_harabasz {}\n",
        recommended.k,
        serde_json::to_string(&recommended.criterion)
            .unwrap_or_default()
            .trim_matches('"'),
        k(recommended.elbow),
        k(recommended.silhouette),
        k(recommended.gap),
        k(recommended.davies_bouldin),
        k(recommended.calinski_harabasz),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(k: usize, inertia: f64, silhouette: Option<f64>) -> KResult {
        KResult {
            k,
            inertia,
            silhouette,
            silhouette_method: "exact",
            davies_bouldin: None,
            calinski_harabasz: None,
            gap: None,
            gap_se: None,
            iterations: 1,
            converged: true,
            seconds: 0.0,
        }
    }

    #[test]
    fn a_late_large_fall_of_inertia_is_flagged() {
        // Measured: 1M rows of 8 blobs, one start per k; k = 8 to 10 kept two blobs in one.
        let one_start = [
            1.371434e7, 1.184493e7, 9.577232e6, 7.959166e6, 6.785596e6, 5.268662e6, 5.220644e6,
            5.172857e6, 5.124822e6, 3.993331e6, 3.945770e6,
        ];
        let three_starts = [
            1.356474e7, 1.123206e7, 9.577232e6, 7.959166e6, 6.393832e6, 5.091185e6, 4.137161e6,
            4.088459e6, 4.040900e6, 3.992880e6, 3.944964e6,
        ];
        let results = |inertia: &[f64]| -> Vec<KResult> {
            inertia
                .iter()
                .enumerate()
                .map(|(i, &w)| result(i + 2, w, None))
                .collect()
        };
        let (a, b, fall) = uneven_fall(&results(&one_start)).unwrap();
        assert_eq!((a, b), (10, 11));
        assert!((fall - (1.0 - 3.993331 / 5.124822)).abs() < 1e-12);
        assert_eq!(uneven_fall(&results(&three_starts)), None);
        // Over a list of k the fall is compared per unit of k: 3 -> 5 falls 30% (15% per k)
        // after 20% for 2 -> 3, which is no jump.
        let list = [
            result(2, 100.0, None),
            result(3, 80.0, None),
            result(5, 56.0, None),
        ];
        assert_eq!(uneven_fall(&list), None);
    }

    #[test]
    fn parses_ranges_lists_and_single_values() {
        assert_eq!(parse_k("2..5").unwrap(), vec![2, 3, 4, 5]);
        assert_eq!(parse_k("2..=4").unwrap(), vec![2, 3, 4]);
        assert_eq!(parse_k("8,3,5,3").unwrap(), vec![3, 5, 8]);
        assert_eq!(parse_k("6").unwrap(), vec![6]);
        for bad in ["0..3", "5..2", "a", "3,,4", "", "2..x"] {
            assert!(parse_k(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn knee_is_the_point_farthest_below_the_chord() {
        // Scaled: x = 0, .25, .5, .75, 1; y = 1, .3, .2, .1, 0. Distance below the chord
        // (1 − x) − y: 0, .45, .3, .15, 0 → k = 3.
        let ks = [2, 3, 4, 5, 6];
        let w = [110.0, 40.0, 30.0, 20.0, 10.0];
        assert_eq!(knee(&ks, &w), Some(3));
        // A straight line has no knee; two points are not a curve.
        assert_eq!(knee(&ks, &[5.0, 4.0, 3.0, 2.0, 1.0]), None);
        assert_eq!(knee(&[2, 3], &[2.0, 1.0]), None);
    }

    #[test]
    fn gap_rule_takes_the_smallest_k_within_one_standard_error() {
        let ks = [1, 2, 3, 4];
        // Gap(2) = 1.0 ≥ Gap(3) − s(3) = 1.05 − 0.1: k = 2, not the largest gap (k = 3).
        assert_eq!(
            gap_choice(&ks, &[0.2, 1.0, 1.05, 0.9], &[0.1, 0.1, 0.1, 0.1]),
            Some(2)
        );
        // Strictly increasing by more than the error: no k satisfies it, take the largest gap.
        assert_eq!(gap_choice(&ks, &[0.1, 0.5, 0.9, 1.3], &[0.01; 4]), Some(4));
    }

    #[test]
    fn recommendation_follows_the_criterion_and_falls_back() {
        let results = vec![
            result(2, 100.0, Some(0.5)),
            result(3, 30.0, Some(0.7)),
            result(4, 25.0, Some(0.6)),
            result(5, 22.0, Some(0.4)),
        ];
        let r = recommend(&results, Criterion::Silhouette);
        assert_eq!(
            (r.k, r.criterion, r.silhouette, r.elbow),
            (3, Criterion::Silhouette, Some(3), Some(3))
        );
        // Gap was not computed: the default order decides, and says so.
        let r = recommend(&results, Criterion::Gap);
        assert_eq!((r.k, r.criterion, r.gap), (3, Criterion::Silhouette, None));
        let none: Vec<KResult> = results
            .iter()
            .map(|r| result(r.k, r.inertia, None))
            .collect();
        let r = recommend(&none, Criterion::Silhouette);
        assert_eq!((r.k, r.criterion), (3, Criterion::Elbow));
        // No silhouette, no gap, and ln(inertia) bends the other way (no knee): the validity
        // indices decide, Calinski–Harabasz first, and the recommendation says so.
        let mut concave: Vec<KResult> = [(2, 100.0), (3, 95.0), (4, 80.0), (5, 40.0)]
            .into_iter()
            .map(|(k, w)| result(k, w, None))
            .collect();
        for (r, (ch, db)) in
            concave
                .iter_mut()
                .zip([(1.0, 0.9), (2.0, 0.8), (4.0, 0.5), (3.0, 0.7)])
        {
            (r.calinski_harabasz, r.davies_bouldin) = (Some(ch), Some(db));
        }
        let r = recommend(&concave, Criterion::Silhouette);
        assert_eq!(r.elbow, None);
        assert_eq!((r.k, r.criterion), (4, Criterion::CalinskiHarabasz));
        for r in &mut concave {
            r.calinski_harabasz = None;
        }
        let r = recommend(&concave, Criterion::Silhouette);
        assert_eq!((r.k, r.criterion), (4, Criterion::DaviesBouldin));
    }

    #[test]
    fn reference_sets_fill_the_bounding_box() {
        let stats = vec![
            ColumnStats {
                count: 1.0,
                mean: 0.0,
                m2: 0.0,
                min: -1.0,
                max: 3.0,
            },
            ColumnStats {
                count: 1.0,
                mean: 0.0,
                m2: 0.0,
                min: 5.0,
                max: 5.5,
            },
        ];
        let m = reference_set(&stats, 5_000, 9, 0);
        let s = column_stats(&m);
        assert!(s[0].min >= -1.0 && s[0].max <= 3.0 && s[0].min < -0.99 && s[0].max > 2.99);
        assert!((s[0].mean - 1.0).abs() < 0.05 && (s[1].mean - 5.25).abs() < 0.01);
        assert_ne!(
            m.row(0),
            reference_set(&stats, 1, 9, 1).row(0),
            "sets differ"
        );
    }
}
