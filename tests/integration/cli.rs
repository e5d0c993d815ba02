//! End-to-end runs of the binary as a user runs it: determinism, predict, generate, demo,
//! the report's contract keys.

use crate::util::{
    Scratch, assert_close, fit_blobs, json, read_arrow, read_segments_csv, strata_env,
    strata_fails, strata_ok,
};
use arrow_array::cast::AsArray;
use arrow_array::types::UInt32Type;

fn generate(scratch: &Scratch, name: &str, rows: &str, dims: &str, centers: &str, threads: &str) {
    strata_ok(
        &scratch.path,
        &[
            "generate",
            "--rows",
            rows,
            "--dims",
            dims,
            "--centers",
            centers,
            "--seed",
            "7",
            "--batch-rows",
            "1000",
            "--threads",
            threads,
            "--output",
            name,
        ],
    );
}

#[test]
fn same_seed_gives_byte_identical_outputs_whatever_the_thread_count() {
    let scratch = Scratch::new("threads");
    generate(&scratch, "blobs.parquet", "40000", "8", "6", "2");
    for threads in ["1", "2", "3"] {
        let (output, model) = (
            format!("seg{threads}.arrow"),
            format!("model{threads}.json"),
        );
        strata_ok(
            &scratch.path,
            &fit_blobs(
                "blobs.parquet",
                "6",
                &[
                    "--n-init",
                    "2",
                    "--backend",
                    "cpu",
                    "--threads",
                    threads,
                    "--output",
                    &output,
                    "--model",
                    &model,
                ],
            ),
        );
    }
    let bytes = |name: &str| std::fs::read(scratch.join(name)).unwrap();
    assert_eq!(bytes("seg1.arrow"), bytes("seg2.arrow"));
    assert_eq!(bytes("seg1.arrow"), bytes("seg3.arrow"));
    assert_eq!(bytes("model1.json"), bytes("model3.json"));
}

#[test]
fn the_cpu_kernels_of_every_width_write_the_same_files() {
    // k = 40: passes of 12 or fewer centroids on AVX-512, 6 or fewer on AVX2; 3,001 rows: a
    // short last group of either. The portable kernels round the search's multiply-adds twice
    // and may move a near-tie, so they are held to the same inertia only.
    use strata::backend::Simd;
    let scratch = Scratch::new("simd");
    generate(&scratch, "blobs.parquet", "3001", "16", "40", "4");
    let levels = Simd::runnable();
    if Simd::detected() != Simd::Avx512 {
        println!("note: this CPU runs no AVX-512; only the narrower kernels are compared");
    }
    for level in &levels {
        let name = level.name();
        let (output, model) = (format!("{name}.arrow"), format!("{name}.json"));
        let report = format!("{name}-report.json");
        let run = strata_env(
            &scratch.path,
            &fit_blobs(
                "blobs.parquet",
                "40",
                &[
                    "--backend",
                    "cpu",
                    "--output",
                    &output,
                    "--model",
                    &model,
                    "--report",
                    &report,
                ],
            ),
            &[("STRATA_CPU_SIMD", name)],
        );
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let report = json(&scratch.join(&report));
        let adapter = report["backend"]["adapter"].as_str().unwrap();
        assert!(adapter.ends_with(&format!("({name})")), "{name}: {adapter}");
        let info = strata_env(
            &scratch.path,
            &["info", "--json"],
            &[("STRATA_CPU_SIMD", name)],
        );
        let info: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
        assert_eq!(info["cpu_simd"], name);
    }
    let bytes = |name: &str| std::fs::read(scratch.join(name)).unwrap();
    let widest = levels.last().unwrap().name();
    if levels.contains(&Simd::Avx2) {
        assert_eq!(bytes("avx2.arrow"), bytes(&format!("{widest}.arrow")));
        assert_eq!(bytes("avx2.json"), bytes(&format!("{widest}.json")));
    }
    let inertia = |name: &str| {
        json(&scratch.join(&format!("{name}-report.json")))["inertia"]
            .as_f64()
            .unwrap()
    };
    assert_close(
        "portable inertia",
        inertia("portable"),
        inertia(widest),
        1e-6,
        0.0,
    );
    // A value it does not know is said and ignored.
    let run = strata_env(
        &scratch.path,
        &["info", "--json"],
        &[("STRATA_CPU_SIMD", "avx-512")],
    );
    assert!(
        run.stderr
            .contains("STRATA_CPU_SIMD=avx-512 is not avx512, avx2 or portable; ignored"),
        "{}",
        run.stderr
    );
    let info: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(info["cpu_simd"], widest);
}

#[test]
fn generate_is_deterministic_and_kmeans_recovers_well_separated_blobs() {
    let scratch = Scratch::new("generate");
    generate(&scratch, "a.arrow", "20000", "4", "5", "1");
    generate(&scratch, "b.arrow", "20000", "4", "5", "2");
    assert_eq!(
        std::fs::read(scratch.join("a.arrow")).unwrap(),
        std::fs::read(scratch.join("b.arrow")).unwrap()
    );
    let batches = read_arrow(&scratch.join("a.arrow"));
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 20000);
    let names: Vec<String> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "f0", "f1", "f2", "f3", "true_segment"]);

    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "a.arrow",
            "--id",
            "id",
            "--truth",
            "true_segment",
            "--k",
            "5",
            "--n-init",
            "3",
            "--report",
            "report.json",
            "--output",
            "seg.arrow",
        ],
    );
    let report = json(&scratch.join("report.json"));
    let ari = report["truth"]["adjusted_rand_index"].as_f64().unwrap();
    assert!(
        ari > 0.95,
        "blobs with std 1 in a box of ±10 should be recovered; ARI {ari}"
    );
    assert_eq!(
        report["input"]["features"].as_array().unwrap().len(),
        4,
        "the truth column is not a feature"
    );
    // Segments are numbered by size, largest first.
    let sizes: Vec<u64> = report["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    let seg = read_arrow(&scratch.join("seg.arrow"));
    let mut counts = vec![0u64; 5];
    for batch in &seg {
        for label in batch
            .column_by_name("segment")
            .unwrap()
            .as_primitive::<UInt32Type>()
            .values()
        {
            counts[*label as usize] += 1;
        }
    }
    assert_eq!(counts, sizes, "report sizes match the segments file");
}

#[test]
fn report_has_the_contract_keys() {
    let scratch = Scratch::new("report");
    generate(&scratch, "blobs.csv", "3000", "3", "3", "2");
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "blobs.csv",
            "--exclude",
            "id,true_segment",
            "--k",
            "3",
            "--report",
            "r.json",
        ],
    );
    let r = json(&scratch.join("r.json"));
    for key in [
        "strata_version",
        "command",
        "input",
        "params",
        "backend",
        "iterations",
        "converged",
        "inertia",
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "segments",
        "timings_s",
    ] {
        assert!(
            !r[key].is_null() || key == "davies_bouldin",
            "missing report key {key}"
        );
    }
    for key in ["path", "rows", "rows_dropped", "features", "id_column"] {
        assert!(r["input"].get(key).is_some(), "missing input.{key}");
    }
    for key in [
        "k",
        "seed",
        "init",
        "n_init",
        "max_iter",
        "tol",
        "normalize",
        "log1p",
        "backend",
    ] {
        assert!(r["params"].get(key).is_some(), "missing params.{key}");
    }
    for key in [
        "read", "prepare", "init", "lloyd", "metrics", "write", "total",
    ] {
        assert!(
            r["timings_s"][key].as_f64().is_some(),
            "missing timings_s.{key}"
        );
    }
    // 3,000 rows are within the CPU's exact budget.
    assert_eq!(r["silhouette"]["method"], "exact");
    let silhouette = r["silhouette"]["value"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&silhouette), "{silhouette}");
    assert_eq!(r["input"]["rows"], 3000);
    let segment = &r["segments"][0];
    for key in ["segment", "size", "share", "centroid", "label"] {
        assert!(segment.get(key).is_some(), "missing segments[].{key}");
    }
    assert_eq!(segment["centroid"].as_object().unwrap().len(), 3);
}

#[test]
fn predict_with_the_saved_model_reproduces_the_fit() {
    let scratch = Scratch::new("predict");
    generate(&scratch, "train.parquet", "5000", "5", "4", "2");
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "train.parquet",
            "--id",
            "id",
            "--exclude",
            "true_segment",
            "--k",
            "4",
            "--normalize",
            "minmax",
            "--output",
            "fit.csv",
            "--model",
            "model.json",
        ],
    );
    let predict = |output: &str, extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--model",
            "model.json",
            "--input",
            "train.parquet",
            "--output",
            output,
        ];
        args.extend_from_slice(extra);
        strata_ok(&scratch.path, &args)
    };
    let run = predict("pred.csv", &["--id", "id"]);
    assert!(run.stdout.contains("segment"));
    let fitted = read_segments_csv(&scratch.join("fit.csv"));
    assert_eq!(fitted, read_segments_csv(&scratch.join("pred.csv")));
    // With --json the report comes on stdout: its sizes count the predicted segments.
    let run = predict("pred2.csv", &["--json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sizes: Vec<u64> = (0..4u32)
        .map(|s| fitted.iter().filter(|r| r.1 == s).count() as u64)
        .collect();
    assert_eq!(report["sizes"], serde_json::json!(sizes));
    assert_eq!(report["input"]["rows"], 5000);
    // The model holds centroids in both spaces: raw = normalized · (max − min) + min.
    let model = json(&scratch.join("model.json"));
    let (c, s) = (&model["transform"]["center"], &model["transform"]["scale"]);
    let norm = model["centroids"][1][2].as_f64().unwrap();
    let raw = model["centroids_raw"][1][2].as_f64().unwrap();
    assert_close(
        "raw centroid",
        raw,
        norm * s[2].as_f64().unwrap() + c[2].as_f64().unwrap(),
        1e-9,
        1e-9,
    );
}

#[test]
fn predict_needs_the_model_features() {
    let scratch = Scratch::new("predict-missing");
    generate(&scratch, "train.csv", "500", "3", "2", "2");
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "train.csv",
            "--id",
            "id",
            "--exclude",
            "true_segment",
            "--k",
            "2",
            "--model",
            "model.json",
        ],
    );
    scratch.write("new.csv", "id,f0,f1\n1,0.5,0.5\n");
    strata_fails(
        &scratch.path,
        &[
            "predict",
            "--model",
            "model.json",
            "--input",
            "new.csv",
            "--output",
            "out.csv",
        ],
        65,
        &["'f2' is not in the input"],
    );
    assert!(!scratch.join("out.csv").exists());
}

#[test]
fn demo_prints_a_segment_table() {
    let scratch = Scratch::new("demo");
    let run = strata_ok(&scratch.path, &["demo", "--customers", "20000"]);
    assert!(
        run.stdout.contains("recency_days") && run.stdout.contains("label"),
        "{}",
        run.stdout
    );
    let is_row = |l: &&str| l.trim_start().starts_with(char::is_numeric) && l.contains('%');
    let table_rows = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("segment"))
        .take_while(|l| !l.is_empty())
        .filter(is_row)
        .count();
    assert_eq!(table_rows, 5, "{}", run.stdout);
    // The segments described by the hidden personas: each is mostly one of them.
    let personas: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("persona: share of each segment"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(personas.len(), 6, "{}", run.stdout);
    for row in personas.into_iter().filter(is_row) {
        let largest = row
            .split('%')
            .filter_map(|cell| cell.rsplit(' ').next()?.parse::<f64>().ok())
            .fold(0.0, f64::max);
        assert!(largest > 80.0, "{row}");
    }
    let ari: f64 = run
        .stdout
        .lines()
        .find(|l| l.contains("adjusted Rand"))
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        ari > 0.85,
        "the demo's personas should be recovered; ARI {ari}"
    );
}

#[test]
fn help_explains_the_flags_and_exit_codes() {
    let run = strata_ok(std::path::Path::new("."), &["fit", "--help"]);
    for flag in [
        "--input",
        "--k",
        "--normalize",
        "--log1p",
        "--init",
        "--missing",
        "--duplicates",
        "--output",
        "--model",
        "--report",
    ] {
        assert!(run.stdout.contains(flag), "fit --help lacks {flag}");
    }
    let run = strata_ok(std::path::Path::new("."), &["--help"]);
    assert!(run.stdout.contains("Exit codes") && run.stdout.contains("demo"));
}

#[test]
fn missing_values_can_be_dropped_or_filled() {
    let scratch = Scratch::new("missing");
    scratch.write(
        "m.csv",
        "id,a,b\n1,1.0,10\n2,,20\n3,3.0,\n4,4.0,40\n5,100.0,50\n",
    );
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "m.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--missing",
            "drop",
            "--output",
            "d.csv",
            "--report",
            "d.json",
        ],
    );
    let ids: Vec<String> = read_segments_csv(&scratch.join("d.csv"))
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(ids, ["1", "4", "5"]);
    assert_eq!(json(&scratch.join("d.json"))["input"]["rows_dropped"], 2);
    let run = strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "m.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--missing",
            "median",
            "--normalize",
            "none",
            "--model",
            "med.json",
        ],
    );
    // Medians of the present values: a of {1, 3, 4, 100} = 3.5; b of {10, 20, 40, 50} = 30.
    let fill = json(&scratch.join("med.json"))["fill"]["values"].clone();
    assert_eq!(fill, serde_json::json!([3.5, 30.0]));
    for said in [
        "filled 1 missing value(s) of 'a' with its median, 3.5 (--missing median)",
        "filled 1 missing value(s) of 'b' with its median, 30 (--missing median)",
    ] {
        assert!(run.stderr.contains(said), "{said}\n{}", run.stderr);
    }
    // predict fills with the model's values, and says so.
    let run = strata_ok(
        &scratch.path,
        &[
            "predict",
            "--model",
            "med.json",
            "--input",
            "m.csv",
            "--id",
            "id",
            "--missing",
            "median",
            "--output",
            "p.csv",
        ],
    );
    let said = "filled 1 missing value(s) of 'a' with the model's median, 3.5 (--missing median)";
    assert!(run.stderr.contains(said), "{said}\n{}", run.stderr);
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "m.csv",
            "--k",
            "2",
            "--missing",
            "mean",
            "--model",
            "mean.json",
            "--exclude",
            "id",
        ],
    );
    assert_eq!(
        json(&scratch.join("mean.json"))["fill"]["values"],
        serde_json::json!([27.0, 30.0])
    );
}

#[test]
fn duplicates_can_keep_first_or_last() {
    let scratch = Scratch::new("dups");
    scratch.write("d.csv", "id,a\n7,1.0\n8,2.0\n7,3.0\n9,10.0\n");
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "d.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--duplicates",
            "last",
            "--output",
            "o.csv",
            "--normalize",
            "none",
        ],
    );
    let rows = read_segments_csv(&scratch.join("o.csv"));
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, ["8", "7", "9"]);
    // Points 2 and 3 form one segment, 10 the other: distances are |x − centroid| = 0.5, 0.5, 0.
    let dists: Vec<f64> = rows.iter().map(|r| r.2).collect();
    assert_eq!(dists, [0.5, 0.5, 0.0]);
}

#[test]
fn kmeans_plus_plus_seeds_one_centre_per_far_apart_group() {
    // Three tight groups far apart: greedy k-means++ must put one seed in each, so Lloyd
    // converges at once to the group means, whatever the seed.
    let scratch = Scratch::new("kpp");
    let mut csv = String::from("x,y\n");
    for (cx, cy) in [(0.0, 0.0), (100.0, 0.0), (0.0, 100.0)] {
        for i in 0..50 {
            let t = f64::from(i) / 50.0;
            csv.push_str(&format!("{},{}\n", cx + t, cy - t));
        }
    }
    scratch.write("g.csv", &csv);
    for seed in ["0", "1", "2", "3"] {
        strata_ok(
            &scratch.path,
            &[
                "fit",
                "--input",
                "g.csv",
                "--k",
                "3",
                "--normalize",
                "none",
                "--tol",
                "0",
                "--seed",
                seed,
                "--report",
                "r.json",
            ],
        );
        let r = json(&scratch.join("r.json"));
        let inertia = r["inertia"].as_f64().unwrap();
        // Each group: Σ over t of 2·(t − 0.49)² for t = i/50 → 3 · 2 · Σ(i/50 − 0.49)².
        let want: f64 = 6.0
            * (0..50)
                .map(|i| (f64::from(i) / 50.0 - 0.49).powi(2))
                .sum::<f64>();
        assert_close(&format!("seed {seed} inertia"), inertia, want, 1e-5, 1e-9);
        assert_eq!(
            r["iterations"], 2,
            "seeded in every group: converged labels on the second step"
        );
    }
}

#[test]
fn no_display_probe_noise_without_xdg_runtime_dir() {
    // Cron jobs and containers have no XDG_RUNTIME_DIR. Listing adapters must not print
    // anything like an error there (Mesa's device-selection layer, where installed, would).
    let scratch = Scratch::new("no-xdg");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("info")
        .current_dir(&scratch.path)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("MESA_VK_DEVICE_SELECT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("error"),
        "stderr of `strata info`:\n{stderr}"
    );
}

/// `strata info` says how much memory a run can still be given, and from what (on Linux, where
/// /proc/meminfo is always there), in its text and its JSON.
#[cfg(target_os = "linux")]
#[test]
fn info_gives_the_memory_left_to_a_run() {
    let scratch = Scratch::new("info-memory");
    let text = strata_ok(&scratch.path, &["info"]).stdout;
    assert!(
        text.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("memory available: ") && l.contains("million rows")),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&strata_ok(&scratch.path, &["info", "--json"]).stdout).unwrap();
    let memory = &json["memory_available"];
    assert!(memory["bytes"].as_u64().is_some_and(|b| b > 0), "{json}");
    assert!(
        ["machine", "cgroup"].contains(&memory["limited_by"].as_str().unwrap()),
        "{json}"
    );
}

/// A reader that stops early (`strata fit … | head -1`) closes the pipe. The run still ends as
/// it would have, with its files written, exit 0 and no panic; that holds for stdout and for
/// stderr (the logs). Before, the first write to the closed pipe panicked (exit 101).
#[test]
fn a_closed_pipe_on_stdout_or_stderr_ends_the_output_quietly() {
    let scratch = Scratch::new("closed-pipe");
    scratch.write("in.csv", "a,b\n1,2\n2,1\n8,9\n9,8\n");
    for (stream, verbosity) in [("stdout", "-q"), ("stderr", "-v")] {
        // The reading end is closed before the binary starts, so every write to it fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let segments = format!("seg-{stream}.csv");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
        command
            .args(["fit", "--input", "in.csv", "--k", "2", verbosity])
            .args(["--output", &segments])
            .current_dir(&scratch.path);
        let (out, err) = if stream == "stdout" {
            (
                std::process::Stdio::from(writer),
                std::process::Stdio::piped(),
            )
        } else {
            (
                std::process::Stdio::piped(),
                std::process::Stdio::from(writer),
            )
        };
        let run = command.stdout(out).stderr(err).output().unwrap();
        let other = String::from_utf8_lossy(if stream == "stdout" {
            &run.stderr
        } else {
            &run.stdout
        })
        .into_owned();
        assert_eq!(run.status.code(), Some(0), "{stream} closed: {other}");
        assert!(!other.contains("panicked"), "{stream} closed: {other}");
        assert!(
            scratch.join(&segments).exists(),
            "{stream} closed: segments written"
        );
    }
}
