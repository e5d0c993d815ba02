//! `strata generate`: seeded Gaussian blobs, streamed to a file.

use crate::error::Result;
use crate::output::write::{StagedFile, write_table};
use crate::synth::blobs::{BlobSpec, Blobs};
use crate::synth::transactions;
use clap::Args;
use std::path::PathBuf;

/// Flags of `strata generate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  strata generate --rows 1000000 --dims 16 --centers 8 --output blobs.parquet\n  \
strata generate --transactions --customers 50000 --output transactions.parquet\n\n\
--transactions writes a transaction log (customer_id, order_id, date, amount, persona) of \
customers from four hidden personas (0 champions, 1 loyal small baskets, 2 lapsed, 3 new) over \
the two years to 2025-12-31, for `strata rfm`."
)]
pub struct GenerateArgs {
    /// Rows to write (blobs).
    #[arg(long, value_name = "N", required_unless_present = "transactions")]
    pub rows: Option<u64>,
    /// Write a synthetic transaction log instead of blobs.
    #[arg(long, conflicts_with = "rows")]
    pub transactions: bool,
    /// Customers in the transaction log.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 10_000,
        requires = "transactions"
    )]
    pub customers: u64,
    /// Features per row (columns f0, f1, …).
    #[arg(long, value_name = "D", default_value_t = 16)]
    pub dims: usize,
    /// Number of blobs (true_segment takes 0..centers).
    #[arg(long, value_name = "K", default_value_t = 8)]
    pub centers: usize,
    /// Standard deviation of each blob.
    #[arg(long, default_value_t = 1.0)]
    pub std: f64,
    /// Blob centres are uniform in [-box, box] per feature.
    #[arg(long = "box", value_name = "X", default_value_t = 10.0)]
    pub box_half_width: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Rows per written batch (Parquet row groups hold up to about a million rows).
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub batch_rows: usize,
    /// Output file: Arrow IPC, or Parquet/CSV by extension (.tsv: CSV with tabs; .gz or .zst after
    /// either: compressed).
    #[arg(long, value_name = "PATH")]
    pub output: PathBuf,
    /// CPU worker threads (default: one per core). The output does not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Runs `strata generate`.
///
/// # Errors
/// Usage errors for empty shapes; exit 73/74 when the file cannot be written.
pub fn run(args: GenerateArgs) -> Result<()> {
    super::set_threads(args.threads)?;
    if args.transactions {
        if args.customers == 0 {
            return Err(crate::error::Error::usage("--customers must be at least 1"));
        }
        StagedFile::preflight(&args.output)?;
        let started = std::time::Instant::now();
        let schema = transactions::schema();
        let progress = crate::progress::stage(
            format!(
                "generating the transactions of {} customers",
                args.customers
            ),
            crate::progress::Total::Unknown,
            "rows",
        );
        write_table(
            &args.output,
            &schema,
            counted(transactions::batches(args.customers, args.seed), &progress),
        )?
        .commit()?;
        drop(progress);
        log::info!(
            "wrote the transactions of {} customers to {} in {:.1}s",
            args.customers,
            args.output.display(),
            started.elapsed().as_secs_f64()
        );
        outln!("{}", args.output.display());
        return Ok(());
    }
    let rows = args.rows.unwrap_or_default();
    let blobs = Blobs::new(BlobSpec {
        rows,
        dims: args.dims,
        centers: args.centers,
        std: args.std,
        box_half_width: args.box_half_width,
        seed: args.seed,
        batch_rows: args.batch_rows,
    })?;
    StagedFile::preflight(&args.output)?;
    let started = std::time::Instant::now();
    let progress =
        crate::progress::stage("generating", crate::progress::Total::Exactly(rows), "rows");
    let staged = write_table(
        &args.output,
        blobs.schema(),
        counted(blobs.batches(), &progress),
    )?;
    staged.commit()?;
    drop(progress);
    log::info!(
        "wrote {} rows × {} features in {} blobs to {} in {:.1}s",
        rows,
        args.dims,
        args.centers,
        args.output.display(),
        started.elapsed().as_secs_f64()
    );
    outln!("{}", args.output.display());
    Ok(())
}

/// `batches`, counting the rows of each in `progress` as it is taken.
fn counted<'a>(
    batches: impl Iterator<Item = Result<arrow_array::RecordBatch>> + 'a,
    progress: &'a crate::progress::Stage,
) -> impl Iterator<Item = Result<arrow_array::RecordBatch>> + 'a {
    batches.inspect(move |batch| {
        if let Ok(batch) = batch {
            progress.add(batch.num_rows() as u64);
        }
    })
}
