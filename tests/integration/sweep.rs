//! `strata sweep` and `fit --k A..B`: the known number of blobs is recommended, each k equals
//! the fit of that k, the outputs are written (and nothing is left behind on failure), and the
//! GPU sweep agrees with the CPU sweep.

use crate::parity::gpu;
use crate::util::{Scratch, assert_close, fit_blobs, json, strata, strata_fails, strata_ok};

/// Four well-separated blobs in 3 dimensions (standard deviation 0.6, centres in [-10, 10]³),
/// 3,000 rows, written to `name` (its format by extension).
pub fn blobs(scratch: &Scratch, name: &str) {
    strata_ok(
        &scratch.path,
        &[
            "generate",
            "--rows",
            "3000",
            "--dims",
            "3",
            "--centers",
            "4",
            "--std",
            "0.6",
            "--seed",
            "11",
            "--output",
            name,
        ],
    );
}

fn sweep_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    sweep_over("2..7", extra)
}

/// A sweep of `blobs.parquet` over the range `ks`, with `extra` flags.
fn sweep_over<'a>(ks: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sweep",
        "--input",
        "blobs.parquet",
        "--id",
        "id",
        "--exclude",
        "true_segment",
        "--k",
        ks,
        "--seed",
        "3",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn sweep_recommends_the_number_of_blobs_by_every_criterion() {
    let scratch = Scratch::new("sweep");
    blobs(&scratch, "blobs.parquet");
    let run = strata_ok(
        &scratch.path,
        &sweep_args(&[
            "--backend",
            "cpu",
            "--gap-refs",
            "5",
            "--report",
            "sweep.json",
            "--csv",
            "sweep.csv",
            "--plot",
            "sweep.svg",
        ]),
    );
    assert!(
        run.stdout.contains("recommended k = 4 (by silhouette)"),
        "{}",
        run.stdout
    );
    let report = json(&scratch.join("sweep.json"));
    // How the rows were read and cleaned, as a fit's report says it.
    let params = &report["params"];
    assert_eq!(params["missing"], "error");
    assert_eq!(params["null_values"], serde_json::json!([]));
    assert_eq!(params["encoding"], "utf-8");
    assert_eq!(params["duplicates"], "error");
    let recommended = &report["recommended"];
    assert_eq!(recommended["k"], 4);
    assert_eq!(recommended["criterion"], "silhouette");
    for criterion in [
        "elbow",
        "silhouette",
        "gap",
        "davies_bouldin",
        "calinski_harabasz",
    ] {
        assert_eq!(recommended[criterion], 4, "{criterion}: {recommended}");
    }
    let results = report["results"].as_array().unwrap();
    let ks: Vec<u64> = results.iter().map(|r| r["k"].as_u64().unwrap()).collect();
    assert_eq!(ks, [2, 3, 4, 5, 6, 7]);
    for r in results {
        for key in [
            "inertia",
            "silhouette",
            "davies_bouldin",
            "calinski_harabasz",
            "gap",
            "gap_se",
        ] {
            assert!(r[key].is_number(), "k = {}: {key} missing", r["k"]);
        }
        assert_eq!(r["silhouette_method"], "exact");
    }
    // Inertia falls with k; a well-separated k has a clearly positive gap.
    let inertia: Vec<f64> = results
        .iter()
        .map(|r| r["inertia"].as_f64().unwrap())
        .collect();
    assert!(inertia.windows(2).all(|w| w[1] < w[0]), "{inertia:?}");
    assert!(results[2]["gap"].as_f64().unwrap() > 1.0);

    let csv = std::fs::read_to_string(scratch.join("sweep.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("k,inertia,silhouette,silhouette_method,davies_bouldin"));
    assert_eq!(lines.len(), 7);
    let row4: Vec<&str> = lines[3].split(',').collect();
    assert_eq!(row4[0], "4");
    assert_close(
        "csv inertia",
        row4[1].parse().unwrap(),
        inertia[2],
        1e-12,
        0.0,
    );

    let svg = std::fs::read_to_string(scratch.join("sweep.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("Recommended: k = 4 (by silhouette)"));
    assert!(svg.contains("Gap statistic"));

    // The reference sets are fitted side by side: the numbers do not depend on the threads.
    for threads in ["1", "3"] {
        let report = format!("sweep-{threads}.json");
        strata_ok(
            &scratch.path,
            &sweep_args(&[
                "--backend",
                "cpu",
                "--gap-refs",
                "5",
                "--threads",
                threads,
                "--report",
                &report,
            ]),
        );
        let again = json(&scratch.join(&report));
        for (a, b) in results.iter().zip(again["results"].as_array().unwrap()) {
            for key in ["inertia", "silhouette", "gap", "gap_se"] {
                assert_eq!(a[key], b[key], "k = {}, --threads {threads}: {key}", a["k"]);
            }
        }
    }
}

#[test]
fn each_k_of_a_sweep_is_the_fit_of_that_k_and_fit_can_choose_k() {
    let scratch = Scratch::new("sweep-fit");
    blobs(&scratch, "blobs.parquet");
    strata_ok(
        &scratch.path,
        &sweep_args(&[
            "--backend",
            "cpu",
            "--gap-refs",
            "0",
            "--report",
            "sweep.json",
        ]),
    );
    let sweep = json(&scratch.join("sweep.json"));
    for r in sweep["results"].as_array().unwrap() {
        assert!(r["gap"].is_null(), "--gap-refs 0 computes no gap");
        let k = r["k"].to_string();
        strata_ok(
            &scratch.path,
            &fit_blobs(
                "blobs.parquet",
                &k,
                &["--seed", "3", "--backend", "cpu", "--report", "fit.json"],
            ),
        );
        let fit = json(&scratch.join("fit.json"));
        assert_eq!(fit["inertia"], r["inertia"], "k = {k}");
        assert_eq!(fit["silhouette"]["value"], r["silhouette"], "k = {k}");
        assert_eq!(fit["davies_bouldin"], r["davies_bouldin"], "k = {k}");
    }

    // fit --k 2..7 chooses by the sweep's default criterion and says so.
    let run = strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "blobs.parquet",
            "--id",
            "id",
            "--exclude",
            "true_segment",
            "--k",
            "2..7",
            "--seed",
            "3",
            "--backend",
            "cpu",
            "--report",
            "chosen.json",
            "--output",
            "seg.csv",
        ],
    );
    assert!(run.stderr.contains("k = 4 chosen from"), "{}", run.stderr);
    let chosen = json(&scratch.join("chosen.json"));
    assert_eq!(chosen["params"]["k"], 4);
    assert_eq!(chosen["segments"].as_array().unwrap().len(), 4);
    let selection = &chosen["k_selection"];
    assert_eq!(selection["criterion"], "silhouette");
    assert_eq!(selection["candidates"].as_array().unwrap().len(), 6);
    assert_eq!(selection["recommended"]["k"], 4);
    assert_eq!(
        chosen["inertia"], sweep["results"][2]["inertia"],
        "the chosen fit is the sweep's k = 4"
    );
}

#[test]
fn bad_sweeps_exit_with_usage_or_input_errors_and_leave_nothing() {
    let scratch = Scratch::new("sweep-bad");
    blobs(&scratch, "blobs.parquet");
    let outputs = ["--report", "r.json", "--csv", "r.csv", "--plot", "r.svg"];
    let cases: [(&[&str], i32, &str); 5] = [
        (&["--k", "5..2"], 2, "the range is empty"),
        (&["--k", "0..3"], 2, "at least 1"),
        (&["--k", "2,x"], 2, "--k must be a number"),
        (
            &["--k", "2..4", "--init", "centroids.csv"],
            2,
            "an init file fixes",
        ),
        (
            &["--k", "2..4", "--gap-rows", "3"],
            2,
            "--gap-rows 3 is below the largest k",
        ),
    ];
    for (flags, code, words) in cases {
        let mut args = vec![
            "sweep",
            "--input",
            "blobs.parquet",
            "--exclude",
            "true_segment",
        ];
        args.extend_from_slice(flags);
        args.extend_from_slice(&outputs);
        strata_fails(&scratch.path, &args, code, &[words]);
        assert_eq!(scratch.files(), ["blobs.parquet"], "{flags:?} left a file");
    }
    let run = strata(
        &scratch.path,
        &[
            "sweep",
            "--input",
            "missing.parquet",
            "--k",
            "2..3",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(run.code, 66, "{}", run.stderr);
    // k above the distinct rows of the data.
    scratch.write("tiny.csv", "a,b\n1,2\n3,4\n5,6\n");
    let run = strata(
        &scratch.path,
        &[
            "sweep", "--input", "tiny.csv", "--k", "2..4", "--csv", "t.csv",
        ],
    );
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert!(!scratch.join("t.csv").exists());
    strata_fails(
        &scratch.path,
        &[
            "fit", "--input", "tiny.csv", "--k", "1..2", "--init", "tiny.csv",
        ],
        2,
        &["give a single --k"],
    );
}

#[test]
fn a_sweep_table_named_tsv_is_separated_by_tabs() {
    let scratch = Scratch::new("sweep-tsv");
    blobs(&scratch, "blobs.parquet");
    for name in ["sweep.csv", "sweep.tsv"] {
        strata_ok(
            &scratch.path,
            &sweep_over("2..3", &["--backend", "cpu", "--csv", name]),
        );
    }
    // Each row but its last field, the seconds the fit took.
    let fields = |name: &str, separator: char| -> Vec<Vec<String>> {
        std::fs::read_to_string(scratch.join(name))
            .unwrap()
            .lines()
            .map(|line| {
                let mut fields: Vec<String> = line.split(separator).map(String::from).collect();
                fields.pop();
                fields
            })
            .collect()
    };
    let tabs = fields("sweep.tsv", '\t');
    assert_eq!(tabs.len(), 3);
    assert_eq!(tabs[0][..3], ["k", "inertia", "silhouette"]);
    assert_eq!(tabs, fields("sweep.csv", ','));
}

#[test]
fn gpu_sweep_matches_the_cpu_sweep() {
    if gpu().is_none() {
        return;
    }
    let scratch = Scratch::new("sweep-gpu");
    blobs(&scratch, "blobs.parquet");
    for backend in ["cpu", "gpu"] {
        strata_ok(
            &scratch.path,
            &sweep_args(&[
                "--backend",
                backend,
                "--gap-refs",
                "2",
                "--silhouette",
                "exact",
                "--report",
                &format!("{backend}.json"),
            ]),
        );
    }
    let (cpu, gpu) = (
        json(&scratch.join("cpu.json")),
        json(&scratch.join("gpu.json")),
    );
    assert_eq!(gpu["backend"]["kind"], "gpu");
    assert_eq!(cpu["recommended"], gpu["recommended"]);
    let pairs = cpu["results"]
        .as_array()
        .unwrap()
        .iter()
        .zip(gpu["results"].as_array().unwrap());
    for (c, g) in pairs {
        let k = &c["k"];
        for key in ["inertia", "gap"] {
            let (c, g) = (c[key].as_f64().unwrap(), g[key].as_f64().unwrap());
            assert_close(&format!("k = {k} {key}"), g, c, 1e-5, 1e-6);
        }
        let (cs, gs) = (
            c["silhouette"].as_f64().unwrap(),
            g["silhouette"].as_f64().unwrap(),
        );
        assert_close(&format!("k = {k} silhouette"), gs, cs, 0.0, 1e-5);
    }
}

#[test]
fn a_fit_stuck_in_a_poor_local_minimum_is_warned_about() {
    // Eight overlapping blobs: from one start per k, k = 3 keeps two blobs apart that belong
    // together and the step to k = 4 falls by 30%; three starts find the better k = 3.
    let scratch = Scratch::new("sweep-stuck");
    strata_ok(
        &scratch.path,
        &[
            "generate",
            "--rows",
            "5000",
            "--dims",
            "4",
            "--centers",
            "8",
            "--std",
            "3",
            "--seed",
            "5",
            "--output",
            "blobs.csv",
        ],
    );
    let sweep = |n_init: &str, report: &str| {
        let run = strata_ok(
            &scratch.path,
            &[
                "sweep",
                "--input",
                "blobs.csv",
                "--id",
                "id",
                "--exclude",
                "true_segment",
                "--k",
                "2..10",
                "--gap-refs",
                "0",
                "--silhouette",
                "none",
                "--n-init",
                n_init,
                "--report",
                report,
                "--backend",
                "cpu",
            ],
        );
        let inertia_at_3 = json(&scratch.join(report))["results"][1]["inertia"]
            .as_f64()
            .unwrap();
        (run.stderr, inertia_at_3)
    };
    let (one_start, one) = sweep("1", "one.json");
    assert!(
        one_start.contains("inertia fell by 30% from k = 3 to k = 4")
            && one_start.contains("--n-init 3"),
        "{one_start}"
    );
    let (three_starts, three) = sweep("3", "three.json");
    assert!(!three_starts.contains("inertia fell"), "{three_starts}");
    assert!(
        three < 0.9 * one,
        "k = 3: {three} from three starts, {one} from one"
    );
}
