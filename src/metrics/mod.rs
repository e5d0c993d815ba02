//! Scores of a clustering: validity indices now; silhouette kernels join here.

pub mod indices;
