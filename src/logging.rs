//! A minimal logger: every log line goes to stderr, prefixed with the time since start.
//!
//! stdout is reserved for the human summary or JSON (DESIGN.md §3), so nothing here writes there.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

struct StderrLogger {
    start: Instant,
    level: LevelFilter,
}

static LOGGER: OnceLock<StderrLogger> = OnceLock::new();

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        // Dependencies (wgpu, naga) only speak at debug and above when asked to.
        let ours = metadata.target().starts_with("strata");
        metadata.level() <= self.level && (ours || metadata.level() <= Level::Warn)
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let elapsed = self.start.elapsed().as_secs_f64();
        let tag = match record.level() {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            _ => "",
        };
        // Not eprintln!, which panics when stderr is a pipe its reader has closed.
        crate::progress::around(|| {
            let _ = writeln!(
                std::io::stderr().lock(),
                "[{elapsed:8.3}s] {tag}{}",
                record.args()
            );
        });
    }

    fn flush(&self) {}
}

/// Seconds since the logger was installed (the clock of every log line), or 0 before.
pub fn elapsed() -> f64 {
    LOGGER
        .get()
        .map_or(0.0, |logger| logger.start.elapsed().as_secs_f64())
}

/// Installs the stderr logger. `verbosity`: 0 = warnings only, 1 = info, 2+ = debug.
pub fn init(verbosity: u8) {
    let level = match verbosity {
        0 => LevelFilter::Warn,
        1 => LevelFilter::Info,
        _ => LevelFilter::Debug,
    };
    let logger = LOGGER.get_or_init(|| StderrLogger {
        start: Instant::now(),
        level,
    });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}
