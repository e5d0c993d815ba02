//! k-means on any backend: seeding, Lloyd iterations, restarts, and the final assignment.
//!
//! After the last update, a final assignment gives labels, distances and inertia that match the
//! final centroids. With k-means++ or random seeding, clusters are renumbered by size (0 is the
//! largest, ties by the order found); with given centroids, cluster i is the one that started
//! from row i, so a run warm-started from last run's centroids keeps last run's numbers.

pub mod init;
pub mod lloyd;
pub mod model;
pub mod params;

use crate::backend::Backend;
use crate::data::matrix::Matrix;
use crate::data::transform::ColumnStats;
use crate::error::Result;
use crate::rng::{SeededRng, Stream};
use params::{Init, KMeansParams};
use std::time::Instant;

/// One restart's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    /// Inertia after the run's final assignment.
    pub inertia: f64,
    /// Lloyd iterations.
    pub iterations: usize,
    /// Whether it converged before `max_iter`.
    pub converged: bool,
}

/// The result of a fit: the best restart, finally assigned.
#[derive(Debug, Clone)]
pub struct KMeansFit {
    /// Final centroids in the normalized space, in segment order.
    pub centroids: Matrix,
    /// Segment of every point.
    pub labels: Vec<u32>,
    /// Squared distance of every point to its segment's centroid.
    pub sq_distances: Vec<f32>,
    /// Σ of the squared distances (scikit-learn's `inertia_`).
    pub inertia: f64,
    /// Lloyd iterations of the kept restart.
    pub iterations: usize,
    /// Whether the kept restart converged.
    pub converged: bool,
    /// Index of the kept restart.
    pub best_run: usize,
    /// Every restart, in order.
    pub runs: Vec<RunSummary>,
    /// Seconds spent seeding, all restarts together.
    pub init_seconds: f64,
    /// Seconds spent in Lloyd iterations and final assignments.
    pub lloyd_seconds: f64,
}

/// The absolute tolerance: `tol` × the mean feature variance (scikit-learn's `_tolerance`).
pub fn absolute_tolerance(stats: &[ColumnStats], tol: f64) -> f64 {
    tol * stats.iter().map(|s| s.variance()).sum::<f64>() / stats.len().max(1) as f64
}

/// Fits k-means to `points`, held by `backend`; `stats` are the points' column statistics
/// (`column_stats`), which set the tolerance.
///
/// # Errors
/// On a backend failure.
pub fn fit(
    backend: &mut dyn Backend,
    points: &Matrix,
    params: &KMeansParams,
    stats: &[ColumnStats],
) -> Result<KMeansFit> {
    let tol_abs = absolute_tolerance(stats, params.tol);
    let n_init = if matches!(params.init, Init::Given(_)) && params.n_init > 1 {
        log::warn!(
            "--n-init {} ignored: the initial centroids are given, so every restart would be the same",
            params.n_init
        );
        1
    } else {
        params.n_init
    };
    let (mut init_seconds, mut lloyd_seconds) = (0.0, 0.0);
    let mut runs = Vec::with_capacity(n_init);
    let mut best: Option<(usize, lloyd::LloydOutcome, f64)> = None;
    for run in 0..n_init {
        let _context = (n_init > 1)
            .then(|| crate::progress::context(format!("restart {} of {n_init}", run + 1)));
        let started = Instant::now();
        let mut rng = SeededRng::new(params.seed, Stream::Init { run: run as u32 });
        let init = match &params.init {
            Init::KMeansPlusPlus => init::kmeans_plusplus(backend, points, params.k, &mut rng)?,
            Init::Random => init::random_rows(points, params.k, &mut rng),
            Init::Given(centroids) => centroids.clone(),
        };
        init_seconds += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let outcome = lloyd::run(backend, points, init, params.max_iter, tol_abs)?;
        // The run's inertia against its final centroids; a single run gets it from the final
        // assignment below instead of a separate pass.
        let inertia = if n_init > 1 {
            backend.step(&outcome.centroids)?.inertia
        } else {
            f64::NAN
        };
        lloyd_seconds += started.elapsed().as_secs_f64();
        if n_init > 1 {
            log::info!(
                "restart {}/{n_init}: inertia {inertia:.6e} after {} iteration(s){}",
                run + 1,
                outcome.iterations,
                if outcome.converged {
                    ""
                } else {
                    " (not converged)"
                }
            );
        }
        runs.push(RunSummary {
            inertia,
            iterations: outcome.iterations,
            converged: outcome.converged,
        });
        if best.as_ref().is_none_or(|(_, _, b)| inertia < *b) || n_init == 1 {
            best = Some((run, outcome, inertia));
        }
    }
    let (best_run, outcome, _) = best.expect("n_init ≥ 1 runs at least one restart");
    let started = Instant::now();
    let assigning = crate::progress::stage("final assignment", crate::progress::Total::Unknown, "");
    let assignment = backend.assign(&outcome.centroids)?;
    drop(assigning);
    lloyd_seconds += started.elapsed().as_secs_f64();
    let inertia: f64 = assignment.sq_distances.iter().map(|&d| f64::from(d)).sum();
    if n_init == 1 {
        runs[0].inertia = inertia;
    }
    let mut fit = KMeansFit {
        centroids: outcome.centroids,
        labels: assignment.labels,
        sq_distances: assignment.sq_distances,
        inertia,
        iterations: outcome.iterations,
        converged: outcome.converged,
        best_run,
        runs,
        init_seconds,
        lloyd_seconds,
    };
    if !matches!(params.init, Init::Given(_)) {
        number_by_size(&mut fit);
    }
    Ok(fit)
}

/// The smallest segment a run may keep: a row count or a share of the rows
/// (`--min-segment-size N|P%`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinSize {
    /// At least this many rows.
    Rows(u64),
    /// At least this percentage of the rows.
    Percent(f64),
}

impl MinSize {
    /// Parses `N` or `P%`.
    ///
    /// # Errors
    /// A usage error for anything else, 0, or a percentage outside (0, 100].
    pub fn parse(text: &str) -> Result<MinSize> {
        let bad = || {
            crate::error::Error::usage(format!(
                "--min-segment-size must be a row count such as 500 or a share such as 2%, not '{text}'"
            ))
        };
        if let Some(p) = text.strip_suffix('%') {
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            return if p > 0.0 && p <= 100.0 {
                Ok(MinSize::Percent(p))
            } else {
                Err(bad())
            };
        }
        match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(MinSize::Rows(n)),
            _ => Err(bad()),
        }
    }

    /// The threshold in rows for `n` rows.
    pub fn rows(self, n: usize) -> u64 {
        match self {
            MinSize::Rows(r) => r,
            MinSize::Percent(p) => (p / 100.0 * n as f64).ceil() as u64,
        }
    }
}

impl std::fmt::Display for MinSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinSize::Rows(r) => write!(f, "{r}"),
            MinSize::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// One merge of a segment that was too small.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Merge {
    /// The small segment, numbered as it was before this merge.
    pub segment: u32,
    /// Its rows.
    pub size: u64,
    /// The segment with the nearest centroid it went into, numbered as before this merge.
    pub into: u32,
}

/// Merges segments below `min_rows` into the segment with the nearest centroid, one at a time
/// (the smallest first), resuming Lloyd iterations from the remaining centroids after each,
/// until every segment has at least `min_rows` rows or one segment is left. Segment numbers
/// follow the fit's rule afterwards (by size, or the init file's row order kept among the
/// remaining segments).
///
/// # Errors
/// On a backend failure.
pub fn merge_small_segments(
    backend: &mut dyn Backend,
    points: &Matrix,
    fit: &mut KMeansFit,
    params: &KMeansParams,
    stats: &[ColumnStats],
    min_rows: u64,
) -> Result<Vec<Merge>> {
    let tol_abs = absolute_tolerance(stats, params.tol);
    let mut merges = Vec::new();
    loop {
        let k = fit.centroids.rows();
        let sizes = segment_sizes(&fit.labels, k);
        let Some(small) = (0..k)
            .filter(|&c| sizes[c] < min_rows)
            .min_by_key(|&c| (sizes[c], c))
        else {
            break;
        };
        if k == 1 {
            log::warn!(
                "one segment of {} rows is left, below --min-segment-size {min_rows} rows",
                sizes[0]
            );
            break;
        }
        let from = fit.centroids.row(small);
        let into = (0..k)
            .filter(|&c| c != small)
            .min_by(|&a, &b| {
                let da = crate::backend::cpu::sq_distance(from, fit.centroids.row(a));
                let db = crate::backend::cpu::sq_distance(from, fit.centroids.row(b));
                da.total_cmp(&db).then(a.cmp(&b))
            })
            .expect("k ≥ 2 leaves another segment");
        log::info!(
            "segment {small} ({} rows) is below {min_rows} rows: merged into segment {into}",
            sizes[small]
        );
        merges.push(Merge {
            segment: small as u32,
            size: sizes[small],
            into: into as u32,
        });
        let mut remaining = Matrix::with_capacity(k - 1, fit.centroids.cols());
        for c in (0..k).filter(|&c| c != small) {
            remaining.push_row(fit.centroids.row(c));
        }
        let started = Instant::now();
        let outcome = lloyd::run(backend, points, remaining, params.max_iter, tol_abs)?;
        let assignment = backend.assign(&outcome.centroids)?;
        fit.lloyd_seconds += started.elapsed().as_secs_f64();
        fit.inertia = assignment.sq_distances.iter().map(|&d| f64::from(d)).sum();
        fit.centroids = outcome.centroids;
        fit.labels = assignment.labels;
        fit.sq_distances = assignment.sq_distances;
        fit.iterations += outcome.iterations;
        fit.converged = outcome.converged;
    }
    if !merges.is_empty() && !matches!(params.init, Init::Given(_)) {
        number_by_size(fit);
    }
    Ok(merges)
}

/// Points per segment.
pub fn segment_sizes(labels: &[u32], k: usize) -> Vec<u64> {
    let mut sizes = vec![0u64; k];
    for &label in labels {
        sizes[label as usize] += 1;
    }
    sizes
}

/// Renumbers segments so 0 is the largest (ties keep their order).
fn number_by_size(fit: &mut KMeansFit) {
    let k = fit.centroids.rows();
    let sizes = segment_sizes(&fit.labels, k);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    if order.iter().enumerate().all(|(i, &c)| i == c) {
        return;
    }
    let mut new_label = vec![0u32; k];
    let mut centroids = Matrix::with_capacity(k, fit.centroids.cols());
    for (new, &old) in order.iter().enumerate() {
        new_label[old] = new as u32;
        centroids.push_row(fit.centroids.row(old));
    }
    fit.centroids = centroids;
    for label in &mut fit.labels {
        *label = new_label[*label as usize];
    }
}
