//! Reading inputs: Parquet, Arrow IPC and CSV (also gzip or zstd compressed) by extension, or
//! standard input by its first bytes, streamed as record batches with only the needed columns,
//! into the feature matrix, the id column and per-column findings.
//!
//! One pass reads the input. Nulls and NaN become NaN in the matrix and are counted per column;
//! ±Inf is counted too. What to do about either is decided afterwards (`validate`), with the
//! whole picture: how many, in which column, from which row.

use super::csv::TextNotes;
pub use super::csv::{CsvOptions, Nulls};
use super::described::{DescribedBuilder, DescribedColumn};
pub use super::encoding::Encoding;
use super::ids::{IdColumn, IdColumnBuilder};
use super::matrix::Matrix;
use crate::error::{Error, Result};
use crate::segment::keys::{Numbering, TextList};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_buffer::BooleanBuffer;
use arrow_schema::{DataType, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use rayon::prelude::*;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per record batch when Strata controls the batch size.
pub const BATCH_ROWS: usize = 65_536;

/// File formats Strata reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC (file format; the stream format is accepted on read).
    Arrow,
    /// Delimited text with a header row: commas, or semicolons, tabs or bars when the header
    /// row is split by one of those instead.
    Csv,
}

impl Format {
    /// The format a path's extension names, if any: `.csv.gz` and `.csv.zst` are CSV (see
    /// [`Compression`]); no other format is compressed from outside.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let (ext, compressed) = content_extension(path);
        match (ext?.as_str(), compressed) {
            ("csv", _) => Some(Format::Csv),
            (_, true) => None,
            ("parquet" | "pq", _) => Some(Format::Parquet),
            ("arrow" | "feather" | "ipc", _) => Some(Format::Arrow),
            _ => None,
        }
    }

    /// The format an input path's name says: as [`Format::from_extension`], and also
    /// delimited text named the way exports and warehouse unloads name it: `.tsv` (compressed
    /// or not), a compressed file with no other extension (Redshift's `0000_part_00.gz`), and
    /// the parts Redshift's UNLOAD writes by default, plain, with no extension at all
    /// (`customers_0000_part_00`).
    pub fn from_input_name(path: &Path) -> Option<Format> {
        Format::from_extension(path)
            .or_else(|| match content_extension(path) {
                (Some(ext), _) if ext == "tsv" => Some(Format::Csv),
                (None, true) => Some(Format::Csv),
                _ => None,
            })
            .or_else(|| {
                let name = path.file_name()?.to_str()?;
                is_unload_part_name(name).then_some(Format::Csv)
            })
    }

    /// The format of an input path given as such: as [`Format::from_input_name`], and also
    /// delimited text named `.txt` (compressed or not), as Excel names its "Unicode Text" and
    /// other tools their tab-separated exports. A folder's `.txt` files are not parts of it: a
    /// note beside the parts is one too.
    ///
    /// # Errors
    /// A usage error when the name says no format Strata reads.
    pub fn of_input(path: &Path) -> Result<Format> {
        Format::from_input_name(path)
            .or_else(|| (content_extension(path).0? == "txt").then_some(Format::Csv))
            .ok_or_else(|| {
                Error::usage(format!(
                    "cannot tell the format of '{}' from its extension; use .parquet, \
                     .arrow/.feather/.ipc, or .csv, .tsv or .txt (also compressed: .csv.gz, \
                     .csv.zst, or any name ending in .gz or .zst with no other extension), or a \
                     Redshift unload part (0000_part_00)",
                    path.display()
                ))
            })
    }
}

/// Whether `name` is one that Redshift's UNLOAD gives a part: its prefix, the slice and part
/// numbers (`0000_part_00`), and nothing after them.
fn is_unload_part_name(name: &str) -> bool {
    let Some((before, after)) = name.rsplit_once("_part_") else {
        return false;
    };
    !after.is_empty()
        && after.bytes().all(|b| b.is_ascii_digit())
        && before.bytes().last().is_some_and(|b| b.is_ascii_digit())
}

/// The extension that names what a path holds, in lower case: its last one, or the one before
/// a compression's (`csv` for `t.csv.gz`); and whether the name says it is compressed.
pub fn content_extension(path: &Path) -> (Option<String>, bool) {
    let compressed = Compression::from_extension(path) != Compression::None;
    let named = if compressed {
        path.file_stem().map(Path::new)
    } else {
        Some(path)
    };
    let ext = named.and_then(|p| Some(p.extension()?.to_str()?.to_ascii_lowercase()));
    (ext, compressed)
}

/// How a CSV file is compressed as a whole. Warehouse exports (Snowflake's unload, BigQuery's
/// and Redshift's) and Spark write CSV parts compressed with gzip; zstd is the faster choice
/// where the reader can take it. Parquet and Arrow compress their pages and buffers inside the
/// file instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression a path's last extension names: `.gz` (or `.gzip`) and `.zst` (or
    /// `.zstd`).
    pub fn from_extension(path: &Path) -> Compression {
        let ext = path.extension().and_then(|e| e.to_str());
        match ext.map(str::to_ascii_lowercase).as_deref() {
            Some("gz" | "gzip") => Compression::Gzip,
            Some("zst" | "zstd") => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// The compression a file's first bytes show (each format's magic number).
    pub fn from_magic(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "not compressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Where input rows come from: a file, or batches already in memory (the demo).
pub enum Source {
    /// A file (or folder of parts, or `-`) whose format is given by its name or first bytes,
    /// and how it is read if it is CSV.
    File(PathBuf, CsvOptions),
    /// Record batches in memory, with a name for messages.
    Memory {
        name: String,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    },
}

/// Whether `path` names standard input: `-`, as the input of a pipe.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Numbers named in `--null-values` (`-999`, `9999`): in a typed input (Parquet, Arrow), whose
/// nulls are its own, they still stand for a missing value in the numeric columns that are
/// read as numbers (features, `rfm`'s amount), as they do in a CSV's. Each is compared in the
/// column's own precision: a Float32 column's `9999.99` is the f32 nearest it.
#[derive(Debug, Clone, Default)]
pub struct StandIns {
    wide: Vec<f64>,
    /// The same numbers rounded to f32 (and back).
    narrow: Vec<f64>,
}

impl StandIns {
    /// The numbers among `texts` (words are left to CSV inputs).
    pub fn of(texts: &[String]) -> StandIns {
        let wide: Vec<f64> = texts.iter().filter_map(|t| StandIns::number(t)).collect();
        let narrow = wide.iter().map(|&v| f64::from(v as f32)).collect();
        StandIns { wide, narrow }
    }

    /// The finite number `text` writes, if it writes one.
    fn number(text: &str) -> Option<f64> {
        text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }

    /// Whether none was named.
    pub fn is_empty(&self) -> bool {
        self.wide.is_empty()
    }

    /// `floats`, a Float32 or Float64 column, with the values that stand for a missing one
    /// made nulls; as it is when none was named.
    ///
    /// # Errors
    /// Exit 70 if Arrow refuses the nulls (a bug).
    pub fn nulled(&self, floats: ArrayRef) -> Result<ArrayRef> {
        if self.is_empty() {
            return Ok(floats);
        }
        let marked = match floats.as_primitive_opt::<Float32Type>() {
            Some(values) => {
                let values = values.values();
                BooleanBuffer::collect_bool(values.len(), |i| {
                    self.narrow.contains(&f64::from(values[i]))
                })
            }
            None => {
                let values = floats.as_primitive::<Float64Type>().values();
                BooleanBuffer::collect_bool(values.len(), |i| self.wide.contains(&values[i]))
            }
        };
        arrow_select::nullif::nullif(&floats, &arrow_array::BooleanArray::new(marked, None))
            .map_err(|e| Error::Internal(format!("numbers named missing: {e}")))
    }
}

/// How messages name standard input.
const STDIN_NAME: &str = "standard input";

impl Source {
    /// The file `path`, a CSV one with only empty fields missing.
    pub fn file(path: impl Into<PathBuf>) -> Source {
        Source::File(path.into(), CsvOptions::default())
    }

    /// The words read as missing values besides empty fields, if it is CSV.
    pub fn null_values(&self) -> &[String] {
        match self {
            Source::File(_, options) => options.nulls.texts(),
            Source::Memory { .. } => &[],
        }
    }

    /// The encoding a CSV input is read in when no byte-order mark says.
    pub fn encoding(&self) -> Encoding {
        match self {
            Source::File(_, options) => options.encoding,
            Source::Memory { .. } => Encoding::default(),
        }
    }

    /// A short name for messages and reports.
    pub fn name(&self) -> String {
        match self {
            Source::File(path, _) if is_stdin(path) => STDIN_NAME.to_string(),
            Source::File(path, _) => path.display().to_string(),
            Source::Memory { name, .. } => name.clone(),
        }
    }
}

pub(super) type Batches = Box<dyn Iterator<Item = Result<RecordBatch>>>;

/// Builds the batch stream for (projection, numeric columns, text columns) once the columns
/// are known.
pub(super) type OpenBatches = Box<dyn FnOnce(&[usize], &[usize], &[usize]) -> Result<Batches>>;

/// An opened input: its schema is known, its rows are not read yet.
pub struct Opened {
    pub(super) schema: SchemaRef,
    /// Rows, when known before reading (exact for Parquet, Arrow IPC files and batches in
    /// memory, estimated for CSV); only sizes reservations, the memory check and the
    /// progress line.
    pub(super) rows_hint: Option<usize>,
    /// Whether `rows_hint` is a count, not an estimate.
    pub(super) rows_exact: bool,
    /// Whether the columns' types are the input's own (false for CSV, whose types are
    /// inferred from its first rows).
    pub(super) typed: bool,
    /// What the first rows of the columns inferred as text suggest they hold.
    pub(super) notes: TextNotes,
    pub(super) open: OpenBatches,
}

impl Opened {
    /// Opens `source` and reads its schema (for CSV: inferred from the first rows).
    ///
    /// # Errors
    /// Exit 66 when the file cannot be opened, 65 when it is not valid in its format.
    pub fn open(source: Source) -> Result<Opened> {
        let name = source.name();
        match source {
            Source::Memory {
                schema, batches, ..
            } => {
                let rows = batches.iter().map(RecordBatch::num_rows).sum();
                Ok(Opened {
                    schema,
                    rows_hint: Some(rows),
                    rows_exact: true,
                    typed: true,
                    notes: TextNotes::default(),
                    open: Box::new(move |projection: &[usize], _: &[usize], _: &[usize]| {
                        let projection = projection.to_vec();
                        let iter = batches.into_iter().map(move |batch| {
                            batch
                                .project(&projection)
                                .map_err(|e| Error::Internal(format!("projection: {e}")))
                        });
                        Ok(Box::new(iter) as Batches)
                    }),
                })
            }
            Source::File(path, options) => {
                let opened = if is_stdin(&path) {
                    open_stdin(&options)
                } else if path.is_dir() {
                    open_folder(path, &options)
                } else {
                    let format = Format::of_input(&path)?;
                    let file = File::open(&path).map_err(|e| Error::open_input(&path, &e))?;
                    match format {
                        Format::Parquet => open_parquet(path, file),
                        Format::Arrow => open_ipc(path, file),
                        Format::Csv => super::csv::open_csv(path, file, &options),
                    }
                }?;
                let words: Vec<&str> = (options.nulls.texts().iter())
                    .filter(|t| opened.typed && StandIns::number(t).is_none())
                    .map(String::as_str)
                    .collect();
                if !words.is_empty() {
                    log::warn!(
                        "--null-values {} is not used: words are for CSV inputs, and {name} has \
                         typed columns with nulls of their own (numbers named there mark missing \
                         values in its numeric columns)",
                        words.join(",")
                    );
                }
                if opened.typed && options.encoding != Encoding::default() {
                    log::warn!(
                        "--encoding {} is not used: it is for CSV inputs, and {name} is not one",
                        options.encoding.name()
                    );
                }
                Ok(opened)
            }
        }
    }

    /// Opens `source` as [`Opened::open`] does, with the numbers named missing in it that its
    /// reader leaves to the caller: a typed input's (a CSV's are read as nulls).
    ///
    /// # Errors
    /// As [`Opened::open`].
    pub fn open_with_stand_ins(source: Source) -> Result<(Opened, StandIns)> {
        let stand_ins = StandIns::of(source.null_values());
        let opened = Opened::open(source)?;
        if opened.typed {
            Ok((opened, stand_ins))
        } else {
            Ok((opened, StandIns::default()))
        }
    }

    /// The input's schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether the columns' types are the input's own, not inferred from its first rows.
    pub fn typed(&self) -> bool {
        self.typed
    }

    /// The words among the numbers of `column` where its first rows made it text (and it is
    /// text still: not when another part of a folder made it numbers).
    pub fn words(&self, column: usize) -> Option<&[String]> {
        self.text_note(&self.notes.words, column).map(Vec::as_slice)
    }

    /// A value of `column` written as a spreadsheet shows a number (`$1,250.00`), where its
    /// first rows made it text and held only numbers, some written so (and it is text still).
    pub fn formatted(&self, column: usize) -> Option<&str> {
        self.text_note(&self.notes.formatted, column)
            .map(String::as_str)
    }

    /// What `notes` say of `column` while its type is text.
    fn text_note<'a, T>(&self, notes: &'a [(usize, T)], column: usize) -> Option<&'a T> {
        noted(notes, column).filter(|_| self.schema.field(column).data_type() == &DataType::Utf8)
    }

    /// A value of `column` written with leading zeros (`000123`), where its first rows made it
    /// a column of integers and wrote some so: as an id, it is read as text.
    pub fn zero_padded(&self, column: usize) -> Option<&str> {
        noted(&self.notes.zero_padded, column).map(String::as_str)
    }

    /// The row count when the format states it up front.
    pub fn rows_hint(&self) -> Option<usize> {
        self.rows_hint
    }

    /// The row count for a progress line: exact, estimated, or not known.
    pub fn rows_total(&self) -> crate::progress::Total {
        use crate::progress::Total;
        match self.rows_hint {
            None => Total::Unknown,
            Some(rows) if self.rows_exact => Total::Exactly(rows as u64),
            Some(rows) => Total::About(rows as u64),
        }
    }

    /// Streams the columns at `projection` (indices into `schema()`); the columns in `numeric`
    /// are features, which formats without types (CSV) read as Float64.
    ///
    /// # Errors
    /// When the reader cannot be built over the projection.
    pub fn batches(self, projection: &[usize], numeric: &[usize]) -> Result<Batches> {
        (self.open)(projection, numeric, &[])
    }

    /// As [`Opened::batches`], and the columns in `text` are read as text from formats without
    /// types (CSV), so that their values are parsed, and rejected one by one, by the caller.
    ///
    /// # Errors
    /// When the reader cannot be built over the projection.
    pub fn batches_with_text(
        self,
        projection: &[usize],
        numeric: &[usize],
        text: &[usize],
    ) -> Result<Batches> {
        (self.open)(projection, numeric, text)
    }
}

/// How a key column (an id, or `rfm`'s customer) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRead {
    /// As the input types it.
    Typed,
    /// As text, ids as written.
    Text,
    /// As text that the caller parses: integers while each id is one written plainly, text
    /// from the first that is not (a CSV column whose first rows held whole numbers, where a
    /// later `A-17` would fail the read and a later `007` would lose its zeros).
    IntegersFromText,
}

/// How the key column `column` (an id; `what` in the log) of the input is read. A CSV's is read
/// as text when it has no values at all (a header and no rows, or every key empty; inferred as
/// Null), so that the row count or the null keys are what an error names, not the type; and
/// when its first rows write numbers with leading zeros, which a number would drop (`000123`
/// is not the customer `123`). A CSV's integer column is parsed by the caller, key by key; one
/// its first rows show as floating-point numbers (`17850.0`, as pandas writes integer ids when
/// one is missing) is read as text, as written, which a number could not give back.
pub fn key_read(opened: &Opened, column: usize, what: &str) -> KeyRead {
    let field = opened.schema().field(column);
    if let Some(value) = opened.zero_padded(column) {
        log::info!(
            "{what} column '{}' read as text: its first rows write numbers with leading zeros \
             (such as '{value}'), which are kept",
            field.name()
        );
        return KeyRead::Text;
    }
    match field.data_type() {
        DataType::Null => KeyRead::Text,
        DataType::Int64 if !opened.typed() => KeyRead::IntegersFromText,
        DataType::Float64 if !opened.typed() => {
            log::info!(
                "{what} column '{}' read as text, as written: its first rows write numbers \
                 with a decimal point",
                field.name()
            );
            KeyRead::Text
        }
        _ => KeyRead::Typed,
    }
}

/// What is noted of `column` among the notes by column `notes`.
fn noted<T>(notes: &[(usize, T)], column: usize) -> Option<&T> {
    notes
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, note)| note)
}

/// Whether a folder input reads `path` as one of its parts: a file name with a data extension
/// that does not start with `.` or `_` (Spark's `_SUCCESS`, checksum and temporary files).
pub fn is_part_file(path: &Path) -> bool {
    let hidden = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_none_or(|n| n.starts_with('.') || n.starts_with('_'));
    !hidden && Format::from_input_name(path).is_some()
}

/// The part files of a folder input, in name order (the row order of the input), and their
/// format.
///
/// # Errors
/// Exit 66 when the folder cannot be listed or holds no part file; 65 when its parts are of
/// two formats.
fn folder_parts(folder: &Path) -> Result<(Vec<PathBuf>, Option<Format>)> {
    let entries = std::fs::read_dir(folder).map_err(|e| Error::open_input(folder, &e))?;
    let mut parts = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::open_input(folder, &e))?.path();
        if path.is_file() && is_part_file(&path) {
            parts.push(path);
        }
    }
    parts.sort();
    let Some(first) = parts.first() else {
        return Err(Error::InputMissing(format!(
            "input folder '{}' holds no .parquet, .arrow, .csv or .tsv file, nor one \
             compressed (.csv.gz, .csv.zst, or any name ending in .gz or .zst with no other \
             extension), nor a Redshift unload part (0000_part_00); names starting with '.' or \
             '_' are skipped, and so are other files with no extension and subfolders; give a \
             folder of part files or one file",
            folder.display()
        )));
    };
    let format = Format::from_input_name(first);
    if let Some(other) = parts.iter().find(|p| Format::from_input_name(p) != format) {
        return Err(Error::data(format!(
            "input folder '{}' holds parts in two formats ('{}' and '{}'); a folder input is \
             read as one table, so give it parts of one format",
            folder.display(),
            file_name(first),
            file_name(other)
        )));
    }
    Ok((parts, format))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    )
}

/// The type a folder's column has when two parts disagree: integers of one signedness widen
/// to 64 bits, other numbers become Float64 (a CSV part whose column held only whole numbers),
/// and a column with no values in one part (CSV, all empty) takes the other's type.
fn unified_type(a: &DataType, b: &DataType) -> Option<DataType> {
    match (a, b) {
        _ if a == b => Some(a.clone()),
        (DataType::Null, t) | (t, DataType::Null) => Some(t.clone()),
        _ if a.is_signed_integer() && b.is_signed_integer() => Some(DataType::Int64),
        _ if a.is_unsigned_integer() && b.is_unsigned_integer() => Some(DataType::UInt64),
        _ if a.is_numeric() && b.is_numeric() => Some(DataType::Float64),
        _ => None,
    }
}

fn column_names(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// What opening one part of a folder showed.
struct PartLook {
    schema: Schema,
    rows_hint: Option<usize>,
    rows_exact: bool,
    /// A CSV part, to be read through [`super::csv::decode_parts`].
    csv: Option<super::csv::Part>,
}

impl PartLook {
    /// Opens the part file `path` of a folder of `format` parts (its `first`) to see its
    /// columns (a CSV part read as `options` say); keeps no file open. `None` for
    /// a CSV part with no text at all: it holds no rows, and no header row to compare.
    fn of(
        path: &Path,
        format: Option<Format>,
        first: bool,
        options: &CsvOptions,
    ) -> Result<Option<PartLook>> {
        if format == Some(Format::Csv) {
            let look = super::csv::look_at_part(path, first, options)?;
            return Ok(look.map(|(schema, part, rows_hint)| PartLook {
                schema,
                rows_hint,
                rows_exact: false,
                csv: Some(part),
            }));
        }
        let opened = Opened::open(Source::file(path))?;
        Ok(Some(PartLook {
            schema: opened.schema().as_ref().clone(),
            rows_hint: opened.rows_hint,
            rows_exact: opened.rows_exact,
            csv: None,
        }))
    }
}

/// A folder of part files read as one table, part after part in name order (how Spark,
/// warehouse exports and partitioned writers leave a large table). Every part must have the
/// same columns in the same order. The parts are looked at side by side (a CSV part's types
/// come from its first rows); while streaming, one part is open at a time, and CSV parts run
/// through one stream of blocks decoded on every thread, so that many small parts do not each
/// pay for a reader of their own. CSV parts are read as `options` say.
fn open_folder(folder: PathBuf, options: &CsvOptions) -> Result<Opened> {
    let (parts, format) = folder_parts(&folder)?;
    let looks: Vec<Result<Option<PartLook>>> = parts
        .par_iter()
        .enumerate()
        .map(|(i, part)| PartLook::of(part, format, i == 0, options))
        .collect();
    let mut schema: Option<Schema> = None;
    let mut first_part = &parts[0];
    let mut rows_hint = Some(0usize);
    let mut rows_exact = true;
    let mut csv_parts = Vec::new();
    let mut notes = TextNotes::default();
    let mut empty = 0;
    for (part, look) in parts.iter().zip(looks) {
        // The first part in name order that cannot be opened is the one named.
        let Some(look) = look? else {
            empty += 1;
            continue;
        };
        rows_hint = rows_hint.zip(look.rows_hint).map(|(a, b)| a + b);
        rows_exact &= look.rows_exact;
        if let Some(part) = &look.csv {
            notes.absorb(&part.notes);
        }
        csv_parts.extend(look.csv);
        let Some(seen) = schema.as_mut() else {
            schema = Some(look.schema);
            first_part = part;
            continue;
        };
        if column_names(seen) != column_names(&look.schema) {
            return Err(Error::data(format!(
                "part '{}' of input folder '{}' has the columns {:?} where '{}' has {:?}; every \
                 part of a folder input needs the same columns in the same order",
                file_name(part),
                folder.display(),
                column_names(&look.schema),
                file_name(first_part),
                column_names(seen)
            )));
        }
        let mut fields = Vec::with_capacity(seen.fields().len());
        for (a, b) in seen.fields().iter().zip(look.schema.fields()) {
            let Some(data_type) = unified_type(a.data_type(), b.data_type()) else {
                return Err(Error::data(format!(
                    "column '{}' is {} in part '{}' of input folder '{}' and {} in the parts \
                     before it; every part of a folder input needs the same column types",
                    a.name(),
                    b.data_type(),
                    file_name(part),
                    folder.display(),
                    a.data_type()
                )));
            };
            let nullable = a.is_nullable() || b.is_nullable();
            fields.push(
                a.as_ref()
                    .clone()
                    .with_data_type(data_type)
                    .with_nullable(nullable),
            );
        }
        *seen = Schema::new(fields);
    }
    let Some(schema) = schema else {
        return Err(Error::data(format!(
            "input folder '{}' holds only empty part files ({}); a CSV part needs at least \
             a header row naming its columns",
            folder.display(),
            parts.len()
        )));
    };
    let schema = Arc::new(schema);
    log::info!(
        "{}: {} part file(s) read as one table{}",
        folder.display(),
        parts.len() - empty,
        match empty {
            0 => String::new(),
            n => format!(" ({n} empty one(s) skipped)"),
        }
    );
    let columns = schema.clone();
    let nulls = options.nulls.clone();
    Ok(Opened {
        schema,
        rows_hint,
        rows_exact,
        typed: format != Some(Format::Csv),
        notes,
        open: Box::new(
            move |projection: &[usize], numeric: &[usize], text: &[usize]| {
                if format == Some(Format::Csv) {
                    return super::csv::decode_parts(
                        csv_parts, &columns, projection, numeric, text, &nulls,
                    );
                }
                let (projection, numeric, text) =
                    (projection.to_vec(), numeric.to_vec(), text.to_vec());
                // Each part is opened when the one before it is done.
                let iter = parts.into_iter().flat_map(move |part| -> Batches {
                    match Opened::open(Source::file(part))
                        .and_then(|opened| opened.batches_with_text(&projection, &numeric, &text))
                    {
                        Ok(batches) => batches,
                        Err(e) => Box::new(std::iter::once(Err(e))),
                    }
                });
                Ok(Box::new(iter) as Batches)
            },
        ),
    })
}

/// The schema to read a Parquet file with where the Parquet reader's own would put its
/// timestamps on the wrong calendar; `None` when no column needs it. The values are the same
/// instants either way; only the zone they are named in changes.
///
/// - pyarrow keeps a column's zone (`America/New_York`) in the Arrow schema it embeds, but where
///   it stored the values in another unit than that schema's (`coerce_timestamps='ms'`, or
///   seconds, which Parquet has not), the reader leaves the embedded type aside and takes the
///   Parquet type's, which names UTC: the embedded zone is named again.
/// - Spark and Hive write timestamps as INT96 (Spark long did by default) holding UTC
///   instants, with no embedded schema; the reader takes them as wall-clock times with no
///   zone: they are named UTC, which puts them on the same days unless `rfm --time-zone` moves
///   them. (Impala's INT96 hold local times verbatim; pyarrow's, which embed their schema, are
///   read as that schema says.)
fn zones_restored(metadata: &ArrowReaderMetadata) -> Option<SchemaRef> {
    use base64::Engine;
    let file = metadata.metadata().file_metadata();
    let embedded = file
        .key_value_metadata()
        .and_then(|kv| {
            kv.iter()
                .find(|kv| kv.key == parquet::arrow::ARROW_SCHEMA_META_KEY)
        })
        .and_then(|kv| kv.value.as_ref())
        .and_then(|value| base64::engine::general_purpose::STANDARD.decode(value).ok())
        .and_then(|bytes| arrow_ipc::convert::try_schema_from_ipc_buffer(&bytes).ok());
    let int96: Vec<&str> = match embedded {
        Some(_) => Vec::new(),
        None => file
            .schema_descr()
            .columns()
            .iter()
            .filter(|c| {
                c.physical_type() == parquet::basic::Type::INT96 && c.path().parts().len() == 1
            })
            .map(|c| c.name())
            .collect(),
    };
    let read = metadata.schema();
    let wrote = |i: usize, name: &str| {
        let field = embedded.as_ref()?.fields().get(i)?;
        (field.name() == name).then(|| field.data_type().clone())
    };
    let mut restored = false;
    let fields: Vec<_> =
        read.fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let zone = match (field.data_type(), wrote(i, field.name())) {
                    (
                        DataType::Timestamp(_, Some(utc)),
                        Some(DataType::Timestamp(_, Some(zone))),
                    ) if *utc != zone => Some(zone),
                    (DataType::Timestamp(_, None), _) if int96.contains(&field.name().as_str()) => {
                        Some(Arc::from("UTC"))
                    }
                    _ => None,
                };
                match (zone, field.data_type()) {
                    (Some(zone), DataType::Timestamp(unit, _)) => {
                        restored = true;
                        let zoned = DataType::Timestamp(*unit, Some(zone));
                        Arc::new(field.as_ref().clone().with_data_type(zoned))
                    }
                    _ => field.clone(),
                }
            })
            .collect();
    restored.then(|| Arc::new(Schema::new_with_metadata(fields, read.metadata().clone())))
}

fn open_parquet(path: PathBuf, file: File) -> Result<Opened> {
    let mut metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default())
        .map_err(|e| Error::read_input(&path, e))?;
    if let Some(schema) = zones_restored(&metadata) {
        let options = ArrowReaderOptions::new().with_schema(schema);
        match ArrowReaderMetadata::try_new(metadata.metadata().clone(), options) {
            Ok(zoned) => metadata = zoned,
            Err(e) => log::debug!("{}: time zones not restored: {e}", path.display()),
        }
    }
    let schema = metadata.schema().clone();
    let rows = usize::try_from(metadata.metadata().file_metadata().num_rows()).ok();
    Ok(Opened {
        schema,
        rows_hint: rows,
        rows_exact: true,
        typed: true,
        notes: TextNotes::default(),
        open: Box::new(move |projection: &[usize], _: &[usize], _: &[usize]| {
            let reader = |file: File, columns: &[usize]| {
                let builder =
                    ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone());
                let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
                builder
                    .with_projection(mask)
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|e| Error::read_input(&path, e))
            };
            if projection.len() < 2 || rayon::current_num_threads() < 2 {
                let path = path.clone();
                let iter = reader(file, projection)?
                    .map(move |batch| batch.map_err(|e| Error::read_input(&path, e)));
                return Ok(Box::new(iter) as Batches);
            }
            // Columns split among a few readers per thread (at most one per column), each
            // on its own handle of the file (a cloned handle would share the position the
            // readers seek), decoding side by side.
            let mut columns: Vec<usize> = projection.to_vec();
            columns.sort_unstable();
            columns.dedup();
            let groups = columns.len().min(2 * rayon::current_num_threads());
            let readers = columns
                .chunks(columns.len().div_ceil(groups))
                .map(|group| {
                    let file = File::open(&path).map_err(|e| Error::open_input(&path, &e))?;
                    reader(file, group)
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Box::new(ColumnReaders {
                path: path.clone(),
                readers,
                done: false,
            }) as Batches)
        }),
    })
}

/// A Parquet file read by several readers, each over a run of the projected columns, decoding
/// side by side; their batches line up (the same batch size over the same row groups) and are
/// joined in the file's column order, as one reader over them all would give.
struct ColumnReaders {
    path: PathBuf,
    readers: Vec<ParquetRecordBatchReader>,
    done: bool,
}

impl Iterator for ColumnReaders {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Result<RecordBatch>> {
        if self.done {
            return None;
        }
        let parts = self.readers.par_iter_mut().map(Iterator::next).collect();
        let joined = self.join(parts);
        // The end, or an error: nothing more comes.
        self.done = !matches!(joined, Ok(Some(_)));
        joined.transpose()
    }
}

impl ColumnReaders {
    /// One batch from each reader's next ones, or `None` when all have ended.
    fn join(
        &self,
        parts: Vec<Option<std::result::Result<RecordBatch, arrow_schema::ArrowError>>>,
    ) -> Result<Option<RecordBatch>> {
        if parts.iter().all(Option::is_none) {
            return Ok(None);
        }
        let mut fields = Vec::with_capacity(parts.len());
        let mut arrays = Vec::with_capacity(parts.len());
        for part in parts {
            let batch = part
                .ok_or_else(|| Error::Internal("a reader ended before the others".into()))?
                .map_err(|e| Error::read_input(&self.path, e))?;
            fields.extend(batch.schema().fields().iter().cloned());
            arrays.extend(batch.columns().iter().cloned());
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map(Some)
            .map_err(|e| Error::Internal(format!("joining a Parquet file's columns: {e}")))
    }
}

/// Rows of an Arrow IPC file, summed from the record batch headers its footer points to
/// (a few small reads; no column is read). None when anything does not parse: the hint is then
/// missing, and the reader reports what is wrong.
fn ipc_file_rows(file: &mut File) -> Option<usize> {
    use std::io::{Read, SeekFrom};
    let end = file.metadata().ok()?.len();
    let mut read_at = |offset: u64, len: usize| -> Option<Vec<u8>> {
        if offset.checked_add(len as u64)? > end {
            return None;
        }
        let mut buf = vec![0; len];
        file.seek(SeekFrom::Start(offset)).ok()?;
        file.read_exact(&mut buf).ok()?;
        Some(buf)
    };
    let tail: [u8; 10] = read_at(end.checked_sub(10)?, 10)?.try_into().ok()?;
    let footer_len = arrow_ipc::reader::read_footer_length(tail).ok()?;
    let footer_at = end.checked_sub(10 + footer_len as u64)?;
    let footer = read_at(footer_at, footer_len)?;
    let blocks = arrow_ipc::root_as_footer(&footer).ok()?.recordBatches()?;
    let mut rows = 0usize;
    for block in blocks {
        let len = usize::try_from(block.metaDataLength()).ok()?;
        let meta = read_at(u64::try_from(block.offset()).ok()?, len)?;
        // An encapsulated message: the continuation marker and a length, or (before format
        // 0.15) the length alone, then the flatbuffer.
        let body = if meta.get(..4)? == [0xff; 4] {
            meta.get(8..)?
        } else {
            meta.get(4..)?
        };
        let batch = arrow_ipc::root_as_message(body)
            .ok()?
            .header_as_record_batch()?;
        rows = rows.checked_add(usize::try_from(batch.length()).ok()?)?;
    }
    Some(rows)
}

fn open_ipc(path: PathBuf, mut file: File) -> Result<Opened> {
    let as_file = arrow_ipc::reader::FileReader::try_new(BufReader::new(&file), None);
    match as_file {
        Ok(reader) => {
            let schema = reader.schema();
            drop(reader);
            let rows_hint = ipc_file_rows(&mut file);
            file.rewind().map_err(|e| Error::open_input(&path, &e))?;
            Ok(Opened {
                schema,
                rows_hint,
                rows_exact: true,
                typed: true,
                notes: TextNotes::default(),
                open: Box::new(move |projection: &[usize], _: &[usize], _: &[usize]| {
                    let reader = arrow_ipc::reader::FileReader::try_new(
                        BufReader::new(file),
                        Some(projection.to_vec()),
                    )
                    .map_err(|e| Error::read_input(&path, e))?;
                    let iter =
                        reader.map(move |batch| batch.map_err(|e| Error::read_input(&path, e)));
                    Ok(Box::new(iter) as Batches)
                }),
            })
        }
        Err(file_err) => {
            // Not an IPC file: it may be an IPC stream (what many tools write as .arrow).
            file.rewind().map_err(|e| Error::open_input(&path, &e))?;
            open_ipc_stream(path.clone(), Box::new(file))
                .map_err(|_| Error::read_input(&path, file_err))
        }
    }
}

/// An Arrow IPC stream, read as it arrives.
fn open_ipc_stream(
    path: PathBuf,
    stream: Box<dyn Read + Send>,
) -> std::result::Result<Opened, arrow_schema::ArrowError> {
    let reader = arrow_ipc::reader::StreamReader::try_new(BufReader::new(stream), None)?;
    let schema = reader.schema();
    Ok(Opened {
        schema,
        rows_hint: None,
        rows_exact: false,
        typed: true,
        notes: TextNotes::default(),
        open: Box::new(move |projection: &[usize], _: &[usize], _: &[usize]| {
            let projection = projection.to_vec();
            let iter = reader.map(move |batch| {
                batch
                    .map_err(|e| Error::read_input(&path, e))?
                    .project(&projection)
                    .map_err(|e| Error::Internal(format!("projection: {e}")))
            });
            Ok(Box::new(iter) as Batches)
        }),
    })
}

/// Standard input (`--input -`), its format told from its first bytes: an Arrow IPC stream, or
/// CSV (plain, gzip or zstd; read as `options` say), each read as it arrives.
/// Parquet and Arrow IPC files are read from their end, so they are refused with a way out
/// rather than copied somewhere first.
///
/// # Errors
/// Exit 66 when standard input cannot be read, 65 for a Parquet or Arrow IPC file and for what
/// is not valid in its format.
fn open_stdin(options: &CsvOptions) -> Result<Opened> {
    let name = PathBuf::from(STDIN_NAME);
    let mut stdin = std::io::stdin();
    let mut magic = Vec::with_capacity(8);
    Read::by_ref(&mut stdin)
        .take(8)
        .read_to_end(&mut magic)
        .map_err(|e| Error::open_input(&name, &e))?;
    let seekable = if magic.starts_with(b"PAR1") {
        Some("a Parquet file")
    } else if magic.starts_with(b"ARROW1") {
        Some("an Arrow IPC file")
    } else {
        None
    };
    if let Some(what) = seekable {
        return Err(Error::data(format!(
            "standard input holds {what}, which is read from its end, not as it arrives; \
             write it to a file and give that path to --input (an Arrow IPC stream or CSV, \
             compressed or not, can come through a pipe)"
        )));
    }
    let stream: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(magic.clone()).chain(stdin));
    if magic.starts_with(&[0xff; 4]) {
        return open_ipc_stream(name.clone(), stream).map_err(|e| Error::read_input(&name, e));
    }
    super::csv::open_csv_stream(name, &magic, stream, options)
}

/// Which columns to read, as the user named them.
#[derive(Debug, Clone, Default)]
pub struct ColumnRequest {
    /// The id column, if any.
    pub id: Option<String>,
    /// The feature columns; `None` means every numeric column but the id, the truth column, the
    /// excluded ones, and those with no name or holding a row index pandas wrote.
    pub features: Option<Vec<String>>,
    /// Columns never used as features by default.
    pub exclude: Vec<String>,
    /// A column of known segment labels to compare against (never a feature).
    pub truth: Option<String>,
    /// Columns to describe the segments with (`fit --describe`; never features); a name
    /// ending in `:categories` describes a column of numbers by its values as categories.
    pub describe: Vec<String>,
}

/// What reading found in one feature column.
#[derive(Debug, Clone, Default)]
pub struct ColumnScan {
    /// Nulls and NaN.
    pub missing: u64,
    /// The first row with a missing value.
    pub first_missing: Option<u64>,
    /// +Inf, -Inf, or values too large for f32.
    pub infinite: u64,
    /// The first such row and its value.
    pub first_infinite: Option<(u64, f64)>,
    /// Sum of the present values (for `--missing mean`).
    pub sum: f64,
}

impl ColumnScan {
    /// Adds the scan of the rows that follow.
    pub fn merge(&mut self, later: ColumnScan) {
        self.missing += later.missing;
        self.first_missing = self.first_missing.or(later.first_missing);
        self.infinite += later.infinite;
        self.first_infinite = self.first_infinite.or(later.first_infinite);
        self.sum += later.sum;
    }

    /// Number of present values, given the row count.
    pub fn present(&self, rows: u64) -> u64 {
        rows - self.missing - self.infinite
    }
}

/// The rows of an input as Strata holds them after reading.
pub struct Dataset {
    /// Input name for messages and the report.
    pub name: String,
    /// Feature names, in matrix column order.
    pub features: Vec<String>,
    /// Raw feature values, NaN where missing.
    pub matrix: Matrix,
    /// The id column, when one was named.
    pub ids: Option<IdColumn>,
    /// Known segment labels as dense codes, when a truth column was named.
    pub truth: Option<Vec<u32>>,
    /// The described columns, in the order named.
    pub described: Vec<DescribedColumn>,
    /// Per feature: missing and infinite counts.
    pub scans: Vec<ColumnScan>,
    /// Rows in the input.
    pub input_rows: u64,
    /// Input row of each kept row, once rows were dropped (`None`: all rows kept, in order).
    pub source_rows: Option<Vec<u64>>,
}

/// Numeric types, and Null: a column whose type could not be seen because it holds no values
/// (a CSV with only a header), which reads as all-missing.
fn is_feature_type(data_type: &DataType) -> bool {
    data_type.is_numeric() || matches!(data_type, DataType::Float16 | DataType::Null)
}

/// The types a feature named in `--features` may have: [`is_feature_type`]'s, and Boolean,
/// read as 1 and 0. A flag (`is_member`, `email_opt_in`) is a feature only when it is named.
fn is_named_feature_type(data_type: &DataType) -> bool {
    is_feature_type(data_type) || data_type == &DataType::Boolean
}

fn available(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "" => "(no name)".to_string(),
            name if name.trim() != name => format!("'{name}'"),
            name => name.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The index of column `name`, or exit 65 naming it and listing the columns there are.
///
/// # Errors
/// Exit 65 when the column is not in the input, or when more than one column has that name.
pub fn find_column(schema: &Schema, name: &str, role: &str) -> Result<usize> {
    let index = first_column(schema, name, role)?;
    unique_name(schema, index, role)?;
    Ok(index)
}

/// The index of the first column named `name`, or exit 65 as [`find_column`].
fn first_column(schema: &Schema, name: &str, role: &str) -> Result<usize> {
    // A CSV's names are read without spaces around them: a name given with them (or kept so
    // in a model fitted when they were not removed) is the same column.
    if let Ok(index) = schema
        .index_of(name)
        .or_else(|_| schema.index_of(name.trim()))
    {
        return Ok(index);
    }
    // A typed input keeps the names its writer gave, spaces around them included (a CSV header
    // `id, spend` saved to Parquet as it was read): one whose name is this one once both are
    // trimmed is the column meant.
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let padded: Vec<usize> = (0..names.len())
        .filter(|&i| names[i].trim() == name.trim())
        .collect();
    if let [index] = padded[..] {
        log::info!(
            "{role} column '{name}' is the input's '{}', with spaces around the name",
            names[index]
        );
        return Ok(index);
    }
    let cased: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| n.trim().eq_ignore_ascii_case(name.trim()))
        .collect();
    let hint = if cased.is_empty() {
        String::new()
    } else {
        format!(
            " (names are case-sensitive: did you mean '{}'?)",
            cased.join("' or '")
        )
    };
    Err(Error::data(format!(
        "{role} column '{name}' is not in the input{hint}; the columns are: {}",
        available(schema)
    )))
}

/// Fails when another column has the name of column `index`: columns are found by name (in
/// --features, in a model, by predict), so a repeated name would give one column's values under
/// both, and no answer could say which column it used.
///
/// # Errors
/// Exit 65 naming the column and where its name occurs.
fn unique_name(schema: &Schema, index: usize, role: &str) -> Result<()> {
    let name = schema.field(index).name();
    let mut places: Vec<String> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.name() == name)
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    let Some(last) = places.pop().filter(|_| !places.is_empty()) else {
        return Ok(());
    };
    Err(Error::data(format!(
        "{role} column '{name}' is the name of {} columns of the input (columns {} and {last}, \
         counting from 1); columns are found by name, so rename all but one of them, or leave \
         them out with --exclude '{name}'",
        places.len() + 1,
        places.join(", "),
    )))
}

/// The columns a file written from pandas names as the DataFrame's index: Parquet and Arrow
/// files keep pandas' description of the frame in the schema metadata (`index_columns`, where
/// an index kept only as a range has no column and no name).
fn pandas_index_columns(schema: &Schema) -> Vec<String> {
    let Some(text) = schema.metadata().get("pandas") else {
        return Vec::new();
    };
    let Ok(meta) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    meta.get("index_columns")
        .and_then(serde_json::Value::as_array)
        .map(|columns| {
            columns
                .iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// How column `index` is shown, with the reason, when it is no measure of each row to cluster
/// on: a column with no name in the header (first, the row index pandas' `to_csv` writes unless
/// told `index=False`; elsewhere, a column nothing could name in `--features` or a model),
/// `Unnamed: N` (pandas' name for such a column once read back), and `__index_level_N__` or a
/// column the file's pandas metadata names as the index (pandas' `to_parquet`).
fn unnamed_or_row_index(index: usize, name: &str, pandas_index: &[String]) -> Option<String> {
    let numbered = |prefix: &str, suffix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if name.is_empty() && index == 0 {
        Some(
            "column 1, with no name in the header (the row index pandas' to_csv writes unless \
             told index=False)"
                .to_string(),
        )
    } else if name.is_empty() {
        Some(format!("column {}, with no name in the header", index + 1))
    } else if numbered("Unnamed: ", "") {
        Some(format!(
            "'{name}' (pandas' name for a column with no name in the header: the row index \
             to_csv wrote)"
        ))
    } else if numbered("__index_level_", "__") || pandas_index.iter().any(|c| c == name) {
        Some(format!(
            "'{name}' (a DataFrame's row index, written by pandas)"
        ))
    } else {
        None
    }
}

/// Whether a column name reads as an identifier: `id`, or ending in `_id`, `-id`, ` id` or
/// `Id` (`customer_id`, `customerId`), any case for the first forms.
fn looks_like_an_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id"
        || ["_id", "-id", " id"].iter().any(|end| lower.ends_with(end))
        || (name.ends_with("Id") && name.len() > 2)
}

/// Said where a CSV column inferred as text may be numbers all the same.
pub const INFERRED_TEXT_HINT: &str = " (a CSV column is text when one of its first rows is not \
    a number, such as a word or a number written with a currency sign or thousands separators; a \
    word that marks a missing value, such as NULL, is read as missing when named in \
    --null-values)";

/// Said where CSV columns hold numbers written as a spreadsheet shows them.
pub const FORMATTED_HINT: &str = " (a number written with a currency sign, thousands separators \
    or a percent sign is text: save such columns as plain numbers, as a spreadsheet does for \
    cells formatted as General)";

/// Said where columns inferred as text hold numbers and these `words` among them.
pub fn words_hint(words: &[&str]) -> String {
    format!(
        " (words among numbers most likely mark missing values: name them in --null-values, as \
         in --null-values '{}')",
        words.join(",")
    )
}

/// How a column of numbers with words among them is shown: its name, type and words.
fn with_words(name: &str, words: &[String]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    format!("'{name}' (Utf8: numbers, and {})", quoted.join(", "))
}

/// After a described column's name: describe it by its values as categories, numbers too.
pub const CATEGORIES_SUFFIX: &str = ":categories";

/// The columns a request resolves to in the input's schema.
struct Resolved {
    features: Vec<usize>,
    id: Option<usize>,
    truth: Option<usize>,
    /// Each described column, and whether it is described by categories whatever its type.
    describe: Vec<(usize, bool)>,
}

/// Resolves the requested columns against the schema.
/// Where the types are not the input's own but inferred (CSV), a feature named
/// in `--features` that its first rows showed as text is read as numbers all the same, so
/// that the value that is not one is named with its row; a column of numbers with words
/// among them that is left out of the default features is shown with them.
fn resolve(opened: &Opened, request: &ColumnRequest) -> Result<Resolved> {
    let (schema, typed) = (opened.schema().as_ref(), opened.typed);
    let id = request
        .id
        .as_deref()
        .map(|n| find_column(schema, n, "id"))
        .transpose()?;
    let truth = request
        .truth
        .as_deref()
        .map(|n| find_column(schema, n, "truth"))
        .transpose()?;
    let mut described: Vec<(usize, bool)> = Vec::with_capacity(request.describe.len());
    for name in &request.describe {
        let (name, as_categories) = match name.strip_suffix(CATEGORIES_SUFFIX) {
            Some(column) if schema.index_of(name).is_err() => (column, true),
            _ => (name.as_str(), false),
        };
        let index = find_column(schema, name, "described")?;
        if described.iter().any(|&(i, _)| i == index) {
            return Err(Error::usage(format!(
                "'{name}' is listed twice in --describe"
            )));
        }
        if Some(index) == id {
            return Err(Error::usage(format!(
                "'{name}' is the id column; it cannot also be described"
            )));
        }
        described.push((index, as_categories));
    }
    let is_described = |index: usize| described.iter().any(|&(i, _)| i == index);
    // Every column of an excluded name is left out, so a repeated name may be excluded.
    for name in &request.exclude {
        first_column(schema, name, "excluded")?;
    }
    // The hint for CSV columns left out of the default features as text.
    let mut hint = String::new();
    let features: Vec<usize> = match &request.features {
        Some(names) => {
            let mut seen = HashMap::new();
            let mut indices = Vec::with_capacity(names.len());
            for name in names {
                if seen.insert(name.as_str(), ()).is_some() {
                    return Err(Error::usage(format!("feature '{name}' is listed twice")));
                }
                let index = find_column(schema, name, "feature")?;
                if Some(index) == id {
                    return Err(Error::usage(format!(
                        "'{name}' is the id column; it cannot also be a feature"
                    )));
                }
                if is_described(index) {
                    return Err(Error::usage(format!(
                        "'{name}' is named in both --features and --describe; a feature is \
                         profiled already (its mean, median and index per segment)"
                    )));
                }
                let data_type = schema.field(index).data_type();
                let inferred_text = !typed && data_type == &DataType::Utf8;
                if !is_named_feature_type(data_type) && !inferred_text {
                    return Err(Error::data(format!(
                        "feature column '{name}' has type {data_type}; features must be numeric \
                         (integer, unsigned, float or decimal) or boolean (read as 1 and 0): \
                         convert it or leave it out of --features"
                    )));
                }
                indices.push(index);
            }
            indices
        }
        None => {
            let candidates = || {
                schema.fields().iter().enumerate().filter(|(i, f)| {
                    Some(*i) != id
                        && Some(*i) != truth
                        && !is_described(*i)
                        && !request.exclude.iter().any(|e| e.trim() == f.name().trim())
                })
            };
            // A dataframe's row index written with the data numbers the rows: clustered on, it
            // would split the customers by their place in the file.
            let pandas_index = pandas_index_columns(schema);
            let mut unnamed = Vec::new();
            let numeric: Vec<usize> = candidates()
                .filter(|(_, f)| f.data_type().is_numeric())
                .filter(
                    |(i, f)| match unnamed_or_row_index(*i, f.name(), &pandas_index) {
                        Some(shown) => {
                            unnamed.push(shown);
                            false
                        }
                        None => true,
                    },
                )
                .map(|(i, _)| i)
                .collect();
            if !unnamed.is_empty() {
                log::warn!(
                    "left out of the features: {}; to cluster on such a column all the same, \
                     name it in --features (after naming it in the header if it has no name)",
                    unnamed.join(", ")
                );
            }
            for &i in &numeric {
                unique_name(schema, i, "feature")?;
            }
            // A column of numbers with one stray text value reads as text: say what is left
            // out rather than cluster without it in silence. A column with no value in the rows
            // seen has no type: in a CSV, whose types come from its first rows, its values may
            // come later (a column sorted nulls first). One with no name either is what a
            // delimiter at the end of every line leaves.
            let left_out: Vec<String> = candidates()
                .filter(|(_, f)| match f.data_type() {
                    DataType::Null => !f.name().is_empty(),
                    other => !is_feature_type(other),
                })
                .map(|(i, f)| match (f.data_type(), opened.words(i)) {
                    (DataType::Boolean, _) => format!(
                        "'{}' (Boolean, read as 1 and 0 when named in --features)",
                        f.name()
                    ),
                    (DataType::Null, _) if typed => format!("'{}' (no values)", f.name()),
                    (DataType::Null, _) => format!(
                        "'{}' (no value in the first rows, which set a CSV's types; read as \
                         numbers when named in --features)",
                        f.name()
                    ),
                    (_, Some(words)) => with_words(f.name(), words),
                    (other, None) => match opened.formatted(i) {
                        Some(value) => format!(
                            "'{}' (Utf8: numbers written as a spreadsheet shows them, such as \
                             '{value}')",
                            f.name()
                        ),
                        None => format!("'{}' ({other})", f.name()),
                    },
                })
                .collect();
            let mut found: Vec<&str> = Vec::new();
            for word in candidates().filter_map(|(i, _)| opened.words(i)).flatten() {
                if !found.contains(&word.as_str()) {
                    found.push(word);
                }
            }
            if !found.is_empty() {
                hint = words_hint(&found);
            }
            if candidates().any(|(i, _)| opened.formatted(i).is_some()) {
                hint.push_str(FORMATTED_HINT);
            }
            if hint.is_empty()
                && numeric.is_empty()
                && !typed
                && candidates().any(|(_, f)| f.data_type() == &DataType::Utf8)
            {
                hint = INFERRED_TEXT_HINT.to_string();
            }
            if !left_out.is_empty() && !numeric.is_empty() {
                log::warn!(
                    "not numeric, so not features: {}; name the features with --features, or \
                     leave columns out with --exclude{hint}",
                    left_out.join(", "),
                );
            }
            // A numeric identifier would be clustered on as if it meant something.
            let id_like: Vec<String> = numeric
                .iter()
                .map(|&i| schema.field(i).name())
                .filter(|name| looks_like_an_id(name))
                .map(|name| format!("'{name}'"))
                .collect();
            if !id_like.is_empty() {
                log::warn!(
                    "{} look(s) like an identifier but will be clustered as a feature; name it \
                     with --id or leave it out with --exclude (or name the features with \
                     --features)",
                    id_like.join(", ")
                );
            }
            if numeric.is_empty() {
                // No typed numeric column: untyped (empty) ones, so an empty input says so.
                candidates()
                    .filter(|(_, f)| f.data_type() == &DataType::Null)
                    .map(|(i, _)| i)
                    .collect()
            } else {
                numeric
            }
        }
    };
    if features.is_empty() {
        return Err(Error::data(format!(
            "no numeric feature columns to cluster; the columns are: {} (name them with \
             --features){hint}",
            available(schema),
        )));
    }
    Ok(Resolved {
        features,
        id,
        truth,
        describe: described,
    })
}

/// Reads the requested columns of `source` in one streaming pass.
///
/// # Errors
/// Exit 66 for a missing file; exit 65 for unknown or non-numeric columns, null ids and
/// unreadable files.
pub fn read_dataset(source: Source, request: &ColumnRequest) -> Result<Dataset> {
    let mut reader = DatasetReader::open(source, request)?;
    if let Some(rows) = reader.rows_hint() {
        super::memory::warn_if_short(rows as u64, reader.features().len());
    }
    reader.report_to(crate::progress::stage(
        format!("reading {}", reader.name()),
        reader.rows_total(),
        "rows",
    ));
    let data = reader.next_block(usize::MAX)?;
    reader.check_ids()?;
    Ok(data)
}

/// The requested columns of an input, read block by block: each block is a [`Dataset`] of the
/// rows that follow the previous one, numbered (in its scans and errors) by input row. One
/// block of every row is [`read_dataset`]; `predict` reads blocks of a bounded size, so that it
/// never holds the whole input.
pub struct DatasetReader {
    name: String,
    schema: SchemaRef,
    features: Vec<String>,
    feature_idx: Vec<usize>,
    id_idx: Option<usize>,
    truth_idx: Option<usize>,
    describe_idx: Vec<usize>,
    batches: Batches,
    ids: Option<IdColumnBuilder>,
    truth: Option<TruthCodes>,
    described: Vec<DescribedBuilder>,
    rows_hint: Option<usize>,
    rows_total: crate::progress::Total,
    /// Rows read so far.
    rows: u64,
    /// The progress stage told of every batch read.
    progress: Option<crate::progress::Stage>,
    /// A block's matrix given back, whose memory the next block reuses.
    spare: Option<Matrix>,
    /// Numbers that stand for missing features (a typed input's; a CSV's are read as nulls).
    stand_ins: StandIns,
}

impl DatasetReader {
    /// Opens `source` and resolves the requested columns; reads no rows yet.
    ///
    /// # Errors
    /// As [`read_dataset`].
    pub fn open(source: Source, request: &ColumnRequest) -> Result<DatasetReader> {
        let name = source.name();
        let (opened, stand_ins) = Opened::open_with_stand_ins(source)?;
        let schema = opened.schema().clone();
        let rows_hint = opened.rows_hint();
        let rows_total = opened.rows_total();
        let Resolved {
            features: feature_idx,
            id: id_idx,
            truth: truth_idx,
            describe,
        } = resolve(&opened, request)?;
        let describe_idx: Vec<usize> = describe.iter().map(|&(i, _)| i).collect();
        let features: Vec<String> = feature_idx
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect();
        let mut projection = feature_idx.clone();
        projection.extend(id_idx);
        projection.extend(truth_idx);
        projection.extend(&describe_idx);
        projection.sort_unstable();
        projection.dedup();
        // The id column, and whether a CSV's is read as text (see `key_read`).
        let mut as_text = Vec::new();
        let ids = id_idx
            .map(|i| {
                let field = schema.field(i);
                let builder = match key_read(&opened, i, "id") {
                    KeyRead::Typed => return IdColumnBuilder::new(field.name(), field.data_type()),
                    KeyRead::Text => IdColumnBuilder::new(field.name(), &DataType::Utf8)?,
                    KeyRead::IntegersFromText => IdColumnBuilder::integers_from_text(field.name()),
                };
                as_text.push(i);
                Ok(builder)
            })
            .transpose()?;
        // Categories are read as written: a CSV's `007` or a `gold` after 10,000 numbers.
        as_text.extend(describe.iter().filter(|d| d.1).map(|d| d.0));
        let described = describe
            .iter()
            .map(|&(i, as_categories)| {
                let field = schema.field(i);
                DescribedBuilder::new(field.name(), field.data_type(), as_categories)
            })
            .collect();
        let batches = opened.batches_with_text(&projection, &feature_idx, &as_text)?;
        Ok(DatasetReader {
            name,
            schema,
            features,
            feature_idx,
            id_idx,
            truth_idx,
            batches,
            ids,
            truth: truth_idx.map(|_| TruthCodes::default()),
            described,
            describe_idx,
            rows_hint,
            rows_total,
            rows: 0,
            progress: None,
            spare: None,
            stand_ins,
        })
    }

    /// The input's name, for messages and reports.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The feature names, in matrix column order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The input's row count when its format states it up front (see [`Opened::rows_hint`]).
    pub fn rows_hint(&self) -> Option<usize> {
        self.rows_hint
    }

    /// The input's row count for a progress line.
    pub fn rows_total(&self) -> crate::progress::Total {
        self.rows_total
    }

    /// Counts every row read from now on in `stage`.
    pub fn report_to(&mut self, stage: crate::progress::Stage) {
        self.progress = Some(stage);
    }

    /// Rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// The id column's name and the type its values are written back as, when one was named.
    pub fn id_field(&self) -> Option<(&str, &DataType)> {
        self.ids.as_ref().map(|b| (b.name(), b.data_type()))
    }

    /// Whether a null id was read so far (the error itself is [`DatasetReader::check_ids`]).
    pub fn has_null_ids(&self) -> bool {
        self.ids.as_ref().is_some_and(IdColumnBuilder::has_nulls)
    }

    /// Fails when any id read so far was null, with the count and the first row.
    ///
    /// # Errors
    /// Exit 65 naming the id column.
    pub fn check_ids(&self) -> Result<()> {
        self.ids
            .as_ref()
            .map_or(Ok(()), IdColumnBuilder::check_nulls)
    }

    /// Gives back the matrix of a block that is done with, so that the next block is read into
    /// the same memory instead of memory the system has to map afresh (a block's matrix is
    /// tens of MB: each fresh one costs a page fault per 4 KiB).
    pub fn recycle(&mut self, matrix: Matrix) {
        self.spare = Some(matrix);
    }

    /// Reads whole record batches until the block holds at least `rows` rows or the input
    /// ends; an empty block means the input has ended. Null ids are counted, not an error,
    /// until [`DatasetReader::check_ids`].
    ///
    /// # Errors
    /// Exit 65 for an unreadable batch or a feature that cannot be read as numbers.
    pub fn next_block(&mut self, rows: usize) -> Result<Dataset> {
        let cols = self.features.len();
        let first_row = self.rows;
        let mut matrix = match self.spare.take() {
            Some(mut spare) if spare.cols() == cols => {
                spare.clear();
                spare
            }
            _ => Matrix::with_capacity(0, cols),
        };
        let expected = self
            .rows_hint
            .map(|hint| hint.saturating_sub(first_row as usize).min(rows));
        if let Some(expected) = expected.filter(|&e| e > 0) {
            // Room for the rows expected, when it can be had: a CSV estimate may be well off,
            // and a damaged footer may claim any count; the matrix grows as rows arrive either
            // way.
            if !matrix.try_reserve_rows(expected) {
                log::debug!(
                    "no room reserved for {expected} rows; the matrix grows as they arrive"
                );
            }
        }
        let mut scans = vec![ColumnScan::default(); cols];
        while matrix.rows() < rows {
            let Some(batch) = self.batches.next() else {
                break;
            };
            let batch = batch?;
            self.append(&batch, &mut matrix, &mut scans)?;
        }
        let ids = self.ids.as_mut().map(IdColumnBuilder::take);
        Ok(Dataset {
            name: self.name.clone(),
            features: self.features.clone(),
            input_rows: self.rows - first_row,
            matrix,
            ids,
            truth: self.truth.as_mut().map(|t| std::mem::take(&mut t.codes)),
            described: self
                .described
                .iter_mut()
                .map(DescribedBuilder::take)
                .collect(),
            scans,
            source_rows: None,
        })
    }

    /// Appends one batch: its features to `matrix` (scanned into `scans`), its ids and labels.
    fn append(
        &mut self,
        batch: &RecordBatch,
        matrix: &mut Matrix,
        scans: &mut [ColumnScan],
    ) -> Result<()> {
        let (schema, cols, rows) = (&self.schema, self.features.len(), self.rows);
        let column = |index: usize| batch_column(batch, schema, index);
        let n = batch.num_rows();
        let floats = self
            .feature_idx
            .par_iter()
            .map(|&index| {
                let floats = as_floats(column(index)?)
                    .map_err(|e| Error::data(format!("cannot read a feature as a number: {e}")))?;
                self.stand_ins.nulled(floats)
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let block = matrix.extend_rows(n);
        // Blocks of rows in parallel, each writing every feature of its rows (its part of the
        // matrix stays in cache); their scans are merged in row order. The blocks are fixed
        // in size, so the sums do not depend on the thread count.
        let parts = block
            .par_chunks_mut(SCATTER_ROWS * cols)
            .enumerate()
            .map(|(b, part)| {
                let start = b * SCATTER_ROWS;
                let len = part.len() / cols;
                floats
                    .iter()
                    .enumerate()
                    .map(|(j, array)| {
                        scatter_feature(
                            &array.slice(start, len),
                            j,
                            cols,
                            part,
                            rows + start as u64,
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        for part in parts {
            for (scan, more) in scans.iter_mut().zip(part) {
                scan.merge(more);
            }
        }
        if let (Some(builder), Some(index)) = (self.ids.as_mut(), self.id_idx) {
            builder.append(column(index)?, rows)?;
        }
        if let (Some(codes), Some(index)) = (self.truth.as_mut(), self.truth_idx) {
            codes.append(column(index)?)?;
        }
        let stand_ins = &self.stand_ins;
        self.described
            .par_iter_mut()
            .zip(&self.describe_idx)
            .try_for_each(|(builder, &index)| builder.append(column(index)?, stand_ins))?;
        self.rows += n as u64;
        if let Some(stage) = &self.progress {
            stage.set(self.rows);
        }
        Ok(())
    }
}

/// The column of a projected batch that is column `index` of the input's `schema`.
///
/// # Errors
/// An internal error if the projection left it out.
pub fn batch_column<'b>(
    batch: &'b RecordBatch,
    schema: &Schema,
    index: usize,
) -> Result<&'b ArrayRef> {
    let name = schema.field(index).name();
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::Internal(format!("column '{name}' missing from a projected batch")))
}

/// Rows per task when a batch's features are written into the matrix.
const SCATTER_ROWS: usize = 8192;

/// A numeric column as Float32 or Float64 (other numbers cast to Float64): in its own
/// precision where it is a float, which [`StandIns::nulled`] compares in.
///
/// # Errors
/// Arrow's, when the column cannot be read as numbers; the caller names the column.
pub fn as_floats(array: &ArrayRef) -> std::result::Result<ArrayRef, arrow_schema::ArrowError> {
    match array.data_type() {
        DataType::Float32 | DataType::Float64 => Ok(array.clone()),
        _ => arrow_cast::cast(array, &DataType::Float64),
    }
}

/// Writes one Float32 or Float64 feature column of a block of rows into column `col` of
/// its row-major part of the matrix; returns the block's scan of the column.
fn scatter_feature(
    array: &ArrayRef,
    col: usize,
    cols: usize,
    block: &mut [f32],
    row_base: u64,
) -> ColumnScan {
    let mut scan = ColumnScan::default();
    let mut put = |i: usize, value: Option<f64>| {
        let slot = &mut block[i * cols + col];
        match value {
            Some(v) if v.is_finite() && (v as f32).is_finite() => {
                scan.sum += v;
                *slot = v as f32;
            }
            Some(v) if !v.is_nan() => {
                scan.infinite += 1;
                scan.first_infinite.get_or_insert((row_base + i as u64, v));
                *slot = f32::NAN;
            }
            _ => {
                scan.missing += 1;
                scan.first_missing.get_or_insert(row_base + i as u64);
                *slot = f32::NAN;
            }
        }
    };
    if let Some(values) = array.as_primitive_opt::<Float32Type>() {
        for (i, v) in values.iter().enumerate() {
            put(i, v.map(f64::from));
        }
    } else {
        for (i, v) in array.as_primitive::<Float64Type>().iter().enumerate() {
            put(i, v);
        }
    }
    scan
}

/// Dense codes (0, 1, …, by first appearance) for the values of a truth column; a null is
/// the empty label.
#[derive(Default)]
struct TruthCodes {
    codes: Vec<u32>,
    seen: Numbering<TextList>,
}

impl TruthCodes {
    fn append(&mut self, array: &ArrayRef) -> Result<()> {
        let text = arrow_cast::cast(array, &DataType::Utf8)
            .map_err(|e| Error::data(format!("cannot read the truth column as labels: {e}")))?;
        let labels = text
            .as_string::<i32>()
            .iter()
            .map(|v| Some(v.unwrap_or("")));
        // Every label is present (a null reads as ""), so each gets a number.
        let numbers = self.seen.number_column(labels)?;
        self.codes
            .extend(numbers.into_iter().flatten().map(|n| n as u32));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float32Array, Float64Array, Int32Array};
    use arrow_schema::Field;

    #[test]
    fn an_input_name_says_its_format() {
        let cases = [
            ("t.parquet", Some(Format::Parquet)),
            ("t.PQ", Some(Format::Parquet)),
            ("t.feather", Some(Format::Arrow)),
            ("t.csv", Some(Format::Csv)),
            ("t.csv.gz", Some(Format::Csv)),
            ("t.CSV.ZST", Some(Format::Csv)),
            ("t.tsv", Some(Format::Csv)),
            ("t.tsv.gz", Some(Format::Csv)),
            // Redshift's unload parts, and any compressed name with no other extension.
            ("0000_part_00.gz", Some(Format::Csv)),
            ("part-00000.zst", Some(Format::Csv)),
            ("unload/0001_part_00.gzip", Some(Format::Csv)),
            // Redshift's unload parts as it writes them by default: plain, no extension.
            ("0000_part_00", Some(Format::Csv)),
            ("unload/customers_0012_part_07", Some(Format::Csv)),
            ("cust.v2_0000_part_00", Some(Format::Csv)),
            // Not delimited text, or not said to be.
            ("t.json.gz", None),
            ("t.tar.gz", None),
            ("t.parquet.gz", None),
            ("t.txt", None),
            ("manifest", None),
            ("customers_manifest", None),
            ("0000_part_", None),
            ("0000_part_00x", None),
            ("x_part_00", None),
            ("000000_0", None),
            (".gz", None),
        ];
        for (name, want) in cases {
            assert_eq!(Format::from_input_name(Path::new(name)), want, "{name}");
        }
        // A file named .txt is read as delimited text when given as the input, not as a part.
        for name in ["t.txt", "t.TXT", "t.txt.gz"] {
            assert_eq!(Format::of_input(Path::new(name)).ok(), Some(Format::Csv));
            assert!(!is_part_file(Path::new(name)), "{name}");
        }
        assert!(Format::of_input(Path::new("t.json")).is_err());
        // The extensions of the formats alone: a .tsv output is CSV separated by tabs, which
        // the writer tells from the name; a bare .gz is no format.
        assert_eq!(Format::from_extension(Path::new("seg.tsv")), None);
        assert_eq!(Format::from_extension(Path::new("seg.gz")), None);
    }

    #[test]
    fn a_column_is_found_by_its_name_with_or_without_spaces_around_it() {
        let schema = |names: &[&str]| {
            Schema::new(
                names
                    .iter()
                    .map(|n| Field::new(*n, DataType::Float64, true))
                    .collect::<Vec<_>>(),
            )
        };
        let typed = schema(&["id", " spend", "Recency"]);
        assert_eq!(find_column(&typed, "id", "id").unwrap(), 0);
        assert_eq!(find_column(&typed, " id ", "id").unwrap(), 0);
        assert_eq!(find_column(&typed, "spend", "feature").unwrap(), 1);
        assert_eq!(find_column(&typed, " spend", "feature").unwrap(), 1);
        // Case is not ignored, but a name that differs only so is named.
        let err = find_column(&typed, "recency", "feature")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'recency' is not in the input (names are case-sensitive: did you mean 'Recency'?); the columns are: id, ' spend', Recency"),
            "{err}"
        );
        // Two names that are one once trimmed: neither is taken.
        let two = schema(&["a ", " a"]);
        let err = find_column(&two, "a", "feature").unwrap_err().to_string();
        assert!(err.contains("the columns are: 'a ', ' a'"), "{err}");
    }

    #[test]
    fn numbers_named_missing_are_compared_in_the_column_s_precision() {
        let texts: Vec<String> = ["NULL", "-999", " 9999.99 ", "inf", "NaN"]
            .map(String::from)
            .into();
        let stand_ins = StandIns::of(&texts);
        let nulls = |array: ArrayRef| -> Vec<bool> {
            let nulled = stand_ins.nulled(array).unwrap();
            (0..nulled.len()).map(|i| nulled.is_null(i)).collect()
        };
        // A Float32 column's 9999.99 is the f32 nearest it; a Float64 column's is exact, and
        // the widened f32 is another number there. Nulls stay nulls.
        let narrow = Float32Array::from(vec![Some(9999.99), Some(-999.0), Some(1.0), None]);
        assert_eq!(nulls(Arc::new(narrow)), [true, true, false, true]);
        let wide = Float64Array::from(vec![
            Some(9999.99),
            Some(f64::from(9999.99f32)),
            Some(-999.0),
            Some(f64::INFINITY),
            Some(f64::NAN),
        ]);
        assert_eq!(nulls(Arc::new(wide)), [true, false, true, false, false]);
        // No number named: the column as it is.
        let none = StandIns::of(&["NULL".to_string()]);
        assert!(none.is_empty());
        let column: ArrayRef = Arc::new(Float64Array::from(vec![-999.0]));
        assert!(Arc::ptr_eq(&none.nulled(column.clone()).unwrap(), &column));
    }

    #[test]
    fn a_parquet_timestamp_keeps_the_zone_its_writer_embedded_in_another_unit() {
        use arrow_array::TimestampMillisecondArray;
        use arrow_schema::TimeUnit::{Microsecond, Millisecond};
        use parquet::arrow::arrow_writer::ArrowWriterOptions;
        use parquet::file::metadata::KeyValue;
        // A file as pyarrow writes a zoned microsecond column with coerce_timestamps='ms': the
        // values in milliseconds, marked as adjusted to UTC, under an embedded Arrow schema
        // that gives microseconds and the zone. Beside it, a column in UTC and one with no
        // zone, which stay as they are.
        let zoned = |unit, zone: Option<&str>| DataType::Timestamp(unit, zone.map(Arc::from));
        let stored = Arc::new(Schema::new(vec![
            Field::new("at", zoned(Millisecond, Some("+00:00")), false),
            Field::new("utc", zoned(Millisecond, Some("+00:00")), false),
            Field::new("wall", zoned(Millisecond, None), false),
        ]));
        let mut embedded = stored.as_ref().clone();
        let mut fields: Vec<Field> = embedded
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[0] = Field::new("at", zoned(Microsecond, Some("America/New_York")), false);
        embedded = Schema::new(fields);
        let millis = TimestampMillisecondArray::from(vec![1_709_337_600_000, 1_709_341_200_000]);
        let batch = RecordBatch::try_new(
            stored.clone(),
            vec![
                Arc::new(millis.clone().with_timezone("+00:00")),
                Arc::new(millis.clone().with_timezone("+00:00")),
                Arc::new(millis.clone()),
            ],
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("strata-zones-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let props = parquet::file::properties::WriterProperties::builder()
            .set_key_value_metadata(Some(vec![KeyValue::new(
                parquet::arrow::ARROW_SCHEMA_META_KEY.to_string(),
                parquet::arrow::encode_arrow_schema(&embedded),
            )]))
            .build();
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(true);
        let file = File::create(&path).unwrap();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new_with_options(file, stored, options).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let opened = Opened::open(Source::file(path)).unwrap();
        let types: Vec<DataType> = opened
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                zoned(Millisecond, Some("America/New_York")),
                zoned(Millisecond, Some("+00:00")),
                zoned(Millisecond, None),
            ]
        );
        let read: Vec<RecordBatch> = opened
            .batches_with_text(&[0, 1, 2], &[], &[])
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.len(), 1);
        for (column, want) in read[0].columns().iter().zip(&types) {
            assert_eq!(column.data_type(), want);
            let values = column.as_primitive::<arrow_array::types::TimestampMillisecondType>();
            assert_eq!(values.values(), millis.values());
        }
    }

    /// A Parquet file of several row groups (not multiples of the batch size) read by several
    /// readers side by side (one per column, or runs of columns) gives what one reader over
    /// all columns gives: the same matrix, ids and scans.
    #[test]
    fn a_parquet_file_read_by_several_readers_equals_one_reader() {
        use arrow_array::StringArray;
        let rows = 150_001usize;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("x", DataType::Float64, true),
            Field::new("y", DataType::Int32, false),
            Field::new("z", DataType::Float32, false),
            Field::new("w", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("C{i}")),
                )),
                Arc::new(
                    (0..rows)
                        .map(|i| (i % 977 != 5).then_some((i % 1_013) as f64 * 0.25))
                        .collect::<Float64Array>(),
                ),
                Arc::new(Int32Array::from_iter_values(
                    (0..rows).map(|i| (i % 89) as i32),
                )),
                Arc::new(Float32Array::from_iter_values((0..rows).map(|i| i as f32))),
                Arc::new(Float64Array::from_iter_values(
                    (0..rows).map(|i| -(i as f64)),
                )),
            ],
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("strata-columns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(40_000))
            .build();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(File::create(&path).unwrap(), schema, Some(props))
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let request = ColumnRequest {
            id: Some("id".into()),
            ..Default::default()
        };
        let read = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| read_dataset(Source::file(path.clone()), &request).unwrap())
        };
        // Three threads: one reader per column; two: runs of two columns per reader.
        let (one, many, pairs) = (read(1), read(3), read(2));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(one.matrix.rows(), rows);
        // Bit for bit (missing values are NaN, which equals nothing).
        let bits = |d: &Dataset| {
            d.matrix
                .as_slice()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert!(bits(&one) == bits(&many), "the matrices differ");
        assert!(bits(&one) == bits(&pairs), "the matrices differ");
        let last = 150_000usize;
        let want = [
            (last % 1_013) as f32 * 0.25,
            (last % 89) as f32,
            last as f32,
            -(last as f32),
        ];
        assert_eq!(many.matrix.row(last), want);
        let ids = |d: &Dataset| d.ids.as_ref().unwrap().slice(0, rows).unwrap();
        assert_eq!(&ids(&one), &ids(&many));
        assert_eq!(&ids(&one), &ids(&pairs));
        for (a, b) in one.scans.iter().zip(&many.scans) {
            assert_eq!(
                (a.missing, a.first_missing, a.sum),
                (b.missing, b.first_missing, b.sum)
            );
        }
        assert_eq!(many.scans[0].first_missing, Some(5));
    }

    /// An IPC file's rows are known from its footer and batch headers before the read: batches
    /// of 5, 0 and 7 rows give 12. An IPC stream has no footer, so no hint; nor does a file
    /// whose batch headers cannot be read.
    #[test]
    fn an_ipc_file_gives_its_row_count_before_the_read() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, false)]));
        let batch = |rows: usize| {
            let x = Float64Array::from_iter_values((0..rows).map(|i| i as f64));
            RecordBatch::try_new(schema.clone(), vec![Arc::new(x)]).unwrap()
        };
        let dir = std::env::temp_dir().join(format!("strata-ipc-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (file_path, stream_path) = (dir.join("t.arrow"), dir.join("s.arrow"));
        let mut writer =
            arrow_ipc::writer::FileWriter::try_new(File::create(&file_path).unwrap(), &schema)
                .unwrap();
        let mut stream =
            arrow_ipc::writer::StreamWriter::try_new(File::create(&stream_path).unwrap(), &schema)
                .unwrap();
        for rows in [5, 0, 7] {
            writer.write(&batch(rows)).unwrap();
            stream.write(&batch(rows)).unwrap();
        }
        writer.finish().unwrap();
        stream.finish().unwrap();
        let hint = |path: &PathBuf| {
            Opened::open(Source::file(path.clone()))
                .unwrap()
                .rows_hint()
        };
        assert_eq!(hint(&file_path), Some(12));
        assert_eq!(hint(&stream_path), None);
        // Counting leaves the file rewound for the read itself.
        let data = read_dataset(Source::file(file_path.clone()), &ColumnRequest::default());
        assert_eq!(data.unwrap().matrix.rows(), 12);
        // The first batch header overwritten past its length prefix: the footer still parses,
        // the header does not.
        let mut bytes = std::fs::read(&file_path).unwrap();
        let footer_len =
            arrow_ipc::reader::read_footer_length(bytes[bytes.len() - 10..].try_into().unwrap())
                .unwrap();
        let footer_at = bytes.len() - 10 - footer_len;
        let footer = bytes[footer_at..bytes.len() - 10].to_vec();
        let first = arrow_ipc::root_as_footer(&footer)
            .unwrap()
            .recordBatches()
            .unwrap()
            .get(0)
            .offset() as usize;
        bytes[first + 8..first + 24].fill(0x7f);
        std::fs::write(&file_path, &bytes).unwrap();
        assert_eq!(ipc_file_rows(&mut File::open(&file_path).unwrap()), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Two batches of 20,000 and 7,000 rows, so that the blocks of rows written side by side
    /// (8,192 rows) cross both: every value lands in its place, and each column's counts, first
    /// bad rows and sum equal a row-by-row scan.
    #[test]
    fn features_written_in_blocks_equal_a_row_by_row_scan() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Float64, true),
            Field::new("b", DataType::Float32, true),
            Field::new("c", DataType::Int32, true),
        ]));
        let value = |row: usize, col: usize| -> Option<f64> {
            match (col, row) {
                (0, 9_000 | 25_000) => Some(f64::NAN),
                (0, 12_345) => Some(f64::INFINITY),
                (0, 21_000) => Some(1e39),
                (1, 8_191 | 8_192) => None,
                (2, 26_999) => None,
                _ => Some(((row * 7 + col * 13) % 1_000) as f64 / 8.0 - 40.0),
            }
        };
        let batch = |rows: std::ops::Range<usize>| {
            let a: Float64Array = rows.clone().map(|r| value(r, 0)).collect();
            let b: Float32Array = rows
                .clone()
                .map(|r| value(r, 1).map(|v| v as f32))
                .collect();
            let c: Int32Array = rows
                .map(|r| value(r, 2).map(|v| (v * 8.0) as i32))
                .collect();
            RecordBatch::try_new(schema.clone(), vec![Arc::new(a), Arc::new(b), Arc::new(c)])
                .unwrap()
        };
        let source = Source::Memory {
            name: "blocks".into(),
            schema: schema.clone(),
            batches: vec![batch(0..20_000), batch(20_000..27_000)],
        };
        let data = read_dataset(source, &ColumnRequest::default()).unwrap();
        assert_eq!(data.matrix.rows(), 27_000);
        for col in 0..3 {
            let mut want = ColumnScan::default();
            for row in 0..27_000 {
                let v = value(row, col).map(|v| if col == 2 { (v * 8.0).trunc() } else { v });
                let v = if col == 1 {
                    v.map(|v| f64::from(v as f32))
                } else {
                    v
                };
                let got = data.matrix.row(row)[col];
                match v {
                    Some(v) if v.is_finite() && (v as f32).is_finite() => {
                        want.sum += v;
                        assert_eq!(got, v as f32, "row {row} column {col}");
                    }
                    Some(v) if !v.is_nan() => {
                        want.infinite += 1;
                        want.first_infinite.get_or_insert((row as u64, v));
                        assert!(got.is_nan());
                    }
                    _ => {
                        want.missing += 1;
                        want.first_missing.get_or_insert(row as u64);
                        assert!(got.is_nan());
                    }
                }
            }
            let scan = &data.scans[col];
            assert_eq!(
                (
                    scan.missing,
                    scan.first_missing,
                    scan.infinite,
                    scan.first_infinite
                ),
                (
                    want.missing,
                    want.first_missing,
                    want.infinite,
                    want.first_infinite
                ),
                "column {col}"
            );
            assert!(
                (scan.sum - want.sum).abs() <= 1e-9 * want.sum.abs().max(1.0),
                "column {col}"
            );
        }
        assert_eq!(data.scans[0].first_missing, Some(9_000));
        assert_eq!(data.scans[0].first_infinite, Some((12_345, f64::INFINITY)));
        assert_eq!(data.scans[1].first_missing, Some(8_191));
    }
}
