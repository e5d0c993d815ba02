//! scikit-learn reference cases: from the same data and initial centroids, `strata fit` gives
//! scikit-learn's labels, centroids, inertia, iteration count, Davies–Bouldin and
//! Calinski–Harabasz (`KMeans(init=C, n_init=1, tol=0, algorithm="lloyd")`).

use crate::util::{Scratch, assert_close, fixtures, json, read_segments_csv, strata_ok};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(floats).collect()
}

/// Points whose two nearest reference centroids are within 1e-5 relative: either label is right.
fn near_tie(x: &[f64], centers: &[Vec<f64>]) -> bool {
    let mut d: Vec<f64> = centers
        .iter()
        .map(|c| x.iter().zip(c).map(|(a, b)| (a - b).powi(2)).sum())
        .collect();
    d.sort_by(f64::total_cmp);
    d.len() > 1 && (d[1] - d[0]) <= 1e-5 * d[1]
}

fn run_case(name: &str, backend: &str) {
    if backend == "gpu" && crate::parity::gpu().is_none() {
        return;
    }
    let case = fixtures().join("lloyd").join(name);
    let expected = json(&case.join("expected.json"));
    let scratch = Scratch::new(name);
    let k = expected["k"].as_u64().unwrap().to_string();
    let max_iter = expected["max_iter"].as_u64().unwrap().to_string();
    let normalize = expected["normalize"].as_str().unwrap().to_string();
    let log1p: Vec<&str> = expected["log1p"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let log1p = log1p.join(",");
    let (data, init) = (case.join("data.csv"), case.join("init.csv"));
    let mut args = vec![
        "fit",
        "--input",
        data.to_str().unwrap(),
        "--id",
        "id",
        "--k",
        &k,
        "--init",
        init.to_str().unwrap(),
        "--tol",
        "0",
        "--max-iter",
        &max_iter,
        "--normalize",
        &normalize,
        "--backend",
        backend,
        "--output",
        "seg.csv",
        "--model",
        "model.json",
        "--report",
        "report.json",
    ];
    if !log1p.is_empty() {
        args.extend(["--log1p", &log1p]);
    }
    strata_ok(&scratch.path, &args);

    let report = json(&scratch.join("report.json"));
    assert_eq!(
        report["backend"]["kind"], backend,
        "{name}: the report names the backend that ran"
    );
    let model = json(&scratch.join("model.json"));
    let segments = read_segments_csv(&scratch.join("seg.csv"));
    let want_labels: Vec<u64> = expected["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let want_centers = matrix(&expected["centers"]);
    assert_eq!(segments.len(), want_labels.len(), "{name}: row count");

    // Labels: equal, except points on a near-tie between two reference centroids.
    let normalized = normalized_points(&case, &model);
    let mut ties = 0;
    for (i, ((id, label, _), want)) in segments.iter().zip(&want_labels).enumerate() {
        assert_eq!(id, &i.to_string(), "{name}: rows in input order");
        if u64::from(*label) != *want {
            assert!(
                near_tie(&normalized[i], &want_centers),
                "{name}: row {i} label {label}, scikit-learn {want}"
            );
            ties += 1;
        }
    }
    assert!(ties <= 1, "{name}: {ties} near-tie label differences");

    assert_close(
        &format!("{name}: inertia"),
        report["inertia"].as_f64().unwrap(),
        expected["inertia"].as_f64().unwrap(),
        1e-5,
        1e-9,
    );
    assert_eq!(
        report["iterations"], expected["n_iter"],
        "{name}: iterations"
    );
    let got_centers = matrix(&model["centroids"]);
    for (c, (got, want)) in got_centers.iter().zip(&want_centers).enumerate() {
        for (j, (g, w)) in got.iter().zip(want).enumerate() {
            assert_close(
                &format!("{name}: centroid {c} feature {j}"),
                *g,
                *w,
                1e-4,
                1e-4,
            );
        }
    }
    for key in ["davies_bouldin", "calinski_harabasz"] {
        match expected[key].as_f64() {
            Some(want) => assert_close(
                &format!("{name}: {key}"),
                report[key].as_f64().unwrap(),
                want,
                1e-5,
                1e-5,
            ),
            None => assert!(report[key].is_null(), "{name}: {key} should be undefined"),
        }
    }
}

/// The data of a case in the normalized space, computed here from the model's saved transform.
fn normalized_points(case: &std::path::Path, model: &Value) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(case.join("data.csv")).unwrap();
    let center = floats(&model["transform"]["center"]);
    let scale = floats(&model["transform"]["scale"]);
    let features: Vec<String> = model["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let log1p: Vec<String> = model["transform"]["log1p"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    text.lines()
        .skip(1)
        .map(|line| {
            line.split(',')
                .skip(1)
                .enumerate()
                .map(|(j, v)| {
                    let v: f64 = v.parse().unwrap();
                    let v = if log1p.contains(&features[j]) {
                        v.ln_1p()
                    } else {
                        v
                    };
                    (v - center[j]) / scale[j]
                })
                .collect()
        })
        .collect()
}

macro_rules! reference_cases {
    ($backend:ident: $($name:ident),*) => {
        mod $backend {
            $(
                #[test]
                fn $name() {
                    super::run_case(stringify!($name), stringify!($backend));
                }
            )*
        }
    };
}

reference_cases!(cpu: blobs_2d, blobs_16d, d1, k1, k_equals_n, ties, empty_cluster, max_iter_2, zscore_log1p, minmax);
reference_cases!(gpu: blobs_2d, blobs_16d, d1, k1, k_equals_n, ties, empty_cluster, max_iter_2, zscore_log1p, minmax);
