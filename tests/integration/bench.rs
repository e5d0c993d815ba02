//! `strata bench`: the report's arithmetic, agreement between backends, and bad flags.

use crate::parity::gpu;
use crate::util::{Run, Scratch, assert_close, json, strata_env, strata_fails, strata_ok};

/// `strata bench` on 3,000 generated rows × 4, k = 6, 5 iterations, with extra environment.
fn bench_run(scratch: &Scratch, backends: &str, report: &str, env: &[(&str, &str)]) -> Run {
    let run = strata_env(
        &scratch.path,
        &[
            "bench",
            "--rows",
            "3000",
            "--dims",
            "4",
            "--k",
            "6",
            "--iters",
            "5",
            "--backends",
            backends,
            "--report",
            report,
        ],
        env,
    );
    assert_eq!(run.code, 0, "strata bench failed:\n{}", run.stderr);
    run
}

fn bench(scratch: &Scratch, backends: &str, report: &str) -> serde_json::Value {
    bench_run(scratch, backends, report, &[]);
    json(&scratch.join(report))
}

#[test]
fn bench_reports_consistent_throughput_and_agreement() {
    let scratch = Scratch::new("bench");
    let report = bench(&scratch, "cpu,cpu", "cpu.json");
    let data = &report["data"];
    assert_eq!(
        (
            data["rows"].as_u64(),
            data["dims"].as_u64(),
            data["k"].as_u64()
        ),
        (Some(3000), Some(4), Some(6))
    );
    let backends = report["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 2);
    for b in backends {
        let lloyd = b["times_s"]["lloyd"].as_f64().unwrap();
        assert!(lloyd > 0.0);
        assert_close(
            "ms/iter",
            b["ms_per_iteration"].as_f64().unwrap(),
            1000.0 * lloyd / 5.0,
            1e-9,
            0.0,
        );
        assert_close(
            "GFLOP/s",
            b["gflops"].as_f64().unwrap(),
            2.0 * 3000.0 * 6.0 * 4.0 * 5.0 / lloyd / 1e9,
            1e-9,
            0.0,
        );
        assert_close(
            "GB/s",
            b["gbps"].as_f64().unwrap(),
            3000.0 * 4.0 * 4.0 * 5.0 / lloyd / 1e9,
            1e-9,
            0.0,
        );
    }
    // The same backend twice: the same labels and inertia, exactly.
    assert!(backends[0]["agreement"].is_null());
    let agreement = &backends[1]["agreement"];
    assert_eq!(agreement["adjusted_rand_index"], 1.0);
    assert_eq!(agreement["relative_inertia_difference"], 0.0);
    assert_eq!(backends[0]["inertia"], backends[1]["inertia"]);

    // A file instead of generated data.
    scratch.write(
        "points.csv",
        "id,a,b\n1,0,0\n2,0,1\n3,5,5\n4,5,6\n5,9,0\n6,9,1\n",
    );
    let run = strata_ok(
        &scratch.path,
        &[
            "bench",
            "--input",
            "points.csv",
            "--exclude",
            "id",
            "--k",
            "3",
            "--iters",
            "2",
        ],
    );
    assert!(
        run.stdout.contains("6 rows × 2 features, k = 3"),
        "{}",
        run.stdout
    );

    for (flags, words) in [
        (&["--backends", "tpu"][..], "invalid value"),
        (&["--k", "0"][..], "--k must be between 1"),
        (&["--iters", "0"][..], "--iters must be at least 1"),
        (&["--k", "101"][..], "--k must be between 1"),
    ] {
        let mut args = vec![
            "bench", "--rows", "100", "--dims", "2", "--report", "bad.json",
        ];
        args.extend_from_slice(flags);
        strata_fails(&scratch.path, &args, 2, &[words]);
        assert!(!scratch.join("bad.json").exists());
    }
}

#[test]
fn bench_gpu_agrees_with_cpu() {
    if gpu().is_none() {
        return;
    }
    let scratch = Scratch::new("bench-gpu");
    let report = bench(&scratch, "cpu,gpu", "both.json");
    let gpu = &report["backends"][1];
    assert_eq!(gpu["info"]["kind"], "gpu");
    assert!(gpu["times_s"]["device"].as_f64().unwrap() > 0.0);
    let agreement = &gpu["agreement"];
    assert_eq!(agreement["against"], "cpu");
    assert!(
        agreement["adjusted_rand_index"].as_f64().unwrap() > 0.999,
        "{agreement}"
    );
    assert!(
        agreement["relative_inertia_difference"].as_f64().unwrap() < 1e-5,
        "{agreement}"
    );
}

/// `STRATA_GPU_PROFILE=1`: every Lloyd kernel is timed once per iteration and chunk, the GPU's
/// idle time is measured between consecutive submissions, and the GPU timeline (kernels plus
/// gaps) fits inside the phase's wall time. Both forms of the Lloyd step: three kernels and,
/// with `STRATA_GPU_FUSED_STEP=1`, one pass (`assign_accumulate`).
#[test]
fn bench_gpu_profile_times_every_kernel_and_the_gaps() {
    profiled_bench("1", &["assign_accumulate", "fold_ranges"]);
    profiled_bench(
        "0",
        &[
            "assign_registers",
            "sort_by_cluster_small",
            "accumulate",
            "fold_ranges",
        ],
    );
}

fn profiled_bench(fused: &str, lloyd_kernels: &[&str]) {
    if gpu().is_none() {
        return;
    }
    let scratch = Scratch::new("bench-profile");
    let run = bench_run(
        &scratch,
        "gpu",
        "p.json",
        &[
            ("STRATA_GPU_PROFILE", "1"),
            ("STRATA_GPU_CHUNK_ROWS", "1000"),
            ("STRATA_GPU_FUSED_STEP", fused),
        ],
    );
    let gpu = &json(&scratch.join("p.json"))["backends"][0];
    let kernels = &gpu["kernels"];
    if kernels.is_null() {
        assert!(
            run.stderr.contains("no timestamp queries"),
            "{}",
            run.stderr
        );
        return;
    }
    // 5 iterations × 3 chunks, one submission each.
    let lloyd = kernels["lloyd"].as_array().unwrap();
    let names: Vec<&str> = lloyd
        .iter()
        .map(|t| t["kernel"].as_str().unwrap())
        .collect();
    assert_eq!(names, lloyd_kernels);
    let mut busy = 0.0;
    for t in lloyd {
        assert_eq!(t["dispatches"], 15, "{t}");
        let ms = t["total_ms"].as_f64().unwrap();
        assert!(ms > 0.0, "{t}");
        busy += ms;
    }
    let idle = &kernels["lloyd_idle"];
    assert_eq!(idle["gaps"], 14, "{idle}");
    let idle_ms = idle["total_ms"].as_f64().unwrap();
    assert!(idle_ms >= 0.0, "{idle}");
    let wall_ms = 1000.0 * gpu["times_s"]["lloyd"].as_f64().unwrap();
    assert!(
        busy + idle_ms <= wall_ms,
        "GPU time {busy} + idle {idle_ms} ms past the phase's {wall_ms} ms"
    );
    // Seeding: one distance update per centre and chunk, one trial round per later centre.
    let seed: Vec<(String, u64)> = kernels["seed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let name = t["kernel"].as_str().unwrap().to_string();
            (name, t["dispatches"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        seed,
        [
            ("seed_update".to_string(), 18),
            ("seed_trials".to_string(), 15)
        ]
    );
    assert_eq!(kernels["seed_idle"]["gaps"], 32);
    assert!(
        run.stdout
            .contains("lloyd   (GPU idle between)            14 gaps"),
        "{}",
        run.stdout
    );
}
