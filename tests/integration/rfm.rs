//! `strata rfm` against a pandas groupby on the same transaction log (tests/fixtures/rfm,
//! written by make_fixtures.py): every date form (time-zoned timestamps too), ties, refunds,
//! one-purchase customers, multi-line orders, bad rows (also written as words for missing
//! values).

use crate::util::{
    Scratch, assert_close, fixtures, json, read_arrow, strata, strata_fails, strata_ok, write_arrow,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_array::{Date32Array, Float64Array, Int64Array, RecordBatch, TimestampSecondArray};
use arrow_schema::DataType;
use serde_json::Value;
use std::sync::Arc;

fn rfm_fixture(name: &str) -> String {
    fixtures().join("rfm").join(name).display().to_string()
}

/// `strata rfm` on `input` with the fixtures' columns (customer_id, date, amount), to `output`.
fn rfm_args<'a>(input: &'a str, output: &'a str) -> Vec<&'a str> {
    rfm_args_dated(input, "date", output)
}

/// [`rfm_args`] with the dates in column `date`.
fn rfm_args_dated<'a>(input: &'a str, date: &'a str, output: &'a str) -> Vec<&'a str> {
    vec![
        "rfm",
        "--input",
        input,
        "--customer",
        "customer_id",
        "--date",
        date,
        "--amount",
        "amount",
        "--output",
        output,
    ]
}

/// Runs rfm on a fixture and returns the output table.
fn run(scratch: &Scratch, input: &str, extra: &[&str]) -> RecordBatch {
    run_dated(scratch, input, "date", extra)
}

/// [`run`] with the dates in column `date`.
fn run_dated(scratch: &Scratch, input: &str, date: &str, extra: &[&str]) -> RecordBatch {
    let input = rfm_fixture(input);
    let mut args = rfm_args_dated(&input, date, "rfm.arrow");
    args.extend_from_slice(extra);
    strata_ok(&scratch.path, &args);
    let batches = read_arrow(&scratch.join("rfm.arrow"));
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// The customers of an output table whose customer column is text.
fn text_customers(table: &RecordBatch) -> Vec<&str> {
    table
        .column(0)
        .as_string::<i32>()
        .iter()
        .flatten()
        .collect()
}

/// Compares every customer of `table` with the expected map (ids shown as "C%03d").
fn check(table: &RecordBatch, expected: &Value, what: &str) {
    let expected = expected.as_object().unwrap();
    assert_eq!(table.num_rows(), expected.len(), "{what}: customers");
    let column = table.column(0);
    let ids: Vec<String> = if column.data_type().is_integer() || column.data_type().is_floating() {
        let ints = arrow_cast::cast(column, &DataType::Int64).unwrap();
        ints.as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|v| format!("C{v:03}"))
            .collect()
    } else {
        let text = arrow_cast::cast(column, &DataType::Utf8).unwrap();
        text.as_string::<i32>()
            .iter()
            .map(|v| v.unwrap().to_string())
            .collect()
    };
    let int = |name: &str| {
        table
            .column_by_name(name)
            .unwrap()
            .as_primitive::<Int64Type>()
            .clone()
    };
    let float = |name: &str| {
        table
            .column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .clone()
    };
    let date = |name: &str| {
        table
            .column_by_name(name)
            .unwrap()
            .as_primitive::<Date32Type>()
            .clone()
    };
    let (recency, frequency, tenure) = (int("recency_days"), int("frequency"), int("tenure_days"));
    let (monetary, aov) = (float("monetary"), float("avg_order_value"));
    let (first, last) = (date("first_purchase"), date("last_purchase"));
    let iso = strata::segment::rfm::iso_day;
    for (i, id) in ids.iter().enumerate() {
        let want = &expected[id];
        let at = format!("{what}: customer {id}");
        assert_eq!(
            recency.value(i),
            want["recency_days"].as_i64().unwrap(),
            "{at} recency"
        );
        assert_eq!(
            frequency.value(i),
            want["frequency"].as_i64().unwrap(),
            "{at} frequency"
        );
        assert_eq!(
            tenure.value(i),
            want["tenure_days"].as_i64().unwrap(),
            "{at} tenure"
        );
        assert_close(
            &at,
            monetary.value(i),
            want["monetary"].as_f64().unwrap(),
            1e-12,
            1e-9,
        );
        assert_close(
            &at,
            aov.value(i),
            want["avg_order_value"].as_f64().unwrap(),
            1e-12,
            1e-9,
        );
        assert_eq!(iso(first.value(i)), want["first_purchase"], "{at} first");
        assert_eq!(iso(last.value(i)), want["last_purchase"], "{at} last");
    }
}

#[test]
fn rfm_equals_a_pandas_groupby_for_every_date_form() {
    let expected = json(&fixtures().join("rfm").join("expected.json"));
    let scratch = Scratch::new("rfm");
    let order = ["--order", "order_id"];
    for input in [
        "tx_iso.csv",
        "tx_date32.parquet",
        "tx_timestamp.arrow",
        "tx_yyyymmdd.csv",
    ] {
        let table = run(&scratch, input, &order);
        check(&table, &expected["by_order"], input);
    }
    let table = run(
        &scratch,
        "tx_dmy.csv",
        &["--order", "order_id", "--date-format", "%d/%m/%Y"],
    );
    check(&table, &expected["by_order"], "tx_dmy.csv");
    // Text order ids (kept as hashes) count the same orders as integer ones (kept as is).
    let text = std::fs::read_to_string(rfm_fixture("tx_iso.csv")).unwrap();
    let texted: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut fields: Vec<String> = line.split(',').map(String::from).collect();
            if i > 0 {
                fields[1] = format!("\"ORD-{}\"", fields[1]);
            }
            fields.join(",")
        })
        .collect();
    assert!(texted[0].starts_with("\"customer_id\",\"order_id\""));
    let path = scratch.write("tx_text_orders.csv", &(texted.join("\n") + "\n"));
    let table = run(&scratch, path.to_str().unwrap(), &order);
    check(&table, &expected["by_order"], "text order ids");
    // Dictionary-encoded ids (tx_timestamp.arrow) come out as their values' type.
    let table = run(&scratch, "tx_timestamp.arrow", &order);
    assert_eq!(table.schema().field(0).data_type(), &DataType::LargeUtf8);
    // Integer ids keep their type.
    let table = run(&scratch, "tx_yyyymmdd.csv", &order);
    assert_eq!(table.schema().field(0).data_type(), &DataType::Int64);
    let table = run(&scratch, "tx_date32.parquet", &[]);
    check(
        &table,
        &expected["by_transaction"],
        "one transaction, one order",
    );
    let fixed = expected["fixed_as_of"].as_str().unwrap();
    let table = run(
        &scratch,
        "tx_date32.parquet",
        &["--order", "order_id", "--as-of", fixed],
    );
    check(&table, &expected["by_order_fixed"], "--as-of");

    // The summary counts every transaction and refund, and the customer with refunds only
    // whom the table leaves out.
    let input = rfm_fixture("tx_iso.csv");
    let run = strata_ok(&scratch.path, &rfm_args(&input, "summary.csv"));
    let want = format!(
        "transactions {}  customers {}  rejected 0  refunds {} (",
        expected["rows"],
        expected["by_order"].as_object().unwrap().len(),
        expected["refunds"]
    );
    assert!(run.stdout.contains(&want), "{want}\n{}", run.stdout);
    let want = format!("refunds only {}\n", expected["refunds_only"]);
    assert!(run.stdout.contains(&want), "{want}\n{}", run.stdout);
    assert!(
        run.stderr
            .contains("1 customer(s) with refunds only (no purchase in the log) left out"),
        "{}",
        run.stderr
    );
    // The same summary as JSON.
    let mut args = rfm_args(&input, "summary.csv");
    args.push("--json");
    let run = strata_ok(&scratch.path, &args);
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(summary["transactions"], expected["rows"]);
    assert_eq!(summary["refunds"], expected["refunds"]);
    assert_eq!(summary["refunds_only"], expected["refunds_only"]);
    assert_eq!(summary["as_of"], expected["as_of"]);
    assert_eq!(
        summary["customers"].as_u64().unwrap() as usize,
        expected["by_order"].as_object().unwrap().len()
    );
}

#[test]
fn zoned_timestamps_fall_on_the_calendar_day_of_their_zone() {
    // The log of expected.json with times through the day, evenings included, in New York
    // (`date`) and at -03:00 (`date_offset`): pandas' calendar days in those zones are the log's
    // days, so the table is the same as from the plain dates. The same frame as pandas writes
    // it to CSV, with offsets in the text, reads the same.
    let expected = json(&fixtures().join("rfm").join("expected.json"));
    let scratch = Scratch::new("rfm-zones");
    let order = ["--order", "order_id"];
    // tx_timestamp_tz_ms.parquet holds them in milliseconds under an embedded schema of
    // microseconds: the zone is the embedded one.
    for input in [
        "tx_timestamp_tz.parquet",
        "tx_timestamp_tz_ms.parquet",
        "tx_timestamp_tz.csv",
    ] {
        let table = run(&scratch, input, &order);
        check(&table, &expected["by_order"], input);
    }
    let table = run_dated(&scratch, "tx_timestamp_tz.parquet", "date_offset", &order);
    check(&table, &expected["by_order"], "date_offset");

    // A rejected row shows its time in its zone; a zone no one knows stops the run.
    let instants = TimestampSecondArray::from(vec![1_709_337_600, 1_709_341_200]);
    let write = |name: &str, zone: &str| {
        let path = scratch.join(name);
        write_arrow(
            &path,
            vec![
                ("customer_id", Arc::new(Int64Array::from(vec![1, 2])) as _),
                ("date", Arc::new(instants.clone().with_timezone(zone)) as _),
                (
                    "amount",
                    Arc::new(Float64Array::from(vec![Some(5.0), None])) as _,
                ),
            ],
        );
        path.display().to_string()
    };
    let input = write("new_york.arrow", "America/New_York");
    let mut args = rfm_args(&input, "skipped.csv");
    args.extend_from_slice(&["--bad-rows", "skip", "--rejects", "rejects.csv"]);
    strata_ok(&scratch.path, &args);
    let rejects = std::fs::read_to_string(scratch.join("rejects.csv")).unwrap();
    // 2024-03-02 01:00 UTC is 20:00 on 1 March in New York, the day customer 1 bought on.
    assert!(
        rejects.contains("1,\"missing, NaN or infinite amount\",2,2024-03-01T20:00:00-05:00,"),
        "{rejects}"
    );
    let skipped = std::fs::read_to_string(scratch.join("skipped.csv")).unwrap();
    assert!(skipped.ends_with(",2024-03-01,2024-03-01\n"), "{skipped}");
    let input = write("mars.arrow", "Mars/Olympus");
    strata_fails(
        &scratch.path,
        &rfm_args(&input, "mars.csv"),
        65,
        &["time zone 'Mars/Olympus'", "such as America/New_York"],
    );
}

#[test]
fn time_zone_puts_every_instant_on_its_calendar() {
    // The zoned log's instants, also as logs kept in UTC write them (ISO text with Z; Spark's
    // INT96): on
    // New York's calendar they give the log's days (expected.json), on UTC's the days pandas
    // gives in UTC (expected_utc.json), where the evenings fall on the next day.
    let local = json(&fixtures().join("rfm").join("expected.json"));
    let utc = json(&fixtures().join("rfm").join("expected_utc.json"));
    let scratch = Scratch::new("rfm-time-zone");
    let zone = |zone: &'static str| ["--order", "order_id", "--time-zone", zone];
    let cases = [
        ("tx_timestamp_utc.csv", None, &utc),
        ("tx_timestamp_utc.csv", Some("America/New_York"), &local),
        ("tx_timestamp_tz.parquet", Some("utc"), &utc),
        ("tx_timestamp_tz.parquet", Some("America/New_York"), &local),
        ("tx_timestamp_tz.csv", Some("+00:00"), &utc),
        ("tx_timestamp_tz.csv", Some("America/New_York"), &local),
        // As Spark writes them: INT96 UTC instants, with no zone named.
        ("tx_int96.parquet", None, &utc),
        ("tx_int96.parquet", Some("America/New_York"), &local),
    ];
    for (input, time_zone, expected) in cases {
        let table = match time_zone {
            Some(z) => run(&scratch, input, &zone(z)),
            None => run(&scratch, input, &["--order", "order_id"]),
        };
        check(
            &table,
            &expected["by_order"],
            &format!("{input} {time_zone:?}"),
        );
    }
    // The summary names the calendar; dates alone are not moved, and the log says so.
    let input = rfm_fixture("tx_timestamp_tz.parquet");
    let mut args = rfm_args(&input, "zoned.csv");
    args.extend_from_slice(&["--time-zone", "Europe/Paris", "--json"]);
    let run = strata_ok(&scratch.path, &args);
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(summary["time_zone"], "Europe/Paris");
    assert!(!run.stderr.contains("changed no day"), "{}", run.stderr);
    let input = rfm_fixture("tx_date32.parquet");
    let mut args = rfm_args(&input, "dates.csv");
    args.extend_from_slice(&["--time-zone", "Asia/Tokyo"]);
    let run = strata_ok(&scratch.path, &args);
    let as_of = local["as_of"].as_str().unwrap();
    assert!(
        run.stdout
            .contains(&format!("as-of {as_of}  (Asia/Tokyo)\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("--time-zone Asia/Tokyo changed no day"),
        "{}",
        run.stderr
    );
    let mut args = rfm_args(&input, "mars.csv");
    args.extend_from_slice(&["--time-zone", "Mars/Olympus"]);
    strata_fails(&scratch.path, &args, 2, &["--time-zone 'Mars/Olympus'"]);
}

#[test]
fn unix_time_is_read_with_percent_s_and_named_without_it() {
    // The zoned log's instants as Unix time, whole seconds in a Parquet Int64 column and in
    // CSV text: with --date-format %s on UTC's calendar (expected_utc.json), with --time-zone
    // too on New York's (expected.json).
    let local = json(&fixtures().join("rfm").join("expected.json"));
    let utc = json(&fixtures().join("rfm").join("expected_utc.json"));
    let scratch = Scratch::new("rfm-unix");
    let seconds = ["--order", "order_id", "--date-format", "%s"];
    for input in ["tx_unix.parquet", "tx_unix.csv"] {
        let table = run(&scratch, input, &seconds);
        check(&table, &utc["by_order"], input);
        let mut zoned = seconds.to_vec();
        zoned.extend_from_slice(&["--time-zone", "America/New_York"]);
        let table = run(&scratch, input, &zoned);
        check(&table, &local["by_order"], &format!("{input} in New York"));
        // Without the format, the first value is no YYYYMMDD date, and the error says what
        // it looks like.
        let input = rfm_fixture(input);
        strata_fails(
            &scratch.path,
            &rfm_args(&input, "unix.csv"),
            65,
            &["('1704171600')", "looks like Unix time", "--date-format %s"],
        );
    }
    // Milliseconds read as seconds would be dates past the year 9999: no dates, named as
    // milliseconds; a spreadsheet's day number is named too.
    for (value, says) in [
        ("1704171600000", "Unix time in milliseconds"),
        ("45352", "serial day number"),
    ] {
        let path = scratch.write(
            "odd.csv",
            &format!("customer_id,date,amount\n1,{value},5\n"),
        );
        let input = path.display().to_string();
        let mut args = rfm_args(&input, "odd_out.csv");
        if value.len() > 5 {
            args.extend_from_slice(&["--date-format", "%s"]);
        }
        strata_fails(&scratch.path, &args, 65, &[says]);
    }
}

#[test]
fn bad_rows_stop_the_run_or_are_skipped_into_a_rejects_file() {
    let scratch = Scratch::new("rfm-bad");
    let input = rfm_fixture("tx_bad.csv");
    let base = [
        "rfm",
        "--input",
        &input,
        "--customer",
        "customer_id",
        "--date",
        "date",
        "--amount",
        "amount",
        "--order",
        "order_id",
    ];
    let run_with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        strata(&scratch.path, &args)
    };
    let failed = run_with(&["--output", "out.csv"]);
    assert_eq!(failed.code, 65, "{}", failed.stderr);
    assert!(failed.stderr.contains("3 bad row(s)"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("row 4 (0-based): null customer id"),
        "{}",
        failed.stderr
    );
    assert!(scratch.files().is_empty(), "no output after a failure");

    let usage = run_with(&["--output", "out.csv", "--rejects", "rejects.csv"]);
    assert_eq!(usage.code, 2, "--rejects without skip: {}", usage.stderr);

    let ok = run_with(&[
        "--output",
        "out.arrow",
        "--bad-rows",
        "skip",
        "--rejects",
        "rejects.csv",
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("rejected 3"), "{}", ok.stdout);
    let rejects = std::fs::read_to_string(scratch.join("rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "row,reason,customer_id,date,amount,order_id");
    let rows: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let want = json(&fixtures().join("rfm").join("expected_bad.json"));
    let want_rows: Vec<String> = want["rejected_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(rows, want_rows);
    assert!(lines[2].contains("2024-02-30"), "{}", lines[2]);
    // The kept rows aggregate as pandas does without the bad ones.
    let batches = read_arrow(&scratch.join("out.arrow"));
    let table = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    check(&table, &want["by_order"], "skipped bad rows");
}

#[test]
fn floating_point_customer_numbers_are_whole_numbers_or_text_as_written() {
    // pandas holds integer customers as Float64 once one is missing (a guest checkout). In
    // Parquet they are whole numbers, kept as Float64; in a CSV (`1.0`) text, as written. The
    // missing one's row is a bad row either way.
    let scratch = Scratch::new("rfm-float-ids");
    let want = json(&fixtures().join("rfm").join("expected_float_ids.json"));
    let skip = ["--order", "order_id", "--bad-rows", "skip"];
    let typed = run(&scratch, "tx_float_ids.parquet", &skip);
    assert_eq!(typed.schema().field(0).data_type(), &DataType::Float64);
    check(&typed, &want["by_order"], "Float64 customers");
    let written = run(&scratch, "tx_float_ids.csv", &skip);
    let texts = text_customers(&written);
    assert_eq!(texts.len(), typed.num_rows());
    for (text, number) in texts
        .iter()
        .zip(typed.column(0).as_primitive::<Float64Type>().values())
    {
        assert_eq!(*text, format!("{number:.1}"));
    }
    for name in ["recency_days", "frequency", "monetary", "tenure_days"] {
        assert_eq!(
            written.column_by_name(name).unwrap(),
            typed.column_by_name(name).unwrap(),
            "{name}"
        );
    }
    // Stopped at the missing customer without --bad-rows skip, as any bad row stops it.
    let input = rfm_fixture("tx_float_ids.parquet");
    let mut args = rfm_args(&input, "out.csv");
    args.extend(["--order", "order_id"]);
    let row = &want["rejected_rows"][0];
    let says = format!("row {row} (0-based): null customer id");
    strata_fails(&scratch.path, &args, 65, &["1 bad row(s)", &says]);
    // A customer number that is no whole number stops the run, named with its row.
    let path = scratch.join("fraction.arrow");
    write_arrow(
        &path,
        vec![
            (
                "customer_id",
                Arc::new(Float64Array::from(vec![1.0, 2.0, 2.5])),
            ),
            (
                "date",
                Arc::new(Date32Array::from(vec![19000, 19001, 19002])),
            ),
            ("amount", Arc::new(Float64Array::from(vec![5.0, 6.0, 7.0]))),
        ],
    );
    strata_fails(
        &scratch.path,
        &rfm_args(path.to_str().unwrap(), "out.csv"),
        65,
        &["customer column 'customer_id' holds 2.5 at row 2, not a whole number"],
    );
}

#[test]
fn customer_numbers_with_leading_zeros_keep_them() {
    // A customer number padded to one width is read as text, as written: 00012 is not the
    // customer 12, and 0012 is another customer.
    let scratch = Scratch::new("rfm-zero-padded");
    scratch.write(
        "tx.csv",
        "customer_id,date,amount\n00012,2024-01-02,10.5\n00013,2024-02-03,20\n\
         00012,2024-03-01,5\n0012,2024-03-01,1\n",
    );
    let mut args = rfm_args("tx.csv", "out.arrow");
    args.extend(["--as-of", "2024-03-02"]);
    let run = strata_ok(&scratch.path, &args);
    assert!(
        run.stderr
            .contains("customer column 'customer_id' read as text"),
        "{}",
        run.stderr
    );
    let table = &read_arrow(&scratch.join("out.arrow"))[0];
    let customers = text_customers(table);
    assert_eq!(customers, ["00012", "00013", "0012"]);
    let column = |name: &str| table.column_by_name(name).unwrap().clone();
    let frequency = arrow_cast::cast(&column("frequency"), &DataType::Int64).unwrap();
    assert_eq!(frequency.as_primitive::<Int64Type>().values(), &[2, 1, 1]);
    let monetary = column("monetary");
    assert_eq!(
        monetary.as_primitive::<Float64Type>().values(),
        &[15.5, 20.0, 1.0]
    );
}

#[test]
fn a_later_customer_that_is_no_plain_integer_turns_the_customers_to_text() {
    // A CSV's types come from its first 10,000 rows: customers that are whole numbers there,
    // then one that is not (a newer scheme's A-17, or a padded 007 that a number would read
    // as the customer 7), are all written as text, as written; 007 and 7 stay two customers.
    // The row is past the first record batch (65,536 rows), so customers numbered as integers
    // turn to text keeping their order. Customers that are whole numbers all along stay Int64.
    let scratch = Scratch::new("rfm-late-text");
    let log = |late: &str| {
        let mut csv = String::from("customer_id,date,amount\n");
        for i in 0..70_000 {
            csv.push_str(&format!(
                "{},2024-01-{:02},{}\n",
                1000 + i % 500,
                1 + i % 28,
                i % 7
            ));
        }
        csv.push_str(&format!(
            "{late},2024-02-01,3\n7,2024-02-02,4\n 1000 ,2024-02-03,5\n"
        ));
        csv
    };
    let rfm = |input: &str| {
        let run = strata_ok(&scratch.path, &rfm_args(input, "out.arrow"));
        let batches = read_arrow(&scratch.join("out.arrow"));
        let table = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
        (run, table)
    };
    scratch.write("plain.csv", &log("1500"));
    let (_, table) = rfm("plain.csv");
    assert_eq!(table.column(0).data_type(), &DataType::Int64);
    assert_eq!(table.num_rows(), 502);
    for late in ["A-17", "007"] {
        scratch.write("late.csv", &log(late));
        let (run, table) = rfm("late.csv");
        assert!(
            run.stderr.contains(&format!(
                "customer column 'customer_id' is read and written as text: row 70000 holds \
                 '{late}'"
            )),
            "{}",
            run.stderr
        );
        let customers = text_customers(&table);
        assert_eq!(customers.len(), 502);
        assert_eq!(&customers[..2], ["1000", "1001"]);
        assert_eq!(&customers[500..], [late, "7"]);
        // 1000's purchases before the switch and after it (written with spaces around it,
        // which a number is read without) are one customer's.
        let frequency =
            arrow_cast::cast(table.column_by_name("frequency").unwrap(), &DataType::Int64).unwrap();
        let frequency = frequency.as_primitive::<Int64Type>().values();
        assert_eq!(frequency[0], 141);
        assert_eq!(&frequency[500..], [1, 1]);
    }
}

#[test]
fn words_named_in_null_values_are_missing_in_the_log() {
    // The bad-rows log as a warehouse writes it: \N for the missing customer, NULL for the
    // missing amount. Named in --null-values, the same rows are rejected and the rest
    // aggregate as pandas does; not named, the amount column is text, and the message says
    // how to read it.
    let scratch = Scratch::new("rfm-null-values");
    let log = std::fs::read_to_string(rfm_fixture("tx_bad.csv")).unwrap();
    let lines: Vec<String> = log
        .lines()
        .map(|line| match line {
            l if l.starts_with(",1001,") => format!("\\N{l}"),
            l if l.contains(",,") => l.replace(",,", ",NULL,"),
            l => l.to_string(),
        })
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("NULL") || l.starts_with("\\N"))
            .count(),
        2
    );
    scratch.write("tx.csv", &(lines.join("\n") + "\n"));
    let mut args = rfm_args("tx.csv", "out.arrow");
    args.extend(["--order", "order_id"]);
    strata_fails(
        &scratch.path,
        &args,
        65,
        &[
            "amount column 'amount' has type Utf8",
            "as in --null-values 'NULL'",
        ],
    );
    args.extend(["--null-values", "NULL,\\N", "--bad-rows", "skip"]);
    args.extend(["--rejects", "rejects.csv"]);
    let run = strata_ok(&scratch.path, &args);
    assert!(run.stdout.contains("rejected 3"), "{}", run.stdout);
    let rejects = std::fs::read_to_string(scratch.join("rejects.csv")).unwrap();
    let reasons: Vec<&str> = rejects.lines().skip(1).collect();
    assert!(reasons[0].starts_with("4,null customer id,"), "{rejects}");
    assert!(
        reasons[2].starts_with("11,\"missing, NaN or infinite amount\""),
        "{rejects}"
    );
    let want = json(&fixtures().join("rfm").join("expected_bad.json"));
    let batches = read_arrow(&scratch.join("out.arrow"));
    let table = arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap();
    check(&table, &want["by_order"], "words for missing values");
}

#[test]
fn a_number_named_in_null_values_is_a_missing_amount_in_a_typed_log() {
    // A warehouse's typed log with -999 for an amount it did not know: read as a refund of
    // 999 unless named, and then a row with a missing amount.
    let scratch = Scratch::new("rfm-stand-in");
    write_arrow(
        &scratch.join("tx.arrow"),
        vec![
            ("customer_id", Arc::new(Int64Array::from(vec![1, 1, 2, 3]))),
            (
                "date",
                Arc::new(Date32Array::from(vec![19_800, 19_801, 19_802, 19_803])),
            ),
            (
                "amount",
                Arc::new(Float64Array::from(vec![10.0, -999.0, 5.0, 20.0])),
            ),
        ],
    );
    let monetary = |extra: &[&str]| {
        let mut args = rfm_args("tx.arrow", "out.arrow");
        args.extend(extra);
        let run = strata_ok(&scratch.path, &args);
        let table = &read_arrow(&scratch.join("out.arrow"))[0];
        let values = table
            .column_by_name("monetary")
            .unwrap()
            .as_primitive::<Float64Type>()
            .values()
            .to_vec();
        (run, values)
    };
    assert_eq!(monetary(&[]).1, [-989.0, 5.0, 20.0]);
    let (run, values) = monetary(&["--null-values=-999", "--bad-rows", "skip"]);
    assert!(run.stdout.contains("rejected 1"), "{}", run.stdout);
    assert_eq!(values, [10.0, 5.0, 20.0]);
    strata_fails(
        &scratch.path,
        &[
            &rfm_args("tx.arrow", "out.arrow")[..],
            &["--null-values=-999"],
        ]
        .concat(),
        65,
        &["row 1", "amount"],
    );
}

#[test]
fn rfm_input_errors_name_the_problem() {
    let scratch = Scratch::new("rfm-errors");
    let iso = rfm_fixture("tx_iso.csv");
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &[
                "--input",
                &iso,
                "--customer",
                "nope",
                "--date",
                "date",
                "--amount",
                "amount",
            ],
            65,
            "customer column 'nope' is not in the input; the columns are: customer_id",
        ),
        (
            &[
                "--input",
                &iso,
                "--customer",
                "customer_id",
                "--date",
                "date",
                "--amount",
                "customer_id",
            ],
            65,
            "must be numeric",
        ),
        (
            &[
                "--input",
                &iso,
                "--customer",
                "customer_id",
                "--date",
                "date",
                "--amount",
                "amount",
                "--as-of",
                "2024-05-01",
            ],
            65,
            "after --as-of 2024-05-01",
        ),
        (
            &[
                "--input",
                &iso,
                "--customer",
                "customer_id",
                "--date",
                "date",
                "--amount",
                "amount",
                "--as-of",
                "May 1",
            ],
            2,
            "--as-of must be a date",
        ),
        (
            &[
                "--input",
                "missing.csv",
                "--customer",
                "c",
                "--date",
                "d",
                "--amount",
                "a",
            ],
            66,
            "missing.csv",
        ),
    ];
    for (flags, code, words) in cases {
        let mut args = vec!["rfm", "--output", "out.parquet"];
        args.extend_from_slice(flags);
        strata_fails(&scratch.path, &args, code, &[words]);
        assert!(scratch.files().is_empty(), "{flags:?} left a file");
    }
    // A log with a header and no rows.
    scratch.write("empty.csv", "customer_id,date,amount\n");
    strata_fails(
        &scratch.path,
        &rfm_args("empty.csv", "o.csv"),
        65,
        &["no usable rows (0 read"],
    );
    std::fs::remove_file(scratch.join("empty.csv")).unwrap();
    // Refunds only: no purchase to measure.
    scratch.write(
        "refunds.csv",
        "customer_id,date,amount\n1,2024-01-02,-5\n2,2024-01-03,-1.5\n",
    );
    strata_fails(
        &scratch.path,
        &rfm_args("refunds.csv", "o.csv"),
        65,
        &["no purchases: all 2 usable transaction(s) have negative amounts"],
    );
    // A refund after --as-of is a transaction after it, though not a purchase.
    scratch.write(
        "refunds.csv",
        "customer_id,date,amount\n1,2024-01-02,5\n1,2024-01-09,-5\n",
    );
    let mut args = rfm_args("refunds.csv", "o.csv");
    args.extend_from_slice(&["--as-of", "2024-01-05"]);
    strata_fails(
        &scratch.path,
        &args,
        65,
        &["1 customer(s) have transactions after --as-of 2024-01-05 (the log runs to 2024-01-09)"],
    );
    std::fs::remove_file(scratch.join("refunds.csv")).unwrap();
    // A date column that holds something else: every row is bad.
    strata_fails(
        &scratch.path,
        &[
            "rfm",
            "--input",
            &iso,
            "--customer",
            "customer_id",
            "--date",
            "amount",
            "--amount",
            "amount",
            "--output",
            "o.csv",
        ],
        65,
        &["141 bad row(s)"],
    );
}

#[test]
fn a_text_date_in_another_layout_is_met_with_the_format_that_reads_it() {
    // The first date that the default forms cannot read is named with the --date-format that
    // reads dates written as it: month or day first where one of the two is above 12, both
    // where neither is.
    let scratch = Scratch::new("rfm-date-hint");
    let cases = [
        ("13/01/2024", "give --date-format '%d/%m/%Y'. Fix them"),
        ("01/13/2024", "give --date-format '%m/%d/%Y'. Fix them"),
        (
            "03/01/2024",
            "give --date-format '%m/%d/%Y' if the month comes first, or '%d/%m/%Y' if the day does",
        ),
        ("2024/03/01", "give --date-format '%Y/%m/%d'"),
        ("01-Mar-2024", "give --date-format '%d-%b-%Y'"),
        ("01-OCT-24 10:00", "give --date-format '%d-%b-%y'"),
        (
            "1.3.24",
            "'%m.%d.%y' if the month comes first, or '%d.%m.%y'",
        ),
    ];
    let args = |extra: &[&'static str]| {
        let mut args = rfm_args("tx.csv", "out.csv");
        args.extend_from_slice(extra);
        args
    };
    for (date, said) in cases {
        scratch.write(
            "tx.csv",
            &format!("customer_id,date,amount\n1,2024-02-01,5\n1,{date},10\n"),
        );
        strata_fails(
            &scratch.path,
            &args(&[]),
            65,
            &[
                &format!("row 1 (0-based): missing or unparseable date ('{date}')"),
                said,
            ],
        );
    }
    // A date in the default layout that is no date is named alone.
    scratch.write("tx.csv", "customer_id,date,amount\n1,2024-02-30,5\n");
    let run = strata_fails(&scratch.path, &args(&[]), 65, &["('2024-02-30'). Fix them"]);
    assert!(!run.stderr.contains("--date-format"), "{}", run.stderr);
    // A date the given format does not describe says so.
    scratch.write("tx.csv", "customer_id,date,amount\n1,2024-02-01,5\n");
    let args = args(&["--date-format", "%m/%d/%Y"]);
    strata_fails(
        &scratch.path,
        &args,
        65,
        &["('2024-02-01'), not a date as --date-format '%m/%d/%Y' writes one"],
    );
    // Dates with a time after them, as spreadsheets write timestamps, read with the date's
    // format; the day is the date as written.
    scratch.write(
        "tx.csv",
        "customer_id,date,amount\n1,3/1/2024 10:00,5\n1,3/15/2024 23:59:59,10\n2,12/31/2023 0:00,7\n",
    );
    strata_ok(&scratch.path, &args);
    let csv = std::fs::read_to_string(scratch.join("out.csv")).unwrap();
    let mut lines = csv.lines().skip(1);
    assert_eq!(
        lines.next(),
        Some("1,1,2,15.0,7.5,15,2024-03-01,2024-03-15")
    );
    assert_eq!(
        lines.next(),
        Some("2,76,1,7.0,7.0,76,2023-12-31,2023-12-31")
    );
}

#[test]
fn an_amount_written_as_a_spreadsheet_shows_it_is_named() {
    let scratch = Scratch::new("rfm-formatted-amount");
    // "$12.50": text, so no amount; the error says why and what to do.
    scratch.write(
        "tx.csv",
        "customer_id,date,amount\n1,2024-01-01,$12.50\n2,2024-01-02,\"$1,200.00\"\n",
    );
    strata_fails(
        &scratch.path,
        &rfm_args("tx.csv", "out.csv"),
        65,
        &[
            "amount column 'amount' has type Utf8; it must be numeric; its values are numbers written \
             as a spreadsheet shows them, such as '$12.50'",
            "save such columns as plain numbers",
        ],
    );
}
