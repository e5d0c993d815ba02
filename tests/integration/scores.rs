//! Silhouette, Davies–Bouldin and Calinski–Harabasz against scikit-learn's `silhouette_score`,
//! `silhouette_samples`, `davies_bouldin_score` and `calinski_harabasz_score` on labelled data
//! (singleton clusters, d = 1, absent labels), within 1e-5 absolute, on every backend.

use crate::parity::{Make, cpu_backend, gpu_backend};
use crate::util::{Scratch, assert_close, fixtures, json, read_arrow, strata_ok};
use strata::data::matrix::Matrix;
use strata::metrics::indices::validity_indices;
use strata::metrics::silhouette::{self, SilhouetteMode};

/// A fixture: points, labels as dense codes 0..k (absent codes allowed), k.
fn load(name: &str) -> (Matrix, Vec<u32>, usize, serde_json::Value) {
    let folder = fixtures().join("scores").join(name);
    let text = std::fs::read_to_string(folder.join("data.csv")).unwrap();
    let mut values = Vec::new();
    let mut labels = Vec::new();
    let mut dims = 0;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        dims = fields.len() - 1;
        values.extend(fields[..dims].iter().map(|v| v.parse::<f32>().unwrap()));
        labels.push(fields[dims].parse::<u32>().unwrap());
    }
    let k = *labels.iter().max().unwrap() as usize + 1;
    (
        Matrix::from_vec(values, dims),
        labels,
        k,
        json(&folder.join("expected.json")),
    )
}

fn scores_match(make: Make, name: &str) {
    let (points, labels, k, expected) = load(name);
    let Some(mut backend) = make(&points, None) else {
        return;
    };
    let samples = silhouette::exact(backend.as_mut(), &points, &labels, k)
        .unwrap()
        .unwrap();
    let want: Vec<f64> = expected["silhouette_samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    for (i, (&got, &want)) in samples.iter().zip(&want).enumerate() {
        assert_close(
            &format!("{name}: silhouette of row {i}"),
            f64::from(got),
            want,
            0.0,
            1e-5,
        );
    }
    let mean = samples.iter().map(|&s| f64::from(s)).sum::<f64>() / samples.len() as f64;
    assert_close(
        &format!("{name}: silhouette"),
        mean,
        expected["silhouette"].as_f64().unwrap(),
        0.0,
        1e-5,
    );
    let indices = validity_indices(&points, &labels, k);
    assert_close(
        &format!("{name}: Davies–Bouldin"),
        indices.davies_bouldin.unwrap(),
        expected["davies_bouldin"].as_f64().unwrap(),
        0.0,
        1e-5,
    );
    assert_close(
        &format!("{name}: Calinski–Harabasz"),
        indices.calinski_harabasz.unwrap(),
        expected["calinski_harabasz"].as_f64().unwrap(),
        0.0,
        1e-5,
    );
}

macro_rules! score_suite {
    ($($backend:ident => $make:expr),*) => {$(
        mod $backend {
            #[test]
            fn blobs() { super::scores_match($make, "blobs"); }
            #[test]
            fn d1() { super::scores_match($make, "d1"); }
            #[test]
            fn singletons() { super::scores_match($make, "singletons"); }
            #[test]
            fn label_gap() { super::scores_match($make, "label_gap"); }
        }
    )*};
}

score_suite!(cpu => super::cpu_backend, gpu => super::gpu_backend);

#[test]
fn a_sample_of_everything_is_exact_and_a_smaller_sample_is_near_it() {
    let (points, labels, k, expected) = load("blobs");
    let centroids = Matrix::zeros(k, points.cols());
    let mut backend = cpu_backend(&points, None).unwrap();
    let exact = expected["silhouette"].as_f64().unwrap();
    let all = silhouette::score(
        backend.as_mut(),
        &points,
        &labels,
        &centroids,
        SilhouetteMode::Sample(400),
        0,
        false,
    )
    .unwrap();
    assert_eq!(all.method, "exact");
    assert_close("sample of all", all.value.unwrap(), exact, 0.0, 1e-5);
    let some = silhouette::score(
        backend.as_mut(),
        &points,
        &labels,
        &centroids,
        SilhouetteMode::Sample(150),
        0,
        false,
    )
    .unwrap();
    assert_eq!((some.method, some.sample_size), ("sampled", Some(150)));
    let se = some.std_error.unwrap();
    assert!(se > 0.0 && se < 0.05, "standard error {se}");
    assert!(
        (some.value.unwrap() - exact).abs() < 4.0 * se,
        "sampled {} vs exact {exact} (se {se})",
        some.value.unwrap()
    );
}

#[test]
fn simplified_silhouette_matches_a_hand_computation() {
    // Points 0 and 10 on a line, centroids 1 and 9: a = 1, b = 9 → (9 − 1)/9 for both.
    let points = Matrix::from_vec(vec![0.0, 10.0], 1);
    let centroids = Matrix::from_vec(vec![1.0, 9.0], 1);
    let values = silhouette::simplified(&points, &[0, 1], &centroids);
    assert!(
        (f64::from(values[0]) - 8.0 / 9.0).abs() < 1e-6 && values[0] == values[1],
        "{values:?}"
    );
}

#[test]
fn fit_reports_silhouette_per_segment_and_per_point() {
    let scratch = Scratch::new("silhouette-fit");
    let data = fixtures().join("scores/blobs/data.csv");
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            data.to_str().unwrap(),
            "--exclude",
            "label",
            "--k",
            "4",
            "--normalize",
            "none",
            "--silhouette",
            "exact",
            "--per-point-silhouette",
            "--output",
            "seg.arrow",
            "--report",
            "r.json",
        ],
    );
    let report = json(&scratch.join("r.json"));
    assert_eq!(report["silhouette"]["method"], "exact");
    let value = report["silhouette"]["value"].as_f64().unwrap();
    let batches = read_arrow(&scratch.join("seg.arrow"));
    let column = batches[0]
        .column_by_name("silhouette")
        .expect("silhouette column");
    let per_point = column
        .as_any()
        .downcast_ref::<arrow_array::Float32Array>()
        .unwrap();
    let mean = per_point
        .values()
        .iter()
        .map(|&v| f64::from(v))
        .sum::<f64>()
        / per_point.len() as f64;
    assert_close("mean of the column", mean, value, 0.0, 1e-6);
    for segment in report["segments"].as_array().unwrap() {
        let s = segment["silhouette"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&s), "segment silhouette {s}");
    }
}

/// The GPU's exact silhouette equals the CPU's per point when the points span many of the
/// kernel's tiles and several passes (on a software adapter about 2,980 columns per pass with
/// four points per invocation in registers, d ≤ 16; past 64 features, where the point is read
/// 16 vec4s at a time, 5,460 at d = 70 and 4,680 at d = 150, in three blocks and tiles of 26).
/// Before the passes, llvmpipe's cap of 65,535 loop iterations per invocation silently cut the
/// walk short; with passes sized by vec4s alone (16,384 columns at d ≤ 4, 8,192 at d = 8) it
/// still did at 7,000 × 4 and 8,000 × 8, where nearly every score came out wrong.
#[test]
fn gpu_exact_silhouette_matches_the_cpu_over_many_tiles() {
    for (rows, dims, k) in [
        (3_000, 3, 5),
        (7_000, 4, 5),
        (8_000, 8, 5),
        (6_000, 16, 6),
        (6_000, 70, 4),
        (5_000, 150, 3),
    ] {
        let points = crate::parity::blob_matrix(rows, dims, k, 9);
        let labels: Vec<u32> = (0..rows as usize)
            .map(|i| {
                let x = points.row(i);
                // A labelling that is neither perfect nor random: by the first two features.
                (((x[0] + 6.0) * 7.0 + (x[dims.min(2) - 1] + 6.0) * 3.0) as u32) % k as u32
            })
            .collect();
        exact_silhouettes_agree(gpu_backend, &format!("d = {dims}"), &points, &labels, k);
    }
}

/// The exact silhouette of every row from the backend `make` builds equals the CPU's within
/// 1e-5 (skipped with the backend's note when it is not available).
pub fn exact_silhouettes_agree(make: Make, what: &str, points: &Matrix, labels: &[u32], k: usize) {
    let Some(mut backend) = make(points, None) else {
        return;
    };
    let mut cpu = cpu_backend(points, None).unwrap();
    let got = silhouette::exact(backend.as_mut(), points, labels, k)
        .unwrap()
        .unwrap();
    let want = silhouette::exact(cpu.as_mut(), points, labels, k)
        .unwrap()
        .unwrap();
    for (i, (g, c)) in got.iter().zip(&want).enumerate() {
        assert_close(
            &format!("{what}: silhouette of row {i}"),
            f64::from(*g),
            f64::from(*c),
            0.0,
            1e-5,
        );
    }
}
