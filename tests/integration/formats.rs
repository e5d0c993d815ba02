//! Every input format reads to the same matrix: Parquet (snappy, zstd, gzip), Arrow IPC file
//! (feather) and stream, CSV (and CSV split by semicolons with decimal commas, and CSV
//! compressed with gzip, in one member or two, or zstd), a folder of Parquet parts and one of
//! many small CSV parts; integer, unsigned, float and decimal columns become f32; the id keeps
//! its type in the output (a dictionary-encoded id its value type). Compressed CSV is written
//! as well as read; CSV and Arrow IPC streams are read from standard input; words named in
//! --null-values read as missing values.

use crate::util::{
    Scratch, fit_blobs, fixtures, json, read_arrow, strata_env, strata_fails, strata_ok,
    strata_piped, write_arrow,
};
use arrow_array::cast::AsArray;
use arrow_array::{Float32Array, Int64Array};
use arrow_schema::DataType;
use std::sync::Arc;
use strata::data::read::{ColumnRequest, CsvOptions, Encoding, Source, read_dataset};

/// The formats fixture's features and rows as every format should read them (formats.json).
fn formats_expected() -> (Vec<String>, Vec<Vec<f32>>) {
    let expected = json(&fixtures().join("formats/formats.json"));
    let features: Vec<String> = expected["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let rows: Vec<Vec<f32>> = expected["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    (features, rows)
}

#[test]
fn every_format_reads_the_same_values() {
    let (features, rows) = formats_expected();
    for file in [
        "table_snappy.parquet",
        "table_zstd.parquet",
        "table_gzip.parquet",
        "table_dictionary.parquet",
        "table.feather",
        "table_stream.arrow",
        "table.csv",
        "table_semicolon.csv",
        "table.csv.gz",
        "table_members.csv.gz",
        "table.csv.zst",
        "parts",
    ] {
        let request = ColumnRequest {
            id: Some("cid".into()),
            features: Some(features.clone()),
            ..Default::default()
        };
        let data = read_dataset(
            Source::file(fixtures().join("formats").join(file)),
            &request,
        )
        .unwrap();
        assert_eq!(data.features, features, "{file}");
        for (i, want) in rows.iter().enumerate() {
            assert_eq!(data.matrix.row(i), want.as_slice(), "{file}: row {i}");
        }
        assert_eq!(data.ids.as_ref().unwrap().display(4), "\"e5\"", "{file}");
    }
}

#[test]
fn default_features_are_the_numeric_columns() {
    let request = ColumnRequest {
        id: Some("cid".into()),
        ..Default::default()
    };
    let data = read_dataset(
        Source::file(fixtures().join("formats/table.feather")),
        &request,
    )
    .unwrap();
    assert_eq!(data.features, ["count", "units", "value", "price"]);
}

#[test]
fn a_csv_with_a_space_after_each_delimiter_reads_as_without() {
    // `id, recency, spend` exports: the names are read without the spaces (and the quotes a
    // space leaves in a quoted name, `, "count"`), and columns of numbers with spaces before
    // them are numbers (they were text, so no default feature). A name given with the spaces
    // is the same column.
    let (_, rows) = formats_expected();
    let plain = std::fs::read_to_string(fixtures().join("formats/table.csv")).unwrap();
    let scratch = Scratch::new("padded-csv");
    let path = scratch.write("padded.csv", &plain.replace(',', ", "));
    for (id, features) in [
        ("cid", None),
        (
            " cid",
            Some(vec![" count".to_string(), "units".into(), "value".into()]),
        ),
    ] {
        let request = ColumnRequest {
            id: Some(id.into()),
            features: features.clone(),
            ..Default::default()
        };
        let data = read_dataset(Source::file(path.clone()), &request).unwrap();
        let width = data.features.len();
        assert_eq!(
            data.features,
            ["count", "units", "value", "price"][..width],
            "{features:?}"
        );
        for (i, want) in rows.iter().enumerate() {
            assert_eq!(data.matrix.row(i), &want[..width], "row {i}");
        }
        assert_eq!(data.ids.as_ref().unwrap().display(4), "\"e5\"");
    }
}

#[test]
fn a_row_index_pandas_wrote_is_not_a_default_feature() {
    // pandas writes a frame's row index into the file unless told not to: clustered on, it
    // would split the customers by their place in the file. Each form of it is left out of the
    // default features, and the values of the others are read as in every format.
    let (_, rows) = formats_expected();
    let scratch = Scratch::new("pandas-index");
    for (file, shown) in [
        (
            "pandas_index.csv",
            "column 1, with no name in the header (the row index pandas' to_csv writes",
        ),
        (
            "pandas_unnamed.csv",
            "'Unnamed: 0' (pandas' name for a column with no name in the header",
        ),
        (
            "pandas_index.parquet",
            "'__index_level_0__' (a DataFrame's row index, written by pandas)",
        ),
        (
            "pandas_named_index.parquet",
            "'row' (a DataFrame's row index, written by pandas)",
        ),
    ] {
        let path = fixtures().join("formats").join(file);
        let request = ColumnRequest {
            id: Some("cid".into()),
            ..Default::default()
        };
        let data = read_dataset(Source::file(path.clone()), &request).unwrap();
        assert_eq!(
            data.features,
            ["count", "units", "value", "price"],
            "{file}"
        );
        for (i, want) in rows.iter().enumerate() {
            assert_eq!(data.matrix.row(i), want.as_slice(), "{file}: row {i}");
        }
        let run = strata_ok(&scratch.path, &cid_fit(path.to_str().unwrap(), "seg.csv"));
        assert!(
            run.stderr
                .contains(&format!("left out of the features: {shown}")),
            "{file}: {}",
            run.stderr
        );
    }
    // Named, such a column is a feature all the same.
    let request = ColumnRequest {
        id: Some("cid".into()),
        features: Some(vec!["Unnamed: 0".into(), "count".into()]),
        ..Default::default()
    };
    let data = read_dataset(
        Source::file(fixtures().join("formats/pandas_unnamed.csv")),
        &request,
    )
    .unwrap();
    assert_eq!(data.matrix.row(4), [4.0, 5.0]);
}

#[test]
fn text_in_the_encodings_windows_tools_write_reads_as_utf8() {
    // The formats table with names for ids, as a spreadsheet on Windows saves plain "CSV" (its
    // code page, Windows-1252, read with --encoding) and as Excel saves "Unicode Text" (UTF-16
    // with its byte-order mark, split by tabs, named .txt or not, the mark left out or not:
    // read as such unasked): the same matrix, and the names written as UTF-8, from a file, a
    // folder of parts and a gzip stream.
    let (features, rows) = formats_expected();
    let named: Vec<String> = json(&fixtures().join("formats/formats.json"))["named_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let scratch = Scratch::new("encodings");
    let fixture = |name: &str| fixtures().join("formats").join(name);
    let windows = std::fs::read(fixture("table_windows1252.csv")).unwrap();
    // Two parts, the second with the header row again: each is read from its start.
    let lines: Vec<usize> = (0..windows.len())
        .filter(|&i| windows[i] == b'\n')
        .collect();
    let parts = scratch.join("parts");
    std::fs::create_dir(&parts).unwrap();
    std::fs::write(parts.join("a.csv"), &windows[..=lines[2]]).unwrap();
    let mut second = windows[..=lines[0]].to_vec();
    second.extend(&windows[lines[2] + 1..]);
    std::fs::write(parts.join("b.csv"), second).unwrap();
    let request = ColumnRequest {
        id: Some("cid".into()),
        features: Some(features.clone()),
        ..Default::default()
    };
    let ids_of = |output: &str| -> Vec<String> {
        read_arrow(&scratch.join(output))[0]
            .column(0)
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap().to_string())
            .collect()
    };
    // The UTF-16 file named as Excel names it, and without its mark, as some tools write it.
    let utf16 = std::fs::read(fixture("table_utf16.tsv")).unwrap();
    std::fs::write(scratch.join("unicode.txt"), &utf16).unwrap();
    std::fs::write(scratch.join("unmarked.tsv"), &utf16[2..]).unwrap();
    for (input, encoding) in [
        (fixture("table_windows1252.csv"), Encoding::Windows1252),
        (parts, Encoding::Windows1252),
        (fixture("table_utf16.tsv"), Encoding::Utf8),
        (scratch.join("unicode.txt"), Encoding::Utf8),
        (scratch.join("unmarked.tsv"), Encoding::Utf8),
    ] {
        let options = CsvOptions {
            encoding,
            ..Default::default()
        };
        let data = read_dataset(Source::File(input.clone(), options), &request).unwrap();
        for (i, want) in rows.iter().enumerate() {
            assert_eq!(data.matrix.row(i), want.as_slice(), "{input:?}: row {i}");
        }
        let mut args = cid_fit(input.to_str().unwrap(), "seg.arrow");
        args.extend(["--encoding", encoding.name(), "--report", "seg.json"]);
        strata_ok(&scratch.path, &args);
        assert_eq!(ids_of("seg.arrow"), named, "{input:?}");
        let report = json(&scratch.join("seg.json"));
        assert_eq!(report["params"]["encoding"], encoding.name());
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzip, &windows).unwrap();
    let mut args = cid_fit("-", "piped.arrow");
    args.extend(["--encoding", "latin1"]);
    let run = strata_piped(&scratch.path, &args, gzip.finish().unwrap());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(ids_of("piped.arrow"), named);
    // A typed input says the flag is not used.
    let parquet = fixture("table_snappy.parquet");
    let mut args = cid_fit(parquet.to_str().unwrap(), "typed.arrow");
    args.extend(["--encoding", "cp1252"]);
    let run = strata_ok(&scratch.path, &args);
    assert!(
        run.stderr
            .contains("--encoding windows-1252 is not used: it is for CSV inputs"),
        "{}",
        run.stderr
    );
}

/// The arguments of `strata fit --id cid --k 2` on `input`, writing the segments to `output`:
/// how these tests fit the formats table and the files made like it.
fn cid_fit<'a>(input: &'a str, output: &'a str) -> Vec<&'a str> {
    vec![
        "fit", "--input", input, "--id", "cid", "--k", "2", "--output", output,
    ]
}

/// [`cid_fit`] on `input` in `scratch`, the model written to model.json.
fn fit_cid(scratch: &Scratch, input: &str, output: &str) -> crate::util::Run {
    let mut args = cid_fit(input, output);
    args.extend(["--model", "model.json"]);
    strata_ok(&scratch.path, &args)
}

/// `strata predict --id cid` with the model [`fit_cid`] wrote, on `input`, to `output`.
fn predict_cid(scratch: &Scratch, input: &str, output: &str) -> crate::util::Run {
    strata_ok(
        &scratch.path,
        &[
            "predict",
            "--model",
            "model.json",
            "--input",
            input,
            "--id",
            "cid",
            "--output",
            output,
        ],
    )
}

#[test]
fn a_line_for_excel_before_the_header_row_is_read_past() {
    // Some tools write `sep=;` before the header row so that Excel splits the file as they
    // did. The header row is the next line: the table with that line (after a UTF-8 mark and
    // with CRLF too, split by semicolons with decimal commas, from standard input, as the
    // parts of a folder) gives the segments file of the table without it.
    let scratch = Scratch::new("sep-line");
    let table = |delimiter: &str, point: &str, end: &str| {
        let mut csv = format!("cid{delimiter}recency{delimiter}spend{end}");
        for i in 0..40 {
            let spend = format!("{}{point}5", (i * 13) % 11);
            csv.push_str(&format!(
                "{}{delimiter}{}{delimiter}{spend}{end}",
                1000 + i,
                i % 7
            ));
        }
        csv
    };
    scratch.write("plain.csv", &table(",", ".", "\n"));
    let segments = |input: &str| {
        fit_cid(&scratch, input, "seg.csv");
        std::fs::read_to_string(scratch.join("seg.csv")).unwrap()
    };
    let want = segments("plain.csv");
    let semicolons = format!("sep=;\n{}", table(";", ",", "\n"));
    for (name, csv) in [
        ("lf.csv", format!("sep=,\n{}", table(",", ".", "\n"))),
        (
            "bom-crlf.csv",
            format!("\u{feff}sep=,\r\n{}", table(",", ".", "\r\n")),
        ),
        ("semicolons.csv", semicolons.clone()),
    ] {
        scratch.write(name, &csv);
        assert_eq!(segments(name), want, "{name}");
    }
    let piped = strata_piped(&scratch.path, &cid_fit("-", "piped.csv"), semicolons.into());
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert!(
        piped
            .stderr
            .contains("its first line, 'sep=;', tells Excel how the file is split"),
        "{}",
        piped.stderr
    );
    assert_eq!(
        std::fs::read_to_string(scratch.join("piped.csv")).unwrap(),
        want
    );
    std::fs::create_dir(scratch.join("parts")).unwrap();
    let rows: Vec<String> = table(",", ".", "\n").lines().map(String::from).collect();
    for (part, range) in [(0, 1..21), (1, 21..41)] {
        let part_csv = format!("sep=,\n{}\n{}\n", rows[0], rows[range].join("\n"));
        scratch.write(&format!("parts/part-{part}.csv"), &part_csv);
    }
    assert_eq!(segments("parts"), want, "folder");
    // The line names the delimiter where the header row alone would not: `x,y` is one
    // column's name, split by semicolons.
    scratch.write("tie.csv", "sep=;\ncid;x,y\n1;2,5\n2;3,5\n3;8\n4;9\n");
    fit_cid(&scratch, "tie.csv", "tie-seg.csv");
    let model = json(&scratch.join("model.json"));
    assert_eq!(model["features"], serde_json::json!(["x,y"]));
}

#[test]
fn ids_written_with_leading_zeros_keep_them() {
    // Customer numbers padded to one width: read as integers they would come out as 123, and
    // join to no customer. Where the first rows write one so, the id is read as text, in a
    // file and in a folder whose second part alone shows one; by fit and by predict.
    let scratch = Scratch::new("zero-padded");
    let mut csv = String::from("cid,recency,spend\n");
    let mut ids = Vec::new();
    for i in 0..40 {
        let id = format!("{:06}", 123 + i * 40_000);
        csv.push_str(&format!("{id},{},{}\n", i % 7, (i * 13) % 11));
        ids.push(id);
    }
    scratch.write("padded.csv", &csv);
    let parts = scratch.join("parts");
    std::fs::create_dir(&parts).unwrap();
    // The first part's ids all have six digits of their own (from 400123 on).
    let lines: Vec<&str> = csv.lines().collect();
    let split = 11;
    std::fs::write(
        parts.join("a.csv"),
        [&[lines[0]], &lines[split..]].concat().join("\n") + "\n",
    )
    .unwrap();
    std::fs::write(parts.join("b.csv"), lines[..split].join("\n") + "\n").unwrap();
    let mut in_parts_order = ids[split - 1..].to_vec();
    in_parts_order.extend_from_slice(&ids[..split - 1]);
    for (input, want) in [("padded.csv", &ids), ("parts", &in_parts_order)] {
        let run = fit_cid(&scratch, input, "seg.parquet");
        assert!(
            run.stderr.contains(
                "id column 'cid' read as text: its first rows write numbers with leading zeros \
                 (such as '000123')"
            ),
            "{}",
            run.stderr
        );
        let file = std::fs::File::open(scratch.join("seg.parquet")).unwrap();
        let batch = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let got: Vec<&str> = batch
            .column(0)
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        assert_eq!(got, *want, "{input}");
    }
    predict_cid(&scratch, "padded.csv", "new.csv");
    let written = std::fs::read_to_string(scratch.join("new.csv")).unwrap();
    assert!(
        written.starts_with("cid,segment,distance\n000123,"),
        "{written}"
    );
}

#[test]
fn a_later_id_that_is_no_plain_integer_turns_the_ids_to_text() {
    // A CSV's types come from its first 10,000 rows: ids that are whole numbers there, then
    // one that is not (a newer scheme's A-99, or a padded 007 that a number would read as 7),
    // are all written as text, as written. Ids that are whole numbers all along stay Int64.
    // The last row is past the first record batch (65,536 rows).
    let scratch = Scratch::new("late-text-id");
    let rows = |last: &str| {
        let mut csv = String::from("cid,recency,spend\n");
        for i in 0..70_000 {
            csv.push_str(&format!("{},{},{}\n", 1000 + i, i % 7, (i * 13) % 11));
        }
        csv.push_str(&format!("{last},3,4\n"));
        csv
    };
    let fit = |input: &str| fit_cid(&scratch, input, "seg.arrow");
    let ids = || {
        let batches = read_arrow(&scratch.join("seg.arrow"));
        let ids: Vec<&dyn arrow_array::Array> =
            batches.iter().map(|b| b.column(0).as_ref()).collect();
        arrow_select::concat::concat(&ids).unwrap()
    };
    scratch.write("plain.csv", &rows("71000"));
    fit("plain.csv");
    assert_eq!(ids().data_type(), &DataType::Int64);
    for last in ["A-99", "007"] {
        scratch.write("late.csv", &rows(last));
        let run = fit("late.csv");
        assert!(
            run.stderr.contains(&format!(
                "id column 'cid' is read and written as text: row 70000 holds '{last}'"
            )),
            "{}",
            run.stderr
        );
        let ids = ids();
        let ids = ids.as_string::<i32>();
        assert_eq!((ids.value(0), ids.value(70_000)), ("1000", last));
    }
    // predict writes its blocks as it goes: once integer ids are written, such an id is an
    // error naming it; in one block it is read as by fit.
    let predict = [
        "predict",
        "--model",
        "model.json",
        "--input",
        "late.csv",
        "--id",
        "cid",
        "--output",
        "new.csv",
    ];
    let run = strata_env(
        &scratch.path,
        &predict,
        &[("STRATA_PREDICT_BLOCK_ROWS", "5000")],
    );
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("id column 'cid' holds '007' at row 70000"),
        "{}",
        run.stderr
    );
    assert!(!scratch.join("new.csv").exists());
    strata_ok(&scratch.path, &predict);
    let written = std::fs::read_to_string(scratch.join("new.csv")).unwrap();
    assert!(written.contains("\n007,"), "{written}");
}

/// `strata fit --id cid --k 2` on the formats fixture `input`, writing the segments to `output`.
fn fit_fixture(scratch: &Scratch, input: &str, output: &str) {
    let input = fixtures().join("formats").join(input);
    strata_ok(&scratch.path, &cid_fit(input.to_str().unwrap(), output));
}

#[test]
fn ids_keep_their_type_in_every_output_format() {
    let scratch = Scratch::new("id-types");
    for output in ["seg.arrow", "seg.parquet", "seg.csv"] {
        fit_fixture(&scratch, "table_snappy.parquet", output);
    }
    let batches = read_arrow(&scratch.join("seg.arrow"));
    let schema = batches[0].schema();
    assert_eq!(schema.field(0).name(), "cid");
    assert_eq!(schema.field(0).data_type(), &DataType::Utf8);
    assert_eq!(schema.field(1).data_type(), &DataType::UInt32);
    assert_eq!(schema.field(2).data_type(), &DataType::Float32);
    let ids: Vec<&str> = batches[0]
        .column(0)
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(ids, ["a1", "b2", "c3", "d4", "e5"]);
    let csv = std::fs::read_to_string(scratch.join("seg.csv")).unwrap();
    assert!(csv.starts_with("cid,segment,distance\na1,"), "{csv}");
    let file = std::fs::File::open(scratch.join("seg.parquet")).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    assert_eq!(reader.schema().field(0).data_type(), &DataType::Utf8);
    // Dictionary pages for the ids and segment numbers, none for the distances (floats seldom
    // repeat; trying a dictionary for them cost write time and file size).
    let group = reader.metadata().row_group(0);
    let dictionary: Vec<bool> = (0..group.num_columns())
        .map(|i| group.column(i).dictionary_page_offset().is_some())
        .collect();
    assert_eq!(dictionary, [true, true, false]);
}

#[test]
fn a_folder_of_parts_is_one_table() {
    // The Spark-style parts of the formats table fit as the table itself does.
    let scratch = Scratch::new("folder-fit");
    fit_fixture(&scratch, "table_snappy.parquet", "whole.arrow");
    fit_fixture(&scratch, "parts", "parts.arrow");
    let whole = std::fs::read(scratch.join("whole.arrow")).unwrap();
    assert_eq!(std::fs::read(scratch.join("parts.arrow")).unwrap(), whole);
    // CSV parts may disagree on whether a column is whole numbers: it is read as numbers.
    let folder = scratch.join("csv");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("a.csv"), "id,x\n1,2\n2,3\n").unwrap();
    std::fs::write(folder.join("b.csv"), "id,x\n3,0.5\n").unwrap();
    let request = ColumnRequest {
        id: Some("id".into()),
        ..Default::default()
    };
    let data = read_dataset(Source::file(folder), &request).unwrap();
    assert_eq!(data.features, ["x"]);
    let rows: Vec<&[f32]> = (0..3).map(|i| data.matrix.row(i)).collect();
    assert_eq!(rows, [[2.0], [3.0], [0.5]]);
    assert_eq!(data.ids.as_ref().unwrap().display(2), "3");

    // Semicolon parts with decimal commas: read as numbers, and the log says so once for the
    // parts alike (not once per part, nor once more when the parts' columns were compared).
    let folder = scratch.join("semi");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("a.csv"), "id;x\n1;2,5\n2;3,0\n").unwrap();
    std::fs::write(folder.join("b.csv"), "id;x\n3;0,5\n").unwrap();
    let run = strata_ok(
        &scratch.path,
        &[
            "fit", "--input", "semi", "--id", "id", "--k", "2", "--output", "semi.csv",
        ],
    );
    assert_eq!(
        run.stderr.matches("columns split by ';'").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("a.csv and 1 other part: columns split by ';'; decimal commas in x"),
        "{}",
        run.stderr
    );
    let data = read_dataset(Source::file(folder), &request).unwrap();
    let rows: Vec<&[f32]> = (0..3).map(|i| data.matrix.row(i)).collect();
    assert_eq!(rows, [[2.5], [3.0], [0.5]]);
}

#[test]
fn many_small_csv_parts_fit_as_one_file() {
    // A Spark-style folder of small CSV parts, some gzip, some empty, read as one stream
    // of blocks: the same segments, byte for byte, as the rows in one file.
    let scratch = Scratch::new("many-parts");
    strata_ok(
        &scratch.path,
        &[
            "generate",
            "--rows",
            "20000",
            "--dims",
            "4",
            "--seed",
            "9",
            "--output",
            "whole.csv",
        ],
    );
    let whole = std::fs::read_to_string(scratch.join("whole.csv")).unwrap();
    let (header, rows) = whole.split_once('\n').unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    let folder = scratch.join("parts");
    std::fs::create_dir(&folder).unwrap();
    let sizes = (0..).map(|i: usize| [0, 1, 7, 333, 1200][i % 5]).take(60);
    let mut taken = 0;
    for (i, size) in sizes.enumerate() {
        let end = (taken + size).min(rows.len());
        let mut text = format!("{header}\n");
        for row in &rows[taken..end] {
            text.push_str(row);
            text.push('\n');
        }
        taken = end;
        if i % 3 == 0 {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
            let name = format!("part-{i:05}.csv.gz");
            std::fs::write(folder.join(name), gz.finish().unwrap()).unwrap();
        } else {
            std::fs::write(folder.join(format!("part-{i:05}.csv")), text).unwrap();
        }
    }
    assert!(taken < rows.len());
    let mut last = format!("{header}\n");
    for row in &rows[taken..] {
        last.push_str(row);
        last.push('\n');
    }
    std::fs::write(folder.join("part-99999.csv"), last).unwrap();
    // Parts with no text at all, not even a header row, hold no rows: they are skipped.
    std::fs::write(folder.join("part-00003-empty.csv"), "").unwrap();
    let empty = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::fs::write(
        folder.join("part-00000-empty.csv.gz"),
        empty.finish().unwrap(),
    )
    .unwrap();
    for (input, output) in [("whole.csv", "whole.arrow"), ("parts", "parts.arrow")] {
        let args = fit_blobs(input, "4", &["--threads", "3", "--output", output]);
        strata_ok(&scratch.path, &args);
    }
    let parts = std::fs::read(scratch.join("parts.arrow")).unwrap();
    assert_eq!(parts, std::fs::read(scratch.join("whole.arrow")).unwrap());
}

#[test]
fn export_and_unload_names_are_read_as_delimited_text() {
    // Redshift's UNLOAD ... GZIP writes parts named 0000_part_00.gz (and, asked, a manifest
    // with no extension); tab-separated exports are named .tsv. Each reads as the CSV does.
    let scratch = Scratch::new("unload-names");
    let gzip = |text: &str| {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut out, text.as_bytes()).unwrap();
        out.finish().unwrap()
    };
    std::fs::write(scratch.join("one.csv"), "id,x,y\n1,2,3\n2,4,5\n3,6,9\n").unwrap();
    let folder = scratch.join("unload");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("0000_part_00.gz"),
        gzip("id|x|y\n1|2|3\n2|4|5\n"),
    )
    .unwrap();
    std::fs::write(folder.join("0001_part_00.gz"), gzip("id|x|y\n3|6|9\n")).unwrap();
    std::fs::write(folder.join("manifest"), "{\"entries\": []}").unwrap();
    // Without GZIP, as by default, the parts are plain and have no extension at all.
    let plain = scratch.join("plain-unload");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("customers_0000_part_00"), "id|x|y\n1|2|3\n").unwrap();
    std::fs::write(
        plain.join("customers_0000_part_01"),
        "id|x|y\n2|4|5\n3|6|9\n",
    )
    .unwrap();
    std::fs::write(plain.join("customers_manifest"), "{\"entries\": []}").unwrap();
    std::fs::write(
        scratch.join("one.tsv"),
        "id\tx\ty\n1\t2\t3\n2\t4\t5\n3\t6\t9\n",
    )
    .unwrap();
    std::fs::write(
        scratch.join("one.tsv.gz"),
        gzip("id\tx\ty\n1\t2\t3\n2\t4\t5\n3\t6\t9\n"),
    )
    .unwrap();
    let request = ColumnRequest {
        id: Some("id".into()),
        ..Default::default()
    };
    let want = read_dataset(Source::file(scratch.join("one.csv")), &request).unwrap();
    assert_eq!(want.matrix.row(2), [6.0, 9.0]);
    for input in ["unload", "plain-unload", "one.tsv", "one.tsv.gz"] {
        let data = read_dataset(Source::file(scratch.join(input)), &request).unwrap();
        assert_eq!(data.features, ["x", "y"], "{input}");
        assert_eq!(data.matrix.rows(), 3, "{input}");
        for i in 0..3 {
            assert_eq!(data.matrix.row(i), want.matrix.row(i), "{input}: row {i}");
        }
        assert_eq!(data.ids.as_ref().unwrap().display(2), "3", "{input}");
    }
    // A compressed name that says another format is still not read as text.
    std::fs::write(scratch.join("t.json.gz"), gzip("{}")).unwrap();
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "t.json.gz",
            "--k",
            "2",
            "--output",
            "s.arrow",
        ],
        2,
        &["cannot tell the format of", "any name ending in .gz"],
    );
}

#[test]
fn words_for_missing_values_read_as_missing_when_named() {
    // Warehouse exports write NULL or \N for a missing value, R writes NA. Named in
    // --null-values they read as the empty fields they stand for: the same segments, byte for
    // byte, from a file, a folder of parts, standard input and a file split by semicolons with
    // decimal commas, and `predict` the same.
    let scratch = Scratch::new("null-values");
    strata_ok(
        &scratch.path,
        &[
            "generate", "--rows", "3000", "--dims", "3", "--seed", "4", "--output", "g.csv",
        ],
    );
    let generated = std::fs::read_to_string(scratch.join("g.csv")).unwrap();
    let (header, rows) = generated.split_once('\n').unwrap();
    let words = ["NULL", "\\N", "NA"];
    let (mut empty, mut worded, mut semicolons) = (vec![], vec![], vec![]);
    for (i, row) in rows.lines().enumerate() {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields.len(), 5);
        // One feature missing in every seventh row, the features in turn (f0 in row 0).
        let missing = (i % 7 == 0).then_some(1 + (i / 7) % 3);
        let with = |gap: &str| -> Vec<String> {
            (0..5)
                .map(|c| match missing {
                    Some(m) if m == c => gap.to_string(),
                    _ => fields[c].to_string(),
                })
                .collect()
        };
        let word = words[(i / 7) % 3];
        empty.push(with("").join(","));
        worded.push(with(word).join(","));
        semicolons.push(
            with(word)
                .iter()
                .map(|f| f.replace('.', ","))
                .collect::<Vec<_>>()
                .join(";"),
        );
    }
    let text = |header: &str, rows: &[String]| format!("{header}\n{}\n", rows.join("\n"));
    scratch.write("empty.csv", &text(header, &empty));
    let worded_csv = text(header, &worded);
    scratch.write("words.csv", &worded_csv);
    scratch.write(
        "semicolons.csv",
        &text(&header.replace(',', ";"), &semicolons),
    );
    let folder = scratch.join("parts");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("part-0.csv"), text(header, &worded[..1700])).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text(header, &worded[1700..]).as_bytes()).unwrap();
    std::fs::write(folder.join("part-1.csv.gz"), gz.finish().unwrap()).unwrap();

    let named = ["--missing", "mean", "--null-values", "NULL,\\N,NA"];
    let want = fit_blobs(
        "empty.csv",
        "3",
        &["--missing", "mean", "--output", "empty.arrow"],
    );
    let mut want = want;
    want.extend(["--model", "model.json"]);
    let run = strata_ok(&scratch.path, &want);
    assert!(
        run.stderr.contains("filled 143 missing value(s) of 'f0'"),
        "{}",
        run.stderr
    );
    let want = std::fs::read(scratch.join("empty.arrow")).unwrap();
    for input in ["words.csv", "parts", "semicolons.csv"] {
        let mut args = fit_blobs(input, "3", &named);
        args.extend(["--output", "got.arrow", "--report", "got.json"]);
        strata_ok(&scratch.path, &args);
        assert_eq!(
            std::fs::read(scratch.join("got.arrow")).unwrap(),
            want,
            "{input}"
        );
        assert_eq!(
            json(&scratch.join("got.json"))["params"]["null_values"],
            serde_json::json!(["NULL", "\\N", "NA"])
        );
    }
    // A sweep reads them so too, and says so.
    let mut sweep = vec!["sweep", "--input", "words.csv", "--id", "id", "--exclude"];
    sweep.extend([
        "true_segment",
        "--k",
        "2,3",
        "--gap-refs",
        "0",
        "--report",
        "sweep.json",
    ]);
    sweep.extend(named);
    strata_ok(&scratch.path, &sweep);
    let params = &json(&scratch.join("sweep.json"))["params"];
    assert_eq!(
        params["null_values"],
        serde_json::json!(["NULL", "\\N", "NA"])
    );
    assert_eq!(params["missing"], "mean");
    let mut args = fit_blobs("-", "3", &named);
    args.extend(["--output", "piped.arrow"]);
    let run = strata_piped(&scratch.path, &args, worded_csv.into_bytes());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read(scratch.join("piped.arrow")).unwrap(), want);
    for (input, null_values, output) in [
        ("empty.csv", "", "p-empty.arrow"),
        ("words.csv", "NULL,\\N,NA", "p-words.arrow"),
    ] {
        strata_ok(
            &scratch.path,
            &[
                "predict",
                "--model",
                "model.json",
                "--input",
                input,
                "--id",
                "id",
                "--missing",
                "mean",
                "--null-values",
                null_values,
                "--output",
                output,
            ],
        );
    }
    assert_eq!(
        std::fs::read(scratch.join("p-words.arrow")).unwrap(),
        std::fs::read(scratch.join("p-empty.arrow")).unwrap()
    );

    // Not named, a word is a value that is not a number, named with its row; and columns
    // holding words are text, which the message says how to read.
    let mut args = fit_blobs("words.csv", "3", &["--features", "f0,f1,f2"]);
    args.extend(["--missing", "mean", "--output", "no.arrow"]);
    strata_fails(
        &scratch.path,
        &args,
        65,
        &["'NULL'", "at row 0", "name it in --null-values"],
    );
    let mut args = fit_blobs(
        "words.csv",
        "3",
        &["--missing", "mean", "--output", "no.arrow"],
    );
    strata_fails(
        &scratch.path,
        &args,
        65,
        &[
            "no numeric feature columns",
            "mark missing values: name them in --null-values, as in --null-values 'NULL,\\N,NA'",
        ],
    );
    assert!(!scratch.join("no.arrow").exists());
    args.extend(["--null-values", "NULL"]);
    let run = strata_ok(&scratch.path, &args);
    assert!(
        run.stderr.contains(
            "not features: 'f1' (Utf8: numbers, and '\\N'), 'f2' (Utf8: numbers, and 'NA')"
        ) && run.stderr.contains("as in --null-values '\\N,NA'"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_sentinel_number_reads_as_missing_when_named_in_csv_and_typed_inputs_alike() {
    // Some exports write -999 for an unknown value: named (a negative number, no '=' needed),
    // it is missing, and --missing fills it.
    let scratch = Scratch::new("null-sentinel");
    scratch.write(
        "s.csv",
        "id,a,b\n1,3,4\n2,-999,6\n3,50,1\n4,40,-999\n5,41,2\n",
    );
    scratch.write("e.csv", "id,a,b\n1,3,4\n2,,6\n3,50,1\n4,40,\n5,41,2\n");
    let fit = |input: &str, more: &[&str], output: &str| {
        let mut args = vec!["fit", "--input", input, "--id", "id", "--k", "2"];
        args.extend(["--missing", "mean", "--output", output]);
        args.extend(more);
        strata_ok(&scratch.path, &args)
    };
    fit("e.csv", &[], "e.arrow");
    let run = fit("s.csv", &["--null-values", "-999"], "s.arrow");
    assert!(
        run.stderr.contains("filled 1 missing value(s) of 'a'"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(scratch.join("s.arrow")).unwrap(),
        std::fs::read(scratch.join("e.arrow")).unwrap()
    );
    // A typed input has nulls of its own, but a number stands for a missing value in its
    // numeric columns all the same (Int64 and Float32 here): the same segments. A word is
    // for CSV inputs only, and the log says so.
    write_arrow(
        &scratch.join("typed.arrow"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]))),
            ("a", Arc::new(Int64Array::from(vec![3, -999, 50, 40, 41]))),
            (
                "b",
                Arc::new(Float32Array::from(vec![4.0, 6.0, 1.0, -999.0, 2.0])),
            ),
        ],
    );
    // A list that starts with a negative number needs no '=' either.
    let run = fit("typed.arrow", &["--null-values", "-999,NULL"], "t.arrow");
    assert!(
        run.stderr.contains("filled 1 missing value(s) of 'b'")
            && run.stderr.contains(
                "--null-values NULL is not used: words are for CSV inputs, and \
                 typed.arrow has typed columns with nulls of their own"
            ),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(scratch.join("t.arrow")).unwrap(),
        std::fs::read(scratch.join("e.arrow")).unwrap()
    );
    let parquet = fixtures().join("formats/table_snappy.parquet");
    let run = strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            parquet.to_str().unwrap(),
            "--k",
            "2",
            "--null-values",
            "NULL,NA",
            "--output",
            "p.arrow",
        ],
    );
    assert!(
        run.stderr
            .contains("--null-values NULL,NA is not used: words are for CSV inputs"),
        "{}",
        run.stderr
    );
    // Since the flag takes values starting with a hyphen, a list left out would take the next
    // flag as its value: the error names that flag, not the value after it.
    for more in [&["--seed", "1"][..], &["--quiet"]] {
        let mut args = vec!["fit", "--input", "s.csv", "--k", "2", "--output", "x.arrow"];
        args.push("--null-values");
        args.extend(more);
        let flag = format!("'{}' is a flag, not a text for a missing value", more[0]);
        strata_fails(
            &scratch.path,
            &args,
            2,
            &[flag.as_str(), "as in --null-values 'NULL,-999'"],
        );
    }
}

#[test]
fn a_typed_input_s_names_with_spaces_around_them_are_found_without() {
    // A CSV header `id, spend, visits` saved to Arrow as it was read keeps the spaces: the
    // names given without them find those columns, to use or to leave out.
    let scratch = Scratch::new("padded-names");
    write_arrow(
        &scratch.join("p.arrow"),
        vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]))),
            (
                " spend",
                Arc::new(Float32Array::from(vec![1.0, 2.0, 30.0, 31.0, 2.5])),
            ),
            (
                " visits",
                Arc::new(Float32Array::from(vec![5.0, 1.0, 9.0, 2.0, 4.0])),
            ),
        ],
    );
    let fit = |more: &[&str]| {
        let mut args = vec!["fit", "--input", "p.arrow", "--id", "id", "--k", "2"];
        args.extend(["--output", "s.csv", "--report", "r.json"]);
        args.extend(more);
        strata_ok(&scratch.path, &args);
        json(&scratch.join("r.json"))["input"]["features"].clone()
    };
    assert_eq!(fit(&["--features", "spend"]), serde_json::json!([" spend"]));
    assert_eq!(fit(&["--exclude", "visits"]), serde_json::json!([" spend"]));
    // Names differ in case: not taken, but named.
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "p.arrow",
            "--features",
            "Spend",
            "--k",
            "2",
            "--output",
            "x.csv",
        ],
        65,
        &[
            "(names are case-sensitive: did you mean ' spend'?); the columns are: id, ' spend', ' visits'",
        ],
    );
}

#[test]
fn a_boolean_feature_is_read_as_one_and_zero_when_named() {
    let scratch = Scratch::new("bool-feature");
    std::fs::write(
        scratch.join("b.csv"),
        "id,spend,is_member,city\n1,10.5,true,a\n2,3,false,b\n3,8,TRUE,a\n4,1,False,c\n",
    )
    .unwrap();
    let schema = std::sync::Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("id", DataType::Int64, false),
        arrow_schema::Field::new("spend", DataType::Float64, false),
        arrow_schema::Field::new("is_member", DataType::Boolean, false),
        arrow_schema::Field::new("city", DataType::Utf8, false),
    ]));
    let batch = arrow_array::RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(arrow_array::Int64Array::from(vec![1, 2, 3, 4])),
            std::sync::Arc::new(arrow_array::Float64Array::from(vec![10.5, 3.0, 8.0, 1.0])),
            std::sync::Arc::new(arrow_array::BooleanArray::from(vec![
                true, false, true, false,
            ])),
            std::sync::Arc::new(arrow_array::StringArray::from(vec!["a", "b", "a", "c"])),
        ],
    )
    .unwrap();
    let named = ColumnRequest {
        id: Some("id".into()),
        features: Some(vec!["spend".into(), "is_member".into()]),
        ..Default::default()
    };
    let typed = || Source::Memory {
        name: "typed".into(),
        schema: schema.clone(),
        batches: vec![batch.clone()],
    };
    for source in [Source::file(scratch.join("b.csv")), typed()] {
        let data = read_dataset(source, &named).unwrap();
        let rows: Vec<&[f32]> = (0..4).map(|i| data.matrix.row(i)).collect();
        assert_eq!(rows, [[10.5, 1.0], [3.0, 0.0], [8.0, 1.0], [1.0, 0.0]]);
    }
    // Not named, it is left out, and the warning says how to take it.
    let run = strata_ok(
        &scratch.path,
        &[
            "fit", "--input", "b.csv", "--id", "id", "--k", "2", "--output", "s.arrow", "--report",
            "r.json",
        ],
    );
    assert!(
        run.stderr
            .contains("'is_member' (Boolean, read as 1 and 0 when named in --features)"),
        "{}",
        run.stderr
    );
    assert_eq!(
        json(&scratch.join("r.json"))["input"]["features"],
        serde_json::json!(["spend"])
    );
    // Text is still no feature: a column typed as text is refused as it is named; a CSV's
    // column, whose type is only inferred, at its first value that is not a number.
    let city = ColumnRequest {
        features: Some(vec!["spend".into(), "city".into()]),
        ..Default::default()
    };
    let Err(error) = read_dataset(typed(), &city) else {
        panic!("a text feature was read");
    };
    let error = error.to_string();
    assert!(
        error.contains("feature column 'city' has type Utf8") && error.contains("or boolean"),
        "{error}"
    );
    strata_fails(
        &scratch.path,
        &[
            "fit",
            "--input",
            "b.csv",
            "--features",
            "spend,city",
            "--k",
            "2",
            "--output",
            "t.arrow",
        ],
        65,
        &["value 'a'", "for column 'city' at row 0"],
    );
}

#[test]
fn compressed_csv_is_read_and_written() {
    let scratch = Scratch::new("compressed-csv");
    let read = |name: &str| std::fs::read(scratch.join(name)).unwrap();
    // Every compressed copy of the table (the fixtures were compressed by Python's gzip and
    // pyarrow's zstd) fits as the table does.
    fit_fixture(&scratch, "table.csv", "plain.arrow");
    for input in ["table.csv.gz", "table_members.csv.gz", "table.csv.zst"] {
        fit_fixture(&scratch, input, "compressed.arrow");
        assert_eq!(read("compressed.arrow"), read("plain.arrow"), "{input}");
    }

    // Outputs named .csv.gz and .csv.zst hold the text that .csv holds, compressed.
    for output in ["seg.csv", "seg.csv.gz", "seg.csv.zst"] {
        fit_fixture(&scratch, "table.csv", output);
    }
    let text = read("seg.csv");
    assert!(text.starts_with(b"cid,segment,distance\n"));
    let gzip = read("seg.csv.gz");
    assert_eq!(gzip[..2], [0x1f, 0x8b]);
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(gzip.as_slice()),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, text);
    let zstd = read("seg.csv.zst");
    assert_eq!(zstd[..4], [0x28, 0xb5, 0x2f, 0xfd]);
    assert_eq!(zstd::decode_all(zstd.as_slice()).unwrap(), text);

    // A gzip file under a plain .csv name is read as gzip, and the log says so.
    std::fs::copy(
        fixtures().join("formats/table.csv.gz"),
        scratch.join("hidden.csv"),
    )
    .unwrap();
    let run = strata_ok(&scratch.path, &cid_fit("hidden.csv", "hidden.arrow"));
    assert!(
        run.stderr.contains("hidden.csv: gzip-compressed"),
        "{}",
        run.stderr
    );
    assert_eq!(read("hidden.arrow"), read("plain.arrow"));

    // A name that says gzip over plain text, or over zstd: a clear error, nothing written.
    std::fs::copy(
        fixtures().join("formats/table.csv"),
        scratch.join("plain.csv.gz"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("formats/table.csv.zst"),
        scratch.join("z.csv.gz"),
    )
    .unwrap();
    for (input, says) in [
        ("plain.csv.gz", "its first bytes are not a gzip file's"),
        ("z.csv.gz", "its first bytes are a zstd file's"),
    ] {
        let args = cid_fit(input, "bad.arrow");
        strata_fails(&scratch.path, &args, 65, &["its name says gzip", says]);
        assert!(!scratch.join("bad.arrow").exists());
    }

    // Only CSV outputs are compressed by name: others are refused before any work.
    for output in ["seg.parquet.gz", "seg.arrow.zst"] {
        let args = [
            "fit",
            "--input",
            "plain.arrow",
            "--k",
            "2",
            "--output",
            output,
        ];
        strata_fails(&scratch.path, &args, 2, &["compresses CSV outputs only"]);
        assert!(!scratch.join(output).exists());
    }

    // A folder of parts, some compressed and some not, is one table; a part whose name hides
    // its gzip is said once, when it is read (not also when the parts' columns are compared).
    let folder = scratch.join("parts");
    std::fs::create_dir(&folder).unwrap();
    let gzip = |text: &[u8]| {
        let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut out, text).unwrap();
        out.finish().unwrap()
    };
    std::fs::write(folder.join("a.csv.gz"), gzip(b"id,x\n1,2\n2,3\n")).unwrap();
    std::fs::write(folder.join("b.csv"), "id,x\n3,0.5\n").unwrap();
    std::fs::write(folder.join("c.csv"), gzip(b"id,x\n4,8\n")).unwrap();
    let run = strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "parts",
            "--id",
            "id",
            "--k",
            "2",
            "--output",
            "parts.arrow",
        ],
    );
    assert_eq!(
        run.stderr.matches("gzip-compressed").count(),
        1,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("c.csv: gzip-compressed"),
        "{}",
        run.stderr
    );
    let request = ColumnRequest {
        id: Some("id".into()),
        ..Default::default()
    };
    let data = read_dataset(Source::file(folder), &request).unwrap();
    let rows: Vec<&[f32]> = (0..4).map(|i| data.matrix.row(i)).collect();
    assert_eq!(rows, [[2.0], [3.0], [0.5], [8.0]]);
}

#[test]
fn a_compressed_csv_output_is_one_stream_whatever_the_threads() {
    // 400,000 rows: seven pieces of text compressed apart, and several zstd jobs.
    let scratch = Scratch::new("compressed-threads");
    let read = |name: &str| std::fs::read(scratch.join(name)).unwrap();
    let generate = |output: &str, threads: &str| {
        strata_ok(
            &scratch.path,
            &[
                "generate",
                "--rows",
                "400000",
                "--dims",
                "4",
                "--seed",
                "3",
                "--threads",
                threads,
                "--output",
                output,
            ],
        );
    };
    generate("plain.csv", "2");
    let text = read("plain.csv");
    for name in ["g.csv.gz", "g.csv.zst"] {
        generate(&format!("1-{name}"), "1");
        generate(&format!("2-{name}"), "2");
        assert!(
            read(&format!("1-{name}")) == read(&format!("2-{name}")),
            "{name}: one thread and two wrote different bytes"
        );
    }
    // One gzip member (a reader that stops after the first member reads all the text) and one
    // zstd frame, each with the checksum its reader verifies.
    let mut gunzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(read("2-g.csv.gz").as_slice()),
        &mut gunzipped,
    )
    .unwrap();
    assert!(gunzipped == text, "the gzip member does not hold the text");
    let zstd = read("2-g.csv.zst");
    let mut unzstd = Vec::new();
    let mut frame = zstd::stream::read::Decoder::new(zstd.as_slice())
        .unwrap()
        .single_frame();
    std::io::Read::read_to_end(&mut frame, &mut unzstd).unwrap();
    assert!(unzstd == text, "the zstd frame does not hold the text");
}

#[test]
fn a_tsv_output_is_separated_by_tabs_and_a_name_of_no_format_is_said() {
    let scratch = Scratch::new("tsv-output");
    let read = |name: &str| std::fs::read(scratch.join(name)).unwrap();
    let generate = |output: &str| {
        let args = ["generate", "--rows", "300", "--dims", "3", "--seed", "3"];
        let mut args = args.to_vec();
        args.extend(["--output", output]);
        strata_ok(&scratch.path, &args)
    };
    generate("t.csv");
    let csv = String::from_utf8(read("t.csv")).unwrap();
    assert!(!csv.contains('\t') && csv.lines().count() == 301);
    let tabs = csv.replace(',', "\t");
    generate("t.tsv");
    assert_eq!(String::from_utf8(read("t.tsv")).unwrap(), tabs);
    generate("t.tsv.gz");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(read("t.tsv.gz").as_slice()),
        &mut text,
    )
    .unwrap();
    assert_eq!(text, tabs);
    // A name that says no format is written as Arrow IPC, and the log says so.
    let run = generate("t.xlsx");
    assert!(
        run.stderr.contains(
            "'t.xlsx' is written as an Arrow IPC file: Strata writes no format named .xlsx"
        ),
        "{}",
        run.stderr
    );
    assert!(read("t.xlsx").starts_with(b"ARROW1"));
    assert!(
        !generate("t.arrow")
            .stderr
            .contains("is written as an Arrow IPC file")
    );
}

#[test]
fn standard_input_is_read_as_it_arrives() {
    let scratch = Scratch::new("stdin");
    let read = |name: &str| std::fs::read(scratch.join(name)).unwrap();
    let fixture = |name: &str| std::fs::read(fixtures().join("formats").join(name)).unwrap();
    let fit_piped =
        |input: Vec<u8>, output: &str| strata_piped(&scratch.path, &cid_fit("-", output), input);
    // CSV, plain or compressed, and an Arrow IPC stream fit as the files do.
    fit_fixture(&scratch, "table.csv", "file.arrow");
    for input in [
        "table.csv",
        "table.csv.gz",
        "table.csv.zst",
        "table_stream.arrow",
    ] {
        let run = fit_piped(fixture(input), "piped.arrow");
        assert_eq!(run.code, 0, "{input}: {}", run.stderr);
        assert_eq!(read("piped.arrow"), read("file.arrow"), "{input}");
        assert!(run.stderr.contains("from standard input"), "{}", run.stderr);
        if input.ends_with(".gz") {
            assert!(run.stderr.contains("standard input: gzip-compressed"));
        }
    }
    // Files read from their end, and nothing at all: clear errors, nothing written.
    for (input, says) in [
        (
            "table_snappy.parquet",
            "standard input holds a Parquet file",
        ),
        ("table.feather", "standard input holds an Arrow IPC file"),
    ] {
        let run = fit_piped(fixture(input), "bad.arrow");
        assert_eq!(run.code, 65, "{input}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{}", run.stderr);
        assert!(run.stderr.contains("write it to a file"), "{}", run.stderr);
    }
    let run = fit_piped(Vec::new(), "bad.arrow");
    assert_eq!(run.code, 65, "{}", run.stderr);
    assert!(
        run.stderr.contains("'standard input' is empty"),
        "{}",
        run.stderr
    );
    assert!(!scratch.join("bad.arrow").exists());
    // '-' is no output: not a file named so.
    let run = fit_piped(fixture("table.csv"), "-");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("give /dev/stdout"), "{}", run.stderr);
    assert!(!scratch.join("-").exists());

    // A text longer than what is kept to look at first: its rows run on past the seam.
    strata_ok(
        &scratch.path,
        &[
            "generate", "--rows", "400000", "--dims", "4", "--seed", "3", "--output", "big.csv",
        ],
    );
    let big = read("big.csv");
    assert!(big.len() > 16 << 20, "{} bytes", big.len());
    let args = [
        "fit",
        "--input",
        "ARG",
        "--id",
        "id",
        "--exclude",
        "true_segment",
        "--k",
        "3",
        "--output",
        "OUT",
    ];
    let with = |input: &'static str, output: &'static str| {
        let mut args = args.to_vec();
        args[2] = input;
        args[10] = output;
        args
    };
    strata_ok(&scratch.path, &with("big.csv", "big-file.arrow"));
    let run = strata_piped(&scratch.path, &with("-", "big-piped.arrow"), big);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(read("big-piped.arrow"), read("big-file.arrow"));
}

#[test]
fn a_dictionary_encoded_id_is_written_decoded() {
    let scratch = Scratch::new("dictionary-ids");
    fit_fixture(&scratch, "table_dictionary.parquet", "seg.arrow");
    let batches = read_arrow(&scratch.join("seg.arrow"));
    let column = batches[0].column(0);
    assert_eq!(column.data_type(), &DataType::Utf8);
    let ids: Vec<&str> = column
        .as_string::<i32>()
        .iter()
        .map(|v| v.unwrap())
        .collect();
    assert_eq!(ids, ["a1", "b2", "c3", "d4", "e5"]);
}

#[test]
fn floating_point_and_decimal_ids_are_whole_numbers_kept_in_their_type() {
    // pandas holds integer ids as Float64 once one was missing; such a column is an id all the
    // same: whole numbers, written back in its type (as far as 2^53 and beyond, exactly), and
    // checked for repeats as numbers.
    let scratch = Scratch::new("float-ids");
    let big = 9_007_199_254_740_993_i64 as f64; // 2^53 + 1 rounds to 2^53: one f64, kept.
    let ids = vec![17_850.0, 1e6, -3.0, big, 0.0, 12.0];
    let features = |n: usize| -> arrow_array::ArrayRef {
        Arc::new(Float32Array::from(
            (0..n).map(|i| (i % 3) as f32 * 4.0).collect::<Vec<_>>(),
        ))
    };
    write_arrow(
        &scratch.join("in.arrow"),
        vec![
            (
                "cid",
                Arc::new(arrow_array::Float64Array::from(ids.clone())),
            ),
            ("spend", features(ids.len())),
        ],
    );
    fit_cid(&scratch, "in.arrow", "seg.arrow");
    predict_cid(&scratch, "in.arrow", "pred.arrow");
    for output in ["seg.arrow", "pred.arrow"] {
        let batches = read_arrow(&scratch.join(output));
        let column = batches[0].column(0);
        assert_eq!(column.data_type(), &DataType::Float64, "{output}");
        let got = column
            .as_primitive::<arrow_array::types::Float64Type>()
            .values();
        assert_eq!(got.to_vec(), ids, "{output}");
    }
    // Float32 ids come back as Float32.
    write_arrow(
        &scratch.join("f32.arrow"),
        vec![
            (
                "cid",
                Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0, 4.0])),
            ),
            ("spend", features(4)),
        ],
    );
    fit_cid(&scratch, "f32.arrow", "seg32.arrow");
    let batches = read_arrow(&scratch.join("seg32.arrow"));
    assert_eq!(batches[0].column(0).data_type(), &DataType::Float32);
    // A warehouse's NUMBER(38,0) comes as a decimal: its whole numbers are ids, written back as
    // the decimal; one with a fraction stops the run.
    let decimals = |values: Vec<i128>, scale: i8| -> arrow_array::ArrayRef {
        Arc::new(
            arrow_array::Decimal128Array::from(values)
                .with_precision_and_scale(38, scale)
                .unwrap(),
        )
    };
    let numbers = vec![1_234_567_890_123_456_789, 5, -17, 0];
    write_arrow(
        &scratch.join("dec.arrow"),
        vec![
            ("cid", decimals(numbers.clone(), 0)),
            ("spend", features(4)),
        ],
    );
    fit_cid(&scratch, "dec.arrow", "seg-dec.arrow");
    let batches = read_arrow(&scratch.join("seg-dec.arrow"));
    let column = batches[0].column(0);
    assert_eq!(column.data_type(), &DataType::Decimal128(38, 0));
    let got = column
        .as_primitive::<arrow_array::types::Decimal128Type>()
        .values();
    assert_eq!(got.to_vec(), numbers);
    // Ids `cid` that stop the fit with `says`.
    let refused = |name: &str, cid: arrow_array::ArrayRef, says: &str| {
        let input = format!("{name}.arrow");
        write_arrow(
            &scratch.join(&input),
            vec![("cid", cid), ("spend", features(4))],
        );
        strata_fails(
            &scratch.path,
            &cid_fit(&input, "refused.arrow"),
            65,
            &[says],
        );
    };
    let floats = |values: Vec<f64>| -> arrow_array::ArrayRef {
        Arc::new(arrow_array::Float64Array::from(values))
    };
    refused(
        "dec-half",
        decimals(vec![100, 200, 250, 300], 2),
        "id column 'cid' holds 2.50 at row 2, not a whole number",
    );
    // A repeated id is one, and named as the number it is.
    refused(
        "dup",
        floats(vec![7.0, 8.0, 7.0, 9.0]),
        "1 duplicate row(s) over 1 id(s), e.g. 7 at rows 0 and 2",
    );
    // One that is no whole number stops the run, with its row.
    refused(
        "half",
        floats(vec![1.0, 2.0, 2.5, f64::NAN]),
        "id column 'cid' holds 2.5 at row 2, not a whole number",
    );
    // A CSV's ids written with a decimal point are text, as written.
    scratch.write("in.csv", "cid,spend\n17850.0,1\n12.50,2\n3.0,8\n4.0,9\n");
    fit_cid(&scratch, "in.csv", "csv-seg.csv");
    let written = std::fs::read_to_string(scratch.join("csv-seg.csv")).unwrap();
    let firsts: Vec<&str> = written
        .lines()
        .map(|line| line.split(',').next().unwrap())
        .collect();
    assert_eq!(firsts, ["cid", "17850.0", "12.50", "3.0", "4.0"]);
}

#[test]
fn integer_ids_keep_their_width() {
    let scratch = Scratch::new("int-ids");
    strata_ok(
        &scratch.path,
        &[
            "generate", "--rows", "100", "--dims", "2", "--output", "g.arrow",
        ],
    );
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "g.arrow",
            "--id",
            "id",
            "--exclude",
            "true_segment",
            "--k",
            "2",
            "--output",
            "s.arrow",
        ],
    );
    let batches = read_arrow(&scratch.join("s.arrow"));
    assert_eq!(batches[0].schema().field(0).data_type(), &DataType::Int64);
    // Without an id, rows are numbered from 0 in a UInt64 `row` column.
    strata_ok(
        &scratch.path,
        &[
            "fit",
            "--input",
            "g.arrow",
            "--exclude",
            "id,true_segment",
            "--k",
            "2",
            "--output",
            "r.arrow",
        ],
    );
    let batches = read_arrow(&scratch.join("r.arrow"));
    assert_eq!(batches[0].schema().field(0).name(), "row");
    assert_eq!(batches[0].schema().field(0).data_type(), &DataType::UInt64);
}
