//! CSV inputs: the delimiter told from the header row, column types inferred from the first
//! rows, decimal commas read as numbers in files not split by commas; files and streams, plain
//! or compressed (gzip, zstd), decompressed and cut into blocks on a thread of their own and
//! decoded on every thread.

use super::read::{BATCH_ROWS, Batches, Compression, Opened};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

/// Rows read to infer CSV column types.
const CSV_INFER_ROWS: usize = 10_000;

/// Bytes of a CSV input's first line looked at to tell its delimiter.
const CSV_SNIFF_BYTES: usize = 64 * 1024;

/// Bytes of a compressed CSV input's text decompressed first to tell its compression ratio, so
/// that its rows can be estimated. A decompressor takes its input ahead of the text it has
/// given: gzip's by a few bytes, zstd's by up to a block (128 KiB of text), so zstd's head is
/// longer for the same accuracy, which its speed allows (each costs a few milliseconds each
/// time the file is opened).
fn ratio_bytes(compression: Compression) -> usize {
    match compression {
        Compression::None => CSV_SNIFF_BYTES,
        Compression::Gzip => 1 << 20,
        Compression::Zstd => 4 << 20,
    }
}

/// The delimiter of a CSV file, told from its header row: the one of `,` `;` tab `|` that
/// splits it most often outside double quotes; a comma when none does or on a tie with it.
/// Spreadsheets in locales with a decimal comma save "CSV" split by semicolons.
fn sniff_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &byte in head {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == byte) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..CANDIDATES.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    CANDIDATES[best]
}

/// A number written with a decimal comma ("1234,5", "-0,25", "7"), as spreadsheets in many
/// European locales save it; `None` for anything else (a decimal point, a thousands separator,
/// words, exponents).
fn parse_decimal_comma(text: &str) -> Option<f64> {
    let text = text.trim();
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let numeric = match digits.split_once(',') {
        Some((whole, fraction)) => is_digits(whole) && is_digits(fraction),
        None => is_digits(digits),
    };
    if !numeric {
        return None;
    }
    text.replacen(',', ".", 1).parse().ok()
}

/// The text columns of a CSV split by something other than commas whose first rows all hold
/// numbers with decimal commas (at least one with a comma): they are read as numbers.
fn decimal_comma_columns(
    source: impl Read,
    format: &arrow_csv::reader::Format,
    schema: &Schema,
) -> Vec<usize> {
    let candidates: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| schema.field(i).data_type() == &DataType::Utf8)
        .collect();
    if candidates.is_empty() {
        return candidates;
    }
    let text = Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_data_type(DataType::Utf8))
            .collect::<Vec<_>>(),
    );
    // A sample that cannot be read leaves the columns as text; the read proper names the fault.
    let sample = arrow_csv::ReaderBuilder::new(Arc::new(text))
        .with_format(format.clone())
        .with_batch_size(CSV_INFER_ROWS)
        .with_projection(candidates.clone())
        .build(BufReader::new(source))
        .ok()
        .and_then(|mut reader| reader.next())
        .and_then(|batch| batch.ok());
    let Some(sample) = sample else {
        return Vec::new();
    };
    candidates
        .into_iter()
        .enumerate()
        .filter(|&(j, _)| {
            let values = sample.column(j).as_string::<i32>();
            let mut comma = false;
            values.iter().flatten().filter(|v| !v.is_empty()).all(|v| {
                comma |= v.contains(',');
                parse_decimal_comma(v).is_some()
            }) && comma
        })
        .map(|(_, i)| i)
        .collect()
}

/// Replaces the decimal-comma text columns of a batch read from a CSV by their numbers.
fn convert_decimal_commas(
    batch: RecordBatch,
    columns: &[usize],
    first_row: u64,
    path: &Path,
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields: Vec<_> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut arrays = batch.columns().to_vec();
    for &j in columns {
        let text = arrays[j].as_string::<i32>();
        let mut values = Vec::with_capacity(text.len());
        for (row, value) in text.iter().enumerate() {
            values.push(match value.map(str::trim) {
                None | Some("") => None,
                Some(v) => Some(parse_decimal_comma(v).ok_or_else(|| {
                    Error::data(format!(
                        "cannot read '{}': column '{}' holds '{v}' at row {}, not a number \
                         (its first rows have decimal commas); fix that value, or leave its \
                         column out of the features",
                        path.display(),
                        fields[j].name(),
                        first_row + row as u64
                    ))
                })?),
            });
        }
        arrays[j] = Arc::new(arrow_array::Float64Array::from(values));
        fields[j] = fields[j].clone().with_data_type(DataType::Float64);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| Error::Internal(format!("decimal-comma columns: {e}")))
}

/// Bytes of CSV text one task decodes: a task is worth handing to a thread, and a round of
/// tasks (one per thread) holds a few MB of text per thread.
const CSV_BLOCK_BYTES: usize = 4 << 20;

/// Where records end in `bytes`, read from a record boundary as csv_core reads them: a quote
/// opens a quoted field only at the start of a field, a doubled quote inside one is a quote,
/// and a newline outside quotes ends a record. The offset just past the first record's
/// newline (`first`), or past the last one's.
fn record_end(bytes: &[u8], delimiter: u8, first: bool) -> Option<usize> {
    if !first && !bytes.contains(&b'"') {
        // No quotes (the usual numeric export): the last newline ends a record.
        return bytes.iter().rposition(|&b| b == b'\n').map(|i| i + 1);
    }
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate() {
        state = match (state, b) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::FieldStart, b'"') | (State::QuoteInQuoted, b'"') => State::Quoted,
            (_, b'\n') => {
                end = Some(i + 1);
                if first {
                    return end;
                }
                State::FieldStart
            }
            (_, b) if b == delimiter => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    end
}

/// A CSV file cut into blocks of whole records, the header row left out.
struct Blocks {
    text: Box<dyn Read + Send>,
    delimiter: u8,
    /// Bytes read for a block (more when one record is longer).
    block_bytes: usize,
    /// Bytes read past the last block's end.
    carry: Vec<u8>,
    /// Buffers of decoded blocks handed back, reused: a fresh one would fault in every page
    /// again.
    spare: Receiver<Vec<u8>>,
    header: bool,
    eof: bool,
}

impl Blocks {
    /// The next block of whole records (the last one may lack its newline); `None` at the end.
    fn next_block(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut buf = self.spare.try_recv().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        let mut target = self.block_bytes.max(buf.len() * 2).max(1);
        loop {
            if !self.eof && buf.len() < target {
                let want = target - buf.len();
                buf.reserve(want);
                // Read into the spare capacity as is: no zeroing of megabytes first.
                let got = (&mut self.text).take(want as u64).read_to_end(&mut buf)?;
                self.eof = got < want;
            }
            if self.header {
                match record_end(&buf, self.delimiter, true) {
                    Some(end) => {
                        buf.drain(..end);
                        self.header = false;
                    }
                    None if self.eof => return Ok(None),
                    None => {
                        target = target.max(buf.len()) * 2;
                        continue;
                    }
                }
            }
            if self.eof {
                return Ok((!buf.is_empty()).then_some(buf));
            }
            match record_end(&buf, self.delimiter, false) {
                Some(end) => {
                    self.carry.extend_from_slice(&buf[end..]);
                    buf.truncate(end);
                    return Ok(Some(buf));
                }
                // A record longer than the block: read on.
                None => target = target.max(buf.len()) * 2,
            }
        }
    }
}

/// Blocks read on a thread of their own, up to a round ahead of their decoding: reading (and
/// decompressing, which no other thread can share) the next round overlaps decoding this one.
struct ReadAhead {
    /// Each block in file order, then `None` at the end of the text or an error.
    blocks: Receiver<std::io::Result<Option<Vec<u8>>>>,
    /// Decoded blocks' buffers, back to the reader.
    spare: Sender<Vec<u8>>,
    /// Whether the reader said the text ended (and so stopped).
    ended: bool,
}

impl ReadAhead {
    /// Starts reading `text` (from its header row) in blocks of about `block_bytes`, at most
    /// `ahead` blocks before they are taken.
    fn start(
        text: Box<dyn Read + Send>,
        delimiter: u8,
        block_bytes: usize,
        ahead: usize,
    ) -> std::io::Result<ReadAhead> {
        let (spare, spare_blocks) = channel();
        let (read, blocks) = sync_channel(ahead);
        let mut source = Blocks {
            text,
            delimiter,
            block_bytes,
            carry: Vec::new(),
            spare: spare_blocks,
            header: true,
            eof: false,
        };
        // Ends at the end of the text, at an error, or when the blocks are no longer wanted.
        std::thread::Builder::new()
            .name("strata-csv-read".into())
            .spawn(move || {
                loop {
                    let next = source.next_block();
                    let last = !matches!(next, Ok(Some(_)));
                    if read.send(next).is_err() || last {
                        return;
                    }
                }
            })?;
        Ok(ReadAhead {
            blocks,
            spare,
            ended: false,
        })
    }

    /// The next block; `None` at the end of the text, and after it.
    fn next_block(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.ended {
            return Ok(None);
        }
        // A reader gone without saying the text ended must not pass for the end of it.
        let next = self.blocks.recv().unwrap_or_else(|_| {
            Err(std::io::Error::other(
                "the thread reading the file stopped before its end",
            ))
        });
        self.ended = matches!(next, Ok(None));
        next
    }

    /// Hands a decoded block's buffer back for reuse.
    fn give_back(&self, block: Vec<u8>) {
        // The reader may have ended: the buffer is then freed.
        let _ = self.spare.send(block);
    }
}

/// A CSV decoder kept from block to block (a fresh one would allocate and zero its buffers
/// for every block), with the rows it has decoded: arrow numbers lines from its creation.
struct BlockDecoder {
    decoder: arrow_csv::reader::Decoder,
    rows: u64,
}

/// A block's decoding error, with the rows its decoder had decoded before the block.
struct BlockError {
    error: ArrowError,
    rows_before: u64,
}

impl BlockDecoder {
    /// Decodes one block of whole records into batches.
    fn decode(&mut self, block: &[u8]) -> std::result::Result<Vec<RecordBatch>, BlockError> {
        let rows_before = self.rows;
        let mut batches = Vec::new();
        let mut rest = block;
        let fail = |error| BlockError { error, rows_before };
        loop {
            let n = self.decoder.decode(rest).map_err(fail)?;
            rest = &rest[n..];
            if self.decoder.capacity() == 0 {
                batches.extend(self.decoder.flush().map_err(fail)?);
            } else if rest.is_empty() {
                // Only the file's last block may end without a newline: the end of the input,
                // an empty decode, completes that record. Other blocks end on a newline and the
                // decoder reads on from the start of a record.
                if !block.ends_with(b"\n") {
                    self.decoder.decode(&[]).map_err(fail)?;
                }
                batches.extend(self.decoder.flush().map_err(fail)?);
                break;
            } else if n == 0 {
                return Err(fail(ArrowError::CsvError(
                    "the CSV decoder stopped part way through a block".into(),
                )));
            }
        }
        self.rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
        Ok(batches)
    }
}

/// arrow's "line N" in a message of a decoder ("at line N" from the value parser, which counts
/// the decoder's rows from 0; "for line N" from the record reader, which counts from 1), made
/// "row R": the input's 0-based data row, where the decoder's line `counted_from` is data row
/// `base`.
fn at_input_row(message: &str, base: u64, counted_from: u64) -> String {
    const LINE: &str = "line ";
    let found = [" at line ", " for line "]
        .iter()
        .find_map(|pattern| message.find(pattern).map(|i| i + pattern.len()));
    let Some(start) = found else {
        return format!("{message} (in the rows from row {base})");
    };
    let digits = message[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(message.len(), |i| start + i);
    match message[start..digits].parse::<u64>() {
        Ok(line) => format!(
            "{}row {}{}",
            &message[..start - LINE.len()],
            base + line.saturating_sub(counted_from),
            &message[digits..]
        ),
        Err(_) => format!("{message} (in the rows from row {base})"),
    }
}

/// A decoding error of the block starting at data row `base`, as a Strata error.
fn block_error(e: BlockError, base: u64, path: &Path) -> Error {
    let before = e.rows_before;
    match e.error {
        // A value that does not parse as its column's type (the types come from the first
        // rows): the file is fine, that value is not.
        ArrowError::ParseError(message) => Error::data(format!(
            "cannot read '{}': {}; fix that value, or leave its column out of the features",
            path.display(),
            at_input_row(&message, base, before)
        )),
        ArrowError::CsvError(message) => Error::read_input(
            path,
            format!("CSV error: {}", at_input_row(&message, base, before + 1)),
        ),
        e => Error::read_input(path, e),
    }
}

/// The batches of a CSV file, decoded block by block on every thread, in file order.
struct ParallelCsv {
    blocks: ReadAhead,
    decoder: Box<dyn Fn() -> arrow_csv::reader::Decoder + Send + Sync>,
    /// One decoder per block of a round, kept across rounds.
    decoders: Vec<BlockDecoder>,
    /// Positions in the projected batches of the decimal-comma columns to convert.
    converted: Vec<usize>,
    path: PathBuf,
    /// Data rows in the batches decoded so far.
    rows: u64,
    ready: std::collections::VecDeque<Result<RecordBatch>>,
    done: bool,
}

impl ParallelCsv {
    /// Decodes `blocks` with decoders from `decoder`, converting the decimal-comma columns at
    /// positions `converted`.
    fn new(
        blocks: ReadAhead,
        decoder: Box<dyn Fn() -> arrow_csv::reader::Decoder + Send + Sync>,
        converted: Vec<usize>,
        path: PathBuf,
    ) -> ParallelCsv {
        ParallelCsv {
            blocks,
            decoder,
            decoders: Vec::new(),
            converted,
            path,
            rows: 0,
            ready: Default::default(),
            done: false,
        }
    }

    /// Reads one block per thread, decodes them in parallel and queues their batches in order;
    /// the first error ends the stream.
    fn decode_round(&mut self) {
        let mut round = Vec::new();
        while round.len() < rayon::current_num_threads() {
            match self.blocks.next_block() {
                Ok(Some(block)) => round.push(block),
                Ok(None) => break,
                Err(e) => {
                    self.done = true;
                    self.ready.push_back(Err(Error::read_input(&self.path, e)));
                    return;
                }
            }
        }
        if round.is_empty() {
            self.done = true;
            return;
        }
        while self.decoders.len() < round.len() {
            self.decoders.push(BlockDecoder {
                decoder: (self.decoder)(),
                rows: 0,
            });
        }
        let decoded: Vec<_> = round
            .par_iter()
            .zip(self.decoders.par_iter_mut())
            .map(|(block, decoder)| decoder.decode(block))
            .collect();
        for block in round {
            self.blocks.give_back(block);
        }
        let mut batches = Vec::new();
        let mut failure = None;
        for result in decoded {
            match result {
                Ok(block) => {
                    for batch in block {
                        let rows = batch.num_rows() as u64;
                        batches.push((self.rows, batch));
                        self.rows += rows;
                    }
                }
                Err(e) => {
                    failure = Some(block_error(e, self.rows, &self.path));
                    break;
                }
            }
        }
        let (converted, path) = (&self.converted, &self.path);
        let batches: Vec<_> = batches
            .into_par_iter()
            .map(|(first_row, batch)| {
                if converted.is_empty() {
                    Ok(batch)
                } else {
                    convert_decimal_commas(batch, converted, first_row, path)
                }
            })
            .collect();
        self.ready.extend(batches);
        if let Some(e) = failure {
            self.done = true;
            self.ready.push_back(Err(e));
        }
    }
}

impl Iterator for ParallelCsv {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.ready.is_empty() && !self.done {
            self.decode_round();
        }
        self.ready.pop_front()
    }
}

/// Rows of a CSV file of `len` bytes, estimated from its first bytes `head`: the bytes after
/// the header row over the mean length of the complete rows in `head`. None when `head` holds
/// no complete row after the header. Only a hint (room to reserve, memory to expect): quoted
/// line breaks and rows of uneven length move it.
fn estimate_rows(head: &[u8], len: u64) -> Option<usize> {
    let header_end = head.iter().position(|&b| b == b'\n')? + 1;
    let last_end = head.iter().rposition(|&b| b == b'\n')? + 1;
    let rows = head[header_end..last_end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    if rows == 0 {
        return None;
    }
    let per_row = (last_end - header_end) as f64 / rows as f64;
    Some((len.saturating_sub(header_end as u64) as f64 / per_row).round() as usize)
}

/// A CSV input's text, looked at before its rows are read (the delimiter, the types, the
/// decimal commas): a file, read from its start each time, or a stream, read once, whose first
/// bytes of text are kept for the looks. Either is the file's bytes or what its decompressor
/// gives.
struct Text {
    origin: Origin,
    compression: Compression,
    /// Whether its name does not say it is compressed when it is.
    unnamed: bool,
}

enum Origin {
    File(File),
    /// The first bytes of the text (all of it when `whole`) and the rest to come.
    Stream {
        head: Vec<u8>,
        rest: Box<dyn Read + Send>,
        whole: bool,
    },
}

/// Text kept from a stream to look at before its rows are read: ten thousand rows of up to
/// 1.6 KB, for the types.
const STREAM_HEAD_BYTES: usize = 16 << 20;

/// A file that counts the bytes read from it.
struct Counted {
    file: File,
    taken: u64,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.taken += n as u64;
        Ok(n)
    }
}

/// Input bytes buffered for a decompressor, big enough that its reads from the file are few.
const COMPRESSED_BUFFER: usize = 256 * 1024;

/// The text `raw` holds, through a decompressor for `compression`.
fn decompressed(
    compression: Compression,
    raw: impl Read + Send + 'static,
) -> std::io::Result<Box<dyn Read + Send>> {
    Ok(match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(COMPRESSED_BUFFER, raw),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(
            BufReader::with_capacity(COMPRESSED_BUFFER, raw),
        )?),
    })
}

impl Text {
    /// The text of the CSV file `path`, open as `file`. Its compression is the one its first
    /// bytes show, whatever its name (a `.csv` that is gzip is read as gzip).
    ///
    /// # Errors
    /// Exit 66 when the file cannot be read, 65 when its name says it is compressed and its
    /// first bytes say otherwise.
    fn open(path: &Path, file: File) -> Result<Text> {
        let mut magic = Vec::with_capacity(4);
        (&file)
            .take(4)
            .read_to_end(&mut magic)
            .map_err(|e| Error::open_input(path, &e))?;
        let shown = Compression::from_magic(&magic);
        let named = Compression::from_extension(path);
        if named != Compression::None && shown != named && !magic.is_empty() {
            let found = match shown {
                Compression::None => format!("are not a {} file's", named.name()),
                other => format!("are a {} file's", other.name()),
            };
            return Err(Error::data(format!(
                "cannot read '{}': its name says {} but its first bytes {found}; compress it \
                 as its name says, or rename it",
                path.display(),
                named.name(),
            )));
        }
        Ok(Text {
            origin: Origin::File(file),
            compression: shown,
            unnamed: named == Compression::None && shown != Compression::None,
        })
    }

    /// The text of the stream `raw`, which starts with the bytes `magic`: its first
    /// `STREAM_HEAD_BYTES` of text are read now.
    fn stream(magic: &[u8], raw: Box<dyn Read + Send>) -> std::io::Result<Text> {
        let compression = Compression::from_magic(magic);
        let mut rest = decompressed(compression, raw)?;
        let mut head = Vec::new();
        Read::by_ref(&mut rest)
            .take(STREAM_HEAD_BYTES as u64)
            .read_to_end(&mut head)?;
        let whole = head.len() < STREAM_HEAD_BYTES;
        Ok(Text {
            origin: Origin::Stream { head, rest, whole },
            compression,
            unnamed: compression != Compression::None,
        })
    }

    /// The file from its first byte.
    fn rewound(file: &File) -> std::io::Result<File> {
        let mut file = file.try_clone()?;
        file.rewind()?;
        Ok(file)
    }

    /// The first `limit` bytes of the text, and the bytes of the file they were read from (the
    /// same count when it is not compressed; 0 for a stream, which has no length to scale).
    fn head(&self, limit: usize) -> std::io::Result<(Vec<u8>, u64)> {
        let file = match &self.origin {
            Origin::File(file) => file,
            Origin::Stream { head, .. } => return Ok((head[..limit.min(head.len())].to_vec(), 0)),
        };
        let mut head = Vec::with_capacity(limit);
        let file = BufReader::new(Counted {
            file: Text::rewound(file)?,
            taken: 0,
        });
        // Bytes the decompressor took from the buffer: read from the file, less those left.
        let used = |file: &BufReader<Counted>| file.get_ref().taken - file.buffer().len() as u64;
        let used = match self.compression {
            Compression::None => {
                file.take(limit as u64).read_to_end(&mut head)?;
                head.len() as u64
            }
            Compression::Gzip => {
                let mut text = flate2::bufread::MultiGzDecoder::new(file);
                (&mut text).take(limit as u64).read_to_end(&mut head)?;
                used(text.get_ref())
            }
            Compression::Zstd => {
                let mut text = zstd::stream::read::Decoder::with_buffer(file)?;
                (&mut text).take(limit as u64).read_to_end(&mut head)?;
                used(text.get_ref())
            }
        };
        Ok((head, used))
    }

    /// The rows, estimated from the first `head` bytes of text, read from the first `used`
    /// bytes of the file: a file's length scaled as [`text_len`] does; a stream's only when its
    /// head is all of it.
    fn rows_hint(&self, head: &[u8], used: u64) -> Option<usize> {
        match &self.origin {
            Origin::File(file) => {
                let len = file.metadata().ok()?.len();
                estimate_rows(head, text_len(len, head.len(), used, self.compression))
            }
            // The head kept from a stream, not just the part looked at for the delimiter.
            Origin::Stream {
                head: kept, whole, ..
            } => whole.then(|| estimate_rows(kept, kept.len() as u64))?,
        }
    }

    /// The text to look at for its types and decimal commas: a file's from its start, a
    /// stream's head up to its last whole record (the delimiter says where fields start).
    fn sample(&self, delimiter: u8) -> std::io::Result<Box<dyn Read + Send>> {
        match &self.origin {
            Origin::File(file) => decompressed(self.compression, Text::rewound(file)?),
            Origin::Stream { head, whole, .. } => {
                let end = if *whole {
                    head.len()
                } else {
                    record_end(head, delimiter, false).unwrap_or(head.len())
                };
                Ok(Box::new(std::io::Cursor::new(head[..end].to_vec())))
            }
        }
    }

    /// All of the text, from its start, for the rows.
    fn into_rows(self) -> std::io::Result<Box<dyn Read + Send>> {
        match self.origin {
            Origin::File(file) => decompressed(self.compression, Text::rewound(&file)?),
            Origin::Stream { head, rest, .. } => {
                Ok(Box::new(std::io::Cursor::new(head).chain(rest)))
            }
        }
    }
}

/// Bytes of text in a file of `len` bytes whose first `used` bytes held `head` bytes of text:
/// the file's length for one not compressed, else scaled by the ratio of its first part (exact
/// when the head is the whole text).
fn text_len(len: u64, head: usize, used: u64, compression: Compression) -> u64 {
    if compression == Compression::None || used == 0 {
        return len;
    }
    if used >= len {
        return head as u64;
    }
    (len as f64 * head as f64 / used as f64).round() as u64
}

pub(super) fn open_csv(path: PathBuf, file: File) -> Result<Opened> {
    let csv = Text::open(&path, file)?;
    open_text(path, csv)
}

/// CSV from a stream read once (standard input), which starts with the bytes `magic`; `name`
/// names it in messages.
///
/// # Errors
/// Exit 65 when its first rows cannot be read.
pub(super) fn open_csv_stream(
    name: PathBuf,
    magic: &[u8],
    stream: Box<dyn Read + Send>,
) -> Result<Opened> {
    let csv = Text::stream(magic, stream).map_err(|e| Error::read_input(&name, e))?;
    open_text(name, csv)
}

fn open_text(path: PathBuf, csv: Text) -> Result<Opened> {
    let (head, used) = csv
        .head(ratio_bytes(csv.compression))
        .map_err(|e| Error::read_input(&path, e))?;
    let delimiter = sniff_delimiter(&head);
    let format = arrow_csv::reader::Format::default()
        .with_header(true)
        .with_delimiter(delimiter);
    let sample = |text: &Text| {
        text.sample(delimiter)
            .map_err(|e| Error::read_input(&path, e))
    };
    let (mut schema, _) = format
        .infer_schema(BufReader::new(sample(&csv)?), Some(CSV_INFER_ROWS))
        .map_err(|e| Error::read_input(&path, e))?;
    if schema.fields().is_empty() {
        return Err(Error::data(format!(
            "input '{}' is empty: a CSV input needs a header row naming its columns",
            path.display()
        )));
    }
    // A decimal comma is only possible when the comma does not split the columns.
    let mut commas = Vec::new();
    // Said when the rows are read, not when a folder's parts are only opened to compare
    // their columns.
    let mut found = None;
    if delimiter != b',' {
        commas = decimal_comma_columns(sample(&csv)?, &format, &schema);
        let names: Vec<&str> = commas
            .iter()
            .map(|&i| schema.field(i).name().as_str())
            .collect();
        found = Some(format!(
            "{}: columns split by {:?}{}",
            path.display(),
            char::from(delimiter),
            if names.is_empty() {
                String::new()
            } else {
                format!("; decimal commas in {}", names.join(", "))
            }
        ));
        schema = Schema::new(
            schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let data_type = if commas.contains(&i) {
                        DataType::Float64
                    } else {
                        f.data_type().clone()
                    };
                    f.as_ref().clone().with_data_type(data_type)
                })
                .collect::<Vec<_>>(),
        );
    }
    let schema = Arc::new(schema);
    let inferred = schema.clone();
    Ok(Opened {
        schema,
        rows_hint: csv.rows_hint(&head, used),
        rows_exact: false,
        open: Box::new(
            move |projection: &[usize], numeric: &[usize], text: &[usize]| {
                if let Some(found) = &found {
                    log::info!("{found}");
                }
                if csv.unnamed {
                    log::info!(
                        "{}: {}-compressed (its first bytes say so), decompressed as it is read",
                        path.display(),
                        csv.compression.name()
                    );
                }
                // Features are read as Float64 whatever the first rows looked like, so an
                // integer-looking column with a later "2.5" still parses; columns not read are
                // text, and so are decimal-comma columns until each batch converts them.
                let fields: Vec<_> = inferred
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let data_type =
                            if !projection.contains(&i) || text.contains(&i) || commas.contains(&i)
                            {
                                DataType::Utf8
                            } else if numeric.contains(&i) {
                                DataType::Float64
                            } else {
                                f.data_type().clone()
                            };
                        f.as_ref()
                            .clone()
                            .with_data_type(data_type)
                            .with_nullable(true)
                    })
                    .collect();
                // Positions in the projected batch of the decimal-comma columns not asked for
                // as text.
                let converted: Vec<usize> = projection
                    .iter()
                    .enumerate()
                    .filter(|&(_, i)| commas.contains(i) && !text.contains(i))
                    .map(|(j, _)| j)
                    .collect();
                let schema = Arc::new(Schema::new(fields));
                let projection = projection.to_vec();
                let rows = format.clone().with_header(false);
                let decoder = move || {
                    arrow_csv::ReaderBuilder::new(schema.clone())
                        .with_format(rows.clone())
                        .with_batch_size(BATCH_ROWS)
                        .with_projection(projection.clone())
                        .build_decoder()
                };
                let threads = rayon::current_num_threads();
                let blocks = csv
                    .into_rows()
                    .and_then(|body| ReadAhead::start(body, delimiter, CSV_BLOCK_BYTES, threads))
                    .map_err(|e| Error::read_input(&path, e))?;
                let iter = ParallelCsv::new(blocks, Box::new(decoder), converted, path);
                Ok(Box::new(iter) as Batches)
            },
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_row_tells_the_delimiter() {
        assert_eq!(sniff_delimiter(b"id,a,b\n1;2;3;4;5\n"), b',');
        assert_eq!(sniff_delimiter(b"id;a;b\r\n1,5;2;3\r\n"), b';');
        assert_eq!(sniff_delimiter(b"\xef\xbb\xbfid\ta\tb"), b'\t');
        assert_eq!(sniff_delimiter(b"id|a|b\n"), b'|');
        // Separators inside quotes do not count; a tie or no separator at all is a comma.
        assert_eq!(sniff_delimiter(b"\"x;y;z\",a\n"), b',');
        assert_eq!(sniff_delimiter(b"id,a;b\n"), b',');
        assert_eq!(sniff_delimiter(b"spend\n1\n"), b',');
    }

    #[test]
    fn the_row_count_is_estimated_from_the_rows_in_the_head() {
        // Header of 9 bytes, rows of 9: a 9 + 9 × 1,000-byte file holds 1,000 rows.
        let head = b"id,spend\n1,2.5000\n2,3.2500\n3,9.";
        assert_eq!(estimate_rows(head, 9_009), Some(1_000));
        // Rows of 6 and 10 bytes average 8; CRLF rows count their CR.
        assert_eq!(
            estimate_rows(b"id,spend\n1,2.5\n2,3.25000\n", 8_009),
            Some(1_000)
        );
        assert_eq!(estimate_rows(b"a\r\n1\r\n22\r\n", 3 + 3_500), Some(1_000));
        // The whole file in the head.
        assert_eq!(estimate_rows(b"a\n1\n2\n3\n", 8), Some(3));
        // No complete row after the header, or no header line at all.
        assert_eq!(estimate_rows(b"id,spend\n1,2.5", 1 << 30), None);
        assert_eq!(estimate_rows(b"id,spend", 8), None);
        assert_eq!(estimate_rows(b"", 0), None);
    }

    #[test]
    fn decimal_commas_and_nothing_else() {
        assert_eq!(parse_decimal_comma("1,25"), Some(1.25));
        assert_eq!(parse_decimal_comma(" -0,5 "), Some(-0.5));
        assert_eq!(parse_decimal_comma("+7"), Some(7.0));
        assert_eq!(parse_decimal_comma("1000000,0"), Some(1e6));
        for text in [
            "1.25", "1.000,5", "1,2,3", ",5", "5,", "-", "", "1e5", "NaN", "inf", "1 000,5",
        ] {
            assert_eq!(parse_decimal_comma(text), None, "{text}");
        }
    }

    /// A CSV file in the temporary folder, removed when dropped.
    struct TempCsv(PathBuf);

    impl TempCsv {
        fn new(name: &str, text: &str) -> TempCsv {
            let path =
                std::env::temp_dir().join(format!("strata-csv-{name}-{}.csv", std::process::id()));
            std::fs::write(&path, text).unwrap();
            TempCsv(path)
        }
    }

    impl Drop for TempCsv {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    /// The two text columns of `text` (a header row and records), decoded in blocks of about
    /// `block_bytes`: the values in order and the number of batches.
    fn decode_in_blocks(text: &str, block_bytes: usize) -> Result<(Vec<String>, usize)> {
        let file = TempCsv::new(&format!("blocks-{block_bytes}"), text);
        let schema = Arc::new(Schema::new(vec![
            arrow_schema::Field::new("a", DataType::Utf8, true),
            arrow_schema::Field::new("b", DataType::Utf8, true),
        ]));
        let decoder = move || {
            arrow_csv::ReaderBuilder::new(schema.clone())
                .with_batch_size(BATCH_ROWS)
                .build_decoder()
        };
        // Read ahead by one block, or two: a round of blocks may end before or after them.
        let ahead = 1 + block_bytes % 2;
        let text = Box::new(File::open(&file.0).unwrap());
        let blocks = ReadAhead::start(text, b',', block_bytes, ahead).unwrap();
        let csv = ParallelCsv::new(blocks, Box::new(decoder), Vec::new(), file.0.clone());
        let mut values = Vec::new();
        let mut batches = 0;
        for batch in csv {
            let batch = batch?;
            batches += 1;
            for row in 0..batch.num_rows() {
                for column in batch.columns() {
                    values.push(column.as_string::<i32>().value(row).to_string());
                }
            }
        }
        Ok((values, batches))
    }

    #[test]
    fn blocks_end_on_record_boundaries() {
        // Quoted newlines, delimiters and doubled quotes, a quote inside an unquoted field,
        // CRLF endings, and no newline after the last record.
        let mut text = String::from("a,\"b\nheader\"\r\n");
        let mut want = Vec::new();
        for i in 0..200 {
            let (a, b) = match i % 4 {
                0 => (format!("\"line\n{i}\""), format!("line\n{i}")),
                1 => (format!("\"x,\"\"{i}\"\"\""), format!("x,\"{i}\"")),
                2 => (format!("5'1{i}\""), format!("5'1{i}\"")),
                _ => (format!("{i}"), format!("{i}")),
            };
            text.push_str(&format!("{a},v{i}\r\n"));
            want.extend([b, format!("v{i}")]);
        }
        text.push_str("last,end");
        want.extend(["last".to_string(), "end".to_string()]);
        let (whole, batches) = decode_in_blocks(&text, 1 << 20).unwrap();
        assert_eq!(whole, want);
        assert_eq!(batches, 1);
        // Blocks smaller than one record grow until a record ends in them.
        for block_bytes in [1, 7, 64, 333] {
            let (values, batches) = decode_in_blocks(&text, block_bytes).unwrap();
            assert_eq!(values, want, "blocks of {block_bytes} bytes");
            assert!(batches > 1, "{block_bytes}: {batches} batches");
        }
    }

    #[test]
    fn the_text_of_a_compressed_file_is_estimated_from_its_head() {
        // Not compressed: the file's length.
        assert_eq!(text_len(1_000, 10, 10, Compression::None), 1_000);
        // 400 bytes of text from the first 100 of a 1,000-byte file: 4,000 bytes of text.
        assert_eq!(text_len(1_000, 400, 100, Compression::Gzip), 4_000);
        // The head is the whole text when the whole file was read for it.
        assert_eq!(text_len(1_000, 3_500, 1_000, Compression::Zstd), 3_500);
        // Nothing read (an empty file).
        assert_eq!(text_len(0, 0, 0, Compression::Gzip), 0);
    }

    #[test]
    fn the_head_of_a_compressed_file_counts_the_bytes_it_took() {
        // Rows of one length that compress alike all along (to about a third), in gzip and in
        // zstd, longer than either's head.
        let mut text = String::from("id,spend\n");
        let mut x = 1u64;
        for i in 0..400_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(&format!(
                "{i:07},{:04}.{}\n",
                (x >> 40) % 1000,
                (x >> 20) % 10
            ));
        }
        let gzip = {
            let mut out = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            std::io::Write::write_all(&mut out, text.as_bytes()).unwrap();
            out.finish().unwrap()
        };
        let zstd = zstd::stream::encode_all(text.as_bytes(), 3).unwrap();
        for (name, bytes, compression) in [
            ("gz", gzip, Compression::Gzip),
            ("zst", zstd, Compression::Zstd),
        ] {
            let path = std::env::temp_dir()
                .join(format!("strata-csv-head-{}.csv.{name}", std::process::id()));
            std::fs::write(&path, &bytes).unwrap();
            let csv = Text::open(&path, File::open(&path).unwrap()).unwrap();
            assert_eq!(csv.compression, compression);
            let limit = ratio_bytes(compression);
            let (head, used) = csv.head(limit).unwrap();
            assert_eq!(head, text.as_bytes()[..limit], "{name}");
            let estimate = text_len(bytes.len() as u64, head.len(), used, compression);
            // gzip's decompressor takes a few bytes ahead of its text; zstd's up to a block.
            let tolerance = if compression == Compression::Gzip {
                0.01
            } else {
                0.04
            };
            let error = estimate as f64 / text.len() as f64 - 1.0;
            assert!(
                error.abs() < tolerance,
                "{name}: {estimate} bytes of text estimated, {} in fact",
                text.len()
            );
            // The whole text read: exact.
            let (all, used) = csv.head(text.len() + 1).unwrap();
            assert_eq!(all.len(), text.len());
            let whole = text_len(bytes.len() as u64, all.len(), used, compression);
            assert_eq!(whole, text.len() as u64, "{name}");
            let _ = std::fs::remove_file(&path);
        }
    }

    #[test]
    fn a_stream_is_looked_at_up_to_its_last_whole_record() {
        // Rows of 2 KB: the 16 MiB kept from the stream end part way through a row, before the
        // 10,000 rows the types are inferred from.
        let mut text = String::from("a,b\n");
        let wide = "x".repeat(2_000);
        for i in 0..9_000 {
            text.push_str(&format!("{i},{wide}\n"));
        }
        assert!(text.len() > STREAM_HEAD_BYTES);
        let stream = || Box::new(std::io::Cursor::new(text.clone().into_bytes()));
        let csv = Text::stream(b"a,b\n", stream()).unwrap();
        let mut sample = Vec::new();
        csv.sample(b',').unwrap().read_to_end(&mut sample).unwrap();
        assert!(sample.len() <= STREAM_HEAD_BYTES && sample.len() > STREAM_HEAD_BYTES - 2_100);
        assert!(sample.ends_with(b"\n") && text.as_bytes().starts_with(&sample));
        // Its types come from whole rows, and every row is read, across the seam.
        let opened = open_csv_stream(PathBuf::from("stream"), b"a,b\n", stream()).unwrap();
        assert_eq!(opened.schema().field(0).data_type(), &DataType::Int64);
        assert_eq!(opened.rows_hint(), None);
        let rows: usize = opened
            .batches(&[0, 1], &[0])
            .unwrap()
            .map(|batch| batch.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 9_000);
    }

    #[test]
    fn errors_name_the_input_row_across_blocks() {
        // A record with three fields in data row 57, decoded in small blocks.
        let mut text = String::from("a,b\n");
        for i in 0..100 {
            text.push_str(&format!("{i},{i}{}\n", if i == 57 { ",extra" } else { "" }));
        }
        let err = decode_in_blocks(&text, 50).unwrap_err().to_string();
        assert!(err.contains("for row 57, expected 2 got 3"), "{err}");
        let parse = "Error while parsing value 'x' as type 'Float64' for column 1 at line 3. Row data: '[1, x]'";
        assert_eq!(
            at_input_row(parse, 1000, 0),
            "Error while parsing value 'x' as type 'Float64' for column 1 at row 1003. Row data: '[1, x]'"
        );
        assert_eq!(
            at_input_row("no line here", 7, 0),
            "no line here (in the rows from row 7)"
        );
    }
}
