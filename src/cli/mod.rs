//! The command line: raw flags (clap) turned into validated jobs. One file per subcommand.

/// `print!` to stdout through `write_stdout`: a closed pipe ends the output quietly, any other
/// write failure is an error (exit 74) instead of a panic. Only in functions returning `Result`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))?
    };
}

/// `println!` to stdout through `write_stdout` (see `out!`).
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!("\n"))?
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

pub mod bench;
pub mod demo;
pub mod fit;
pub mod generate;
pub mod info;
pub mod predict;
pub mod rfm;
pub mod sweep;

use crate::error::Result;
use clap::{Parser, Subcommand};

/// Strata: k-means customer segmentation for whole customer bases, on the CPU or the GPU.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 2 usage, 65 bad input data, 66 input missing, 69 no GPU \
adapter, 70 internal error, 73 cannot create output, 74 I/O error, 75 GPU device lost."
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// More log detail on stderr (-v debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// A live progress line on stderr: the stage running (reading, k-means++, Lloyd,
    /// silhouette, writing) and how far it is.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub progress: crate::progress::When,
}

/// Strata's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cluster an input file: segments, model and report.
    Fit(fit::FitArgs),
    /// Assign new rows to the segments of a saved model, streamed (memory does not grow with the
    /// input).
    Predict(predict::PredictArgs),
    /// Turn a transaction log into one row per customer: recency, frequency, monetary.
    Rfm(rfm::RfmArgs),
    /// Fit a range of k on data loaded once; scores per k, a recommended k, CSV and chart.
    Sweep(sweep::SweepArgs),
    /// Write seeded synthetic Gaussian blobs (id, f0..fN, true_segment), streamed.
    Generate(generate::GenerateArgs),
    /// Segment a built-in synthetic retail customer base and print the profile.
    Demo(demo::DemoArgs),
    /// Time the same job on each backend from the same start: phases, throughput, agreement.
    Bench(bench::BenchArgs),
    /// List GPU adapters, their limits, and which backend `auto` picks.
    Info(info::InfoArgs),
}

/// Prints `value` as pretty JSON on stdout (the `--json` of every command).
///
/// # Errors
/// Exit 70 if the value cannot be serialized; 74 as for `write_stdout`.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| crate::error::Error::Internal(format!("JSON output: {e}")))?;
    outln!("{text}");
    Ok(())
}

impl Cli {
    /// Log verbosity: 0 warnings, 1 info (default), 2 debug.
    pub fn verbosity(&self) -> u8 {
        if self.quiet { 0 } else { 1 + self.verbose }
    }
}

/// Writes to stdout. A reader that stopped reading (`strata info | head -1`) closes the pipe;
/// what is left of the output is then dropped and the command ends as it would have, its files
/// already written.
///
/// # Errors
/// Exit 74 when stdout fails otherwise (a full disk behind a redirect).
pub fn write_stdout(args: std::fmt::Arguments<'_>) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_fmt(args) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(crate::error::Error::Io(
            format!("writing to stdout failed: {e}"),
        )),
        _ => Ok(()),
    }
}

/// Runs the parsed command; output for the user goes to stdout, logs to stderr.
///
/// # Errors
/// The command's error, carrying its exit code.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Fit(args) => fit::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Rfm(args) => rfm::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Info(args) => info::run(args),
        Command::Bench(args) => bench::run(args),
    }
}

/// `--gpu`: which adapter the GPU backend opens on a machine with several.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GpuArg {
    /// The GPU to use where there are several: its index in `strata info`, its PCI bus id (as
    /// nvidia-smi prints it) or a part of its name (default: the STRATA_GPU variable, else the
    /// best adapter). Vulkan ignores CUDA_VISIBLE_DEVICES
    #[arg(long, value_name = "N|BUS-ID|NAME")]
    pub gpu: Option<String>,
}

impl GpuArg {
    /// Makes the choice for the rest of the process. When the run may use the GPU
    /// (`uses_gpu`), a choice that names no adapter stops it here, before the input is read.
    ///
    /// # Errors
    /// Exit 2 when `--gpu` or `STRATA_GPU` names no adapter, or several.
    pub fn apply(&self, uses_gpu: bool) -> Result<()> {
        use crate::backend::gpu::{list_adapters, select};
        select::choose(self.gpu.as_deref());
        if uses_gpu && select::requested().is_some() {
            let listed: Vec<(String, String)> = list_adapters()
                .into_iter()
                .map(|a| (a.name, a.pci_bus_id))
                .collect();
            if let Some((_, Err(why))) = select::named(&listed) {
                return Err(crate::error::Error::usage(why));
            }
        }
        Ok(())
    }
}

/// How a CSV input is read: `--null-values`, the texts it writes for a missing value, and
/// `--encoding`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CsvArgs {
    /// Words that mark a missing value (a null) in a CSV input besides an empty field,
    /// matched whole, case as written: NULL or \N from a warehouse export, NA from R, or a
    /// stand-in number such as -999, as in --null-values 'NULL,\N'. Parquet and Arrow inputs
    /// have nulls of their own, but the numbers named mark missing values in their numeric
    /// features (and rfm's amount) too
    #[arg(
        long,
        value_name = "A,B",
        value_delimiter = ',',
        allow_hyphen_values = true,
        value_parser = null_value
    )]
    pub null_values: Vec<String>,
    /// How a CSV input's bytes are read as text. A spreadsheet on Windows saves plain "CSV"
    /// in windows-1252; UTF-16, with the byte-order mark Windows writes or without one, is read
    /// as such whatever this says
    #[arg(long, value_enum, default_value = "utf-8")]
    pub encoding: crate::data::read::Encoding,
}

/// One text of `--null-values`. The flag takes values starting with a hyphen (a stand-in such
/// as `-999`), so a list left out takes the next flag as its value: one that reads as a flag's
/// name is refused.
fn null_value(text: &str) -> std::result::Result<String, String> {
    match flag_as_null_value(text) {
        Some(why) => Err(why),
        None => Ok(text.to_string()),
    }
}

/// Why `text`, given to `--null-values`, is a flag rather than a text for a missing value.
fn flag_as_null_value(text: &str) -> Option<String> {
    let flag = text
        .strip_prefix("--")
        .and_then(|name| name.chars().next())
        .is_some_and(|c| c.is_ascii_alphabetic());
    flag.then(|| {
        format!(
            "'{text}' is a flag, not a text for a missing value: give the list right after \
             --null-values, as in --null-values 'NULL,-999'"
        )
    })
}

/// When clap refuses a command line, what it should have said instead, if the cause is a
/// `--null-values` with its list left out: that flag then takes the next flag as its value, and
/// clap's error falls on the value after it (`unexpected argument '2'` for `--null-values --k
/// 2`), far from the mistake.
pub fn misread_null_values(args: impl IntoIterator<Item = std::ffi::OsString>) -> Option<String> {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    args.windows(2)
        .take_while(|pair| pair[0] != "--")
        .find(|pair| pair[0] == "--null-values")
        .and_then(|pair| flag_as_null_value(pair[1].to_str()?))
}

impl CsvArgs {
    /// The input `path`, read as these flags say.
    ///
    /// # Errors
    /// A usage error when the null texts cannot be matched as one pattern.
    pub fn source(&self, path: &std::path::Path) -> Result<crate::data::read::Source> {
        let nulls = crate::data::read::Nulls::new(self.null_values.iter().cloned())?;
        let options = crate::data::read::CsvOptions {
            nulls,
            encoding: self.encoding,
        };
        Ok(crate::data::read::Source::File(path.to_path_buf(), options))
    }
}

/// Sets the size of rayon's global pool (`--threads`); 0 or absent keeps one per core.
///
/// # Errors
/// An internal error if the pool was already built.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(n) = threads.filter(|&n| n > 0) {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| crate::error::Error::Internal(format!("thread pool: {e}")))?;
    }
    Ok(())
}
