//! From a transaction log to named segments: generate --transactions → rfm → fit with
//! profiles, labels and the marketing export; minimum segment size; label words.

use crate::util::{
    Scratch, assert_close, fit_blobs, json, read_arrow, strata, strata_fails, strata_ok,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, UInt32Type};
use std::collections::HashMap;

#[test]
fn transactions_become_segments_that_recover_the_personas_with_readable_labels() {
    let scratch = Scratch::new("rfm-path");
    let dir = &scratch.path;
    strata_ok(
        dir,
        &[
            "generate",
            "--transactions",
            "--customers",
            "4000",
            "--seed",
            "2",
            "--output",
            "tx.parquet",
        ],
    );
    strata_ok(
        dir,
        &[
            "rfm",
            "--input",
            "tx.parquet",
            "--customer",
            "customer_id",
            "--date",
            "date",
            "--amount",
            "amount",
            "--order",
            "order_id",
            "--output",
            "customers.parquet",
        ],
    );
    let run = strata_ok(
        dir,
        &[
            "fit",
            "--input",
            "customers.parquet",
            "--id",
            "customer_id",
            "--features",
            "recency_days,frequency,monetary,avg_order_value,tenure_days",
            "--log1p",
            "frequency,monetary,avg_order_value",
            "--k",
            "4",
            "--backend",
            "cpu",
            "--output",
            "segments.arrow",
            "--report",
            "report.json",
            "--export-csv",
            "tags.csv",
        ],
    );
    assert!(run.stdout.contains("mean (index: all rows = 100)") && run.stdout.contains("median"));

    // The hidden persona of every customer, from the log.
    let mut persona = HashMap::new();
    for batch in read_parquet(&scratch.join("tx.parquet")) {
        let ids = batch
            .column_by_name("customer_id")
            .unwrap()
            .as_primitive::<Int64Type>();
        let p = batch
            .column_by_name("persona")
            .unwrap()
            .as_primitive::<UInt32Type>();
        for (id, p) in ids.values().iter().zip(p.values()) {
            persona.insert(*id, *p);
        }
    }
    let (mut truth, mut found) = (Vec::new(), Vec::new());
    for batch in read_arrow(&scratch.join("segments.arrow")) {
        let ids = batch.column(0).as_primitive::<Int64Type>();
        let segments = batch.column(1).as_primitive::<UInt32Type>();
        for (id, s) in ids.values().iter().zip(segments.values()) {
            truth.push(persona[id]);
            found.push(*s);
        }
    }
    assert_eq!(truth.len(), 4000);
    let ari = strata::metrics::indices::adjusted_rand_index(&truth, &found);
    assert!(
        ari >= 0.9,
        "adjusted Rand index {ari} below the floor of 0.9"
    );

    let report = json(&scratch.join("report.json"));
    let segments = report["segments"].as_array().unwrap();
    let labels: Vec<&str> = segments
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    for words in ["lapsed", "new", "high spend", "small baskets", "recent"] {
        assert!(
            labels.iter().any(|l| l.to_lowercase().contains(words)),
            "no label says '{words}': {labels:?}"
        );
    }
    // The biggest spenders' segment is called high spend; profiles carry mean, median, index.
    let spend = |s: &serde_json::Value| s["profile"]["monetary"]["mean"].as_f64().unwrap();
    let top = segments
        .iter()
        .max_by(|a, b| spend(a).total_cmp(&spend(b)))
        .unwrap();
    assert!(
        top["label"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("high spend"),
        "{top}"
    );
    assert!(
        top["profile"]["monetary"]["index"].as_f64().unwrap() > 200.0,
        "{top}"
    );
    assert!(top["profile"]["monetary"]["median"].is_number());

    let export = std::fs::read_to_string(scratch.join("tags.csv")).unwrap();
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines[0], "customer_id,segment,segment_label");
    assert_eq!(lines.len(), 4001);
    for line in &lines[1..] {
        let mut parts = line.splitn(3, ',');
        let (_, segment, label) = (parts.next(), parts.next().unwrap(), parts.next().unwrap());
        let segment: usize = segment.parse().unwrap();
        assert_eq!(label, labels[segment], "{line}");
    }
}

fn read_parquet(path: &std::path::Path) -> Vec<arrow_array::RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Three blobs of 300 points and a far cluster of 6.
fn with_tiny_cluster(scratch: &Scratch) {
    let mut csv = String::from("id,a,b\n");
    let mut id = 0;
    for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
        for i in 0..300 {
            let (dx, dy) = ((i % 20) as f64 * 0.1 - 1.0, (i / 20) as f64 * 0.13 - 1.0);
            csv.push_str(&format!("{id},{},{}\n", cx + dx, cy + dy));
            id += 1;
        }
    }
    for i in 0..6 {
        csv.push_str(&format!("{id},{},{}\n", 30.0 + i as f64 * 0.1, 30.0));
        id += 1;
    }
    scratch.write("points.csv", &csv);
}

#[test]
fn segments_below_the_minimum_are_merged_until_all_meet_it() {
    let scratch = Scratch::new("min-size");
    with_tiny_cluster(&scratch);
    let fit = |min: &str, report: &str| {
        strata_ok(
            &scratch.path,
            &[
                "fit",
                "--input",
                "points.csv",
                "--id",
                "id",
                "--k",
                "4",
                "--backend",
                "cpu",
                "--min-segment-size",
                min,
                "--report",
                report,
            ],
        );
        json(&scratch.join(report))
    };
    // Without a minimum, k-means++ gives the far cluster its own segment of 6.
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "points.csv",
            "--id",
            "id",
            "--k",
            "4",
            "--backend",
            "cpu",
            "--report",
            "plain.json",
        ],
    );
    let plain = json(&scratch.join("plain.json"));
    let sizes = |r: &serde_json::Value| -> Vec<u64> {
        r["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["size"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(sizes(&plain), [300, 300, 300, 6]);

    let r = fit("2%", "two_percent.json");
    let info = &r["min_segment_size"];
    assert_eq!(info["requested"], "2%");
    assert_eq!(info["rows"], 19, "2% of 906 rows, rounded up");
    assert_eq!(
        (info["k_requested"].as_u64(), info["k_final"].as_u64()),
        (Some(4), Some(3))
    );
    assert_eq!(info["merged"].as_array().unwrap().len(), 1);
    assert_eq!(info["merged"][0]["size"], 6);
    assert_eq!(r["params"]["k"], 4, "params keep the requested k");
    let s = sizes(&r);
    assert_eq!(s.iter().sum::<u64>(), 906);
    assert!(s.len() == 3 && s.iter().all(|&n| n >= 19), "{s:?}");

    // A threshold above every blob merges down to one segment.
    let r = fit("400", "rows.json");
    assert_eq!(r["min_segment_size"]["k_final"], 1);
    assert_eq!(r["min_segment_size"]["merged"].as_array().unwrap().len(), 3);
    assert_eq!(sizes(&r), [906]);

    for bad in ["0", "abc", "150%", "0%"] {
        let run = strata(
            &scratch.path,
            &[
                "fit",
                "--input",
                "points.csv",
                "--k",
                "4",
                "--min-segment-size",
                bad,
                "--output",
                "x.arrow",
            ],
        );
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(run.stderr.contains("--min-segment-size"), "{}", run.stderr);
        assert!(!scratch.join("x.arrow").exists());
    }
}

#[test]
fn a_labels_file_names_other_features() {
    let scratch = Scratch::new("labels");
    with_tiny_cluster(&scratch);
    scratch.write("words.json", r#"{"a": {"high": "East", "low": "West"}}"#);
    scratch.write("broken.json", r#"{"a": "East"}"#);
    let run = strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "points.csv",
            "--id",
            "id",
            "--k",
            "3",
            "--min-segment-size",
            "10",
            "--labels",
            "words.json",
            "--backend",
            "cpu",
        ],
    );
    assert!(run.stdout.contains("East · Low b"), "{}", run.stdout);
    assert!(run.stdout.contains("West · High b"), "{}", run.stdout);
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "points.csv",
            "--k",
            "3",
            "--labels",
            "broken.json",
            "--export-csv",
            "t.csv",
        ],
        65,
        &["labels file"],
    );
    assert!(!scratch.join("t.csv").exists());
}

/// A nightly run warm-started from last night's model (`--init model.json`) starts from the
/// model's raw centroids, exactly as from a table of them, so segment i continues last night's
/// segment i; the features are matched by name; a model of another k or without one of the
/// features is refused.
#[test]
fn a_model_warm_starts_the_next_fit_and_keeps_its_segment_numbers() {
    let scratch = Scratch::new("warm-start");
    let generate = |rows: &str, output: &str| {
        strata_ok(
            &scratch.path,
            &[
                "generate",
                "--rows",
                rows,
                "--dims",
                "3",
                "--centers",
                "4",
                "--std",
                "2.5",
                "--seed",
                "1",
                "--output",
                output,
            ],
        );
    };
    // Tonight's table is last night's with 20% new customers after it.
    generate("3000", "night1.arrow");
    generate("3600", "night2.arrow");
    let fit = |input: &str, extra: &[&str], output: &str| {
        let args = [
            &fit_blobs(input, "4", extra)[..],
            &["--silhouette", "none", "--output", output],
        ]
        .concat();
        strata(&scratch.path, &args)
    };
    let night1 = fit("night1.arrow", &["--model", "m1.json"], "s1.csv");
    assert_eq!(night1.code, 0, "{}", night1.stderr);

    // The same start from a table of the model's raw centroids.
    let model = json(&scratch.join("m1.json"));
    let mut table = String::from("f0,f1,f2\n");
    for row in model["centroids_raw"].as_array().unwrap() {
        let values: Vec<String> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| format!("{}", v.as_f64().unwrap()))
            .collect();
        table.push_str(&(values.join(",") + "\n"));
    }
    scratch.write("c1.csv", &table);
    let warm = fit(
        "night2.arrow",
        &["--init", "m1.json", "--report", "r2.json"],
        "s2.csv",
    );
    assert_eq!(warm.code, 0, "{}", warm.stderr);
    let params = &json(&scratch.join("r2.json"))["params"];
    assert_eq!(
        (&params["init"], &params["init_file"]),
        (&"file".into(), &"m1.json".into())
    );
    let from_table = fit("night2.arrow", &["--init", "c1.csv"], "s2-table.csv");
    assert_eq!(from_table.code, 0, "{}", from_table.stderr);
    let read = |name: &str| std::fs::read_to_string(scratch.join(name)).unwrap();
    assert_eq!(read("s2.csv"), read("s2-table.csv"));

    // Last night's customers keep their segment numbers.
    let segments = |name: &str| -> Vec<u32> {
        crate::util::read_segments_csv(&scratch.join(name))
            .into_iter()
            .map(|r| r.1)
            .collect()
    };
    let (s1, s2) = (segments("s1.csv"), segments("s2.csv"));
    let kept = s1.iter().zip(&s2).filter(|(a, b)| a == b).count();
    assert!(kept >= 2970, "{kept} of 3,000 customers kept their segment");

    // Warm-started on last night's own table, the fit takes up where the model stopped (it
    // stopped on --tol, so one more step may move a row); features are matched by name, not
    // position, so the same table read in another column order reaches the same segments.
    let again = fit("night1.arrow", &["--init", "m1.json"], "s1-again.csv");
    assert_eq!(again.code, 0, "{}", again.stderr);
    let again = segments("s1-again.csv");
    let moved = s1.iter().zip(&again).filter(|(a, b)| a != b).count();
    assert!(moved <= 3, "{moved} rows moved on last night's own table");
    let reordered = fit(
        "night1.arrow",
        &["--features", "f2,f0,f1", "--init", "m1.json"],
        "s1-reordered.csv",
    );
    assert_eq!(reordered.code, 0, "{}", reordered.stderr);
    assert!(
        segments("s1-reordered.csv") == again,
        "column order changed the segments"
    );

    // Rolled forward in place: the model replaces itself with what a new path would get; a
    // report over it is still refused.
    std::fs::copy(scratch.join("m1.json"), scratch.join("current.json")).unwrap();
    let roll = |model: &str| {
        fit(
            "night2.arrow",
            &["--init", "current.json", "--model", model],
            "r.csv",
        )
    };
    assert_eq!(roll("next.json").code, 0);
    let rolled = roll("./current.json");
    assert_eq!(rolled.code, 0, "{}", rolled.stderr);
    assert_eq!(read("current.json"), read("next.json"));
    assert_ne!(read("current.json"), read("m1.json"));
    let over = fit(
        "night2.arrow",
        &["--init", "m1.json", "--report", "m1.json"],
        "x.csv",
    );
    assert_eq!(over.code, 2, "{}", over.stderr);

    let other_k = strata(
        &scratch.path,
        &[
            "fit",
            "--input",
            "night2.arrow",
            "--id",
            "id",
            "--exclude",
            "true_segment",
            "--k",
            "5",
            "--init",
            "m1.json",
            "--output",
            "x.csv",
        ],
    );
    assert_eq!(other_k.code, 65, "{}", other_k.stderr);
    assert!(
        other_k
            .stderr
            .contains("init model 'm1.json' holds 4 segments but --k is 5"),
        "{}",
        other_k.stderr
    );
    let other_features = fit(
        "night2.arrow",
        &["--features", "f0,f1,true_segment", "--init", "m1.json"],
        "x.csv",
    );
    assert_eq!(other_features.code, 65, "{}", other_features.stderr);
    assert!(
        other_features.stderr.contains(
            "init model 'm1.json' has no centroid values for feature(s) true_segment; it was \
             fitted on f0, f1, f2"
        ),
        "{}",
        other_features.stderr
    );
    assert!(!scratch.join("x.csv").exists());
}

/// A segment whose every value of a log1p feature is 0 has a raw centroid of 0 there, not a
/// rounding error below it, so last night's model warm-starts tonight's fit (it was refused
/// as a negative log1p value).
#[test]
fn a_log1p_feature_at_zero_keeps_its_centroid_at_zero_for_the_warm_start() {
    let scratch = Scratch::new("log1p-zero");
    let mut csv = String::from("id,a,b\n");
    for i in 0..3000u64 {
        if i < 1000 {
            csv.push_str(&format!(
                "{i},0,{}\n",
                10.0 + ((i * 37) % 100) as f64 / 100.0
            ));
        } else {
            let a = ((i * 7907) % 997) as f64 / 3.0 + 0.5;
            csv.push_str(&format!("{i},{a},{}\n", ((i * 53) % 100) as f64 / 100.0));
        }
    }
    scratch.write("zero.csv", &csv);
    let fit = |extra: &[&str]| {
        let args = [
            &[
                "fit", "--input", "zero.csv", "--id", "id", "--k", "3", "--log1p", "a",
            ][..],
            &["--silhouette", "none"],
            extra,
        ]
        .concat();
        strata(&scratch.path, &args)
    };
    let first = fit(&["--model", "m.json"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let model = json(&scratch.join("m.json"));
    let zero_segment: Vec<f64> = model["centroids_raw"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].as_f64().unwrap())
        .filter(|&a| a.abs() < 1e-3)
        .collect();
    assert_eq!(zero_segment, [0.0], "{}", model["centroids_raw"]);
    let warm = fit(&["--init", "m.json", "--output", "s.csv"]);
    assert_eq!(warm.code, 0, "{}", warm.stderr);

    // A model written before the clamp holds the rounding error: it warm-starts the same fit.
    let mut old = model.clone();
    for centroid in old["centroids_raw"].as_array_mut().unwrap() {
        if centroid[0].as_f64().unwrap() == 0.0 {
            centroid[0] = serde_json::json!(-2.3256183819178903e-8);
        }
    }
    scratch.write("old.json", &old.to_string());
    let from_old = fit(&["--init", "old.json", "--output", "s-old.csv"]);
    assert_eq!(from_old.code, 0, "{}", from_old.stderr);
    let read = |name: &str| std::fs::read_to_string(scratch.join(name)).unwrap();
    assert_eq!(read("s-old.csv"), read("s.csv"));
}

/// `--describe`: shares, indices, means and medians counted by hand on nine customers in two
/// obvious groups of four, and one dropped for its missing feature.
#[test]
fn described_columns_summarize_each_segment_by_hand_counted_shares() {
    let scratch = Scratch::new("describe");
    let dir = &scratch.path;
    scratch.write(
        "customers.csv",
        "id,x,region,age\n\
         a1,0.0,north,20\n\
         a2,0.1,north,30\n\
         z9,,west,99\n\
         a3,0.2,south,\n\
         a4,0.3,,40\n\
         b1,10.0,south,60\n\
         b2,10.1,south,70\n\
         b3,10.2,south,80\n\
         b4,10.3,east,90\n",
    );
    fn fit<'a>(more: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "fit",
            "--input",
            "customers.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--missing",
            "drop",
            "--backend",
            "cpu",
        ];
        args.extend_from_slice(more);
        args
    }
    let run = strata_ok(
        dir,
        &fit(&["--describe", "region,age", "--report", "report.json"]),
    );
    let report = json(&scratch.join("report.json"));
    // Described columns are never features, even numeric ones left to the default.
    assert_eq!(report["input"]["features"], serde_json::json!(["x"]));
    assert_eq!(
        report["params"]["describe"],
        serde_json::json!(["region", "age"])
    );
    let segments = report["segments"].as_array().unwrap();
    let low = segments
        .iter()
        .position(|s| s["centroid"]["x"].as_f64().unwrap() < 5.0)
        .unwrap();
    let (a, b) = (&segments[low]["described"], &segments[1 - low]["described"]);

    // Population (8 rows kept): south 4, north 2, east 1, missing 1; "west" was only on the
    // dropped row. Segment a: north 2, south 1, missing 1; segment b: south 3, east 1.
    let shares = |d: &serde_json::Value| -> Vec<(String, u64, f64, f64)> {
        d["region"]["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let f = |key: &str| c[key].as_f64().unwrap();
                (
                    c["value"].as_str().unwrap().to_string(),
                    f("count") as u64,
                    f("share"),
                    f("index"),
                )
            })
            .collect()
    };
    let want_a = [
        ("south", 1, 0.25, 50.0),
        ("north", 2, 0.5, 200.0),
        ("east", 0, 0.0, 0.0),
    ];
    let want_b = [
        ("south", 3, 0.75, 150.0),
        ("north", 0, 0.0, 0.0),
        ("east", 1, 0.25, 200.0),
    ];
    for (got, want) in [(shares(a), want_a), (shares(b), want_b)] {
        assert_eq!(got.len(), 3, "{got:?}");
        for ((value, count, share, index), (v, c, s, i)) in got.iter().zip(want) {
            assert_eq!((value.as_str(), *count), (v, c));
            assert_close(&format!("share of {v}"), *share, s, 1e-12, 0.0);
            assert_close(&format!("index of {v}"), *index, i, 1e-12, 0.0);
        }
    }
    assert!(a["region"].get("other").is_none());
    assert_eq!(a["region"]["missing"]["count"], 1);
    assert_close(
        "missing share",
        a["region"]["missing"]["index"].as_f64().unwrap(),
        200.0,
        1e-12,
        0.0,
    );
    assert_eq!(b["region"]["missing"]["count"], 0);
    let all = &report["described"]["region"]["categories"];
    assert_eq!(all[0]["value"], "south");
    assert_eq!(all[0]["count"], 4);

    // Ages: a holds 20, 30, 40 and one missing; b 60, 70, 80, 90. All present: 390 / 7.
    let population_mean = 390.0 / 7.0;
    for (d, count, missing, mean, median) in [(a, 3, 1, 30.0, 30.0), (b, 4, 0, 75.0, 70.0)] {
        let age = &d["age"];
        assert_eq!(
            (age["count"].as_u64(), age["missing"].as_u64()),
            (Some(count), Some(missing))
        );
        assert_close("mean age", age["mean"].as_f64().unwrap(), mean, 1e-12, 0.0);
        assert_close(
            "median age",
            age["median"].as_f64().unwrap(),
            median,
            0.0,
            0.0,
        );
        let index = age["index"].as_f64().unwrap();
        assert_close(
            "age index",
            index,
            mean / population_mean * 100.0,
            1e-12,
            0.0,
        );
    }
    assert_close(
        "population mean age",
        report["described"]["age"]["mean"].as_f64().unwrap(),
        population_mean,
        1e-12,
        0.0,
    );
    // The printed tables.
    assert!(
        run.stdout.contains("region: share of each segment"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("50.0% (200)") && run.stdout.contains("75.0% (150)"));

    // Ages as categories, when asked: each of the seven present ages once, in the order seen.
    strata_ok(
        dir,
        &fit(&["--describe", "age:categories", "--report", "ages.json"]),
    );
    let report = json(&scratch.join("ages.json"));
    let ages = &report["described"]["age"];
    let values: Vec<&str> = ages["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["20", "30", "40", "60", "70", "80", "90"]);
    assert_eq!(ages["missing"]["count"], 1);
    let segments = report["segments"].as_array().unwrap();
    let low = segments
        .iter()
        .position(|s| s["centroid"]["x"].as_f64().unwrap() < 5.0)
        .unwrap();
    let twenty = &segments[low]["described"]["age"]["categories"][0];
    assert_eq!(
        (&twenty["value"], &twenty["count"]),
        (&serde_json::json!("20"), &serde_json::json!(1))
    );
    // 1 of 4 rows against 1 of 8.
    assert_close(
        "index of 20",
        twenty["index"].as_f64().unwrap(),
        200.0,
        1e-12,
        0.0,
    );

    // A CSV's types come from its first 10,000 rows: a tier of numbers there, then words.
    let mut late = String::from("id,x,tier\n");
    for i in 0..10_050 {
        let tier = if i < 10_020 {
            (1 + i % 3).to_string()
        } else {
            "gold".to_string()
        };
        late.push_str(&format!("{i},{},{tier}\n", (i % 2) * 10));
    }
    scratch.write("late.csv", &late);
    let args = |tier| {
        [
            "fit",
            "--input",
            "late.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--describe",
            tier,
            "--report",
            "late.json",
        ]
    };
    strata_fails(dir, &args("tier"), 65, &["row 10020", "NAME:categories"]);
    strata_ok(dir, &args("tier:categories"));
    let counts: Vec<(String, u64)> =
        json(&scratch.join("late.json"))["described"]["tier"]["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["value"].as_str().unwrap().to_string(),
                    c["count"].as_u64().unwrap(),
                )
            })
            .collect();
    let want = [("1", 3340), ("2", 3340), ("3", 3340), ("gold", 30)];
    assert_eq!(counts, want.map(|(v, c)| (v.to_string(), c)));

    // Named both ways, or as the id: usage errors; a column that is not there: bad input.
    strata_fails(
        dir,
        &fit(&["--features", "x,age", "--describe", "age"]),
        2,
        &["'age'", "--describe"],
    );
    strata_fails(
        dir,
        &fit(&["--describe", "id"]),
        2,
        &["'id' is the id column"],
    );
    strata_fails(
        dir,
        &fit(&["--describe", "region,region:categories"]),
        2,
        &["twice"],
    );
    strata_fails(dir, &fit(&["--describe", "channel"]), 65, &["'channel'"]);
}
