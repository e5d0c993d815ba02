//! Outputs that are not plain files. Through a symbolic link, the file the link leads to is
//! replaced and the link stays; a device, a named pipe or the run's own stdout is written into,
//! never replaced by a file. (Linux: the tests use /dev/full, mkfifo and /dev/fd.)

use crate::util::{Scratch, json, read_segments_csv, strata, strata_fails, strata_ok};
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};

const GOOD: &str = "id,a,b\n1,1.0,2.0\n2,2.0,1.0\n3,8.0,9.0\n4,9.0,8.0\n";

/// `strata fit` on GOOD (in.csv) with k = 2, then `more`.
fn fit<'a>(more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["fit", "--input", "in.csv", "--id", "id", "--k", "2"];
    args.extend_from_slice(more);
    args
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// A link to a file: the file gets the segments, and a relative link to a file that does not
/// exist yet gets the report where it points; both links stay links, and nothing else is left.
#[test]
fn an_output_through_a_link_replaces_the_file_and_keeps_the_link() {
    let scratch = Scratch::new("out-link");
    scratch.write("in.csv", GOOD);
    std::fs::create_dir(scratch.join("real")).unwrap();
    scratch.write("real/seg.csv", "old\n");
    symlink("real/seg.csv", scratch.join("seg.csv")).unwrap();
    symlink("real/report.json", scratch.join("report.json")).unwrap();
    strata_ok(
        &scratch.path,
        &fit(&["--output", "seg.csv", "--report", "report.json"]),
    );
    for link in ["seg.csv", "report.json"] {
        assert!(is_link(&scratch.join(link)), "{link} is no longer a link");
    }
    let segments = read_segments_csv(&scratch.join("real/seg.csv"));
    assert_eq!(
        segments.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["1", "2", "3", "4"]
    );
    // Rows 1 and 2 lie together, apart from rows 3 and 4.
    assert!(segments[0].1 == segments[1].1 && segments[2].1 == segments[3].1);
    assert_ne!(segments[0].1, segments[2].1);
    assert_eq!(json(&scratch.join("real/report.json"))["params"]["k"], 2);
    assert_eq!(
        scratch.files(),
        ["in.csv", "real", "report.json", "seg.csv"]
    );
    let mut real: Vec<_> = std::fs::read_dir(scratch.join("real"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    real.sort();
    assert_eq!(real, ["report.json", "seg.csv"]);
}

/// A device is written into: a link to /dev/null takes all three outputs of a run, one after
/// another, and a link to /dev/full fails the run with exit 74 and the device's error; both
/// links still lead to their devices.
#[test]
fn a_device_is_written_into_not_replaced() {
    let scratch = Scratch::new("out-device");
    scratch.write("in.csv", GOOD);
    symlink("/dev/null", scratch.join("null")).unwrap();
    symlink("/dev/full", scratch.join("full")).unwrap();
    strata_ok(
        &scratch.path,
        &fit(&["--output", "null", "--model", "null", "--report", "null"]),
    );
    strata_fails(
        &scratch.path,
        &fit(&["--output", "full"]),
        74,
        &["failed writing 'full'", "No space left on device"],
    );
    for link in ["null", "full"] {
        let path = scratch.join(link);
        assert!(is_link(&path), "{link} is no longer a link");
        assert!(
            std::fs::metadata(&path)
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
    assert_eq!(scratch.files(), ["full", "in.csv", "null"]);
}

/// A named pipe is written into: a reader started before the run gets the report through it,
/// and it is still a pipe afterwards.
#[test]
fn a_named_pipe_is_written_into() {
    let scratch = Scratch::new("out-fifo");
    scratch.write("in.csv", GOOD);
    let made = Command::new("mkfifo")
        .arg(scratch.join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let mut reader = Command::new("cat")
        .arg("pipe")
        .current_dir(&scratch.path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let run = strata(
        &scratch.path,
        &fit(&["--output", "seg.csv", "--report", "pipe"]),
    );
    let still_a_pipe =
        std::fs::metadata(scratch.join("pipe")).is_ok_and(|m| m.file_type().is_fifo());
    if run.code != 0 || !still_a_pipe {
        // Nothing wrote into the pipe: the reader would wait for a writer forever.
        reader.kill().unwrap();
    }
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(still_a_pipe, "the pipe was replaced");
    let read = reader.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(report["params"]["k"], 2);
    assert!(scratch.join("seg.csv").is_file());
}

/// `--report /dev/fd/1` with stdout a file opened as a shell's `>` opens it: the report and the
/// run's own table follow each other in that file, neither written over the other.
#[test]
fn a_report_to_stdout_follows_what_the_run_printed() {
    let scratch = Scratch::new("out-stdout");
    scratch.write("in.csv", GOOD);
    let stdout = std::fs::File::create(scratch.join("stdout.txt")).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(fit(&["--output", "seg.csv", "--report", "/dev/fd/1"]))
        .current_dir(&scratch.path)
        .stdout(stdout)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(scratch.join("stdout.txt")).unwrap();
    let start = text.find("{\n").expect("a JSON report in stdout");
    let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter();
    let report: serde_json::Value = values.next().unwrap().unwrap();
    assert_eq!(report["params"]["k"], 2);
    // The table, whole, before or after it.
    let table = format!(
        "{}{}",
        &text[..start],
        &text[start + values.byte_offset()..]
    );
    for words in [
        "segment  size  share  label",
        "mean (index: all rows = 100)",
        "median",
    ] {
        assert!(table.contains(words), "{words:?} missing from\n{text}");
    }
}
