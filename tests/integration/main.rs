//! Strata's integration tests: one binary made of modules. Expected numbers come from
//! scikit-learn fixtures (tests/fixtures/make_fixtures.py), hand-computed oracles, or the
//! definition of the property under test, never from Strata's own earlier output.

mod bad_input;
mod bench;
mod cli;
mod formats;
#[cfg(target_os = "linux")]
mod outputs;
mod parity;
mod predict;
mod progress;
mod reference;
mod rfm;
mod scores;
mod segments;
mod shaders;
mod sweep;
mod util;
