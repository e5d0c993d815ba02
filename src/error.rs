//! The one error type of Strata and the exit code each kind of failure maps to.
//!
//! The exit codes are a contract (DESIGN.md §3): scheduled jobs branch on them. Every message
//! names what was wrong (the column, the row or count, the value) and, where there is one, what to
//! do about it.

use std::path::Path;

/// Everything that can make a Strata command fail, grouped by the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or a combination of flags is invalid (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The input data is unusable as asked: a missing column, a null, ±Inf, a duplicate id, a
    /// corrupt file (exit 65).
    #[error("{0}")]
    Data(String),
    /// An input file does not exist or cannot be opened (exit 66).
    #[error("{0}")]
    InputMissing(String),
    /// The GPU backend was asked for but no adapter could be used (exit 69).
    #[error("{0}")]
    NoAdapter(String),
    /// A bug or a broken invariant inside Strata (exit 70).
    #[error("internal error: {0}")]
    Internal(String),
    /// An output file cannot be created where it was asked for (exit 73).
    #[error("{0}")]
    CannotCreate(String),
    /// Reading or writing failed part-way (exit 74).
    #[error("{0}")]
    Io(String),
    /// The GPU device was lost during the run (exit 75).
    #[error("{0}")]
    DeviceLost(String),
}

/// Strata's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The process exit code for this error (DESIGN.md §3, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Data(_) => 65,
            Error::InputMissing(_) => 66,
            Error::NoAdapter(_) => 69,
            Error::Internal(_) => 70,
            Error::CannotCreate(_) => 73,
            Error::Io(_) => 74,
            Error::DeviceLost(_) => 75,
        }
    }

    /// Shorthand for a usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage(message.into())
    }

    /// Shorthand for a bad-data error.
    pub fn data(message: impl Into<String>) -> Self {
        Error::Data(message.into())
    }

    /// Maps a failure to open an input file: a missing or unreadable file is exit 66.
    pub fn open_input(path: &Path, err: &std::io::Error) -> Self {
        Error::InputMissing(format!(
            "cannot open input '{}': {}; check the path and its permissions",
            path.display(),
            err
        ))
    }

    /// Maps a failure while reading an input that was opened: exit 65, for what fails part way
    /// through a file is nearly always the file (truncated, corrupt, or not its format).
    pub fn read_input(path: &Path, err: impl std::fmt::Display) -> Self {
        Error::Data(format!(
            "cannot read '{}': {}; the file may be truncated, corrupt, or not in the format its \
             extension says",
            path.display(),
            err
        ))
    }
}
