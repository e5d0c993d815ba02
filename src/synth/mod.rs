//! Seeded synthetic data: Gaussian blobs for benchmarks and tests, a retail customer base for
//! the demo, a transaction log for the RFM path.

pub mod blobs;
pub mod retail;
pub mod transactions;
