//! Bad input: every case exits with its contract code, names what was wrong, and leaves no
//! output file behind (not even a temporary one).

use crate::util::{Scratch, json, strata, strata_env, strata_fails, strata_ok, write_arrow};

const GOOD: &str = "id,a,b,name\n1,1.0,2.0,x\n2,2.0,1.0,y\n3,8.0,9.0,z\n4,9.0,8.0,w\n";

/// Runs `fit` on `csv` with extra flags; checks the exit code, the words of the message, and
/// that the folder holds only the input files afterwards.
fn expect_failure(name: &str, csv: &str, extra: &[&str], code: i32, words: &[&str]) {
    let scratch = Scratch::new(name);
    scratch.write("in.csv", csv);
    let before = scratch.files();
    let mut args = vec![
        "fit",
        "--output",
        "seg.arrow",
        "--model",
        "model.json",
        "--report",
        "report.json",
    ];
    if !extra.contains(&"--input") {
        args.extend(["--input", "in.csv"]);
    }
    args.extend_from_slice(extra);
    strata_fails(&scratch.path, &args, code, words);
    assert_eq!(
        scratch.files(),
        before,
        "{name}: a failed run must leave no file behind"
    );
}

#[test]
fn missing_input_file() {
    expect_failure(
        "missing-file",
        GOOD,
        &["--k", "2", "--input", "nope.csv"],
        66,
        &["cannot open input 'nope.csv'"],
    );
}

#[test]
fn unknown_feature_lists_the_columns() {
    expect_failure(
        "unknown-feature",
        GOOD,
        &["--k", "2", "--features", "a,zz"],
        65,
        &["'zz' is not in the input", "id, a, b, name"],
    );
}

#[test]
fn unknown_id_column() {
    expect_failure(
        "unknown-id",
        GOOD,
        &["--k", "2", "--id", "customer"],
        65,
        &["id column 'customer'"],
    );
}

#[test]
fn text_that_is_not_utf8_says_how_to_read_it() {
    // A spreadsheet saving plain "CSV" on Windows writes its code page: é is the one byte
    // 0xE9, in the first rows (read to infer the types) or far below them (while decoding).
    let scratch = Scratch::new("not-utf8");
    let mut early = b"id,name,a,b\n1,Ren".to_vec();
    early.extend([0xE9]);
    early.extend(b",1,2\n2,Al,3,4\n3,Bo,9,9\n");
    let mut late = b"id,name,a,b\n".to_vec();
    for i in 0..12_000 {
        late.extend(format!("{i},Al,{},{}\n", i % 7, i % 5).as_bytes());
    }
    late.extend(b"12000,Zo");
    late.extend([0xEB]);
    late.extend(b",1,2\n");
    for (name, bytes) in [("early.csv", early), ("late.csv", late)] {
        std::fs::write(scratch.join(name), bytes).unwrap();
        strata_fails(
            &scratch.path,
            &[
                "fit", "--input", name, "--id", "id", "--k", "2", "--output", "s.arrow",
            ],
            65,
            &["this text is not UTF-8", "--encoding windows-1252 reads"],
        );
        assert!(!scratch.join("s.arrow").exists());
        // The way out works.
        strata_ok(
            &scratch.path,
            &[
                "fit",
                "--input",
                name,
                "--id",
                "id",
                "--k",
                "2",
                "--output",
                "s.arrow",
                "--encoding",
                "windows-1252",
            ],
        );
        std::fs::remove_file(scratch.join("s.arrow")).unwrap();
    }
}

#[test]
fn non_numeric_feature() {
    // A CSV's types are only inferred: a text column named as a feature is read as numbers,
    // and the first value that is not one is named with its column and row.
    expect_failure(
        "non-numeric",
        GOOD,
        &["--k", "2", "--features", "a,name"],
        65,
        &["value 'x'", "for column 'name' at row 0"],
    );
}

#[test]
fn nulls_name_the_column_and_count() {
    let csv = "id,a,b\n1,1.0,2.0\n2,,1.0\n3,8.0,\n4,,8.0\n";
    expect_failure(
        "nulls",
        csv,
        &["--k", "2", "--id", "id"],
        65,
        &[
            "'a': 2 (first at row 1)",
            "'b': 1 (first at row 2)",
            "--missing",
        ],
    );
}

#[test]
fn nan_is_missing() {
    let csv = "a,b\n1.0,2.0\nNaN,1.0\n3.0,4.0\n";
    expect_failure("nan", csv, &["--k", "2"], 65, &["'a': 1 (first at row 1)"]);
}

#[test]
fn infinity_is_an_error() {
    let csv = "a,b\n1.0,2.0\n2.0,-inf\n3.0,4.0\n";
    expect_failure(
        "inf",
        csv,
        &["--k", "2"],
        65,
        &["'b' has 1 infinite", "row 1"],
    );
}

#[test]
fn a_value_past_the_f32_range_is_shown_as_written_in_short() {
    // A double too large for f32 is named with its row, in scientific notation, not in the
    // hundreds of digits of its plain decimal form.
    for (value, shown) in [("3.5e38", "(3.5e38)"), ("-6.25e300", "(-6.25e300)")] {
        let csv = format!("a,b\n1.0,2.0\n2.0,3.0\n3.0,{value}\n");
        expect_failure(
            "past-f32",
            &csv,
            &["--k", "2"],
            65,
            &[
                "'b' has 1 infinite or out-of-range value(s), the first at row 2",
                shown,
            ],
        );
    }
}

/// Fits `csv` (columns id, recency, spend, share) in `scratch`, whose spend and share columns
/// hold numbers as a spreadsheet shows them, `examples` the first of each: the warning names
/// both with their example and says what to do, and recency alone is clustered.
fn fit_formatted(scratch: &Scratch, csv: &str, examples: [&str; 2]) -> crate::util::Run {
    scratch.write("in.csv", csv);
    let run = strata_ok(
        &scratch.path,
        &[
            "fit", "--input", "in.csv", "--id", "id", "--k", "2", "--report", "r.json", "--output",
            "seg.csv",
        ],
    );
    let [spend, share] = examples;
    let named = format!(
        "not numeric, so not features: 'spend' (Utf8: numbers written as a spreadsheet shows \
         them, such as '{spend}'), 'share' (Utf8: numbers written as a spreadsheet shows them, \
         such as '{share}')"
    );
    assert!(run.stderr.contains(&named), "{named}\n{}", run.stderr);
    let advice = "a number written with a currency sign, thousands separators or a percent \
                  sign is text: save such columns as plain numbers";
    assert!(run.stderr.contains(advice), "{}", run.stderr);
    let report = json(&scratch.join("r.json"));
    assert_eq!(report["input"]["features"], serde_json::json!(["recency"]));
    run
}

#[test]
fn numbers_written_as_a_spreadsheet_shows_them_are_named() {
    // A spreadsheet's CSV writes cells as shown: "$1,777.92", "13%". Such columns are text,
    // so no default feature: the warning says what they hold and what to do.
    let scratch = Scratch::new("formatted-numbers");
    fit_formatted(
        &scratch,
        "id,recency,spend,share\n1,12,\"$1,777.92\",13%\n2,40,$12.00,7.5%\n3,3,4.5,1%\n\
         4,90,\"$2,001.10\",2%\n",
        ["$1,777.92", "13%"],
    );
    // In a folder of parts, the first part's example is shown.
    std::fs::create_dir(scratch.join("parts")).unwrap();
    scratch.write(
        "parts/part-0.csv",
        "id,recency,spend\n1,12,$5.00\n2,40,$6.00\n",
    );
    scratch.write(
        "parts/part-1.csv",
        "id,recency,spend\n3,3,\"$1,000\"\n4,90,$2\n",
    );
    let run = strata_ok(
        &scratch.path,
        &[
            "fit", "--input", "parts", "--id", "id", "--k", "2", "--output", "seg.csv",
        ],
    );
    assert!(
        run.stderr.contains(
            "'spend' (Utf8: numbers written as a spreadsheet shows them, such as '$5.00')"
        ),
        "{}",
        run.stderr
    );
    // With no other feature, the run stops with the same advice.
    expect_failure(
        "formatted-only",
        "id,spend\n1,\"$1,777.92\"\n2,$3.00\n",
        &["--k", "2", "--id", "id"],
        65,
        &[
            "no numeric feature columns",
            "save such columns as plain numbers",
        ],
    );
}

#[test]
fn numbers_as_european_spreadsheets_show_them_are_named_not_taken_for_words() {
    // A German or French spreadsheet's "CSV" is split by semicolons, with decimal commas
    // (read as numbers) and, in cells formatted as currency or with separators, "1.234,50 €".
    let scratch = Scratch::new("formatted-european");
    let run = fit_formatted(
        &scratch,
        "id;recency;spend;share\n1;12;1.234,50 €;12,5 %\n2;40;12,00 €;7,5 %\n\
         3;3;4,5;1 %\n4;90;2\u{a0}001,10 €;2 %\n",
        ["1.234,50 €", "12,5 %"],
    );
    // They are no words marking missing values.
    assert!(!run.stderr.contains("--null-values"), "{}", run.stderr);
    // A word among decimal commas is named as one, without the numbers beside it.
    scratch.write(
        "words.csv",
        "id;recency;spend\n1;12;12,5\n2;40;NULL\n3;3;4,5\n",
    );
    let run = strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "words.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--output",
            "seg.csv",
        ],
    );
    assert!(
        run.stderr.contains("'spend' (Utf8: numbers, and 'NULL')")
            && run.stderr.contains("--null-values 'NULL'"),
        "{}",
        run.stderr
    );
    // Named as a feature, such a value stops the run with the same advice, in the first rows
    // or after a first stretch of plain decimal commas.
    expect_failure(
        "formatted-european-named",
        "id;spend\n1;1.234,50\n2;3,00\n",
        &["--k", "2", "--id", "id", "--features", "spend"],
        65,
        &["'1.234,50'", "save such columns as plain numbers"],
    );
    let mut late = String::from("id;spend\n");
    for i in 0..10_050 {
        late.push_str(&format!("{i};{},5\n", i % 40));
    }
    late.push_str("10050;1.234,50\n");
    expect_failure(
        "formatted-european-late",
        &late,
        &["--k", "2", "--id", "id"],
        65,
        &[
            "column 'spend' holds '1.234,50' at row 10050",
            "save such columns as plain numbers",
        ],
    );
}

#[test]
fn a_repeated_column_name_is_refused_where_it_is_used() {
    // Columns are found by name: a repeated name would give one column's values under both.
    let csv = "id,a,a,b\n1,1.0,5.0,2.0\n2,2.0,6.0,1.0\n3,8.0,7.0,9.0\n4,9.0,8.0,8.0\n";
    let refused = "feature column 'a' is the name of 2 columns of the input (columns 2 and 3";
    expect_failure(
        "repeated-default",
        csv,
        &["--k", "2", "--id", "id"],
        65,
        &[refused],
    );
    expect_failure(
        "repeated-named",
        csv,
        &["--k", "2", "--id", "id", "--features", "a,b"],
        65,
        &[refused],
    );
    expect_failure(
        "repeated-id",
        "id,id,a\n1,1,1.0\n2,2,2.0\n3,3,5.0\n",
        &["--k", "2", "--id", "id"],
        65,
        &["id column 'id' is the name of 2 columns of the input (columns 1 and 2"],
    );
    // Left out, or not used, the name does not matter.
    let scratch = Scratch::new("repeated-unused");
    scratch.write("in.csv", csv);
    for extra in [["--exclude", "a"], ["--features", "b"]] {
        let mut args = vec![
            "fit", "--input", "in.csv", "--id", "id", "--k", "2", "--report", "r.json", "--output",
            "seg.csv",
        ];
        args.extend(extra);
        strata_ok(&scratch.path, &args);
        let report = json(&scratch.join("r.json"));
        assert_eq!(
            report["input"]["features"],
            serde_json::json!(["b"]),
            "{extra:?}"
        );
    }
}

#[test]
fn a_column_empty_in_the_rows_that_set_the_types_is_named() {
    // A CSV's types come from its first 10,000 rows: a column with no value there (sorted
    // nulls first, or filled only for recent customers) has no type, so it is not a default
    // feature. The warning says so; named in --features, it is read as numbers.
    let scratch = Scratch::new("empty-first-rows");
    let mut csv = String::from("id,a,b,\n");
    for i in 0..10_100 {
        let b = if i < 10_050 {
            String::new()
        } else {
            format!("{}", i % 7)
        };
        csv.push_str(&format!("{i},{},{b},\n", i % 5));
    }
    scratch.write("in.csv", &csv);
    let fit = |extra: &[&str]| {
        let mut args = vec![
            "fit",
            "--input",
            "in.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--missing",
            "drop",
            "--report",
            "r.json",
            "--output",
            "seg.csv",
        ];
        args.extend_from_slice(extra);
        let run = strata_ok(&scratch.path, &args);
        (run.stderr, json(&scratch.join("r.json")))
    };
    let (stderr, report) = fit(&[]);
    assert!(
        stderr.contains(
            "not numeric, so not features: 'b' (no value in the first rows, which set a CSV's \
             types; read as numbers when named in --features)"
        ),
        "{stderr}"
    );
    // The empty column with no name that a delimiter at the end of each line leaves is not.
    assert!(!stderr.contains("''"), "{stderr}");
    assert_eq!(report["input"]["features"], serde_json::json!(["a"]));
    let (_, report) = fit(&["--features", "a,b"]);
    assert_eq!(report["input"]["features"], serde_json::json!(["a", "b"]));
    assert_eq!(report["input"]["rows_dropped"], 10_050);
    // In a typed input, such a column has no values at all.
    write_arrow(
        &scratch.join("in.arrow"),
        vec![
            (
                "a",
                std::sync::Arc::new(arrow_array::Float64Array::from(vec![1.0, 2.0, 8.0, 9.0])),
            ),
            ("b", std::sync::Arc::new(arrow_array::NullArray::new(4))),
        ],
    );
    let run = strata_ok(
        &scratch.path,
        &[
            "fit", "--input", "in.arrow", "--k", "2", "--output", "seg.csv",
        ],
    );
    assert!(
        run.stderr
            .contains("not numeric, so not features: 'b' (no values)"),
        "{}",
        run.stderr
    );
}

#[test]
fn duplicate_ids_give_count_and_example() {
    let csv = "id,a\n5,1.0\n6,2.0\n5,3.0\n6,4.0\n7,5.0\n";
    expect_failure(
        "dups",
        csv,
        &["--k", "2", "--id", "id"],
        65,
        &[
            "2 duplicate row(s) over 2 id(s)",
            "e.g. 5 at rows 0 and 2",
            "--duplicates",
        ],
    );
}

#[test]
fn null_ids() {
    let csv = "id,a\n5,1.0\n,2.0\n7,3.0\n";
    expect_failure(
        "null-id",
        csv,
        &["--k", "2", "--id", "id"],
        65,
        &["1 null value(s), the first at row 1"],
    );
}

#[test]
fn zero_rows() {
    expect_failure("empty", "a,b\n", &["--k", "1"], 65, &["has no rows"]);
    // With an id column, which a header alone leaves untyped: still the row count.
    expect_failure(
        "empty-id",
        "id,a,b\n",
        &["--k", "1", "--id", "id"],
        65,
        &["has no rows"],
    );
    expect_failure(
        "no-header",
        "",
        &["--k", "1"],
        65,
        &["is empty", "header row"],
    );
}

#[test]
fn every_id_empty() {
    // The id column has no value at all (so no type in a CSV): the nulls are named.
    expect_failure(
        "all-null-id",
        "id,a\n,1\n,2\n",
        &["--k", "1", "--id", "id"],
        65,
        &["2 null value(s), the first at row 0"],
    );
}

#[test]
fn everything_dropped() {
    expect_failure(
        "all-dropped",
        "a,b\n,1\n2,\n",
        &["--k", "1", "--missing", "drop"],
        65,
        &["all 2 input rows were dropped"],
    );
}

#[test]
fn k_zero_is_a_usage_error() {
    expect_failure("k0", GOOD, &["--k", "0"], 2, &["--k"]);
}

#[test]
fn k_above_distinct_rows() {
    let csv = "a\n1.0\n1.0\n2.0\n2.0\n";
    expect_failure(
        "k-distinct",
        csv,
        &["--k", "3"],
        65,
        &["only 2 distinct row(s)", "--k 2"],
    );
}

#[test]
fn negative_values_under_log1p() {
    let csv = "a,b\n1.0,2.0\n-1.0,1.0\n3.0,4.0\n";
    expect_failure(
        "log1p-neg",
        csv,
        &["--k", "2", "--log1p", "a"],
        65,
        &["'a' has 1 negative value", "row 1"],
    );
}

#[test]
fn log1p_of_a_non_feature_is_a_usage_error() {
    expect_failure(
        "log1p-unknown",
        GOOD,
        &["--k", "2", "--features", "a,b", "--log1p", "c"],
        2,
        &["'c'"],
    );
}

#[test]
fn unknown_extension_is_a_usage_error() {
    expect_failure(
        "ext",
        GOOD,
        &["--k", "2", "--input", "in.json"],
        2,
        &["extension"],
    );
}

#[test]
fn garbage_parquet_file() {
    let scratch = Scratch::new("garbage");
    scratch.write(
        "bad.parquet",
        "this is not parquet at all, just text pretending",
    );
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "bad.parquet",
            "--k",
            "2",
            "--output",
            "o.arrow",
        ],
        65,
        &["cannot read 'bad.parquet'"],
    );
    assert!(!scratch.join("o.arrow").exists());
}

#[test]
fn truncated_files_in_every_binary_format() {
    let scratch = Scratch::new("truncated");
    for name in ["t.parquet", "t.arrow", "t.csv.gz", "t.csv.zst"] {
        strata_ok(
            &scratch.path,
            &[
                "generate", "--rows", "20000", "--dims", "4", "--output", name,
            ],
        );
        let bytes = std::fs::read(scratch.join(name)).unwrap();
        std::fs::write(scratch.join(name), &bytes[..bytes.len() * 2 / 3]).unwrap();
        strata_fails(
            &scratch.path,
            &["fit", "--input", name, "--k", "2", "--output", "o.arrow"],
            65,
            &["truncated"],
        );
        assert!(!scratch.join("o.arrow").exists());
    }
}

#[test]
fn csv_value_that_is_not_a_number_after_the_inferred_rows() {
    let mut csv = String::from("a,b\n");
    for i in 0..10_050 {
        csv.push_str(if i == 10_040 { "oops,1\n" } else { "1.5,2\n" });
    }
    expect_failure("csv-parse", &csv, &["--k", "1"], 65, &["oops"]);
}

#[test]
fn init_file_with_the_wrong_shape() {
    let scratch_csv = "a,b\n1.0,2.0\n5.0,5.0\n";
    let scratch = Scratch::new("init-shape");
    scratch.write("in.csv", GOOD);
    scratch.write("init.csv", scratch_csv);
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "in.csv",
            "--features",
            "a,b",
            "--k",
            "3",
            "--init",
            "init.csv",
            "--output",
            "o.arrow",
        ],
        65,
        &["has 2 row(s) but --k is 3"],
    );
    scratch.write("init2.csv", "a\n1.0\n5.0\n");
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "in.csv",
            "--features",
            "a,b",
            "--k",
            "2",
            "--init",
            "init2.csv",
            "--output",
            "o.arrow",
        ],
        65,
        &["init file", "'b' is not in the input"],
    );
    let run = strata(
        &scratch.path,
        &[
            "fit",
            "--input",
            "in.csv",
            "--features",
            "a,b",
            "--k",
            "2",
            "--init",
            "missing.csv",
            "--output",
            "o.arrow",
        ],
    );
    assert_eq!(run.code, 66, "{}", run.stderr);
    assert!(!scratch.join("o.arrow").exists());
}

#[test]
fn output_folder_that_does_not_exist() {
    let scratch = Scratch::new("no-folder");
    scratch.write("in.csv", GOOD);
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "in.csv",
            "--features",
            "a,b",
            "--k",
            "2",
            "--report",
            "r.json",
            "--output",
            "missing/seg.arrow",
        ],
        73,
        &["cannot create output 'missing/seg.arrow'"],
    );
    assert_eq!(
        scratch.files(),
        ["in.csv"],
        "the report must not be written either"
    );
}

/// The Vulkan loader pointed at no driver: no adapter at all.
const NO_DRIVER: [(&str, &str); 2] = [
    ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
    ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
];

/// `fit` of [`GOOD`] with a report, for the backend and adapter tests to add their flags to.
const GPU_FIT: [&str; 11] = [
    "fit",
    "--input",
    "in.csv",
    "--features",
    "a,b",
    "--k",
    "2",
    "--output",
    "o.arrow",
    "--report",
    "r.json",
];

#[test]
fn gpu_without_an_adapter_exits_69_and_auto_falls_back_to_the_cpu() {
    let scratch = Scratch::new("no-adapter");
    scratch.write("in.csv", GOOD);
    let args = GPU_FIT;
    let run = strata_env(
        &scratch.path,
        &[&args[..], &["--backend", "gpu"]].concat(),
        &NO_DRIVER,
    );
    assert_eq!(run.code, 69, "{}", run.stderr);
    assert!(
        run.stderr.contains("no GPU adapter found"),
        "{}",
        run.stderr
    );
    assert_eq!(scratch.files(), ["in.csv"]);
    let run = strata_env(
        &scratch.path,
        &[&args[..], &["--backend", "auto"]].concat(),
        &NO_DRIVER,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("using the CPU backend"),
        "{}",
        run.stderr
    );
    assert_eq!(
        crate::util::json(&scratch.join("r.json"))["backend"]["kind"],
        "cpu"
    );
}

/// `--gpu` (or `STRATA_GPU`) names the adapter by index or by a part of its name; one that
/// names none stops the run before the input is read (exit 2, the adapters listed), whatever the
/// backend that might have used it, except `--backend cpu`, which opens no adapter.
#[test]
fn a_gpu_choice_names_one_adapter_or_stops_before_the_read() {
    if crate::parity::gpu().is_none() {
        return;
    }
    let first = strata::backend::gpu::list_adapters().remove(0).name;
    let scratch = Scratch::new("gpu-choice");
    scratch.write("in.csv", GOOD);
    let args = GPU_FIT;
    let word = first.split_whitespace().next().unwrap().to_uppercase();
    for choice in ["0", word.as_str()] {
        let run = strata_ok(
            &scratch.path,
            &[&args[..], &["--backend", "gpu", "--gpu", choice]].concat(),
        );
        let report = crate::util::json(&scratch.join("r.json"));
        let adapter = report["backend"]["adapter"].as_str().unwrap();
        assert!(adapter.starts_with(&format!("{first} (")), "{}", run.stderr);
    }
    std::fs::remove_file(scratch.join("o.arrow")).unwrap();
    std::fs::remove_file(scratch.join("r.json")).unwrap();
    let listed = format!("there is no adapter 99; the adapters are 0: {first}");
    for (backend, flag, env) in [
        ("gpu", Some("99"), None),
        ("auto", Some("99"), None),
        ("auto", None, Some(("STRATA_GPU", "99"))),
    ] {
        let mut argv = [&args[..], &["--backend", backend]].concat();
        argv.extend(flag.map(|f| ["--gpu", f]).into_iter().flatten());
        let run = strata_env(&scratch.path, &argv, env.as_slice());
        assert_eq!(run.code, 2, "{backend} {flag:?} {env:?}: {}", run.stderr);
        let named = if flag.is_some() {
            "--gpu 99"
        } else {
            "STRATA_GPU=99"
        };
        assert!(
            run.stderr.contains(&format!("{named}: {listed}")),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("read 4 row(s)"), "{}", run.stderr);
        assert_eq!(scratch.files(), ["in.csv"]);
    }
    // The CPU backend opens no adapter, so the choice does not matter to it.
    strata_ok(
        &scratch.path,
        &[&args[..], &["--backend", "cpu", "--gpu", "99"]].concat(),
    );
    // With no adapter at all, the choice does not hide that (exit 69).
    let run = strata_env(
        &scratch.path,
        &[&args[..], &["--backend", "gpu", "--gpu", "0"]].concat(),
        &NO_DRIVER,
    );
    assert_eq!(run.code, 69, "{}", run.stderr);
}

#[test]
fn a_text_column_left_out_of_the_default_features_is_named() {
    // One stray word makes 'a' a text column: the fit runs on 'b' alone, and says so.
    let scratch = Scratch::new("stray-text");
    scratch.write("in.csv", "id,a,b\n1,1.0,2.0\n2,oops,1.0\n3,8.0,9.0\n");
    let run = strata_ok(
        &scratch.path,
        &[
            "fit", "--input", "in.csv", "--id", "id", "--k", "2", "--output", "seg.csv",
        ],
    );
    assert!(
        run.stderr
            .contains("not numeric, so not features: 'a' (Utf8: numbers, and 'oops')"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("× 1 feature(s)"), "{}", run.stderr);
    // Named features say nothing of the columns they leave out.
    let run = strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "in.csv",
            "--id",
            "id",
            "--features",
            "b",
            "--k",
            "2",
            "--output",
            "seg.csv",
        ],
    );
    assert!(!run.stderr.contains("not numeric"), "{}", run.stderr);
}

#[test]
fn spans_beyond_f32_distances() {
    // Unscaled values of 1e20 square to 1e40, past f32: every distance would be infinite and
    // every row land in one segment. Scaled, the same file fits.
    let csv = "a,b\n1e20,2\n3e20,2\n-1e20,5\n5e20,1\n";
    expect_failure(
        "huge-unscaled",
        csv,
        &["--k", "2", "--normalize", "none"],
        65,
        &["feature 'a' spans 6.000e20", "--normalize zscore or minmax"],
    );
    let scratch = Scratch::new("huge-scaled");
    scratch.write("in.csv", csv);
    strata_ok(
        &scratch.path,
        &[
            "fit", "--input", "in.csv", "--k", "2", "--output", "seg.csv", "--model", "m.json",
        ],
    );
    // A model fitted on small values, asked to place a row a sentinel made enormous.
    scratch.write("small.csv", "a,b\n1,2\n3,2\n-1,5\n5,1\n");
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "small.csv",
            "--k",
            "2",
            "--output",
            "seg.csv",
            "--model",
            "m.json",
        ],
    );
    scratch.write("new.csv", "a,b\n2,2\n1e20,2\n");
    let before = scratch.files();
    let run = strata_fails(
        &scratch.path,
        &[
            "predict", "--model", "m.json", "--input", "new.csv", "--output", "p.csv",
        ],
        65,
        &["feature 'a' spans"],
    );
    assert!(run.stderr.contains("(zscore)"), "{}", run.stderr);
    assert_eq!(scratch.files(), before, "predict left a file");
}

#[test]
fn an_identifier_among_the_default_features_is_named() {
    let scratch = Scratch::new("id-like");
    scratch.write(
        "in.csv",
        "id,store_id,customerId,a\n1,7,100,1.0\n2,7,101,2.0\n3,8,102,8.0\n4,8,103,9.0\n",
    );
    let fit = |extra: &[&str]| {
        let mut args = vec![
            "fit", "--input", "in.csv", "--k", "2", "--output", "seg.csv",
        ];
        args.extend_from_slice(extra);
        strata_ok(&scratch.path, &args).stderr
    };
    let stderr = fit(&[]);
    assert!(
        stderr.contains("'id', 'store_id', 'customerId' look(s) like an identifier"),
        "{stderr}"
    );
    let stderr = fit(&["--id", "id", "--exclude", "store_id,customerId"]);
    assert!(!stderr.contains("identifier"), "{stderr}");
    let stderr = fit(&["--features", "id,a"]);
    assert!(!stderr.contains("identifier"), "{stderr}");
}

#[test]
fn a_stray_value_past_the_typed_rows() {
    // Column types come from the first 10,000 rows; a value after them that is not of its
    // column's type stops the read, naming the value and what to do. The same in a file split
    // by semicolons whose column has decimal commas, where the message also names the row. (An
    // id column's integers turn to text instead: formats.rs.)
    let typed = |delimiter: char, first: &str, stray: &str| {
        let mut csv = format!("a{delimiter}b\n");
        for i in 0..10_050 {
            csv.push_str(&format!("{}{first}{delimiter}{}\n", i % 7, i % 5));
        }
        csv.push_str(&format!("{stray}{delimiter}1\n"));
        csv
    };
    expect_failure(
        "late-word",
        &typed(',', "", "oops"),
        &["--k", "2"],
        65,
        &[
            "'oops'",
            "a CSV column's type comes from its first rows: fix that value, name it in \
             --null-values if it marks a missing value, or, for a feature, leave its column out \
             of the features",
        ],
    );
    expect_failure(
        "late-decimal-point",
        &typed(';', ",5", "1.5"),
        &["--k", "2"],
        65,
        &["column 'a' holds '1.5' at row 10050", "decimal commas"],
    );
}

#[test]
fn a_folder_input_needs_parts_that_agree() {
    let scratch = Scratch::new("folder-parts");
    let folder = scratch.join("parts");
    std::fs::create_dir(&folder).unwrap();
    let check = |output: &str, code: i32, words: &[&str]| {
        let args = ["fit", "--input", "parts", "--k", "2", "--output", output];
        strata_fails(&scratch.path, &args, code, words);
        assert!(!scratch.join("seg.arrow").exists());
    };
    // Nothing to read: only a marker, a checksum file and a file with no extension.
    std::fs::write(folder.join("_SUCCESS"), "").unwrap();
    std::fs::write(folder.join(".p0.csv.crc"), "x").unwrap();
    std::fs::write(folder.join("manifest"), "{}").unwrap();
    check(
        "seg.arrow",
        66,
        &[
            "holds no .parquet, .arrow, .csv or .tsv file",
            "files with no extension",
        ],
    );
    // Only parts with no text at all: no columns to read.
    std::fs::write(folder.join("p0.csv"), "").unwrap();
    check(
        "seg.arrow",
        65,
        &["holds only empty part files (1)", "header row"],
    );
    // Parts whose columns differ.
    std::fs::write(folder.join("p0.csv"), "id,a,b\n1,1.0,2.0\n2,5.0,1.0\n").unwrap();
    std::fs::write(folder.join("p1.csv"), "id,a,c\n3,1.0,2.0\n4,5.0,1.0\n").unwrap();
    check(
        "seg.arrow",
        65,
        &["part 'p1.csv'", "[\"id\", \"a\", \"c\"]", "same columns"],
    );
    // A column of numbers in one part and of words in another.
    std::fs::write(folder.join("p1.csv"), "id,a,b\n3,1.0,x\n4,5.0,y\n").unwrap();
    check(
        "seg.arrow",
        65,
        &["column 'b' is Utf8 in part 'p1.csv'", "Float64"],
    );
    // Two formats.
    std::fs::remove_file(folder.join("p1.csv")).unwrap();
    std::fs::write(folder.join("p1.arrow"), "not arrow").unwrap();
    check("seg.arrow", 65, &["two formats", "'p0.csv' and 'p1.arrow'"]);
    std::fs::remove_file(folder.join("p1.arrow")).unwrap();
    // A segments file written into the folder would be read as a part by the next run.
    let listing = || {
        let mut names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    check("parts/seg.parquet", 2, &["into the input folder"]);
    assert_eq!(listing(), before);
    // Its model and report may go there: they are not read as parts.
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "parts",
            "--k",
            "2",
            "--output",
            "seg.arrow",
            "--model",
            "parts/model.json",
            "--report",
            "parts/report.json",
        ],
    );
}

#[test]
fn an_output_may_not_replace_an_input_or_another_output() {
    let scratch = Scratch::new("shared-paths");
    scratch.write("in.csv", GOOD);
    let init = "a,b\n1.0,2.0\n9.0,8.0\n";
    scratch.write("init.csv", init);
    let tx = "customer,date,amount\n1,2026-01-02,5.0\n2,2026-01-03,7.5\n";
    scratch.write("tx.csv", tx);
    let label_words = r#"{"a": {"high": "Many a", "low": "Few a"}}"#;
    scratch.write("words.json", label_words);
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "in.csv",
            "--id",
            "id",
            "--k",
            "2",
            "--model",
            "model.json",
        ],
    );
    let model = std::fs::read_to_string(scratch.join("model.json")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("in.csv", scratch.join("link.csv")).unwrap();
    let before = scratch.files();

    let fit = ["fit", "--input", "in.csv", "--id", "id", "--k", "2"];
    let rfm = [
        "rfm",
        "--input",
        "tx.csv",
        "--customer",
        "customer",
        "--date",
        "date",
        "--amount",
        "amount",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // Another spelling of the input.
        (
            [&fit[..], &["--output", "./in.csv"]].concat(),
            "an input of this run",
        ),
        (
            [&fit[..], &["--init", "init.csv", "--report", "init.csv"]].concat(),
            "an input of this run",
        ),
        (
            [
                &fit[..],
                &["--labels", "words.json", "--output", "words.json"],
            ]
            .concat(),
            "an input of this run",
        ),
        (
            [&fit[..], &["--model", "m.json", "--report", "./m.json"]].concat(),
            "given for two outputs",
        ),
        (
            vec![
                "sweep", "--input", "in.csv", "--id", "id", "--k", "2..3", "--csv", "in.csv",
            ],
            "an input of this run",
        ),
        (
            vec![
                "predict",
                "--model",
                "model.json",
                "--input",
                "in.csv",
                "--id",
                "id",
                "--output",
                "seg.csv",
                "--report",
                "model.json",
            ],
            "an input of this run",
        ),
        (
            [&rfm[..], &["--output", "tx.csv"]].concat(),
            "an input of this run",
        ),
        (
            [
                &rfm[..],
                &[
                    "--output",
                    "r.csv",
                    "--bad-rows",
                    "skip",
                    "--rejects",
                    "./r.csv",
                ],
            ]
            .concat(),
            "given for two outputs",
        ),
    ];
    #[cfg(unix)]
    let cases = {
        let mut cases = cases;
        // The input through a symbolic link, the output by its real name.
        cases.push((
            vec![
                "fit", "--input", "link.csv", "--k", "2", "--output", "in.csv",
            ],
            "an input of this run",
        ));
        cases
    };
    for (args, words) in &cases {
        strata_fails(&scratch.path, args, 2, &[words]);
        assert_eq!(scratch.files(), before, "{args:?}: no file written");
        assert_eq!(
            std::fs::read_to_string(scratch.join("in.csv")).unwrap(),
            GOOD
        );
        assert_eq!(
            std::fs::read_to_string(scratch.join("init.csv")).unwrap(),
            init
        );
        assert_eq!(std::fs::read_to_string(scratch.join("tx.csv")).unwrap(), tx);
        assert_eq!(
            std::fs::read_to_string(scratch.join("words.json")).unwrap(),
            label_words
        );
        assert_eq!(
            std::fs::read_to_string(scratch.join("model.json")).unwrap(),
            model
        );
    }
}

/// A run stopped by SIGTERM (a scheduler's timeout) while it writes its output removes the
/// temporary file and ends by that signal. `generate` writes a file far larger than it gets
/// to: the signal comes once the temporary file holds data. (SIGINT and SIGHUP take the same
/// path; a test runner may have started the test ignoring them.)
#[cfg(unix)]
#[test]
fn a_run_stopped_by_a_signal_leaves_no_file_behind() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let scratch = Scratch::new("signal");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["generate", "--rows", "200000000", "--dims", "16"])
        .args(["--output", "big.parquet"])
        .current_dir(&scratch.path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Until the temporary file holds data (`preflight`'s empty one does not count).
    let started = Instant::now();
    let writing = loop {
        let temp = std::fs::read_dir(&scratch.path).unwrap().find_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name.ends_with(".tmp") && e.metadata().unwrap().len() > 0).then_some(name)
        });
        if temp.is_some() || started.elapsed() > Duration::from_secs(60) {
            break temp;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let kill = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stopped = child.try_wait().unwrap().is_some();
    if !stopped {
        child.kill().unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(writing.is_some(), "no temporary file seen\n{stderr}");
    assert!(stopped, "still running 30 s after SIGTERM\n{stderr}");
    assert_eq!(out.status.signal(), Some(15), "{stderr}");
    assert!(
        stderr.contains("stopped by a signal; temporary output files removed"),
        "{stderr}"
    );
    assert!(scratch.files().is_empty(), "left {:?}", scratch.files());
}
