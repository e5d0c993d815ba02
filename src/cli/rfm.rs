//! `strata rfm`: a transaction log → one row per customer of recency, frequency and monetary
//! features, ready for `strata fit`.

use crate::error::{Error, Result};
use crate::output::write::{commit_all, preflight_outputs, write_table};
use crate::segment::rfm::{BadRows, RfmSpec, aggregate, parse_default_date, parse_time_zone};
use clap::Args;
use std::path::{Path, PathBuf};

/// Flags of `strata rfm`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  strata rfm --input transactions.parquet --customer customer_id \
--date date --amount amount \\\n    --order order_id --output customers.parquet\n\n\
Output columns: the customer id (its type kept), recency_days (as-of minus last purchase), \
frequency (distinct orders with a purchase with --order, else purchases), monetary (sum of all \
amounts, so refunds reduce it), avg_order_value (monetary / frequency), tenure_days (as-of minus \
first purchase), first_purchase, last_purchase (dates). A purchase is a transaction with an \
amount of zero or more; a refund (negative amount) moves neither the dates nor the frequency. \
One row per customer with a purchase, in order of first appearance; customers with refunds only \
are left out and counted in the summary."
)]
pub struct RfmArgs {
    /// Transaction log: .parquet, .arrow/.feather/.ipc or .csv/.tsv (compressed too; a file
    /// given alone may be named .txt), or a folder of part files in one of those formats (read
    /// as one table, as for `fit`), or `-` for standard input (CSV or an Arrow IPC stream).
    #[arg(long, value_name = "PATH")]
    pub input: PathBuf,
    /// Customer id column (integer or text). A CSV's whole numbers come out as integers while
    /// every customer is one written plainly; otherwise (`000123`, a later `A-17`) as text,
    /// as written.
    #[arg(long, value_name = "COL")]
    pub customer: String,
    /// Transaction date column: a date or timestamp (the day in the time zone the column names,
    /// as written when it names none), YYYYMMDD integers (or Unix time with --date-format %s),
    /// or text (ISO YYYY-MM-DD, YYYYMMDD, or --date-format; the day as written).
    #[arg(long, value_name = "COL")]
    pub date: String,
    /// Amount column (negative amounts are refunds: they reduce monetary and are not
    /// purchases).
    #[arg(long, value_name = "COL")]
    pub amount: String,
    /// Order id column: frequency counts distinct orders (default: each transaction is an
    /// order).
    #[arg(long, value_name = "COL")]
    pub order: Option<String>,
    /// Reference day for recency and tenure, YYYY-MM-DD (default: the day after the last
    /// transaction).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Count days on this time zone's calendar (an IANA name such as America/New_York, or an
    /// offset such as -05:00): every instant (a timestamp that names its zone, UTC included, or
    /// a time written with its offset or Z, as 2024-03-02T03:00:00Z; with --date-format, one
    /// with %z, or Unix time with %s) falls on its day there. Logs kept in UTC need this for
    /// local days. Dates, and times that name no zone, are read as written (default: each
    /// instant on its own zone's calendar; text as written).
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
    /// strftime format of text dates, e.g. %d/%m/%Y (a time after such a date, as in
    /// `3/1/2024 10:00`, is ignored; a run stopped by a date in another layout suggests one);
    /// %s reads Unix time, whole seconds since 1970 UTC, as text or integers.
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,
    /// Rows with a null customer, a missing or unparseable date, or a missing/NaN/infinite
    /// amount: stop with an error, or skip them.
    #[arg(long, value_enum, default_value = "error")]
    pub bad_rows: BadRows,
    #[command(flatten)]
    pub csv: super::CsvArgs,
    /// With --bad-rows skip: write the skipped rows here (row, reason, values as text).
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
    /// Output: Arrow IPC, or Parquet/CSV by extension (.tsv: CSV with tabs; .gz or .zst after
    /// either: compressed).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// Print the summary (transactions, customers, rejected rows, refunds, dates) as JSON on
    /// stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `strata rfm`.
///
/// # Errors
/// Usage errors for bad flags; the aggregation's errors.
pub fn run(args: RfmArgs) -> Result<()> {
    if args.rejects.is_some() && args.bad_rows != BadRows::Skip {
        return Err(Error::usage(
            "--rejects needs --bad-rows skip (with --bad-rows error a bad row stops the run)",
        ));
    }
    let as_of = args
        .as_of
        .as_deref()
        .map(|text| {
            parse_default_date(text).ok_or_else(|| {
                Error::usage(format!(
                    "--as-of must be a date as YYYY-MM-DD, not '{text}'"
                ))
            })
        })
        .transpose()?;
    let time_zone = args
        .time_zone
        .as_deref()
        .map(|name| {
            parse_time_zone(name).ok_or_else(|| {
                Error::usage(format!(
                    "--time-zone '{name}' is neither a time zone name (such as \
                     America/New_York, Europe/Paris, UTC) nor an offset (such as -05:00)"
                ))
            })
        })
        .transpose()?;
    let outputs: Vec<&Path> = std::iter::once(args.output.as_path())
        .chain(args.rejects.as_deref())
        .collect();
    preflight_outputs(&[&args.input], &outputs)?;
    let spec = RfmSpec {
        customer: args.customer,
        date: args.date,
        amount: args.amount,
        order: args.order,
        date_format: args.date_format,
        as_of,
        time_zone,
        bad_rows: args.bad_rows,
    };
    let started = std::time::Instant::now();
    let outcome = aggregate(args.csv.source(&args.input)?, &spec)?;
    let mut staged = vec![write_table(
        &args.output,
        &outcome.schema,
        [Ok(outcome.batch.clone())],
    )?];
    if let Some(path) = &args.rejects {
        let (schema, batch) = outcome.rejects.to_batch(&outcome.reject_columns)?;
        staged.push(write_table(path, &schema, [Ok(batch)])?);
    }
    commit_all(staged)?;
    let s = &outcome.summary;
    log::info!(
        "aggregated {} transaction(s) into {} customer(s) in {:.2}s; wrote {}",
        s.transactions,
        s.customers,
        started.elapsed().as_secs_f64(),
        args.output.display()
    );
    if args.json {
        super::print_json(s)?;
    } else {
        outln!(
            "transactions {}  customers {}  rejected {}  refunds {} (total {:.2})  refunds only {}",
            s.transactions,
            s.customers,
            s.rejected,
            s.refunds,
            s.refund_total,
            s.refunds_only
        );
        outln!(
            "dates {} to {}  as-of {}{}",
            s.first_day.as_deref().unwrap_or("-"),
            s.last_day.as_deref().unwrap_or("-"),
            s.as_of.as_deref().unwrap_or("-"),
            s.time_zone
                .as_deref()
                .map_or(String::new(), |zone| format!("  ({zone})"))
        );
    }
    if s.refunds_only > 0 {
        log::warn!(
            "{} customer(s) with refunds only (no purchase in the log) left out",
            s.refunds_only
        );
    }
    if s.rejected > 0 {
        log::warn!(
            "{} bad row(s) skipped{}",
            s.rejected,
            args.rejects
                .as_ref()
                .map_or(String::new(), |p| format!("; written to {}", p.display()))
        );
    }
    Ok(())
}
