//! The data path up to the feature matrix: read, validate, transform.

mod csv;
pub mod described;
mod encoding;
pub mod ids;
pub mod matrix;
pub mod memory;
pub mod read;
pub mod transform;
pub mod validate;
