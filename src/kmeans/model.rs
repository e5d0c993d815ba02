//! The saved model (`--model`, JSON; DESIGN.md §4): everything `predict` needs to place new rows
//! exactly as `fit` placed the training rows.

use crate::data::matrix::Matrix;
use crate::data::transform::Transform;
use crate::data::validate::MissingPolicy;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The model file's format version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// How missing values were filled at fit time, so `predict` can fill the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    /// mean or median.
    pub policy: MissingPolicy,
    /// Per feature, in raw units.
    pub values: Vec<f64>,
}

/// A fitted segmentation model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Model file format version.
    pub format_version: u32,
    /// The Strata version that wrote it.
    pub strata_version: String,
    /// Feature names, in centroid column order.
    pub features: Vec<String>,
    /// The transform from raw values to the normalized space.
    pub transform: Transform,
    /// Missing-value fill used at fit time, if any.
    pub fill: Option<Fill>,
    /// Number of segments.
    pub k: usize,
    /// Centroids in the normalized space, one row per segment.
    pub centroids: Vec<Vec<f64>>,
    /// Centroids in raw input units.
    pub centroids_raw: Vec<Vec<f64>>,
    /// The seed of the fit.
    pub seed: u64,
    /// Rows the model was fitted on.
    pub rows: u64,
    /// The id column of the training input, if any.
    pub id_column: Option<String>,
}

impl Model {
    /// The centroids as a matrix in the normalized space.
    pub fn centroid_matrix(&self) -> Matrix {
        let values = self.centroids.iter().flatten().map(|&v| v as f32).collect();
        Matrix::from_vec(values, self.features.len())
    }

    /// Reads and checks a model file.
    ///
    /// # Errors
    /// Exit 66 when the file cannot be opened; exit 65 when it is not a valid Strata model.
    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::InputMissing(format!("cannot read model '{}': {e}", path.display()))
        })?;
        let model: Model = serde_json::from_str(&text).map_err(|e| {
            Error::data(format!(
                "'{}' is not a valid Strata model: {e}",
                path.display()
            ))
        })?;
        if model.format_version != FORMAT_VERSION {
            return Err(Error::data(format!(
                "model '{}' has format version {}; this Strata reads version {FORMAT_VERSION}",
                path.display(),
                model.format_version
            )));
        }
        let d = model.features.len();
        if d == 0
            || model.k == 0
            || model.centroids.len() != model.k
            || model.centroids.iter().any(|c| c.len() != d)
            || model.centroids_raw.len() != model.k
            || model.centroids_raw.iter().any(|c| c.len() != d)
        {
            return Err(Error::data(format!(
                "model '{}' is damaged: it should hold {} centroids of {d} features",
                path.display(),
                model.k
            )));
        }
        if model.centroids.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::data(format!(
                "model '{}' has a non-finite centroid value",
                path.display()
            )));
        }
        model.transform.check(&model.features)?;
        Ok(model)
    }
}
