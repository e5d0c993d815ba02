//! `predict` streams its input block by block (`STRATA_PREDICT_BLOCK_ROWS` forces small blocks;
//! a block is one or more whole record batches, and each part file of a folder gives its own):
//! whatever the blocks, it writes what one block writes, byte for byte, and a check that fails
//! in any block stops the run with the counts and the first row of the whole input.

use crate::util::{Run, Scratch, assert_close, json, read_segments_csv, strata_env, strata_ok};
use std::path::Path;

/// Values written over an input's: (input row, column with 0 the id, text).
type Changes<'a> = &'a [(usize, usize, &'a str)];

/// Rows per part file, and part files per input folder.
const PART_ROWS: usize = 1000;
const PARTS: usize = 3;

/// Customer `i`: three groups apart in recency, frequency and spend (all positive).
fn customer(i: usize) -> [f64; 3] {
    let group = (i % 3) as f64;
    // A fixed scatter in [0, 1) per row and feature.
    let noise = |f: usize| ((i * 7919 + f * 104_729) % 1000) as f64 / 1000.0;
    [
        5.0 + 60.0 * group + 10.0 * noise(0),
        1.0 + 4.0 * group + 2.0 * noise(1),
        20.0 * (1.0 + group * group) + 15.0 * noise(2),
    ]
}

/// A folder of `PARTS` CSV part files of `PART_ROWS` customers each (ids `1000 + row`), with
/// `changes` as (input row, column: 0 is the id, text) written in place of the values.
fn write_parts(scratch: &Scratch, folder: &str, changes: Changes) {
    let dir = scratch.join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    for part in 0..PARTS {
        let mut text = String::from("id,recency,frequency,spend\n");
        for i in part * PART_ROWS..(part + 1) * PART_ROWS {
            let mut cells: Vec<String> = vec![(1000 + i).to_string()];
            cells.extend(customer(i).iter().map(|v| format!("{v:.3}")));
            for &(row, col, value) in changes {
                if row == i {
                    cells[col] = value.to_string();
                }
            }
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        std::fs::write(dir.join(format!("part-{part}.csv")), text).unwrap();
    }
}

/// Fits a model of 3 segments, with log1p spend, on the clean folder `train`.
fn fit_model(scratch: &Scratch) {
    write_parts(scratch, "train", &[]);
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "train",
            "--id",
            "id",
            "--k",
            "3",
            "--log1p",
            "spend",
            "--silhouette",
            "none",
            "--output",
            "fit.csv",
            "--model",
            "model.json",
        ],
    );
}

/// `predict` of `input` into `output` with `extra` flags, in blocks of one record batch when
/// `small_blocks`.
fn predict(scratch: &Scratch, input: &str, output: &str, extra: &[&str], small: bool) -> Run {
    let mut args = vec![
        "predict",
        "--model",
        "model.json",
        "--input",
        input,
        "--output",
        output,
    ];
    args.extend_from_slice(extra);
    let env: &[(&str, &str)] = if small {
        &[("STRATA_PREDICT_BLOCK_ROWS", "1")]
    } else {
        &[]
    };
    strata_env(&scratch.path, &args, env)
}

fn report_without_timings(path: &Path) -> serde_json::Value {
    let mut report = json(path);
    report.as_object_mut().unwrap().remove("timings_s");
    report
}

#[test]
fn streamed_predict_writes_what_one_block_writes() {
    let scratch = Scratch::new("predict-blocks");
    fit_model(&scratch);
    // Missing values in the first and the last part, for --missing drop.
    write_parts(&scratch, "gaps", &[(4, 2, ""), (2500, 3, "")]);
    let cases: [(&str, &str, &[&str]); 4] = [
        ("train", "ids.arrow", &["--id", "id"]),
        ("train", "rows.parquet", &[]),
        ("gaps", "drop.csv", &["--missing", "drop"]),
        (
            "gaps",
            "drop-ids.parquet",
            &["--missing", "drop", "--id", "id"],
        ),
    ];
    for (input, output, extra) in cases {
        let whole = format!("whole-{output}");
        let mut args = extra.to_vec();
        args.extend(["--report", "whole.json"]);
        let run = predict(&scratch, input, &whole, &args, false);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("in 1 block(s)"), "{}", run.stderr);
        let mut args = extra.to_vec();
        args.extend(["--report", "blocks.json"]);
        let run = predict(&scratch, input, output, &args, true);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("in {PARTS} block(s) of at most {PART_ROWS} rows")),
            "{}",
            run.stderr
        );
        assert!(
            std::fs::read(scratch.join(output)).unwrap()
                == std::fs::read(scratch.join(&whole)).unwrap(),
            "{output}: blocks and one block differ"
        );
        assert_eq!(
            report_without_timings(&scratch.join("blocks.json")),
            report_without_timings(&scratch.join("whole.json")),
            "{output}"
        );
    }

    // On the training rows, the model's segments are the fit's.
    let fitted = read_segments_csv(&scratch.join("fit.csv"));
    let run = predict(&scratch, "train", "train.csv", &["--id", "id"], true);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(read_segments_csv(&scratch.join("train.csv")), fitted);

    // Rows dropped in the first and last blocks: the others keep their input row numbers, and
    // their segments and distances.
    let dropped = read_segments_csv(&scratch.join("drop.csv"));
    assert_eq!(dropped.len(), PARTS * PART_ROWS - 2);
    let kept: Vec<usize> = (0..PARTS * PART_ROWS)
        .filter(|&i| i != 4 && i != 2500)
        .collect();
    for (row, &i) in dropped.iter().zip(&kept) {
        assert_eq!(row.0, i.to_string());
        assert_eq!((row.1, row.2), (fitted[i].1, fitted[i].2), "row {i}");
    }
    let report = json(&scratch.join("blocks.json"));
    assert_eq!(report["input"]["rows"], PARTS * PART_ROWS);
    assert_eq!(report["input"]["rows_dropped"], 2);
    // What dropped them is in the report.
    assert_eq!(
        report["params"],
        serde_json::json!({
            "missing": "drop",
            "null_values": [],
            "encoding": "utf-8",
            "backend": "auto"
        })
    );
    let sizes: u64 = (0..3).map(|s| report["sizes"][s].as_u64().unwrap()).sum();
    assert_eq!(sizes, (PARTS * PART_ROWS - 2) as u64);
    let inertia: f64 = kept.iter().map(|&i| fitted[i].2 * fitted[i].2).sum();
    assert_close(
        "inertia",
        report["inertia"].as_f64().unwrap(),
        inertia,
        1e-6,
        0.0,
    );
}

#[test]
fn a_check_failed_in_any_block_fails_the_run_with_the_whole_input_counts() {
    let scratch = Scratch::new("predict-block-errors");
    fit_model(&scratch);
    let cases: [(&str, Changes, &[&str], &str); 5] = [
        (
            "missing",
            &[(5, 2, ""), (2900, 2, "NaN")],
            &[],
            "missing values (null or NaN) in 'frequency': 2 (first at row 5); choose --missing \
             drop, mean or median",
        ),
        (
            // Values beyond f32 in the second and third parts outrank a missing one in the
            // first, as a whole read ranks them.
            "infinite",
            &[(3, 1, ""), (1200, 3, "inf"), (2999, 3, "-1e40")],
            &[],
            "feature 'spend' has 2 infinite or out-of-range value(s), the first at row 1200 (inf)",
        ),
        (
            "negative",
            &[
                (7, 3, "-3"),
                (1500, 3, "-0.5"),
                (2400, 3, "-2"),
                (20, 1, ""),
            ],
            &["--missing", "drop"],
            "--log1p column 'spend' has 3 negative value(s), the first at row 7 (-3)",
        ),
        (
            // Only a value of the last part is far out.
            "span",
            &[(2990, 1, "1e19")],
            &[],
            "feature 'recency' spans",
        ),
        (
            "ids",
            &[(1100, 0, ""), (2200, 0, "")],
            &["--id", "id"],
            "id column 'id' has 2 null value(s), the first at row 1100",
        ),
    ];
    for (folder, changes, extra, message) in cases {
        write_parts(&scratch, folder, changes);
        let before = scratch.files();
        for small in [true, false] {
            let run = predict(&scratch, folder, "out.parquet", extra, small);
            assert_eq!(run.code, 65, "{folder}: {}", run.stderr);
            assert!(
                run.stderr.contains(message),
                "{folder} (blocks: {small}): want {message:?} in\n{}",
                run.stderr
            );
            assert_eq!(scratch.files(), before, "{folder}: predict left a file");
        }
    }
}

#[test]
fn streamed_predict_on_the_gpu_assigns_as_the_cpu() {
    if crate::parity::gpu().is_none() {
        return;
    }
    let scratch = Scratch::new("predict-gpu");
    fit_model(&scratch);
    let cpu = predict(&scratch, "train", "cpu.csv", &["--backend", "cpu"], true);
    assert_eq!(cpu.code, 0, "{}", cpu.stderr);
    let gpu = predict(&scratch, "train", "gpu.csv", &["--backend", "gpu"], true);
    assert_eq!(gpu.code, 0, "{}", gpu.stderr);
    assert!(gpu.stderr.contains("in 3 block(s)"), "{}", gpu.stderr);
    let (cpu, gpu) = (
        read_segments_csv(&scratch.join("cpu.csv")),
        read_segments_csv(&scratch.join("gpu.csv")),
    );
    assert_eq!(cpu.len(), PARTS * PART_ROWS);
    for (c, g) in cpu.iter().zip(&gpu) {
        assert_eq!((&c.0, c.1), (&g.0, g.1));
        assert_close("distance", g.2, c.2, 1e-5, 1e-6);
    }
}
