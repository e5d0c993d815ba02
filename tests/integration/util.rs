//! Test helpers: scratch folders, running the built binary, reading outputs back.

use arrow_array::RecordBatch;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A scratch folder removed when dropped.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "strata-test-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Names of the files in the folder, sorted (temporary files included).
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What a run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `strata` with `args` in `dir`.
pub fn strata(dir: &Path, args: &[&str]) -> Run {
    strata_env(dir, args, &[])
}

/// Runs `strata` with `args` in `dir` and extra environment variables.
pub fn strata_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
    command.args(args).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `strata` with `args` in `dir`, `input` written into its standard input through a pipe.
pub fn strata_piped(dir: &Path, args: &[&str], input: Vec<u8>) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // Written from a thread, so a run that stops reading early cannot block the test; a run
    // that stops early makes the writes fail, which is its business.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `strata` and insists on success.
pub fn strata_ok(dir: &Path, args: &[&str]) -> Run {
    let run = strata(dir, args);
    assert_eq!(run.code, 0, "strata {args:?} failed:\n{}", run.stderr);
    run
}

/// Runs `strata` and insists that it exits with `code` and that its stderr says each of `says`.
pub fn strata_fails(dir: &Path, args: &[&str], code: i32, says: &[&str]) -> Run {
    let run = strata(dir, args);
    assert_eq!(
        run.code, code,
        "strata {args:?} exited {} instead of {code}:\n{}",
        run.code, run.stderr
    );
    for words in says {
        assert!(
            run.stderr.contains(words),
            "strata {args:?}: stderr does not say {words:?}:\n{}",
            run.stderr
        );
    }
    run
}

/// `strata fit` on a file of `strata generate` blobs (its `id` column as the id, its
/// `true_segment` column left out of the features) with `k` segments, then `more` flags.
pub fn fit_blobs<'a>(input: &'a str, k: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "fit",
        "--input",
        input,
        "--id",
        "id",
        "--exclude",
        "true_segment",
        "--k",
        k,
    ];
    args.extend_from_slice(more);
    args
}

/// The fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Reads a JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Reads every batch of an Arrow IPC file.
/// Writes an Arrow IPC file at `path` holding one batch of the named `columns`.
pub fn write_arrow(path: &Path, columns: Vec<(&str, arrow_array::ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
}

pub fn read_arrow(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    arrow_ipc::reader::FileReader::try_new(file, None)
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// Reads a segments CSV: (key column text, segment, distance) per row.
pub fn read_segments_csv(path: &Path) -> Vec<(String, u32, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// |a − b| ≤ rel·max(|a|, |b|) + abs, with a message naming what differs.
pub fn assert_close(what: &str, got: f64, want: f64, rel: f64, abs: f64) {
    let tol = rel * got.abs().max(want.abs()) + abs;
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (tolerance {tol:e})"
    );
}
