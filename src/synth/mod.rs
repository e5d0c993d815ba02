//! Seeded synthetic data: Gaussian blobs for benchmarks and tests, a retail customer base for
//! the demo.

pub mod blobs;
pub mod retail;
