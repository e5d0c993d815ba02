//! Atomic output files: every output is written to a temporary file in its destination folder
//! and renamed into place only when the whole run has succeeded, so a failed run leaves nothing
//! behind, not even a partial file. Symbolic links are followed: the file a link leads to is
//! replaced, and the link stays. An output that is not a regular file (a device such as
//! `/dev/null`, a named pipe, a terminal) or that names one of the process's descriptors
//! (`/dev/stdout`, `/dev/fd/N`) is a stream, not a file to replace: it is written into directly,
//! appended to, and what a failed run wrote there stays.

use super::text::{CsvOut, TextOut};
use crate::data::read::{Compression, Format};
use crate::error::{Error, Result};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// A file written under a temporary name beside its destination; removed on drop unless
/// committed, and (on Unix) when the process is stopped by SIGINT, SIGTERM or SIGHUP. For a
/// stream destination, only the destination written directly.
pub struct StagedFile {
    /// The output as it was given.
    target: PathBuf,
    /// For a file: the temporary file and the path it is renamed to (`target` with its links
    /// followed). `None` for a stream.
    staged: Option<(PathBuf, PathBuf)>,
    committed: bool,
    /// Its place among the files removed on a signal.
    tracked: Option<usize>,
}

/// Where an output is written.
#[derive(Debug, PartialEq)]
enum Destination {
    /// A regular file, or none yet, at this path (the output with its links followed).
    File(PathBuf),
    /// Not a file to replace: a device, a named pipe, a socket, a terminal, or whatever one of
    /// the process's descriptors holds.
    Stream,
}

/// The process's own stdout or stderr when `target` names it (`/dev/stdout`, `/dev/fd/1`,
/// `/proc/self/fd/1`, and the same for 2), as a second handle on the same open file: writes
/// through it follow what the run printed there, even in a file that the shell opened with `>`,
/// where a fresh open of the path would write over it from the start.
fn own_stream(target: &Path) -> Option<std::io::Result<File>> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let handle = match target.to_str()? {
            "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => {
                std::io::stdout().as_fd().try_clone_to_owned()
            }
            "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => {
                std::io::stderr().as_fd().try_clone_to_owned()
            }
            _ => return None,
        };
        Some(handle.map(File::from))
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        None
    }
}

/// Links followed from `path` at most this many times (as Linux does).
const MAX_LINKS: usize = 40;

/// What writing to `target` means (see the module's documentation).
fn destination(target: &Path) -> Destination {
    // `/dev/stdout` and `/dev/fd/N` lead through `/proc/self/fd`, whose links name pipes and
    // terminals (`pipe:[…]`) as well as files: those are the process's own streams.
    let descriptor = |p: &Path| p.starts_with("/proc") || p.starts_with("/dev/fd");
    let mut path = target.to_path_buf();
    for _ in 0..MAX_LINKS {
        if descriptor(&path) {
            return Destination::Stream;
        }
        match std::fs::read_link(&path) {
            // A relative link is relative to the link's folder; `join` keeps an absolute one.
            Ok(next) => path = path.parent().unwrap_or(Path::new("")).join(next),
            Err(_) => break,
        }
    }
    match std::fs::metadata(target) {
        Ok(meta) if !meta.is_file() => Destination::Stream,
        _ => Destination::File(path),
    }
}

/// Whether `target` is written as a stream (a folder is neither: creating it fails as such).
fn is_stream(target: &Path) -> bool {
    !target.is_dir() && destination(target) == Destination::Stream
}

fn cannot_create(target: &Path, err: &std::io::Error) -> Error {
    Error::CannotCreate(format!(
        "cannot create output '{}': {err}; check that its folder exists and is writable",
        target.display()
    ))
}

fn write_failed(target: &Path, err: impl std::fmt::Display) -> Error {
    Error::Io(format!("failed writing '{}': {err}", target.display()))
}

impl StagedFile {
    /// Creates the temporary file for `target` and returns it open for writing; for a stream
    /// destination, opens the destination itself for appending.
    ///
    /// # Errors
    /// Exit 73 when the destination folder does not exist or is not writable.
    pub fn create(target: &Path) -> Result<(StagedFile, File)> {
        if target.is_dir() {
            return Err(Error::CannotCreate(format!(
                "cannot create output '{}': it is a directory; give a file name",
                target.display()
            )));
        }
        let place = match destination(target) {
            Destination::File(place) => place,
            Destination::Stream => {
                let file = match own_stream(target) {
                    Some(stream) => stream,
                    None => File::options().append(true).open(target),
                }
                .map_err(|e| cannot_create(target, &e))?;
                let staged = StagedFile {
                    target: target.to_path_buf(),
                    staged: None,
                    committed: false,
                    tracked: None,
                };
                return Ok((staged, file));
            }
        };
        let folder = match place.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = place
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = folder.join(format!(
            ".{name}.strata-{}-{}.tmp",
            std::process::id(),
            NEXT_TEMP.fetch_add(1, Ordering::Relaxed)
        ));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| cannot_create(target, &e))?;
        let tracked = on_signal::track(&temp);
        Ok((
            StagedFile {
                target: target.to_path_buf(),
                staged: Some((temp, place)),
                committed: false,
                tracked,
            },
            file,
        ))
    }

    /// Checks early that `target` can be created, so a long run does not fail at the end. A
    /// stream destination is not opened here (a named pipe would wait for its reader).
    ///
    /// # Errors
    /// Exit 73 as for `create`.
    pub fn preflight(target: &Path) -> Result<()> {
        if is_stream(target) {
            return Ok(());
        }
        let (staged, _) = StagedFile::create(target)?;
        drop(staged);
        Ok(())
    }

    /// The destination path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the file into place (a stream is already written).
    ///
    /// # Errors
    /// Exit 74 when the rename fails.
    pub fn commit(mut self) -> Result<()> {
        if let Some((temp, place)) = &self.staged {
            std::fs::rename(temp, place).map_err(|e| write_failed(&self.target, e))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed
            && let Some((temp, _)) = &self.staged
        {
            let _ = std::fs::remove_file(temp);
        }
        if let Some(slot) = self.tracked {
            on_signal::untrack(slot);
        }
    }
}

/// Temporary outputs removed when the process is stopped by SIGINT (Ctrl-C), SIGTERM (a
/// scheduler's timeout) or SIGHUP, so that a stopped run leaves nothing behind either: a
/// handler unlinks every tracked file, then lets the signal end the process as it would have
/// (the shell sees 128 + the signal). SIGKILL cannot be caught. Not on Windows, where a stopped
/// run may leave a hidden `.NAME.strata-….tmp` beside its output.
#[cfg(unix)]
mod on_signal {
    use std::ffi::{CString, c_char, c_int};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::ptr::null_mut;
    use std::sync::Once;
    use std::sync::atomic::{AtomicPtr, Ordering};

    // From the C library; each is async-signal-safe (POSIX), as a handler needs.
    unsafe extern "C" {
        fn signal(signum: c_int, handler: usize) -> usize;
        fn unlink(path: *const c_char) -> c_int;
        fn raise(signum: c_int) -> c_int;
        fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
    }

    /// SIGHUP, SIGINT, SIGTERM: the same numbers on Linux, macOS and the BSDs.
    const SIGNALS: [c_int; 3] = [1, 2, 15];
    const SIG_DFL: usize = 0;
    const SIG_IGN: usize = 1;
    /// More temporary files than a run has open at once (a fit has three).
    const SLOTS: usize = 64;

    /// The tracked paths, each owned by whoever swaps it out of its slot: `untrack`, which
    /// frees it, or the handler, which unlinks it and never returns to free anything.
    static PENDING: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(null_mut()) }; SLOTS];

    extern "C" fn on_signal(signum: c_int) {
        let mut removed = false;
        for slot in &PENDING {
            let path = slot.swap(null_mut(), Ordering::SeqCst);
            if !path.is_null() {
                // SAFETY: a NUL-terminated path from `CString::into_raw`, now owned here.
                unsafe { unlink(path) };
                removed = true;
            }
        }
        let message: &[u8] = b"strata: stopped by a signal; temporary output files removed\n";
        // SAFETY: plain calls with valid arguments; restoring the default action and raising
        // the signal again ends the process as the signal would have.
        unsafe {
            if removed {
                write(2, message.as_ptr(), message.len());
            }
            signal(signum, SIG_DFL);
            raise(signum);
        }
    }

    fn install() {
        static INSTALLED: Once = Once::new();
        INSTALLED.call_once(|| {
            for signum in SIGNALS {
                // SAFETY: the handler only makes async-signal-safe calls and atomic swaps.
                // A signal the process was started ignoring (SIGHUP under nohup, SIGINT in a
                // shell's background job) stays ignored.
                unsafe {
                    if signal(signum, on_signal as extern "C" fn(c_int) as usize) == SIG_IGN {
                        signal(signum, SIG_IGN);
                    }
                }
            }
        });
    }

    /// Tracks `path` for removal on a signal; its slot, or `None` when every slot is taken.
    pub fn track(path: &Path) -> Option<usize> {
        install();
        let path = CString::new(path.as_os_str().as_bytes()).ok()?.into_raw();
        for (i, slot) in PENDING.iter().enumerate() {
            if slot
                .compare_exchange(null_mut(), path, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return Some(i);
            }
        }
        log::debug!("more than {SLOTS} temporary outputs open; one is not removed on a signal");
        // SAFETY: from `into_raw` above and never shared.
        drop(unsafe { CString::from_raw(path) });
        None
    }

    /// Stops tracking `slot` (the file was renamed into place or removed).
    pub fn untrack(slot: usize) {
        let path = PENDING[slot].swap(null_mut(), Ordering::SeqCst);
        if !path.is_null() {
            // SAFETY: from `into_raw` in `track`, swapped out here, so no handler holds it.
            drop(unsafe { CString::from_raw(path) });
        }
    }
}

#[cfg(not(unix))]
mod on_signal {
    pub fn track(_: &std::path::Path) -> Option<usize> {
        None
    }

    pub fn untrack(_: usize) {}
}

/// `path` made absolute with symbolic links resolved, so that two spellings of one file
/// (`a.csv`, `./a.csv`, a link to it) compare equal. A file that does not exist yet is its
/// resolved folder joined with its name; a path whose folder cannot be resolved is kept as given.
pub fn resolved(path: &Path) -> PathBuf {
    if let Ok(full) = std::fs::canonicalize(path) {
        return full;
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (std::fs::canonicalize(folder), path.file_name()) {
        (Ok(folder), Some(name)) => folder.join(name),
        _ => path.to_path_buf(),
    }
}

/// Checks, before any work is done, that no two outputs are one file (they may be one stream),
/// that no output is one of the run's inputs (the finished run would replace it) or a part file
/// inside a folder input, and that every output can be created.
///
/// # Errors
/// A usage error for a shared path, exit 73 for an output that cannot be created.
pub fn preflight_outputs(inputs: &[&Path], outputs: &[&Path]) -> Result<()> {
    let inputs: Vec<PathBuf> = inputs.iter().map(|p| resolved(p)).collect();
    let mut seen: Vec<PathBuf> = Vec::with_capacity(outputs.len());
    for output in outputs {
        if crate::data::read::is_stdin(output) {
            return Err(Error::usage(
                "'-' is standard input, and an output of '-' would be a file by that name; give \
                 /dev/stdout to write into standard output (after what the run prints there), or \
                 a file name",
            ));
        }
        let compression = Compression::from_extension(output);
        if compression != Compression::None && named_format(output) != Some(Format::Csv) {
            return Err(Error::usage(format!(
                "'{}' names a {} file, and Strata compresses CSV outputs only (.csv.gz, \
                 .csv.zst, .tsv.gz, .tsv.zst); Parquet and Arrow outputs are compressed inside \
                 the file",
                output.display(),
                compression.name()
            )));
        }
        let full = resolved(output);
        if inputs.contains(&full) {
            return Err(Error::usage(format!(
                "'{}' is an input of this run and also an output, which would replace it; \
                 give the output another path",
                output.display()
            )));
        }
        // A table written into a folder input would be read as one of its parts next time.
        if crate::data::read::is_part_file(&full)
            && let Some(folder) = inputs
                .iter()
                .find(|i| i.is_dir() && full.parent() == Some(i))
        {
            return Err(Error::usage(format!(
                "'{}' would be written into the input folder '{}', and read as part of the \
                 input on the next run; give the output another folder",
                output.display(),
                folder.display()
            )));
        }
        // Several outputs may go to one stream (`/dev/null`, a pipe), one after another.
        if !is_stream(output) && seen.contains(&full) {
            return Err(Error::usage(format!(
                "'{}' is given for two outputs; give each its own path",
                output.display()
            )));
        }
        seen.push(full);
    }
    for output in outputs {
        StagedFile::preflight(output)?;
    }
    Ok(())
}

/// Commits several staged files once all of them are complete.
///
/// # Errors
/// Exit 74 when a rename fails.
pub fn commit_all(files: Vec<StagedFile>) -> Result<()> {
    for file in files {
        file.commit()?;
    }
    Ok(())
}

/// The format a table output's name says: Parquet (`.parquet`, `.pq`), Arrow IPC (`.arrow`,
/// `.feather`, `.ipc`), or CSV (`.csv`, or `.tsv` separated by tabs; either compressed as
/// `.gz` or `.zst` after it); `None` for any other name.
fn named_format(path: &Path) -> Option<Format> {
    Format::from_extension(path).or_else(|| tab_separated(path).then_some(Format::Csv))
}

/// Whether a CSV output is named `.tsv` (compressed or not), and so separated by tabs.
fn tab_separated(path: &Path) -> bool {
    crate::data::read::content_extension(path).0.as_deref() == Some("tsv")
}

/// The field separator of a CSV output at `path`: a tab when it is named `.tsv` (compressed or
/// not), else a comma.
pub fn csv_delimiter(path: &Path) -> u8 {
    if tab_separated(path) { b'\t' } else { b',' }
}

/// The format of a table output at `path`: as its name says, else Arrow IPC. A name whose
/// extension names no format (`segments.xlsx`, a misspelt `.parqet`) is written as Arrow IPC all
/// the same, and the log says so: a file that no spreadsheet or CSV reader opens would
/// otherwise only be found out by the job that reads it.
pub fn output_format(path: &Path) -> Format {
    named_format(path).unwrap_or_else(|| {
        if let Some(ext) = path.extension() {
            log::warn!(
                "'{}' is written as an Arrow IPC file: Strata writes no format named \
                 .{}; name a table output .parquet, .csv, .tsv or .arrow",
                path.display(),
                ext.to_string_lossy()
            );
        }
        Format::Arrow
    })
}

/// A writer of record batches in one of the supported formats.
enum TableWriter {
    Arrow(arrow_ipc::writer::FileWriter<BufWriter<File>>),
    Parquet(ParquetGroups),
    /// Boxed: a compressor's state is larger than the other writers.
    Csv(Box<CsvOut>),
}

/// Parquet written a few row groups at a time, each encoded on its own thread and appended in
/// order: the same bytes as `ArrowWriter` writes alone (same properties, same row groups of
/// `max_row_group_row_count` rows), in a fraction of the time on several cores.
struct ParquetGroups {
    file: parquet::file::writer::SerializedFileWriter<BufWriter<File>>,
    factory: parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    rows_per_group: usize,
    /// Complete row groups not yet encoded, then the one being filled.
    groups: Vec<Vec<RecordBatch>>,
    filling: usize,
}

type ParquetResult<T> = std::result::Result<T, parquet::errors::ParquetError>;

impl ParquetGroups {
    fn new(
        file: BufWriter<File>,
        schema: &SchemaRef,
        props: parquet::file::properties::WriterProperties,
    ) -> ParquetResult<Self> {
        let rows_per_group = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        let (file, factory) = writer.into_serialized_writer()?;
        Ok(Self {
            file,
            factory,
            schema: schema.clone(),
            rows_per_group,
            groups: vec![Vec::new()],
            filling: 0,
        })
    }

    /// Row groups encoded side by side: one per worker thread.
    fn batch_of_groups() -> usize {
        rayon::current_num_threads().max(2)
    }

    fn write(&mut self, batch: &RecordBatch) -> ParquetResult<()> {
        // What `ArrowWriter::write` checks first: the leaves below are matched to the writers
        // by position.
        if batch.schema().fields() != self.schema.fields() {
            return Err(parquet::errors::ParquetError::ArrowError(
                "record batch schema does not match writer schema".to_string(),
            ));
        }
        let mut at = 0;
        while at < batch.num_rows() {
            let take = (self.rows_per_group - self.filling).min(batch.num_rows() - at);
            self.groups
                .last_mut()
                .expect("a group is always being filled")
                .push(batch.slice(at, take));
            (at, self.filling) = (at + take, self.filling + take);
            if self.filling == self.rows_per_group {
                self.groups.push(Vec::new());
                self.filling = 0;
                if self.groups.len() > Self::batch_of_groups() {
                    self.flush(false)?;
                }
            }
        }
        Ok(())
    }

    /// Encodes the complete row groups (and, when `all`, the one being filled) in parallel and
    /// appends them to the file in order.
    fn flush(&mut self, all: bool) -> ParquetResult<()> {
        use rayon::prelude::*;
        let keep = if all {
            Vec::new()
        } else {
            self.groups.pop().unwrap_or_default()
        };
        let groups: Vec<_> = std::mem::take(&mut self.groups)
            .into_iter()
            .filter(|group| !group.is_empty())
            .collect();
        let first = self.file.flushed_row_groups().len();
        let (factory, schema) = (&self.factory, &self.schema);
        let encoded: Vec<_> = groups
            .into_par_iter()
            .enumerate()
            .map(|(i, group)| {
                let mut writers = factory.create_column_writers(first + i)?;
                for batch in &group {
                    let mut next = writers.iter_mut();
                    for (field, column) in schema.fields().iter().zip(batch.columns()) {
                        for leaf in parquet::arrow::arrow_writer::compute_leaves(field, column)? {
                            next.next().expect("one writer per leaf").write(&leaf)?;
                        }
                    }
                }
                writers
                    .into_iter()
                    .map(|w| w.close())
                    .collect::<ParquetResult<Vec<_>>>()
            })
            .collect::<ParquetResult<_>>()?;
        for chunks in encoded {
            let mut group = self.file.next_row_group()?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut group)?;
            }
            group.close()?;
        }
        self.groups = vec![keep];
        Ok(())
    }

    fn finish(mut self) -> ParquetResult<BufWriter<File>> {
        self.flush(true)?;
        self.file.into_inner()
    }
}

impl TableWriter {
    /// A writer of `format` into `file`; CSV is separated by `delimiter` and compressed as
    /// `compression` says.
    fn new(
        format: Format,
        compression: Compression,
        delimiter: u8,
        file: File,
        schema: &SchemaRef,
    ) -> std::result::Result<Self, String> {
        let file = BufWriter::with_capacity(1 << 20, file);
        Ok(match format {
            Format::Arrow => TableWriter::Arrow(
                arrow_ipc::writer::FileWriter::try_new(file, schema).map_err(|e| e.to_string())?,
            ),
            Format::Parquet => {
                // Dictionary encoding pays for repeated values (segment numbers, codes, text)
                // and costs time for floats, which seldom repeat (distances, scores, features).
                let mut props = parquet::file::properties::WriterProperties::builder()
                    .set_compression(parquet::basic::Compression::SNAPPY);
                for field in schema.fields() {
                    if field.data_type().is_floating() {
                        props = props.set_column_dictionary_enabled(
                            parquet::schema::types::ColumnPath::from(field.name().as_str()),
                            false,
                        );
                    }
                }
                TableWriter::Parquet(
                    ParquetGroups::new(file, schema, props.build()).map_err(|e| e.to_string())?,
                )
            }
            Format::Csv => {
                let threads = rayon::current_num_threads();
                let out = TextOut::new(compression, file, threads).map_err(|e| e.to_string())?;
                TableWriter::Csv(Box::new(CsvOut::new(out, delimiter)))
            }
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> std::result::Result<(), String> {
        match self {
            TableWriter::Arrow(w) => w.write(batch).map_err(|e| e.to_string()),
            TableWriter::Parquet(w) => w.write(batch).map_err(|e| e.to_string()),
            TableWriter::Csv(w) => w.write(batch).map_err(|e| e.to_string()),
        }
    }

    fn finish(self) -> std::result::Result<(), String> {
        let mut file = match self {
            TableWriter::Arrow(mut w) => {
                w.finish().map_err(|e| e.to_string())?;
                w.into_inner().map_err(|e| e.to_string())?
            }
            TableWriter::Parquet(w) => w.finish().map_err(|e| e.to_string())?,
            TableWriter::Csv(w) => w.finish().map_err(|e| e.to_string())?,
        };
        file.flush().map_err(|e| e.to_string())?;
        // Devices and pipes have nothing to sync (and refuse to).
        if file.get_ref().metadata().is_ok_and(|m| m.is_file()) {
            file.get_ref().sync_all().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Writes `batches` (all of `schema`) to a staged file for `target`, in the format its extension
/// names.
///
/// # Errors
/// Exit 73 when the file cannot be created, 74 when writing fails; errors from `batches` pass
/// through.
pub fn write_table(
    target: &Path,
    schema: &SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<StagedFile> {
    write_table_as(output_format(target), target, schema, batches)
}

/// As [`write_table`], in `format` whatever the extension.
///
/// # Errors
/// As [`write_table`].
pub fn write_table_as(
    format: Format,
    target: &Path,
    schema: &SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
) -> Result<StagedFile> {
    let mut sink = TableSink::create_as(format, target, schema)?;
    for batch in batches {
        sink.write(&batch?)?;
    }
    sink.finish()
}

/// A table written batch by batch to a staged file, for writers that produce their rows as they
/// go; [`write_table`] over batches at hand.
pub struct TableSink {
    staged: StagedFile,
    writer: TableWriter,
}

impl TableSink {
    /// Starts a table of `schema` for `target`, in `format` whatever the extension.
    ///
    /// # Errors
    /// Exit 73 when the file cannot be created, 74 when its header cannot be written.
    pub fn create_as(format: Format, target: &Path, schema: &SchemaRef) -> Result<TableSink> {
        let (staged, file) = StagedFile::create(target)?;
        let compression = Compression::from_extension(target);
        let writer = TableWriter::new(format, compression, csv_delimiter(target), file, schema)
            .map_err(|e| write_failed(target, e))?;
        Ok(TableSink { staged, writer })
    }

    /// Appends `batch` (of the table's schema).
    ///
    /// # Errors
    /// Exit 74 when writing fails.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.writer
            .write(batch)
            .map_err(|e| write_failed(self.staged.target(), e))
    }

    /// Ends the table (footer, flush, sync); the file is committed with the run's other outputs.
    ///
    /// # Errors
    /// Exit 74 when writing fails.
    pub fn finish(self) -> Result<StagedFile> {
        self.writer
            .finish()
            .map_err(|e| write_failed(self.staged.target(), e))?;
        Ok(self.staged)
    }
}

/// Writes `text` to a staged file for `target` (CSV tables, SVG charts), compressed as its
/// name says.
///
/// # Errors
/// Exit 73 when the file cannot be created, 74 when writing fails.
pub fn write_text(target: &Path, text: &str) -> Result<StagedFile> {
    let (staged, file) = StagedFile::create(target)?;
    let compression = Compression::from_extension(target);
    TextOut::new(
        compression,
        BufWriter::new(file),
        rayon::current_num_threads(),
    )
    .and_then(|mut out| {
        out.append_text(text.as_bytes())?;
        out.finish()?.flush()
    })
    .map_err(|e| write_failed(target, e))?;
    Ok(staged)
}

/// Writes `value` as pretty JSON to a staged file for `target`.
///
/// # Errors
/// Exit 73 when the file cannot be created, 74 when writing fails.
pub fn write_json(target: &Path, value: &impl serde::Serialize) -> Result<StagedFile> {
    let (staged, file) = StagedFile::create(target)?;
    let mut out = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| write_failed(target, e))?;
    out.write_all(b"\n").map_err(|e| write_failed(target, e))?;
    out.flush().map_err(|e| write_failed(target, e))?;
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Float32Array, Int64Array, StringArray, UInt32Array};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("strata-write-{}-{name}", std::process::id()))
    }

    /// The bytes of a Parquet file of `batches`, written by `ParquetGroups` on `threads`
    /// threads, or by `ArrowWriter` alone.
    fn parquet_bytes(
        schema: &SchemaRef,
        batches: &[RecordBatch],
        threads: Option<usize>,
    ) -> Vec<u8> {
        let props = || {
            WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .set_max_row_group_row_count(Some(1000))
                .build()
        };
        let path = temp_path(&format!("{threads:?}.parquet"));
        let file = BufWriter::new(File::create(&path).unwrap());
        match threads {
            Some(threads) => rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let mut w = ParquetGroups::new(file, schema, props()).unwrap();
                    for batch in batches {
                        w.write(batch).unwrap();
                    }
                    w.finish().unwrap().flush().unwrap();
                }),
            None => {
                let mut w =
                    parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props()))
                        .unwrap();
                for batch in batches {
                    w.write(batch).unwrap();
                }
                w.into_inner().unwrap().flush().unwrap();
            }
        }
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        bytes
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn devices_and_descriptors_are_streams_and_other_paths_files() {
        for stream in ["/dev/null", "/dev/stdout", "/dev/fd/2", "/proc/self/fd/1"] {
            assert_eq!(
                destination(Path::new(stream)),
                Destination::Stream,
                "{stream}"
            );
        }
        let missing = temp_path("missing.csv");
        assert_eq!(destination(&missing), Destination::File(missing.clone()));
        let real = temp_path("real.csv");
        std::fs::write(&real, "x").unwrap();
        let link = temp_path("link.csv");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(destination(&link), Destination::File(real.clone()));
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_file(&real).unwrap();
    }

    #[test]
    fn parquet_row_groups_encoded_side_by_side_are_the_bytes_of_one_writer() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("segment", DataType::UInt32, false),
            Field::new("distance", DataType::Float32, false),
        ]));
        // 10,500 rows in batches of 777: row groups of 1,000 cut across batches, a short last
        // group, text with nulls.
        let batches: Vec<RecordBatch> = (0..10_500i64)
            .step_by(777)
            .map(|start| {
                let rows = start..(start + 777).min(10_500);
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(Int64Array::from_iter_values(rows.clone().map(|i| i * 7919))),
                    Arc::new(StringArray::from_iter(
                        rows.clone()
                            .map(|i| (i % 5 != 0).then(|| format!("customer-{}", i % 1234))),
                    )),
                    Arc::new(UInt32Array::from_iter_values(
                        rows.clone().map(|i| (i % 6) as u32),
                    )),
                    Arc::new(Float32Array::from_iter_values(
                        rows.map(|i| (i as f32 * 0.37).sin()),
                    )),
                ];
                RecordBatch::try_new(schema.clone(), columns).unwrap()
            })
            .collect();
        let alone = parquet_bytes(&schema, &batches, None);
        for threads in [1, 2, 3] {
            assert!(
                parquet_bytes(&schema, &batches, Some(threads)) == alone,
                "{threads} thread(s)"
            );
        }
        assert!(parquet_bytes(&schema, &[], Some(2)) == parquet_bytes(&schema, &[], None));
        let path = temp_path("mismatch.parquet");
        let file = BufWriter::new(File::create(&path).unwrap());
        let mut w = ParquetGroups::new(file, &schema, WriterProperties::default()).unwrap();
        let other = batches[0].project(&[0, 2, 1, 3]).unwrap();
        assert!(w.write(&other).is_err(), "columns in another order");
        std::fs::remove_file(&path).unwrap();
        let path = temp_path("read-back.parquet");
        std::fs::write(&path, &alone).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(File::open(&path).unwrap());
        let meta = parquet::file::reader::FileReader::metadata(&reader.unwrap()).clone();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(meta.num_row_groups(), 11);
        assert_eq!(meta.file_metadata().num_rows(), 10_500);
    }
}
