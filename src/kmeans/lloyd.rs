//! The Lloyd loop: assign + update until the labels stop changing, the centroids stop moving, or
//! the iteration budget runs out.
//!
//! Convergence follows scikit-learn's `_kmeans_single_lloyd`: stop when no label changed since the
//! previous iteration (strict convergence) or when the squared centroid shift summed over all
//! centroids is at most the absolute tolerance. An empty cluster takes the point farthest from
//! its assigned centroid (ties: the lowest row), moved out of its old cluster's sums, as
//! scikit-learn's `_relocate_empty_clusters` does.

use crate::backend::{Backend, StepPartials};
use crate::data::matrix::Matrix;
use crate::error::Result;

/// What a Lloyd run ended with.
#[derive(Debug, Clone)]
pub struct LloydOutcome {
    /// Final centroids (after the last update).
    pub centroids: Matrix,
    /// Iterations run (assign + update each).
    pub iterations: usize,
    /// True when it stopped by the labels or the tolerance rather than `max_iter`.
    pub converged: bool,
    /// Empty clusters re-seeded along the way.
    pub relocations: u64,
}

/// Runs Lloyd iterations from `init`.
///
/// # Errors
/// On a backend failure.
pub fn run(
    backend: &mut dyn Backend,
    points: &Matrix,
    init: Matrix,
    max_iter: usize,
    tol_abs: f64,
) -> Result<LloydOutcome> {
    run_until(backend, points, init, max_iter, Some(tol_abs))
}

/// Runs Lloyd iterations from `init`; with `tol_abs` `None`, exactly `max_iter` of them
/// (benchmarks), whatever the labels and shifts do.
///
/// # Errors
/// On a backend failure.
pub fn run_until(
    backend: &mut dyn Backend,
    points: &Matrix,
    init: Matrix,
    max_iter: usize,
    tol_abs: Option<f64>,
) -> Result<LloydOutcome> {
    backend.reset_labels()?;
    let progress = crate::progress::stage(
        "Lloyd",
        match tol_abs {
            // It stops when it converges: the budget is a bound, not a total.
            Some(_) => crate::progress::Total::Unknown,
            None => crate::progress::Total::Exactly(max_iter as u64),
        },
        "iterations",
    );
    let mut centroids = init;
    let mut relocations = 0;
    for iteration in 1..=max_iter {
        let mut partials = backend.step(&centroids)?;
        let empty: Vec<usize> = (0..partials.k)
            .filter(|&c| partials.counts[c] == 0)
            .collect();
        if !empty.is_empty() {
            relocate_empty(backend, points, &centroids, &mut partials, &empty)?;
            relocations += empty.len() as u64;
        }
        let updated = update(&partials, &centroids);
        let shift = squared_shift(&centroids, &updated);
        centroids = updated;
        log::debug!(
            "iteration {iteration}: inertia {:.6e}, {} label(s) changed, centroid shift² {shift:.3e}",
            partials.inertia,
            partials.changed
        );
        progress.set(iteration as u64);
        progress.note(|| {
            format!(
                "inertia {:.6e}, {} label(s) changed",
                partials.inertia,
                crate::progress::thousands(partials.changed)
            )
        });
        if tol_abs.is_some_and(|tol| partials.changed == 0 || shift <= tol) {
            return Ok(LloydOutcome {
                centroids,
                iterations: iteration,
                converged: true,
                relocations,
            });
        }
    }
    Ok(LloydOutcome {
        centroids,
        iterations: max_iter,
        converged: false,
        relocations,
    })
}

/// New centroids: each cluster's mean; a cluster left with no points keeps its old centroid.
fn update(partials: &StepPartials, old: &Matrix) -> Matrix {
    let d = partials.d;
    let mut centroids = old.clone();
    for c in 0..partials.k {
        let count = partials.counts[c];
        if count > 0 {
            let sums = &partials.sums[c * d..(c + 1) * d];
            for (v, s) in centroids.row_mut(c).iter_mut().zip(sums) {
                *v = (s / count as f64) as f32;
            }
        }
    }
    centroids
}

/// Σ over centroids of ‖new − old‖², in f64.
fn squared_shift(old: &Matrix, new: &Matrix) -> f64 {
    old.as_slice()
        .iter()
        .zip(new.as_slice())
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum()
}

/// Gives each empty cluster the farthest remaining point from its assigned centroid.
fn relocate_empty(
    backend: &mut dyn Backend,
    points: &Matrix,
    centroids: &Matrix,
    partials: &mut StepPartials,
    empty: &[usize],
) -> Result<()> {
    let assignment = backend.assign(centroids)?;
    let farthest = farthest_points(&assignment.sq_distances, empty.len());
    let d = partials.d;
    for (&cluster, &row) in empty.iter().zip(&farthest) {
        let x = points.row(row);
        let from = assignment.labels[row] as usize;
        partials.counts[from] -= 1;
        for (s, &v) in partials.sums[from * d..(from + 1) * d].iter_mut().zip(x) {
            *s -= f64::from(v);
        }
        partials.counts[cluster] = 1;
        for (s, &v) in partials.sums[cluster * d..(cluster + 1) * d]
            .iter_mut()
            .zip(x)
        {
            *s = f64::from(v);
        }
        log::debug!("cluster {cluster} was empty; re-seeded with row {row} (from cluster {from})");
    }
    Ok(())
}

/// The `m` rows with the largest distances, largest first, lowest row first on ties.
fn farthest_points(sq_distances: &[f32], m: usize) -> Vec<usize> {
    let mut top: Vec<(f32, usize)> = Vec::with_capacity(m + 1);
    for (i, &dist) in sq_distances.iter().enumerate() {
        if top.len() == m && top.last().is_some_and(|&(worst, _)| dist <= worst) {
            continue;
        }
        let at = top.partition_point(|&(v, _)| v >= dist);
        top.insert(at, (dist, i));
        top.truncate(m);
    }
    top.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn farthest_points_prefers_larger_then_earlier() {
        assert_eq!(
            farthest_points(&[1.0, 5.0, 3.0, 5.0, 0.0], 3),
            vec![1, 3, 2]
        );
        assert_eq!(farthest_points(&[2.0, 2.0], 1), vec![0]);
    }
}
