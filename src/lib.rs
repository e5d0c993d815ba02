//! Strata: batch k-means clustering for customer segmentation.
//!
//! The data path (DESIGN.md §1): read record batches ([`data::read`]) → validate
//! ([`data::validate`]) → transform ([`data::transform`]) → one row-major f32 matrix
//! ([`data::matrix`]) → a [`backend::Backend`] → seeding and Lloyd iterations ([`kmeans`]) →
//! metrics ([`metrics`]) → profiles ([`segment`]) → atomic outputs ([`output`]). The jobs that
//! run it end to end are in [`pipeline`]; the command line in [`cli`].

pub mod backend;
pub mod bench;
pub mod cli;
pub mod data;
pub mod error;
pub mod kmeans;
pub mod logging;
pub mod metrics;
pub mod output;
pub mod parallel;
pub mod pipeline;
pub mod progress;
pub mod rng;
pub mod segment;
pub mod synth;

pub use error::{Error, Result};

/// The number environment variable `name` holds, when it is set to a positive one (the knobs
/// that tests and benchmarks turn: chunk and block sizes, grid widths).
pub(crate) fn positive_from_env<T: std::str::FromStr + Default + PartialOrd>(
    name: &str,
) -> Option<T> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > T::default())
}

/// Whether environment variable `name` is set to 1 (the switches that turn a measured
/// alternative on: kernel timing, the one-pass Lloyd step, alternating passes).
pub(crate) fn switch_from_env(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}
