//! Validated k-means parameters: checked once, so fitting only ever sees valid ones.

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};

/// How the first centroids are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// Greedy k-means++ (2 + ⌊ln k⌋ local trials per centre, as scikit-learn).
    KMeansPlusPlus,
    /// k distinct rows chosen uniformly.
    Random,
    /// Given centroids, already in the normalized space (k rows).
    Given(Matrix),
}

impl Init {
    /// The name used in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Init::KMeansPlusPlus => "kmeans++",
            Init::Random => "random",
            Init::Given(_) => "file",
        }
    }
}

/// Parameters of a k-means fit.
#[derive(Debug, Clone)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Seeding method.
    pub init: Init,
    /// Restarts; the one with the lowest inertia is kept.
    pub n_init: usize,
    /// Most Lloyd iterations per restart.
    pub max_iter: usize,
    /// Convergence tolerance relative to the mean feature variance (scikit-learn's `tol`).
    pub tol: f64,
    /// Seed of every random choice.
    pub seed: u64,
}

impl KMeansParams {
    /// Checks the parameters against the data's shape.
    ///
    /// # Errors
    /// A usage error for k = 0, n_init = 0, max_iter = 0 or a negative tolerance; exit 65 when
    /// given centroids do not have k rows of d columns.
    pub fn validate(self, d: usize) -> Result<Self> {
        if self.k == 0 {
            return Err(Error::usage("--k must be at least 1"));
        }
        if self.n_init == 0 {
            return Err(Error::usage("--n-init must be at least 1"));
        }
        if self.max_iter == 0 {
            return Err(Error::usage("--max-iter must be at least 1"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(Error::usage(format!(
                "--tol must be a finite number ≥ 0, not {}",
                self.tol
            )));
        }
        if let Init::Given(centroids) = &self.init
            && (centroids.rows() != self.k || centroids.cols() != d)
        {
            return Err(Error::data(format!(
                "the initial centroids have {} rows of {} features, but k = {} and the data has {d} features",
                centroids.rows(),
                centroids.cols(),
                self.k
            )));
        }
        Ok(self)
    }
}
