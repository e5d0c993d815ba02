//! Seeding: greedy k-means++ and uniform random rows.
//!
//! k-means++ follows scikit-learn's `_kmeans_plusplus`: the first centre is a uniform row; each
//! next centre is the best of 2 + ⌊ln k⌋ candidates sampled with probability proportional to the
//! squared distance to the nearest centre so far, "best" meaning the lowest resulting potential.
//! The host draws the random numbers and makes the choices; the backend does the passes over
//! the points.

use crate::backend::Backend;
use crate::data::matrix::Matrix;
use crate::error::Result;
use crate::rng::SeededRng;

/// Local trials per centre: 2 + ⌊ln k⌋.
pub fn local_trials(k: usize) -> usize {
    2 + (k as f64).ln().floor() as usize
}

/// Greedy k-means++ seeding of `k` centres among `points`, which `backend` holds.
///
/// # Errors
/// On a backend failure.
pub fn kmeans_plusplus(
    backend: &mut dyn Backend,
    points: &Matrix,
    k: usize,
    rng: &mut SeededRng,
) -> Result<Matrix> {
    let n = points.rows();
    let trials = local_trials(k);
    let mut centres = Matrix::with_capacity(k, points.cols());
    let first = rng.below(n as u64) as usize;
    centres.push_row(points.row(first));
    let progress = crate::progress::stage(
        "k-means++",
        crate::progress::Total::Exactly(k as u64),
        "centres",
    );
    let mut potential = backend.seed_first(points.row(first))?;
    progress.set(1);
    for chosen in 1..k {
        let targets: Vec<f64> = (0..trials).map(|_| rng.uniform() * potential).collect();
        let picks = backend.seed_sample(&targets)?;
        let mut candidates = Matrix::with_capacity(trials, points.cols());
        for &i in &picks {
            candidates.push_row(points.row(i));
        }
        let potentials = backend.seed_trials(&candidates)?;
        let best =
            potentials.iter().enumerate().fold(
                0,
                |best, (i, &p)| if p < potentials[best] { i } else { best },
            );
        potential = potentials[best];
        backend.seed_commit(candidates.row(best))?;
        centres.push_row(candidates.row(best));
        progress.set(chosen as u64 + 1);
    }
    backend.end_seeding();
    Ok(centres)
}

/// `k` distinct rows of `points`, chosen uniformly.
pub fn random_rows(points: &Matrix, k: usize, rng: &mut SeededRng) -> Matrix {
    let mut centres = Matrix::with_capacity(k, points.cols());
    for i in rng.distinct_indices(points.rows(), k) {
        centres.push_row(points.row(i));
    }
    centres
}
