//! From clusters to segments people can use: profiles and labels.

pub mod describe;
pub mod keys;
pub mod profile;
pub mod rfm;
