//! Scores of a clustering: silhouette (exact, sampled, simplified) and validity indices.

pub mod indices;
pub mod silhouette;
pub mod sweep;
