//! The progress line on stderr: drawn on a terminal (or with `--progress always`), lifted out
//! of the way of every log line, cleared at the end of each stage; never drawn into a pipe or
//! file by default, nor under `-q`.

use crate::sweep::blobs;
use crate::util::{Scratch, fit_blobs, strata, strata_ok};

/// What every redraw and clear of the line starts with.
const REDRAW: &str = "\r\x1b[2K";

/// The stderr a terminal would show: each line as left after its last redraw or clear.
fn visible(stderr: &str) -> Vec<&str> {
    stderr
        .split('\n')
        .map(|line| line.rsplit(REDRAW).next().unwrap_or(line))
        .collect()
}

/// A log line without its clock (`[   0.123s] `), which differs from run to run.
fn unclocked(line: &str) -> &str {
    line.split_once("s] ").map_or(line, |(_, text)| text)
}

/// How many clocks (`[   0.123s] `) a line holds.
fn clocks(line: &str) -> usize {
    line.match_indices('[')
        .filter(|(at, _)| {
            let rest = &line[at + 1..];
            let Some((number, _)) = rest.split_once("s] ") else {
                return false;
            };
            let number = number.trim_start();
            number.len() >= 5
                && number.chars().all(|c| c.is_ascii_digit() || c == '.')
                && number.as_bytes()[number.len() - 4] == b'.'
        })
        .count()
}

/// The progress lines drawn (not the log lines), in order, without their clocks. A log line
/// written while the line is up comes after a clear, as the last piece of its line.
fn drawn(stderr: &str) -> Vec<&str> {
    let pieces: Vec<&str> = stderr.split('\n').collect();
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .flat_map(|(i, piece)| {
            let mut parts: Vec<&str> = piece.split(REDRAW).skip(1).collect();
            if i < last {
                parts.pop();
            }
            parts
        })
        .filter(|text| !text.is_empty())
        .map(unclocked)
        .collect()
}

#[test]
fn the_line_follows_each_stage_and_leaves_the_logs_as_they_were() {
    let scratch = Scratch::new("progress-stages");
    blobs(&scratch, "g.csv");
    let fit = |when: &str| {
        strata_ok(
            &scratch.path,
            &fit_blobs(
                "g.csv",
                "3",
                // The CPU's stages: the GPU's silhouette draws no row count.
                &[
                    "--n-init",
                    "2",
                    "--backend",
                    "cpu",
                    "--output",
                    "seg.csv",
                    "--progress",
                    when,
                ],
            ),
        )
    };
    let shown = fit("always");
    let lines = drawn(&shown.stderr);
    // Every stage draws its line when it starts; the CSV's row count is an estimate.
    for expected in [
        "reading g.csv: 0 of about ",
        "checking values and ids: 0 s",
        "normalizing: 0 s",
        "counting distinct rows: 0 s",
        "restart 1 of 2 · k-means++: 0 of 3 centres (0%)",
        "restart 1 of 2 · Lloyd: 0 iterations",
        "restart 2 of 2 · k-means++: 0 of 3 centres (0%)",
        "restart 2 of 2 · Lloyd: 0 iterations",
        "final assignment: 0 s",
        "silhouette: 0 of 3,000 rows (0%)",
        "profiles: 0 s",
        "writing seg.csv: 0 of 3,000 rows (0%)",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "no progress line starts with {expected:?}; drawn: {lines:#?}"
        );
    }
    // The stages come in the order they run.
    let first = |what: &str| lines.iter().position(|l| l.contains(what)).unwrap();
    assert!(first("reading") < first("normalizing"));
    assert!(first("normalizing") < first("restart 1 of 2 · k-means++"));
    assert!(first("restart 2 of 2 · Lloyd") < first("final assignment"));
    assert!(first("profiles") < first("writing"));

    // What a terminal shows in the end is the log of a run without the line: every log line
    // whole, and the progress line cleared (the last line is empty in both). Clocks and the
    // read's duration differ from run to run.
    let plain = fit("never");
    assert!(!plain.stderr.contains('\x1b') && !plain.stderr.contains('\r'));
    let timeless = |line: &str| -> String {
        let line = unclocked(line);
        match line.split_once(" in ") {
            Some((before, after)) if after.ends_with('s') => format!("{before} in …s"),
            _ => line.to_string(),
        }
    };
    let shown_lines: Vec<String> = visible(&shown.stderr).into_iter().map(timeless).collect();
    let plain_lines: Vec<String> = plain.stderr.split('\n').map(timeless).collect();
    assert_eq!(shown_lines, plain_lines);
    assert_eq!(shown.stdout, plain.stdout);

    // With -v, each Lloyd iteration logs a line while the Lloyd line is up: each still stands
    // alone, its clock first, nothing of the progress line left before or after it.
    let verbose = strata_ok(
        &scratch.path,
        &fit_blobs(
            "g.csv",
            "3",
            &["--output", "seg.csv", "--progress", "always", "-v"],
        ),
    );
    let logged = visible(&verbose.stderr);
    assert!(logged.iter().any(|l| l.contains("] iteration 1: inertia")));
    for line in &logged[..logged.len() - 1] {
        assert!(
            clocks(line) == 1 && line.starts_with('['),
            "a log line mixed with the progress line: {line:?}"
        );
    }
    assert_eq!(logged.last(), Some(&""));

    // Into a pipe, as here, auto draws nothing.
    let auto = strata_ok(
        &scratch.path,
        &fit_blobs("g.csv", "3", &["--output", "seg.csv"]),
    );
    assert!(!auto.stderr.contains('\x1b'), "{}", auto.stderr);
}

/// While the gap statistic's reference sets are fitted (side by side on the CPU), its own line
/// is the only one: the fits inside it draw nothing.
#[test]
fn a_stage_inside_another_draws_nothing() {
    let scratch = Scratch::new("progress-nested");
    blobs(&scratch, "g.parquet");
    let run = strata_ok(
        &scratch.path,
        &[
            "--progress",
            "always",
            "sweep",
            "--input",
            "g.parquet",
            "--id",
            "id",
            "--exclude",
            "true_segment",
            "--k",
            "2..3",
            "--gap-refs",
            "4",
        ],
    );
    let lines = drawn(&run.stderr);
    let gap = lines
        .iter()
        .position(|l| l.starts_with("gap statistic: 0 of 4 reference sets (0%)"))
        .unwrap_or_else(|| panic!("no gap statistic line; drawn: {lines:#?}"));
    assert!(
        lines[..gap]
            .iter()
            .any(|l| l.starts_with("k = 3 (2 of 2) · Lloyd")),
        "{lines:#?}"
    );
    // The sweep counts distinct rows, as a fit does, before its first k.
    let counting = lines
        .iter()
        .position(|l| l.starts_with("counting distinct rows"));
    let first_k = lines.iter().position(|l| l.starts_with("k = 2 (1 of 2)"));
    assert!(counting.is_some() && counting < first_k, "{lines:#?}");
    assert!(
        lines[gap..]
            .iter()
            .all(|l| l.starts_with("gap statistic: ")),
        "a stage inside the gap statistic drew its line: {lines:#?}"
    );
}

/// On a terminal the line is drawn without being asked for, and `-q` turns it off. The
/// terminal is a pseudo-terminal made by `script` (util-linux, in every Debian).
#[test]
fn on_a_terminal_auto_draws_the_line_unless_quiet() {
    let scratch = Scratch::new("progress-tty");
    blobs(&scratch, "g.parquet");
    let on_terminal = |quiet: &str| {
        let command = format!(
            "{} {quiet} fit --input g.parquet --id id --exclude true_segment --k 3 \
             --output seg.csv",
            env!("CARGO_BIN_EXE_strata")
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(&scratch.path)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("`script` (util-linux) runs a command on a pseudo-terminal");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = on_terminal("");
    assert!(
        shown.contains(&format!("{REDRAW}[")) && shown.contains("] k-means++: 0 of 3 centres"),
        "{shown}"
    );
    let quiet = on_terminal("-q");
    assert!(quiet.contains("segment"), "{quiet}");
    assert!(!quiet.contains('\x1b'), "{quiet}");
    // Without a terminal, as for a scheduled job's log, nothing is drawn.
    let piped = strata(
        &scratch.path,
        &fit_blobs("g.parquet", "3", &["--output", "seg.csv"]),
    );
    assert_eq!(piped.code, 0);
    assert!(!piped.stderr.contains('\x1b'));
}
