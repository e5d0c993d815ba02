//! Everything Strata writes: segments, model and report, each atomically.

pub mod plot;
pub mod report;
pub mod segments;
mod text;
pub mod write;
