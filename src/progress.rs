//! A live progress line on stderr, for runs someone watches on a terminal.
//!
//! A long phase (reading 50M rows, seeding, Lloyd iterations, scoring, writing) is a *stage*:
//! one line, redrawn in place a few times a second with how far it is, cleared when the stage
//! ends, and lifted out of the way of every log line. Around the stage, *contexts* say where in
//! a larger job it runs ("restart 2 of 3", "k = 5 (3 of 11)"). By default the line is drawn
//! only when stderr is a terminal and logs are not quieted (`--progress auto`); a scheduled
//! job's log never sees it.
//!
//! One stage is shown at a time: a stage started while another is active (the fits of a sweep's
//! reference sets, side by side) is inert, and only the outer one is drawn. Counting is an
//! atomic add, so workers of a parallel loop may count; drawing happens on the thread that
//! starts a stage or logs, and on a ticker thread that keeps the clock and the counts current.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// When the progress line is drawn (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum When {
    /// When stderr is a terminal and logs are not quieted with `-q`.
    #[default]
    Auto,
    /// Always, even into a file or pipe (each redraw starts with a carriage return).
    Always,
    /// Never.
    Never,
}

/// Whether a progress line is drawn at all in this process.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The active stage's count.
static DONE: AtomicU64 = AtomicU64::new(0);
/// Stage and context ids, so that a guard only ends what it started.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn line() -> MutexGuard<'static, Line> {
    static LINE: OnceLock<Mutex<Line>> = OnceLock::new();
    LINE.get_or_init(|| Mutex::new(Line::default()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How often the ticker redraws an active stage.
const TICK: Duration = Duration::from_millis(200);

/// Decides whether this process draws a progress line; with one, starts the ticker.
/// `verbosity` is the log level (0 = `-q`).
pub fn init(when: When, verbosity: u8) {
    let on = match when {
        When::Always => true,
        When::Never => false,
        When::Auto => verbosity > 0 && std::io::stderr().is_terminal(),
    };
    if !on || ENABLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&c| c >= 20)
        .unwrap_or(80);
    line().width = width;
    let ticker = std::thread::Builder::new()
        .name("strata-progress".into())
        .spawn(|| {
            loop {
                std::thread::sleep(TICK);
                let mut line = line();
                if line.stage.is_some() {
                    line.draw();
                }
            }
        });
    if ticker.is_err() {
        // Without the ticker the line is still drawn at every stage's start and log line.
        log::debug!("no progress ticker thread; the progress line updates less often");
    }
}

/// What the line shows now.
#[derive(Default)]
struct Line {
    /// Labels of the enclosing contexts, outermost first, with their ids.
    contexts: Vec<(u64, String)>,
    stage: Option<Active>,
    /// Whether the line is on the screen now (so a log line must clear it first).
    drawn: bool,
    /// Columns of the terminal; the line is cut to one less, so that it never wraps.
    width: usize,
}

/// How many units a stage has to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Not known before the end (a stream, a loop that stops when it converges).
    Unknown,
    /// Known.
    Exactly(u64),
    /// Estimated (the rows of a CSV file from its size): shown as "about", never past 99%.
    About(u64),
}

struct Active {
    id: u64,
    label: String,
    total: Total,
    unit: &'static str,
    note: String,
    started: Instant,
}

impl Line {
    fn render(&self) -> Option<String> {
        let stage = self.stage.as_ref()?;
        let contexts: Vec<&str> = self.contexts.iter().map(|(_, c)| c.as_str()).collect();
        Some(render(
            crate::logging::elapsed(),
            &contexts,
            &stage.label,
            DONE.load(Ordering::Relaxed),
            stage.total,
            stage.unit,
            stage.started.elapsed().as_secs_f64(),
            &stage.note,
            self.width.saturating_sub(1),
        ))
    }

    /// Writes the line over whatever line the cursor is on.
    fn draw(&mut self) {
        if let Some(text) = self.render() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
            self.drawn = true;
        }
    }

    fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

/// Runs `write` (which writes whole lines to stderr) with the progress line lifted out of its
/// way, and draws the line again below it.
pub fn around(write: impl FnOnce()) {
    if !ENABLED.load(Ordering::Relaxed) {
        write();
        return;
    }
    let mut line = line();
    line.clear();
    write();
    if line.stage.is_some() {
        line.draw();
    }
}

/// The text of a progress line: the run's clock, the contexts, the stage and how far it is,
/// cut to `width` characters.
#[allow(clippy::too_many_arguments)]
fn render(
    clock: f64,
    contexts: &[&str],
    label: &str,
    done: u64,
    total: Total,
    unit: &str,
    stage_seconds: f64,
    note: &str,
    width: usize,
) -> String {
    let mut text = format!("[{clock:8.3}s] ");
    for context in contexts {
        text.push_str(context);
        text.push_str(" · ");
    }
    text.push_str(label);
    text.push_str(": ");
    if unit.is_empty() && total == Total::Unknown {
        // Nothing to count: how long it has run says that it runs.
        text.push_str(&duration(stage_seconds));
    } else {
        counts(&mut text, done, total, unit, stage_seconds);
    }
    if !note.is_empty() {
        text.push_str(" · ");
        text.push_str(note);
    }
    match text.char_indices().nth(width) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text,
    }
}

/// "12 of 48 rows (25%), about 6 s left".
fn counts(text: &mut String, done: u64, total: Total, unit: &str, stage_seconds: f64) {
    text.push_str(&thousands(done));
    let (total, estimated) = match total {
        Total::Unknown => (None, false),
        Total::Exactly(t) => (Some(t), false),
        Total::About(t) => (Some(t), true),
    };
    if let Some(total) = total {
        text.push_str(if estimated { " of about " } else { " of " });
        text.push_str(&thousands(total));
    }
    if !unit.is_empty() {
        text.push(' ');
        text.push_str(unit);
    }
    if let Some(total) = total.filter(|&t| t > 0) {
        let mut share = (done.min(total) as f64 / total as f64 * 100.0).floor();
        if estimated {
            share = share.min(99.0);
        }
        text.push_str(&format!(" ({share:.0}%)"));
        // A rate is only worth a forecast after a second or so of work.
        if done > 0 && done < total && stage_seconds >= 1.0 {
            let left = stage_seconds * (total - done) as f64 / done as f64;
            text.push_str(&format!(", about {} left", duration(left)));
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seconds as `45 s`, `3 min 20 s` or `2 h 05 min`.
fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// A stage of work, shown on the progress line from [`stage`] until dropped.
#[must_use = "the stage ends when this is dropped"]
pub struct Stage {
    /// `None` for an inert stage: progress is off, or another stage is active.
    id: Option<u64>,
}

/// Starts a stage: `label` says what runs ("reading customers.parquet"), `total` how many
/// `unit`s there are to do.
pub fn stage(label: impl Into<String>, total: Total, unit: &'static str) -> Stage {
    let id = begin(|line, id| {
        DONE.store(0, Ordering::Relaxed);
        line.stage = Some(Active {
            id,
            label: label.into(),
            total,
            unit,
            note: String::new(),
            started: Instant::now(),
        });
        line.draw();
    });
    Stage { id }
}

/// Gives a new id to what `start` adds to the line, unless progress is off or a stage is
/// active (whatever starts inside a stage is inert).
fn begin(start: impl FnOnce(&mut Line, u64)) -> Option<u64> {
    if !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    let mut line = line();
    if line.stage.is_some() {
        return None;
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    start(&mut line, id);
    Some(id)
}

impl Stage {
    /// Sets how many units are done.
    pub fn set(&self, done: u64) {
        if self.id.is_some() {
            DONE.store(done, Ordering::Relaxed);
        }
    }

    /// Adds `n` units done (from any thread).
    pub fn add(&self, n: u64) {
        if self.id.is_some() {
            DONE.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Sets the text shown after the count ("inertia 1.66e7"), built only when it is shown.
    pub fn note(&self, text: impl FnOnce() -> String) {
        if let Some(id) = self.id {
            let mut line = line();
            if let Some(stage) = line.stage.as_mut().filter(|s| s.id == id) {
                stage.note = text();
            }
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let mut line = line();
            if line.stage.as_ref().is_some_and(|s| s.id == id) {
                line.stage = None;
                line.clear();
            }
        }
    }
}

/// Where in a larger job the stages inside it run, shown before them until dropped.
#[must_use = "the context ends when this is dropped"]
pub struct Context {
    id: Option<u64>,
}

/// Starts a context ("restart 2 of 3"). Inside an active stage it is inert, as the stages
/// under it would be.
pub fn context(label: impl Into<String>) -> Context {
    Context {
        id: begin(|line, id| line.contexts.push((id, label.into()))),
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            line().contexts.retain(|(c, _)| *c != id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_says_where_how_far_and_how_long_is_left() {
        let text = render(
            12.3456,
            &["restart 2 of 3"],
            "reading a.parquet",
            12_000_000,
            Total::Exactly(48_000_000),
            "rows",
            2.0,
            "",
            200,
        );
        // 12M of 48M in 2 s: 36M more at the same rate take 6 s.
        assert_eq!(
            text,
            "[  12.346s] restart 2 of 3 · reading a.parquet: 12,000,000 of 48,000,000 rows \
             (25%), about 6 s left"
        );
        let text = render(
            0.5,
            &[],
            "Lloyd",
            14,
            Total::Unknown,
            "iterations",
            9.0,
            "inertia 1.5e3",
            200,
        );
        assert_eq!(text, "[   0.500s] Lloyd: 14 iterations · inertia 1.5e3");
        let text = render(7.0, &[], "profiles", 0, Total::Unknown, "", 64.4, "", 200);
        assert_eq!(text, "[   7.000s] profiles: 1 min 04 s");
    }

    #[test]
    fn no_forecast_before_a_second_or_after_the_end_and_never_past_the_width() {
        // At 1 s into the run, no context, no note, wide enough.
        let at_1s = |label, done, total, unit, seconds| {
            render(1.0, &[], label, done, total, unit, seconds, "", 200)
        };
        let early = at_1s("writing", 10, Total::Exactly(100), "rows", 0.5);
        assert_eq!(early, "[   1.000s] writing: 10 of 100 rows (10%)");
        let done = at_1s("writing", 100, Total::Exactly(100), "rows", 5.0);
        assert_eq!(done, "[   1.000s] writing: 100 of 100 rows (100%)");
        // 999 of 1,000 is 99.9%: the share is rounded down, so 100% means done.
        let share = at_1s("w", 999, Total::Exactly(1000), "", 0.1);
        assert_eq!(share, "[   1.000s] w: 999 of 1,000 (99%)");
        // An estimate may be passed: it says so and stops short of 100%.
        let over = at_1s("reading", 1_200, Total::About(1_000), "rows", 0.1);
        assert_eq!(over, "[   1.000s] reading: 1,200 of about 1,000 rows (99%)");
        // Cut by characters, not bytes: "·" is two bytes.
        let cut = render(
            1.0,
            &["k = 5 · x"],
            "Lloyd",
            3,
            Total::Unknown,
            "",
            0.0,
            "",
            27,
        );
        assert_eq!(cut.chars().count(), 27);
        assert_eq!(cut, "[   1.000s] k = 5 · x · Llo");
    }

    #[test]
    fn counts_and_durations_read_easily() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(50_000_000), "50,000,000");
        assert_eq!(duration(44.6), "45 s");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(7_500.0), "2 h 05 min");
    }
}
