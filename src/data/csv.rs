//! CSV inputs: the delimiter told from the header row, column types inferred from the first
//! rows, decimal commas read as numbers in files not split by commas; files and streams, plain
//! or compressed (gzip, zstd), decompressed and cut into blocks on a thread of their own and
//! decoded on every thread.

use super::encoding::{Encoding, decoded, decoded_bytes};
use super::read::{BATCH_ROWS, Batches, Compression, Opened};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Schema};
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

/// The texts that mark a missing value in a CSV input besides an empty field, which always
/// does (`--null-values`): warehouse exports write `\N` or `NULL`, R writes `NA`. A field is
/// missing when it is one of them exactly (case and spaces count).
#[derive(Debug, Clone, Default)]
pub struct Nulls {
    texts: Vec<String>,
    /// The whole-field pattern arrow's reader tests every field against; `None` for the empty
    /// field alone, which it tests faster without one.
    pattern: Option<regex::Regex>,
}

impl Nulls {
    /// Missing values marked by `texts` as well as by an empty field.
    ///
    /// # Errors
    /// A usage error (exit 2) when the texts are too many to match as one pattern.
    pub fn new(texts: impl IntoIterator<Item = String>) -> Result<Nulls> {
        let mut list: Vec<String> = Vec::new();
        for text in texts {
            if !text.is_empty() && !list.contains(&text) {
                list.push(text);
            }
        }
        if list.is_empty() {
            return Ok(Nulls::default());
        }
        let alternatives: Vec<String> = list.iter().map(|t| regex::escape(t)).collect();
        let pattern = regex::Regex::new(&format!("^(?:|{})$", alternatives.join("|")))
            .map_err(|e| Error::usage(format!("--null-values: {e}")))?;
        Ok(Nulls {
            texts: list,
            pattern: Some(pattern),
        })
    }

    /// The texts besides the empty field.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// `format`, reading these texts as missing values.
    fn applied(&self, format: arrow_csv::reader::Format) -> arrow_csv::reader::Format {
        match &self.pattern {
            Some(pattern) => format.with_null_regex(pattern.clone()),
            None => format,
        }
    }
}

/// How a CSV input is read: the encoding of its text, and the words that mark a missing value.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    pub nulls: Nulls,
    pub encoding: Encoding,
}

/// Rows read to infer CSV column types: of a file, or of a folder's first part.
const CSV_INFER_ROWS: usize = 10_000;

/// Rows read to infer the column types of a folder's other parts: parts from one writer agree,
/// and looking at each one's first rows still finds one that does not, while a folder of
/// hundreds of parts is looked at in about the time of one file.
const CSV_PART_INFER_ROWS: usize = 1_000;

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

/// A first line `sep=;` (any one delimiter) at the start of `text`, which some tools write
/// before the header row so that Excel splits the file as they did: the bytes it takes (a
/// UTF-8 byte-order mark before it and its line end included) and the delimiter it names.
fn separator_line(text: &[u8]) -> Option<(usize, u8)> {
    let mark = if text.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    match &text[mark..] {
        [b's', b'e', b'p', b'=', delimiter, rest @ ..]
            if !matches!(delimiter, b'"' | b'\r' | b'\n') =>
        {
            let end = match rest {
                [b'\r', b'\n', ..] => 2,
                [b'\n' | b'\r', ..] => 1,
                [] => 0,
                _ => return None,
            };
            Some((mark + 5 + end, *delimiter))
        }
        _ => None,
    }
}

/// Bytes of a text's start that hold any separator line for Excel.
const SEPARATOR_LINE_BYTES: u64 = 3 + 5 + 2;

/// `text` without a separator line for Excel at its start (see [`separator_line`]).
fn without_separator_line(mut text: Box<dyn Read + Send>) -> std::io::Result<Box<dyn Read + Send>> {
    let mut start = Vec::with_capacity(SEPARATOR_LINE_BYTES as usize);
    Read::by_ref(&mut text)
        .take(SEPARATOR_LINE_BYTES)
        .read_to_end(&mut start)?;
    let skip = separator_line(&start).map_or(0, |(skip, _)| skip);
    Ok(Box::new(
        std::io::Cursor::new(start.split_off(skip)).chain(text),
    ))
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

/// The first `rows` rows of a CSV's columns that `schema` types as one of `data_types` (Utf8:
/// its text columns), read from `source` as text: the columns and their values. `None` when
/// there are none, or the rows cannot be read (the columns are left as they are; the read
/// proper names the fault).
fn text_sample(
    source: impl Read,
    format: &arrow_csv::reader::Format,
    schema: &Schema,
    rows: usize,
    data_types: &[DataType],
) -> Option<(Vec<usize>, RecordBatch)> {
    let columns: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| data_types.contains(schema.field(i).data_type()))
        .collect();
    if columns.is_empty() {
        return None;
    }
    let text = Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_data_type(DataType::Utf8))
            .collect::<Vec<_>>(),
    );
    let sample = arrow_csv::ReaderBuilder::new(Arc::new(text))
        .with_format(format.clone())
        .with_batch_size(rows)
        .with_projection(columns.clone())
        .build(BufReader::new(source))
        .ok()?
        .next()?
        .ok()?;
    Some((columns, sample))
}

/// The text columns of a CSV split by something other than commas whose first rows (`sample`,
/// from [`text_sample`]) all hold numbers with decimal commas (at least one with a comma):
/// they are read as numbers.
fn decimal_comma_columns(sample: &(Vec<usize>, RecordBatch)) -> Vec<usize> {
    sample_columns(sample, &[])
        .filter(|(_, values)| {
            let mut comma = false;
            values.iter().flatten().filter(|v| !v.is_empty()).all(|v| {
                comma |= v.contains(',');
                parse_decimal_comma(v).is_some()
            }) && comma
        })
        .map(|(i, _)| i)
        .collect()
}

/// The columns of `sample` (from [`text_sample`]) whose places in the input `keep` takes, as a
/// sample of their own; `None` when there are none.
fn sample_part(
    sample: &(Vec<usize>, RecordBatch),
    keep: impl Fn(usize) -> bool,
) -> Option<(Vec<usize>, RecordBatch)> {
    let (columns, batch) = sample;
    let (positions, kept): (Vec<usize>, Vec<usize>) = columns
        .iter()
        .enumerate()
        .filter(|&(_, &i)| keep(i))
        .map(|(j, &i)| (j, i))
        .unzip();
    if kept.is_empty() {
        return None;
    }
    Some((kept, batch.project(&positions).ok()?))
}

/// The columns of `sample` (from [`text_sample`]) but those in `skip`: each one's place in the
/// input and its first rows' values.
fn sample_columns<'a>(
    sample: &'a (Vec<usize>, RecordBatch),
    skip: &'a [usize],
) -> impl Iterator<Item = (usize, &'a StringArray)> + 'a {
    let (columns, batch) = sample;
    columns
        .iter()
        .enumerate()
        .filter(|(_, i)| !skip.contains(i))
        .map(|(j, &i)| (i, batch.column(j).as_string::<i32>()))
}

/// The text columns of `sample` (from [`text_sample`]), but those in `skip`, whose first rows
/// all hold numbers with spaces around some of them (`id, recency, spend` exports put one after
/// each delimiter), with the type they are read as: Int64 where every one is an integer, else
/// Float64 (arrow reads numbers with spaces around them once the column has a number type).
fn padded_number_columns(
    sample: &(Vec<usize>, RecordBatch),
    skip: &[usize],
) -> Vec<(usize, DataType)> {
    sample_columns(sample, skip)
        .filter_map(|(i, values)| {
            let (mut padded, mut integers) = (false, true);
            let numbers = values.iter().flatten().all(|v| {
                let t = v.trim_ascii();
                padded |= t.len() != v.len();
                integers &= t.parse::<i64>().is_ok();
                // A field of spaces alone would be no number once typed: left as text.
                !t.is_empty() && (integers || t.parse::<f64>().is_ok_and(f64::is_finite))
            });
            let data_type = if integers {
                DataType::Int64
            } else {
                DataType::Float64
            };
            (numbers && padded).then_some((i, data_type))
        })
        .collect()
}

/// The integer columns of `sample` (from [`text_sample`] of the Int64 columns) whose first rows
/// write a number with a leading zero (`007`), as ids and codes padded to one width are: by
/// column, one such value. Read as a number, such an id would lose its zeros.
fn zero_padded_columns(sample: &(Vec<usize>, RecordBatch)) -> Vec<(usize, String)> {
    let padded = |text: &str| {
        let digits = text.trim_ascii();
        let digits = digits.strip_prefix(['-', '+']).unwrap_or(digits);
        digits.len() > 1 && digits.starts_with('0')
    };
    sample_columns(sample, &[])
        .filter_map(|(i, values)| {
            let value = values.iter().flatten().find(|v| padded(v))?;
            Some((i, value.to_string()))
        })
        .collect()
}

/// A header field as the column's name: without spaces around it, and without the quotes
/// of a quoted name that a space before it left in the field (`id, "spend"`).
fn header_name(field: &str) -> String {
    let name = field.trim();
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) if field.len() != name.len() => quoted.replace("\"\"", "\""),
        _ => name.to_string(),
    }
}

/// Columns inferred as text whose first rows hold numbers and, besides them, a few words:
/// by column, the words, in the order met. Such a word most likely marks a missing value.
pub(super) type Words = Vec<(usize, Vec<String>)>;

/// What the first rows of a CSV's text columns suggest they hold, for what is said of them.
#[derive(Debug, Clone, Default)]
pub(super) struct TextNotes {
    /// Columns of numbers with a few words among them, most likely marks of missing values.
    pub(super) words: Words,
    /// Columns of numbers written as a spreadsheet shows them (a currency sign, thousands
    /// separators, a percent sign): by column, one such value as written.
    pub(super) formatted: Vec<(usize, String)>,
    /// Columns of integers some written with leading zeros: by column, one such value.
    pub(super) zero_padded: Vec<(usize, String)>,
}

impl TextNotes {
    /// Adds what another part of the same input showed: its words to each column's (once
    /// each), and a formatted or zero-padded value for a column that has none yet.
    pub(super) fn absorb(&mut self, part: &TextNotes) {
        for (column, found) in &part.words {
            match self.words.iter_mut().find(|(c, _)| c == column) {
                Some((_, known)) => {
                    for word in found {
                        if !known.contains(word) {
                            known.push(word.clone());
                        }
                    }
                }
                None => self.words.push((*column, found.clone())),
            }
        }
        for (mine, theirs) in [
            (&mut self.formatted, &part.formatted),
            (&mut self.zero_padded, &part.zero_padded),
        ] {
            for (column, value) in theirs {
                if !mine.iter().any(|(c, _)| c == column) {
                    mine.push((*column, value.clone()));
                }
            }
        }
    }
}

/// How a spreadsheet's locale writes a number: the decimal mark, and what may separate groups
/// of three digits.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Marks {
    /// `1,234.50`, as in English.
    DecimalPoint,
    /// `1.234,50` or `1 234,50`, as in much of Europe: groups separated by a point or a space
    /// (plain, no-break, or the narrow no-break space a French locale writes).
    DecimalComma,
}

impl Marks {
    fn decimal(self) -> char {
        match self {
            Marks::DecimalPoint => '.',
            Marks::DecimalComma => ',',
        }
    }

    fn is_group(self, c: char) -> bool {
        match self {
            Marks::DecimalPoint => c == ',',
            Marks::DecimalComma => matches!(c, '.' | ' ' | '\u{a0}' | '\u{202f}'),
        }
    }
}

/// A number as a spreadsheet may write it, made plain: a currency sign ($, €, £, ¥, ₹) before
/// or after it, thousands separators (groups of three digits), a percent sign after it, or
/// accounting's parentheses for a negative one, with `marks` for the decimal mark and the
/// separators; None when `text` is no such number or a plain one (with that decimal mark).
fn unformatted(text: &str, marks: Marks) -> Option<f64> {
    const CURRENCY: [char; 5] = ['$', '€', '£', '¥', '₹'];
    let mut t = text.trim();
    let mut negative = false;
    if let Some(inner) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        (t, negative) = (inner.trim(), true);
    }
    if let Some(rest) = t.strip_prefix('-') {
        (t, negative) = (rest.trim_start(), !negative);
    }
    let mut formatted = false;
    if let Some(rest) = t.strip_prefix(CURRENCY) {
        (t, formatted) = (rest.trim_start(), true);
    } else if let Some(rest) = t.strip_suffix(CURRENCY) {
        (t, formatted) = (rest.trim_end(), true);
    }
    if let Some(rest) = t.strip_prefix('-').filter(|_| formatted && !negative) {
        (t, negative) = (rest, true);
    }
    if let Some(rest) = t.strip_suffix('%') {
        (t, formatted) = (rest.trim_end(), true);
    }
    let (whole, fraction) = t.split_once(marks.decimal()).unwrap_or((t, ""));
    let groups: Vec<&str> = whole.split(|c| marks.is_group(c)).collect();
    if groups.len() > 1 {
        let grouped =
            (1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|g| g.len() == 3);
        // One kind of separator in a number: `1.234 567` is no grouping.
        let one_kind = whole
            .chars()
            .filter(|&c| marks.is_group(c))
            .collect::<Vec<_>>()
            .windows(2)
            .all(|w| w[0] == w[1]);
        if !grouped || !one_kind {
            return None;
        }
        formatted = true;
    }
    let digits = groups.concat();
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !formatted || digits.is_empty() || !all_digits(&digits) || !all_digits(fraction) {
        return None;
    }
    let value: f64 = format!("{digits}.{fraction}0").parse().ok()?;
    Some(if negative { -value } else { value })
}

/// Whether `text` is a number written as a spreadsheet shows it in either convention of
/// [`Marks`], as a value that failed to parse is told apart from a word.
fn is_formatted_number(text: &str) -> bool {
    [Marks::DecimalPoint, Marks::DecimalComma]
        .into_iter()
        .any(|marks| unformatted(text, marks).is_some())
}

/// The text columns of `sample` (from [`text_sample`]), but those in `skip`, whose first rows
/// are all numbers, some of them written as a spreadsheet shows them ([`unformatted`]), with
/// the first such value. Where the comma does not split the columns (`comma_free`), a number
/// may also have a decimal comma, and groups separated by points or spaces.
fn formatted_number_columns(
    sample: &(Vec<usize>, RecordBatch),
    skip: &[usize],
    comma_free: bool,
) -> Vec<(usize, String)> {
    sample_columns(sample, skip)
        .filter_map(|(i, values)| {
            let mut example = None;
            let numbers = values.iter().flatten().all(|v| {
                let formatted = unformatted(v, Marks::DecimalPoint).is_some()
                    || (comma_free && unformatted(v, Marks::DecimalComma).is_some());
                if formatted {
                    example.get_or_insert(v);
                    true
                } else {
                    v.trim().parse::<f64>().is_ok_and(f64::is_finite)
                        || (comma_free && parse_decimal_comma(v).is_some())
                }
            });
            Some((i, example.filter(|_| numbers)?.to_string()))
        })
        .collect()
}

/// Most distinct words a column of numbers may hold for [`words_among_numbers`] to name them.
const MAX_WORDS: usize = 3;

/// The text columns of `sample` (from [`text_sample`]), but those in `skip`, that hold at least
/// one number and at most [`MAX_WORDS`] distinct other values, and those values. Where the comma
/// does not split the columns (`comma_free`), a number may have a decimal comma.
fn words_among_numbers(
    sample: &(Vec<usize>, RecordBatch),
    skip: &[usize],
    comma_free: bool,
) -> Words {
    sample_columns(sample, skip)
        .filter_map(|(i, values)| {
            let mut numbers = false;
            let mut words: Vec<String> = Vec::new();
            for value in values.iter().flatten() {
                let number = value.trim_ascii().parse::<f64>().is_ok()
                    || (comma_free && parse_decimal_comma(value).is_some());
                if number {
                    numbers = true;
                } else if !words.iter().any(|w| w == value) {
                    if words.len() == MAX_WORDS {
                        return None;
                    }
                    words.push(value.to_string());
                }
            }
            (numbers && !words.is_empty()).then_some((i, words))
        })
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
                         column out of the features{}",
                        path.display(),
                        fields[j].name(),
                        first_row + row as u64,
                        formatted_hint(v),
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

/// A CSV text cut into blocks of whole records, the header row left out.
struct Blocks {
    text: Box<dyn Read + Send>,
    delimiter: u8,
    /// Bytes read for a block (more when one record is longer).
    block_bytes: usize,
    /// Bytes read past the last block's end.
    carry: Vec<u8>,
    header: bool,
    eof: bool,
}

impl Blocks {
    fn new(text: Box<dyn Read + Send>, delimiter: u8, block_bytes: usize) -> Blocks {
        Blocks {
            text,
            delimiter,
            block_bytes,
            carry: Vec::new(),
            header: true,
            eof: false,
        }
    }

    /// The next block of whole records (the last one may lack its newline), in a buffer from
    /// `spare` when one was handed back (a fresh one would fault in every page again); `None`
    /// at the end.
    fn next_block(&mut self, spare: &Receiver<Vec<u8>>) -> std::io::Result<Option<Vec<u8>>> {
        let mut buf = spare.try_recv().unwrap_or_default();
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

/// Whole records of one part of the input (its index among the parts).
struct Block {
    part: usize,
    bytes: Vec<u8>,
}

/// What the reading thread reads, part after part: a text already open (a file given alone,
/// standard input) or a part file opened when the reading reaches it, so that a folder of
/// thousands of parts never holds more than one open.
struct ToRead {
    path: PathBuf,
    delimiter: u8,
    text: Option<Text>,
    encoding: Encoding,
}

impl ToRead {
    /// The part's text from its first byte, logging a compression its name does not show.
    fn rows(self) -> Result<Box<dyn Read + Send>> {
        let path = self.path;
        let text = match self.text {
            Some(text) => text,
            None => {
                let file = File::open(&path).map_err(|e| Error::open_input(&path, &e))?;
                Text::open(&path, file, self.encoding)?
            }
        };
        if text.unnamed {
            log::info!(
                "{}: {}-compressed (its first bytes say so), decompressed as it is read",
                path.display(),
                text.compression.name()
            );
        }
        text.into_rows().map_err(|e| Error::read_input(&path, e))
    }
}

/// Blocks read on a thread of their own, up to a round ahead of their decoding: reading (and
/// decompressing, which no other thread can share) the next round overlaps decoding this one.
/// The parts of a folder follow one another in the same stream of blocks, so a round may
/// hold blocks of several small parts and every thread stays busy across their seams.
struct ReadAhead {
    /// Each block in input order, then `None` at the end of the last part, or an error.
    blocks: Receiver<Result<Option<Block>>>,
    /// Decoded blocks' buffers, back to the reader.
    spare: Sender<Vec<u8>>,
    /// Whether the reader said the input ended (and so stopped).
    ended: bool,
}

impl ReadAhead {
    /// Starts reading `parts` (each from its header row) in blocks of about `block_bytes`, at
    /// most `ahead` blocks before they are taken.
    fn start(parts: Vec<ToRead>, block_bytes: usize, ahead: usize) -> std::io::Result<ReadAhead> {
        let (spare, spare_blocks) = channel();
        let (read, blocks) = sync_channel(ahead);
        // Ends at the end of the input, at an error, or when the blocks are no longer wanted.
        std::thread::Builder::new()
            .name("strata-csv-read".into())
            .spawn(move || {
                for (part, to_read) in parts.into_iter().enumerate() {
                    let (path, delimiter) = (to_read.path.clone(), to_read.delimiter);
                    let mut blocks = match to_read.rows() {
                        Ok(text) => Blocks::new(text, delimiter, block_bytes),
                        Err(e) => {
                            let _ = read.send(Err(e));
                            return;
                        }
                    };
                    loop {
                        let next = match blocks.next_block(&spare_blocks) {
                            Ok(Some(bytes)) => Ok(Some(Block { part, bytes })),
                            Ok(None) => break,
                            Err(e) => Err(Error::read_input(&path, e)),
                        };
                        let failed = next.is_err();
                        if read.send(next).is_err() || failed {
                            return;
                        }
                    }
                }
                let _ = read.send(Ok(None));
            })?;
        Ok(ReadAhead {
            blocks,
            spare,
            ended: false,
        })
    }

    /// The next block; `None` at the end of the input, and after it.
    fn next_block(&mut self) -> Result<Option<Block>> {
        if self.ended {
            return Ok(None);
        }
        // A reader gone without saying the input ended must not pass for the end of it.
        let next = self.blocks.recv().unwrap_or_else(|_| {
            Err(Error::Internal(
                "the thread reading the CSV input stopped before its end".into(),
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
/// for every block), with the rows it has decoded (arrow numbers lines from its creation) and
/// the kind of part it decodes.
struct BlockDecoder {
    decoder: arrow_csv::reader::Decoder,
    rows: u64,
    kind: usize,
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

/// The value arrow's decoder names in `message` as one it could not parse.
fn unparsed_value(message: &str) -> Option<&str> {
    const BEFORE: &str = "parsing value '";
    let start = message.find(BEFORE)? + BEFORE.len();
    let end = start + message[start..].find("' as type '")?;
    Some(&message[start..end])
}

/// What is said of a `value` that is not a number: how to save it, where it is one written as a
/// spreadsheet shows it ("$1,234.50", "1.234,50 €"), else nothing.
fn formatted_hint(value: &str) -> &'static str {
    if is_formatted_number(value) {
        crate::data::read::FORMATTED_HINT
    } else {
        ""
    }
}

/// arrow's "for column N" in a message of a decoder (N the column's place in the input), made
/// "for column 'name'" with the input's column `names`.
fn with_column_name(message: &str, names: &[String]) -> String {
    const COLUMN: &str = " for column ";
    let Some(at) = message.find(COLUMN) else {
        return message.to_string();
    };
    let start = at + COLUMN.len();
    let end = message[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(message.len(), |i| start + i);
    match message[start..end]
        .parse::<usize>()
        .ok()
        .and_then(|i| names.get(i))
    {
        Some(name) => format!("{}'{name}'{}", &message[..start], &message[end..]),
        None => message.to_string(),
    }
}

/// A decoding error of the block starting at data row `base` of `path`, whose columns are
/// `names`, as a Strata error.
fn block_error(e: BlockError, base: u64, path: &Path, names: &[String]) -> Error {
    let before = e.rows_before;
    match e.error {
        // A value that does not parse as its column's type (the types come from the first
        // rows): the file is fine, that value is not.
        ArrowError::ParseError(message) => Error::data(format!(
            "cannot read '{}': {}; a CSV column's type comes from its first rows: fix that \
             value, name it in --null-values if it marks a missing value, or, for a feature, \
             leave its column out of the features (for a described column: describe it by its \
             values, as NAME:categories){}",
            path.display(),
            at_input_row(&with_column_name(&message, names), base, before),
            unparsed_value(&message).map_or("", formatted_hint),
        )),
        ArrowError::CsvError(message) => text_error(
            path,
            format!("CSV error: {}", at_input_row(&message, base, before + 1)),
        ),
        e => Error::read_input(path, e),
    }
}

/// The error for CSV text that arrow's reader could not take (`message`): text that is not
/// UTF-8 (the encoding asked for when another one cannot fail) is told apart, with how it
/// usually comes about and the way out; anything else may be a damaged file.
fn text_error(path: &Path, message: String) -> Error {
    if !message.to_ascii_lowercase().contains("utf-8") {
        return Error::read_input(path, message);
    }
    Error::data(format!(
        "cannot read '{}': {message}; this text is not UTF-8: a spreadsheet saving plain \
         \"CSV\" on Windows writes the Windows code page, which --encoding windows-1252 reads \
         (or save it as \"CSV UTF-8\")",
        path.display()
    ))
}

/// How the parts of one kind (one delimiter, the same decimal-comma columns) are decoded.
struct Kind {
    decoder: Box<dyn Fn() -> arrow_csv::reader::Decoder + Send + Sync>,
    /// Positions in the projected batches of the decimal-comma columns to convert.
    converted: Vec<usize>,
}

/// A part of a CSV input as the decoding sees it: its path, for messages, and its kind.
struct DecodedPart {
    path: PathBuf,
    kind: usize,
}

/// The batches of a CSV input, one file or a folder's parts, decoded block by block on every
/// thread, in input order.
struct ParallelCsv {
    blocks: ReadAhead,
    kinds: Vec<Kind>,
    parts: Vec<DecodedPart>,
    /// One decoder per block of a round, kept across rounds.
    decoders: Vec<BlockDecoder>,
    /// The part of the last block decoded, and its data rows in the blocks decoded so far.
    part: usize,
    rows: u64,
    ready: std::collections::VecDeque<Result<RecordBatch>>,
    done: bool,
    /// The input's column names, for messages.
    names: Vec<String>,
}

impl ParallelCsv {
    /// Decodes `blocks` of `parts`, each with decoders of its kind; the input's columns are
    /// named `names`.
    fn new(
        blocks: ReadAhead,
        kinds: Vec<Kind>,
        parts: Vec<DecodedPart>,
        names: Vec<String>,
    ) -> ParallelCsv {
        ParallelCsv {
            blocks,
            kinds,
            parts,
            names,
            decoders: Vec::new(),
            part: 0,
            rows: 0,
            ready: Default::default(),
            done: false,
        }
    }

    /// Reads one block per thread, decodes them in parallel and queues their batches in order;
    /// the first error ends the stream.
    fn decode_round(&mut self) {
        let mut round = Vec::new();
        // A read error ends the stream after the blocks read before it.
        let mut read_error = None;
        while round.len() < rayon::current_num_threads() {
            match self.blocks.next_block() {
                Ok(Some(block)) => round.push(block),
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        if round.is_empty() {
            self.done = true;
            self.ready.extend(read_error.map(Err));
            return;
        }
        for (i, block) in round.iter().enumerate() {
            let kind = self.parts[block.part].kind;
            let fresh = || BlockDecoder {
                decoder: (self.kinds[kind].decoder)(),
                rows: 0,
                kind,
            };
            match self.decoders.get_mut(i) {
                Some(decoder) if decoder.kind == kind => {}
                Some(decoder) => *decoder = fresh(),
                None => self.decoders.push(fresh()),
            }
        }
        let decoded: Vec<_> = round
            .par_iter()
            .zip(self.decoders.par_iter_mut())
            .map(|(block, decoder)| decoder.decode(&block.bytes))
            .collect();
        let mut batches = Vec::new();
        let mut failure = None;
        for (block, result) in round.iter().zip(decoded) {
            if block.part != self.part {
                self.part = block.part;
                self.rows = 0;
            }
            match result {
                Ok(decoded) => {
                    for batch in decoded {
                        let rows = batch.num_rows() as u64;
                        batches.push((block.part, self.rows, batch));
                        self.rows += rows;
                    }
                }
                Err(e) => {
                    let path = &self.parts[block.part].path;
                    failure = Some(block_error(e, self.rows, path, &self.names));
                    break;
                }
            }
        }
        for block in round {
            self.blocks.give_back(block.bytes);
        }
        let (kinds, parts) = (&self.kinds, &self.parts);
        let batches: Vec<_> = batches
            .into_par_iter()
            .map(|(part, first_row, batch)| {
                let part = &parts[part];
                let converted = &kinds[part.kind].converted;
                if converted.is_empty() {
                    Ok(batch)
                } else {
                    convert_decimal_commas(batch, converted, first_row, &part.path)
                }
            })
            .collect();
        self.ready.extend(batches);
        if let Some(e) = failure.or(read_error) {
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
    /// How its bytes are read when no byte-order mark says.
    encoding: Encoding,
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

/// The text `raw` holds, through a decompressor for `compression`, read as UTF-8 from
/// `encoding`.
fn decompressed(
    compression: Compression,
    encoding: Encoding,
    raw: impl Read + Send + 'static,
) -> std::io::Result<Box<dyn Read + Send>> {
    let text: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(
            BufReader::with_capacity(COMPRESSED_BUFFER, raw),
        )),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(
            BufReader::with_capacity(COMPRESSED_BUFFER, raw),
        )?),
    };
    decoded(text, encoding)
}

impl Text {
    /// The text of the CSV file `path`, open as `file`, in `encoding` unless it starts with a
    /// byte-order mark. Its compression is the one its first bytes show, whatever its name (a
    /// `.csv` that is gzip is read as gzip).
    ///
    /// # Errors
    /// Exit 66 when the file cannot be read, 65 when its name says it is compressed and its
    /// first bytes say otherwise.
    fn open(path: &Path, file: File, encoding: Encoding) -> Result<Text> {
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
            encoding,
            unnamed: named == Compression::None && shown != Compression::None,
        })
    }

    /// The text of the stream `raw`, which starts with the bytes `magic`, in `encoding`
    /// unless it starts with a byte-order mark: its first `STREAM_HEAD_BYTES` of text are read
    /// now.
    fn stream(
        magic: &[u8],
        raw: Box<dyn Read + Send>,
        encoding: Encoding,
    ) -> std::io::Result<Text> {
        let compression = Compression::from_magic(magic);
        let mut rest = decompressed(compression, encoding, raw)?;
        let mut head = Vec::new();
        Read::by_ref(&mut rest)
            .take(STREAM_HEAD_BYTES as u64)
            .read_to_end(&mut head)?;
        let whole = head.len() < STREAM_HEAD_BYTES;
        Ok(Text {
            origin: Origin::Stream { head, rest, whole },
            compression,
            encoding,
            unnamed: compression != Compression::None,
        })
    }

    /// The file from its first byte.
    fn rewound(file: &File) -> std::io::Result<File> {
        let mut file = file.try_clone()?;
        file.rewind()?;
        Ok(file)
    }

    /// The text in the first `limit` bytes of it (a file's as written, in its encoding; a
    /// stream's kept head, UTF-8 already).
    fn head(&self, limit: usize) -> std::io::Result<Head> {
        let file = match &self.origin {
            Origin::File(file) => file,
            Origin::Stream { head, whole, .. } => {
                return Ok(Head {
                    text: head[..limit.min(head.len())].to_vec(),
                    used: 0,
                    whole: *whole && head.len() <= limit,
                });
            }
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
        Ok(Head {
            whole: head.len() < limit,
            text: decoded_bytes(head, self.encoding),
            used,
        })
    }

    /// The rows, estimated from `head`: a file's from its length scaled as [`text_len`] does;
    /// a stream's only when its head is all of it.
    fn rows_hint(&self, head: &Head) -> Option<usize> {
        match &self.origin {
            Origin::File(file) => {
                let len = file.metadata().ok()?.len();
                estimate_rows(&head.text, text_len(len, head.text.len(), head.used))
            }
            // The head kept from a stream, not just the part looked at for the delimiter.
            Origin::Stream {
                head: kept, whole, ..
            } => whole.then(|| estimate_rows(kept, kept.len() as u64))?,
        }
    }

    /// The text to look at for its types and decimal commas: a file's from its start, a
    /// stream's head up to its last whole record (the delimiter says where fields start);
    /// without a separator line for Excel.
    fn sample(&self, delimiter: u8) -> std::io::Result<Box<dyn Read + Send>> {
        without_separator_line(match &self.origin {
            Origin::File(file) => {
                decompressed(self.compression, self.encoding, Text::rewound(file)?)?
            }
            Origin::Stream { head, whole, .. } => {
                let end = if *whole {
                    head.len()
                } else {
                    record_end(head, delimiter, false).unwrap_or(head.len())
                };
                Box::new(std::io::Cursor::new(head[..end].to_vec()))
            }
        })
    }

    /// All of the text, from its start but for a separator line for Excel, for the rows.
    fn into_rows(self) -> std::io::Result<Box<dyn Read + Send>> {
        without_separator_line(match self.origin {
            Origin::File(file) => {
                decompressed(self.compression, self.encoding, Text::rewound(&file)?)?
            }
            Origin::Stream { head, rest, .. } => Box::new(std::io::Cursor::new(head).chain(rest)),
        })
    }
}

/// The first bytes of a CSV text, looked at before its rows are read.
struct Head {
    /// The text, as UTF-8.
    text: Vec<u8>,
    /// The bytes of the file it was read from (0 for a stream, which has no length to scale).
    used: u64,
    /// Whether it is all of the text.
    whole: bool,
}

/// Bytes of UTF-8 text in a file of `len` bytes whose first `used` bytes held `head` bytes of
/// it: the file's length when those are the same count (neither compressed nor in another
/// encoding), else scaled by the ratio of its first part (exact when the head is the whole
/// text).
fn text_len(len: u64, head: usize, used: u64) -> u64 {
    if used == 0 || used == head as u64 {
        return len;
    }
    if used >= len {
        return head as u64;
    }
    (len as f64 * head as f64 / used as f64).round() as u64
}

/// The CSV file `path`, opened as `file`, read as `options` say.
pub(super) fn open_csv(path: PathBuf, file: File, options: &CsvOptions) -> Result<Opened> {
    let csv = Text::open(&path, file, options.encoding)?;
    open_text(path, csv, &options.nulls)
}

/// CSV from a stream read once (standard input), which starts with the bytes `magic`, read as
/// `options` say; `name` names it in messages.
///
/// # Errors
/// Exit 65 when its first rows cannot be read.
pub(super) fn open_csv_stream(
    name: PathBuf,
    magic: &[u8],
    stream: Box<dyn Read + Send>,
    options: &CsvOptions,
) -> Result<Opened> {
    let csv =
        Text::stream(magic, stream, options.encoding).map_err(|e| Error::read_input(&name, e))?;
    open_text(name, csv, &options.nulls)
}

/// How a CSV text's rows are decoded, as its first rows showed: the delimiter, and the
/// columns whose numbers have decimal commas.
#[derive(Clone, PartialEq)]
struct Look {
    delimiter: u8,
    commas: Vec<usize>,
}

/// Where the `rows`-th record after the header row ends in `text` (from its start): the
/// offset just past its newline; `None` when `text` holds fewer whole records.
fn records_end(text: &[u8], delimiter: u8, rows: usize) -> Option<usize> {
    let mut end = 0;
    for _ in 0..=rows {
        end += record_end(&text[end..], delimiter, true)?;
    }
    Some(end)
}

/// What looking at a CSV text showed: its columns and their types, how its rows are decoded,
/// its rows, estimated, and what its text columns' first rows suggest they hold.
type Looked = (Schema, Look, Option<usize>, TextNotes);

/// The error for a CSV input with no header row.
fn no_header(path: &Path) -> Error {
    Error::data(format!(
        "input '{}' is empty: a CSV input needs a header row naming its columns",
        path.display()
    ))
}

/// Looks at the first `infer_rows` rows of `csv`, the text of `path`: its columns and their
/// types (the decimal-comma columns as Float64), how its rows are decoded, and its rows,
/// estimated; `None` when the text is empty. The rows are looked at in the text read for the
/// estimate when it holds them, else read again from the start. Fields that `nulls` marks
/// missing do not count towards a column's type.
///
/// # Errors
/// Exit 65 when the first rows cannot be read or name no column.
fn look_at(path: &Path, csv: &Text, infer_rows: usize, nulls: &Nulls) -> Result<Option<Looked>> {
    let limit = ratio_bytes(csv.compression);
    let mut looked = csv.head(limit).map_err(|e| Error::read_input(path, e))?;
    // A line for Excel before the header row names the delimiter; the rows are read past it.
    let stated = separator_line(&looked.text).map(|(skip, delimiter)| {
        log::info!(
            "{}: its first line, 'sep={}', tells Excel how the file is split; the header row \
             is the next",
            path.display(),
            char::from(delimiter).escape_default(),
        );
        looked.text.drain(..skip);
        delimiter
    });
    let head = &looked.text;
    if head.is_empty() {
        return Ok(None);
    }
    let delimiter = stated.unwrap_or_else(|| sniff_delimiter(head));
    let format = nulls.applied(
        arrow_csv::reader::Format::default()
            .with_header(true)
            .with_delimiter(delimiter),
    );
    let in_head = if looked.whole {
        Some(head.len())
    } else {
        records_end(head, delimiter, infer_rows)
    };
    let sample = || -> Result<Box<dyn Read + Send + '_>> {
        match in_head {
            Some(end) => Ok(Box::new(&head[..end])),
            None => csv
                .sample(delimiter)
                .map_err(|e| Error::read_input(path, e)),
        }
    };
    let (schema, _) = format
        .infer_schema(BufReader::new(sample()?), Some(infer_rows))
        .map_err(|e| text_error(path, e.to_string()))?;
    if schema.fields().is_empty() {
        return Err(no_header(path));
    }
    // The first rows of the text and integer columns as written, read once: the text ones may
    // be numbers all the same, the integer ones may be ids written with leading zeros.
    let written = text_sample(
        sample()?,
        &format,
        &schema,
        infer_rows,
        &[DataType::Utf8, DataType::Int64],
    );
    let text = written
        .as_ref()
        .and_then(|w| sample_part(w, |i| schema.field(i).data_type() == &DataType::Utf8));
    // A decimal comma is only possible when the comma does not split the columns.
    let comma_free = delimiter != b',';
    let mut commas = Vec::new();
    let mut retyped: Vec<(usize, DataType)> = Vec::new();
    if let Some(text) = text.as_ref() {
        if comma_free {
            commas = decimal_comma_columns(text);
            retyped.extend(commas.iter().map(|&i| (i, DataType::Float64)));
        }
        retyped.extend(padded_number_columns(text, &commas));
    }
    // Names are matched as written but for spaces around them, which no one means (and
    // quotes inside them: after a space, a quoted name's quotes are read as part of it).
    let schema = Schema::new(
        schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let data_type = retyped
                    .iter()
                    .find(|(c, _)| *c == i)
                    .map_or(f.data_type(), |(_, t)| t);
                f.as_ref()
                    .clone()
                    .with_name(header_name(f.name()))
                    .with_data_type(data_type.clone())
            })
            .collect::<Vec<_>>(),
    );
    let mut notes = text
        .map(|text| {
            let mut skip: Vec<usize> = retyped.iter().map(|(i, _)| *i).collect();
            let formatted = formatted_number_columns(&text, &skip, comma_free);
            // A formatted number is no word marking a missing value.
            skip.extend(formatted.iter().map(|(i, _)| *i));
            TextNotes {
                words: words_among_numbers(&text, &skip, comma_free),
                formatted,
                zero_padded: Vec::new(),
            }
        })
        .unwrap_or_default();
    // The integer columns as typed now, those with numbers padded by spaces among them.
    let integers = written
        .as_ref()
        .and_then(|w| sample_part(w, |i| schema.field(i).data_type() == &DataType::Int64));
    if let Some(integers) = integers {
        notes.zero_padded = zero_padded_columns(&integers);
    }
    let rows_hint = csv.rows_hint(&looked);
    Ok(Some((schema, Look { delimiter, commas }, rows_hint, notes)))
}

fn open_text(path: PathBuf, csv: Text, nulls: &Nulls) -> Result<Opened> {
    let Some((schema, look, rows_hint, notes)) = look_at(&path, &csv, CSV_INFER_ROWS, nulls)?
    else {
        return Err(no_header(&path));
    };
    let schema = Arc::new(schema);
    let part = Part {
        path,
        look,
        notes: TextNotes::default(),
        encoding: csv.encoding,
        text: Some(csv),
    };
    let columns = schema.clone();
    let nulls = nulls.clone();
    Ok(Opened {
        schema,
        rows_hint,
        rows_exact: false,
        typed: false,
        notes,
        open: Box::new(
            move |projection: &[usize], numeric: &[usize], text: &[usize]| {
                decode_parts(vec![part], &columns, projection, numeric, text, &nulls)
            },
        ),
    })
}

/// A CSV part of a folder input, looked at: its rows are read after every part's columns are
/// known, through [`decode_parts`].
pub(super) struct Part {
    path: PathBuf,
    look: Look,
    /// What its first rows suggest its text columns hold.
    pub(super) notes: TextNotes,
    /// The text when it is open already; a folder's parts are opened again when their rows
    /// are reached.
    text: Option<Text>,
    /// How its text is read when no byte-order mark says.
    encoding: Encoding,
}

/// Looks at the first rows of the CSV part file `path` (more of them in the `first` part):
/// its columns, the part, and its rows, estimated; `None` when its text is empty (not even a
/// header row), as some writers leave a part with no rows. The file is closed again. It is
/// read as `options` say: fields they mark missing do not count towards a column's type.
///
/// # Errors
/// As [`Opened::open`] for a CSV file.
pub(super) fn look_at_part(
    path: &Path,
    first: bool,
    options: &CsvOptions,
) -> Result<Option<(Schema, Part, Option<usize>)>> {
    let file = File::open(path).map_err(|e| Error::open_input(path, &e))?;
    let csv = Text::open(path, file, options.encoding)?;
    let infer_rows = if first {
        CSV_INFER_ROWS
    } else {
        CSV_PART_INFER_ROWS
    };
    let looked = look_at(path, &csv, infer_rows, &options.nulls)?;
    Ok(looked.map(|(schema, look, rows_hint, notes)| {
        let part = Part {
            path: path.to_path_buf(),
            look,
            notes,
            text: None,
            encoding: options.encoding,
        };
        (schema, part, rows_hint)
    }))
}

/// The rows of CSV `parts`, in order, whose columns are `columns` (their types unified over
/// the parts), projected to `projection`: the columns in `numeric` read as Float64, those in
/// `text` as text, and the fields `nulls` marks as missing values. One stream of blocks runs
/// through all the parts, decoded on every thread.
///
/// # Errors
/// When the reading thread cannot be started.
pub(super) fn decode_parts(
    parts: Vec<Part>,
    columns: &Schema,
    projection: &[usize],
    numeric: &[usize],
    text: &[usize],
    nulls: &Nulls,
) -> Result<Batches> {
    decode_parts_in_blocks(
        parts,
        columns,
        projection,
        numeric,
        text,
        nulls,
        CSV_BLOCK_BYTES,
    )
}

/// [`decode_parts`] in blocks of about `block_bytes`.
fn decode_parts_in_blocks(
    parts: Vec<Part>,
    columns: &Schema,
    projection: &[usize],
    numeric: &[usize],
    text: &[usize],
    nulls: &Nulls,
    block_bytes: usize,
) -> Result<Batches> {
    // Parts alike (the usual folder: one writer) share their decoders.
    let mut looks: Vec<&Look> = Vec::new();
    let kind_of: Vec<usize> = parts
        .iter()
        .map(|part| {
            looks
                .iter()
                .position(|l| **l == part.look)
                .unwrap_or_else(|| {
                    looks.push(&part.look);
                    looks.len() - 1
                })
        })
        .collect();
    for (kind, look) in looks.iter().enumerate() {
        if look.delimiter == b',' {
            continue;
        }
        let mut alike = (0..parts.len()).filter(|&i| kind_of[i] == kind);
        let first = alike.next().expect("every kind has a part");
        let others = alike.count();
        let names: Vec<&str> = look
            .commas
            .iter()
            .map(|&i| columns.field(i).name().as_str())
            .collect();
        log::info!(
            "{}{}: columns split by {:?}{}",
            parts[first].path.display(),
            match others {
                0 => String::new(),
                1 => " and 1 other part".into(),
                n => format!(" and {n} other parts"),
            },
            char::from(look.delimiter),
            if names.is_empty() {
                String::new()
            } else {
                format!("; decimal commas in {}", names.join(", "))
            }
        );
    }
    let kinds: Vec<Kind> = looks
        .iter()
        .map(|look| kind(look, columns, projection, numeric, text, nulls))
        .collect();
    let mut decoded = Vec::with_capacity(parts.len());
    let mut to_read = Vec::with_capacity(parts.len());
    for (part, kind) in parts.into_iter().zip(kind_of) {
        decoded.push(DecodedPart {
            path: part.path.clone(),
            kind,
        });
        to_read.push(ToRead {
            path: part.path,
            delimiter: part.look.delimiter,
            text: part.text,
            encoding: part.encoding,
        });
    }
    let threads = rayon::current_num_threads();
    let blocks = ReadAhead::start(to_read, block_bytes, threads).map_err(|e| {
        Error::Internal(format!(
            "cannot start the thread reading the CSV input: {e}"
        ))
    })?;
    let names = columns.fields().iter().map(|f| f.name().clone()).collect();
    Ok(Box::new(ParallelCsv::new(blocks, kinds, decoded, names)) as Batches)
}

/// The decoding of parts that look like `look`, with the columns `columns`.
fn kind(
    look: &Look,
    columns: &Schema,
    projection: &[usize],
    numeric: &[usize],
    text: &[usize],
    nulls: &Nulls,
) -> Kind {
    let commas = &look.commas;
    // Features are read as Float64 whatever the first rows looked like, so an integer-looking
    // column with a later "2.5" still parses; columns not read are text, and so are
    // decimal-comma columns until each batch converts them.
    let fields: Vec<_> = columns
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let data_type = if !projection.contains(&i) || text.contains(&i) || commas.contains(&i)
            {
                DataType::Utf8
            } else if numeric.contains(&i) && f.data_type() != &DataType::Boolean {
                // A boolean feature (named, read as 1 and 0) stays boolean: "true" is no number.
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
    // Positions in the projected batch of the decimal-comma columns not asked for as text.
    let converted: Vec<usize> = projection
        .iter()
        .enumerate()
        .filter(|&(_, i)| commas.contains(i) && !text.contains(i))
        .map(|(j, _)| j)
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let projection = projection.to_vec();
    let rows = nulls.applied(
        arrow_csv::reader::Format::default()
            .with_header(false)
            .with_delimiter(look.delimiter),
    );
    let decoder = move || {
        arrow_csv::ReaderBuilder::new(schema.clone())
            .with_format(rows.clone())
            .with_batch_size(BATCH_ROWS)
            .with_projection(projection.clone())
            .build_decoder()
    };
    Kind {
        decoder: Box::new(decoder),
        converted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text columns of a comma-split `text`, as `look_at` samples them.
    fn sample_of(text: &str) -> (Vec<usize>, RecordBatch) {
        sample_typed(text, &DataType::Utf8)
    }

    /// The columns of a comma-split `text` that inference types `data_type`, as `look_at`
    /// samples them.
    fn sample_typed(text: &str, data_type: &DataType) -> (Vec<usize>, RecordBatch) {
        let format = arrow_csv::reader::Format::default().with_header(true);
        let (schema, _) = format
            .infer_schema(BufReader::new(text.as_bytes()), None)
            .unwrap();
        text_sample(
            text.as_bytes(),
            &format,
            &schema,
            100,
            std::slice::from_ref(data_type),
        )
        .unwrap()
    }

    #[test]
    fn integers_with_leading_zeros_are_told() {
        let text = "id,visits,zip,delta,code,city\n\
                    00123,3,2134,-07,+0012,Paris\n\
                    00124,0,90210,5,7,Rome\n\
                    10125,10,02134,-5,0,Oslo\n";
        let sample = sample_typed(text, &DataType::Int64);
        assert_eq!(sample.0, [0, 1, 2, 3, 4]);
        // A lone zero, or a minus sign before a number, is no padding.
        assert_eq!(
            zero_padded_columns(&sample),
            [
                (0, "00123".to_string()),
                (2, "02134".to_string()),
                (3, "-07".to_string()),
                (4, "+0012".to_string())
            ]
        );
    }

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
    fn a_separator_line_for_excel_is_told_from_a_header_row() {
        assert_eq!(separator_line(b"sep=;\nid;a\n"), Some((6, b';')));
        assert_eq!(
            separator_line(b"\xef\xbb\xbfsep=,\r\nid,a\r\n"),
            Some((10, b','))
        );
        assert_eq!(separator_line(b"sep=\t\rid\ta\r"), Some((6, b'\t')));
        assert_eq!(separator_line(b"sep=|"), Some((5, b'|')));
        // A header row that only starts so, or a line naming no delimiter, is a header row.
        for header in [
            &b"sep=;x\n"[..],
            b"sep=\n1\n",
            b"sep=\"\n",
            b"sep,a\n",
            b"sep",
        ] {
            assert_eq!(separator_line(header), None, "{header:?}");
        }
        let mut rest = String::new();
        without_separator_line(Box::new(&b"\xef\xbb\xbfsep=,\r\nid,a\r\n"[..]))
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        assert_eq!(rest, "id,a\r\n");
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
        fn new(name: &str, text: impl AsRef<[u8]>) -> TempCsv {
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
        let kinds = vec![Kind {
            decoder: Box::new(decoder),
            converted: Vec::new(),
        }];
        let part = DecodedPart {
            path: file.0.clone(),
            kind: 0,
        };
        // Read ahead by one block, or two: a round of blocks may end before or after them.
        let ahead = 1 + block_bytes % 2;
        let text = Text::open(&file.0, File::open(&file.0).unwrap(), Encoding::Utf8).unwrap();
        let to_read = ToRead {
            path: file.0.clone(),
            delimiter: b',',
            text: Some(text),
            encoding: Encoding::Utf8,
        };
        let blocks = ReadAhead::start(vec![to_read], block_bytes, ahead).unwrap();
        let csv = ParallelCsv::new(blocks, kinds, vec![part], vec!["a".into(), "b".into()]);
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
        // Text as it is: the file's length.
        assert_eq!(text_len(1_000, 10, 10), 1_000);
        // 400 bytes of text from the first 100 of a 1,000-byte file: 4,000 bytes of text.
        assert_eq!(text_len(1_000, 400, 100), 4_000);
        // UTF-16 read as UTF-8, about half as long.
        assert_eq!(text_len(1_000, 51, 100), 510);
        // The head is the whole text when the whole file was read for it.
        assert_eq!(text_len(1_000, 3_500, 1_000), 3_500);
        // Nothing read (an empty file).
        assert_eq!(text_len(0, 0, 0), 0);
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
            let csv = Text::open(&path, File::open(&path).unwrap(), Encoding::Utf8).unwrap();
            assert_eq!(csv.compression, compression);
            let limit = ratio_bytes(compression);
            let head = csv.head(limit).unwrap();
            assert_eq!(head.text, text.as_bytes()[..limit], "{name}");
            assert!(!head.whole);
            let estimate = text_len(bytes.len() as u64, head.text.len(), head.used);
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
            let all = csv.head(text.len() + 1).unwrap();
            assert_eq!(all.text.len(), text.len());
            assert!(all.whole);
            let whole = text_len(bytes.len() as u64, all.text.len(), all.used);
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
        let csv = Text::stream(b"a,b\n", stream(), Encoding::Utf8).unwrap();
        let mut sample = Vec::new();
        csv.sample(b',').unwrap().read_to_end(&mut sample).unwrap();
        assert!(sample.len() <= STREAM_HEAD_BYTES && sample.len() > STREAM_HEAD_BYTES - 2_100);
        assert!(sample.ends_with(b"\n") && text.as_bytes().starts_with(&sample));
        // Its types come from whole rows, and every row is read, across the seam.
        let opened = open_csv_stream(
            PathBuf::from("stream"),
            b"a,b\n",
            stream(),
            &CsvOptions::default(),
        )
        .unwrap();
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
    fn utf16_is_looked_at_and_its_rows_estimated_as_utf8() {
        // More UTF-16 than the head read to tell the delimiter and estimate the rows: half as
        // many bytes of UTF-8 as of the file. The types come from the first 10,000 rows, more
        // than the head holds: visits has a fraction only after row 5,000.
        let mut text = String::from("name\tspend\tvisits\r\n");
        for i in 0..20_000 {
            let visits = if i < 5_000 { "300" } else { "3.5" };
            text.push_str(&format!("Zoë {i:05}\t{}.5\t{visits}\r\n", i % 97));
        }
        let raw: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(raw.len() > 4 * CSV_SNIFF_BYTES);
        let file = TempCsv::new("utf16", &raw);
        let opened = open_csv(
            file.0.clone(),
            File::open(&file.0).unwrap(),
            &CsvOptions::default(),
        )
        .unwrap();
        let types: Vec<(&str, &DataType)> = opened
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type()))
            .collect();
        assert_eq!(
            types,
            [
                ("name", &DataType::Utf8),
                ("spend", &DataType::Float64),
                ("visits", &DataType::Float64)
            ]
        );
        let hint = opened.rows_hint().unwrap();
        assert!((19_500..20_500).contains(&hint), "{hint} rows estimated");
        let batches: Vec<RecordBatch> = opened
            .batches_with_text(&[0, 1, 2], &[1, 2], &[0])
            .unwrap()
            .map(|batch| batch.unwrap())
            .collect();
        let last = batches.last().unwrap();
        let names = last.column(0).as_string::<i32>();
        assert_eq!(names.value(names.len() - 1), "Zoë 19999");
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 20_000);
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
        let names = ["id".to_string(), "spend".to_string()];
        assert_eq!(
            with_column_name(parse, &names),
            "Error while parsing value 'x' as type 'Float64' for column 'spend' at line 3. Row data: '[1, x]'"
        );
        let beyond = parse.replace("column 1", "column 2");
        assert_eq!(with_column_name(&beyond, &names), beyond);
        assert_eq!(with_column_name("no column here", &names), "no column here");
    }

    #[test]
    fn records_end_after_the_header_row() {
        let text = b"a,b\n1,\"x\ny\"\n2,3\n4,5";
        assert_eq!(records_end(text, b',', 0), Some(4));
        assert_eq!(records_end(text, b',', 1), Some(12));
        assert_eq!(records_end(text, b',', 2), Some(16));
        // The last record has no newline: it is not known to be whole.
        assert_eq!(records_end(text, b',', 3), None);
    }

    #[test]
    fn numbers_with_spaces_around_them_are_typed_as_numbers() {
        let text = "id, visits, spend, city, blank, mixed, flag\n\
                    1, 3, 12.5, Paris,  , 4, true\n\
                    2, 10 ,7, Rome, 1, x, false\n\
                    3,,  -1e3 , Oslo, 2, 5, true\n";
        let sample = sample_of(text);
        // Integers (and an empty field) are Int64, other numbers Float64; text, a field of
        // spaces alone, a word among numbers and text booleans stay as they are, and so do
        // the columns skipped.
        assert_eq!(
            padded_number_columns(&sample, &[]),
            [(1, DataType::Int64), (2, DataType::Float64)]
        );
        assert_eq!(padded_number_columns(&sample, &[2]), [(1, DataType::Int64)]);
        assert_eq!(header_name(" spend "), "spend");
        assert_eq!(header_name(" \"spend \"\"x\"\"\""), "spend \"x\"");
        // A name quoted in the file, with no space before it, came without its quotes.
        assert_eq!(header_name("\"id\""), "\"id\"");
        // Numbers without spaces were typed by the inference already; nothing to do.
        let sample = sample_of("a,b\n1,x\n2,y\n");
        assert!(padded_number_columns(&sample, &[]).is_empty());
    }

    #[test]
    fn numbers_as_spreadsheets_show_them_are_told() {
        for (text, value) in [
            ("$1,777.92", 1777.92),
            ("€ 2,380", 2380.0),
            ("12.50 €", 12.5),
            ("-$5.00", -5.0),
            ("$-5.00", -5.0),
            ("($24.66)", -24.66),
            ("13.0%", 13.0),
            ("48.5 %", 48.5),
            ("1,234,567", 1_234_567.0),
            ("£0.99", 0.99),
        ] {
            assert_eq!(
                unformatted(text, Marks::DecimalPoint),
                Some(value),
                "{text}"
            );
        }
        // Plain numbers, words, and commas that are no thousands separators are not.
        for text in [
            "12.5", "-3", "NULL", "$", "1,23", "12,3456", "$1.2.3", "1,234.5x", "$x",
        ] {
            assert_eq!(unformatted(text, Marks::DecimalPoint), None, "{text}");
        }
        let text = "id,spend,share,plain,mixed,word\n\
                    1,\"$1,777.92\",13%,5,\"$3\",x\n\
                    2,\"$12.00\",7.5%,6,abc,y\n\
                    3,4.5,1%,7,\"$4\",z\n";
        let sample = sample_of(text);
        // Formatted and plain numbers together are; a word among them, or words alone, not.
        assert_eq!(
            formatted_number_columns(&sample, &[], false),
            [(1, "$1,777.92".to_string()), (2, "13%".to_string())]
        );
        assert_eq!(
            formatted_number_columns(&sample, &[1], false),
            [(2, "13%".to_string())]
        );
    }

    #[test]
    fn numbers_as_european_spreadsheets_show_them_are_told() {
        for (text, value) in [
            ("1.234,50", 1234.5),
            ("1.234.567", 1_234_567.0),
            ("1 234,50 €", 1234.5),
            ("1\u{a0}234,5", 1234.5),
            ("12\u{202f}345", 12345.0),
            ("12,5 %", 12.5),
            ("-€ 3,10", -3.1),
            ("€7", 7.0),
        ] {
            assert_eq!(
                unformatted(text, Marks::DecimalComma),
                Some(value),
                "{text}"
            );
        }
        // A plain decimal comma is no formatting; nor are groups not of three, or two kinds of
        // separator in one number.
        for text in [
            "12,5",
            "7",
            "1.23,5",
            "1.234 567",
            "12.34",
            "1,234.50",
            "x €",
        ] {
            assert_eq!(unformatted(text, Marks::DecimalComma), None, "{text}");
        }
        // Either convention tells a failed value from a word.
        for text in ["1.234,50", "$1,234.50", "45%"] {
            assert!(is_formatted_number(text), "{text}");
        }
        for text in ["NULL", "12,5", "1.5", "n/a", "1,23"] {
            assert!(!is_formatted_number(text), "{text}");
        }
    }

    #[test]
    fn words_among_numbers_are_told_from_text_columns() {
        let text = "id,spend,visits,city,code,note,amount\n\
                    C1,12.5,3,Paris,a,NULL,\"1,5\"\n\
                    C2,NULL,\\N,Rome,b,NULL,2\n\
                    C3,7,NA,Oslo,c,NULL,\n\
                    C4,NULL,N/A,Lima,d,NULL,3\n\
                    C5,1e3,1,Kiev,5,NULL,4\n";
        let sample = sample_of(text);
        // Numbers with one word (spend), with three (visits); all text (id, city), more than
        // three words (code: a, b, c, d), words alone (note) are not. Columns skipped are not
        // looked at (amount, whose "1,5" is a decimal comma where commas do not split).
        assert_eq!(
            words_among_numbers(&sample, &[6], false),
            [
                (1, vec!["NULL".to_string()]),
                (2, vec!["\\N".into(), "NA".into(), "N/A".into()]),
            ]
        );
        assert_eq!(words_among_numbers(&sample, &[], false).len(), 3);
        // A fourth word and the column is no column of numbers with words among them.
        let sample = sample_of(&text.replace("C5,1e3,1,", "C5,1e3,none,"));
        assert_eq!(
            words_among_numbers(&sample, &[6], false),
            [(1, vec!["NULL".to_string()])]
        );
        // Where commas do not split the columns, a decimal comma is a number, not a word.
        let sample = sample_of("id,amount\nC1,\"1,5\"\nC2,NULL\nC3,2\n");
        assert_eq!(
            words_among_numbers(&sample, &[], true),
            [(1, vec!["NULL".to_string()])]
        );
        assert_eq!(
            words_among_numbers(&sample, &[], false),
            [(1, vec!["1,5".to_string(), "NULL".to_string()])]
        );
    }

    #[test]
    fn null_values_match_whole_fields_as_written() {
        let texts = ["NULL", "\\N", "N/A", "(null)", ".", "", "NULL"];
        let nulls = Nulls::new(texts.iter().map(|t| t.to_string())).unwrap();
        // The empty field is marked already; a repeated text is kept once.
        assert_eq!(nulls.texts(), ["NULL", "\\N", "N/A", "(null)", "."]);
        let pattern = nulls.pattern.as_ref().unwrap();
        for field in ["", "NULL", "\\N", "N/A", "(null)", "."] {
            assert!(pattern.is_match(field), "{field:?}");
        }
        // Whole fields only, case and spaces as written; pattern characters are literal.
        for field in [
            "null", "NULL ", " NULL", "xNULL", "\\", "N", "NA", "null)", "5", "1.5",
        ] {
            assert!(!pattern.is_match(field), "{field:?}");
        }
        // Only the empty field: arrow's own test, no pattern.
        assert!(Nulls::new([String::new()]).unwrap().pattern.is_none());
        assert!(Nulls::new([]).unwrap().texts().is_empty());
    }

    #[test]
    fn a_part_is_typed_from_its_first_rows_only() {
        // A text value in data row 999 or 1,000 of a gzip part longer than its head: the rows
        // looked at are the first 1,000, taken from the text read for the estimate.
        for (text_row, want) in [(999, DataType::Utf8), (1_000, DataType::Int64)] {
            let mut text = String::from("id,x\n");
            for i in 0..200_000 {
                if i == text_row {
                    text.push_str(&format!("{i},word\n"));
                } else {
                    text.push_str(&format!("{i},{}\n", i % 97));
                }
            }
            let path = std::env::temp_dir().join(format!(
                "strata-csv-typed-{text_row}-{}.csv.gz",
                std::process::id()
            ));
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
            std::fs::write(&path, gz.finish().unwrap()).unwrap();
            let (part_schema, _, _) = look_at_part(&path, false, &CsvOptions::default())
                .unwrap()
                .unwrap();
            let (file_schema, _, _) = look_at_part(&path, true, &CsvOptions::default())
                .unwrap()
                .unwrap();
            std::fs::remove_file(&path).unwrap();
            assert_eq!(part_schema.field(1).data_type(), &want, "row {text_row}");
            assert_eq!(file_schema.field(1).data_type(), &DataType::Utf8);
        }
    }

    /// Part files named `name` holding `text`, in the temporary folder, removed when dropped.
    fn temp_parts(name: &str, texts: &[&str]) -> Vec<TempCsv> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| TempCsv::new(&format!("{name}-part{i}"), text))
            .collect()
    }

    /// The columns of the parts in these tests: `id` (Int64) and `x` (Float64).
    fn id_and_x() -> Schema {
        Schema::new(vec![
            arrow_schema::Field::new("id", DataType::Int64, true),
            arrow_schema::Field::new("x", DataType::Float64, true),
        ])
    }

    /// Columns `id` (Int64) and `x` (a feature) of `files`, looked at as a folder's parts and
    /// decoded in blocks of about `block_bytes` on `threads` threads: each row's id and x.
    fn decode_files(
        files: &[TempCsv],
        block_bytes: usize,
        threads: usize,
    ) -> Result<Vec<(i64, f64)>> {
        let parts: Vec<Part> = files
            .iter()
            .enumerate()
            .map(|(i, file)| {
                look_at_part(&file.0, i == 0, &CsvOptions::default())
                    .unwrap()
                    .unwrap()
                    .1
            })
            .collect();
        let columns = id_and_x();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut rows = Vec::new();
            for batch in decode_parts_in_blocks(
                parts,
                &columns,
                &[0, 1],
                &[1],
                &[],
                &Nulls::default(),
                block_bytes,
            )? {
                let batch = batch?;
                let ids = batch
                    .column(0)
                    .as_primitive::<arrow_array::types::Int64Type>();
                let xs = batch
                    .column(1)
                    .as_primitive::<arrow_array::types::Float64Type>();
                rows.extend(
                    ids.values()
                        .iter()
                        .copied()
                        .zip(xs.values().iter().copied()),
                );
            }
            Ok(rows)
        })
    }

    #[test]
    fn parts_run_through_one_stream_of_blocks() {
        // Parts of two kinds (commas; semicolons with decimal commas), one with no rows, one
        // with no newline after its last row, and one row quoted across a line break: in
        // blocks that hold several parts, or pieces of one, on one thread or three.
        let mut texts = vec![String::from("id,x\n"); 7];
        let mut want = Vec::new();
        for (part, text) in texts.iter_mut().enumerate() {
            if part == 2 {
                *text = "id;x\n".into();
            }
            if part == 4 {
                continue;
            }
            for row in 0..(part * 13 + 3) {
                let id = (part * 1000 + row) as i64;
                let x = row as f64 + 0.5;
                match (part, row) {
                    (2, _) => text.push_str(&format!("{id};{row},5\n")),
                    (3, 1) => text.push_str(&format!("\"{id}\",\"{x}\"\n")),
                    _ => text.push_str(&format!("{id},{x}\n")),
                }
                want.push((id, x));
            }
        }
        texts[6].pop();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let files = temp_parts("stream", &texts);
        for block_bytes in [1, 7, 64, 1 << 20] {
            for threads in [1, 3] {
                let rows = decode_files(&files, block_bytes, threads).unwrap();
                assert_eq!(rows, want, "blocks of {block_bytes}, {threads} threads");
            }
        }
    }

    #[test]
    fn an_error_names_its_part_and_the_row_in_it() {
        let files = temp_parts(
            "error",
            &["id,x\n1,1\n2,2\n", "id,x\n3,3\n4,4\n5,5\n6,oops\n7,7\n"],
        );
        for block_bytes in [1, 1 << 20] {
            let err = decode_files(&files, block_bytes, 3)
                .unwrap_err()
                .to_string();
            let second = files[1].0.display().to_string();
            assert!(err.contains(&format!("cannot read '{second}'")), "{err}");
            assert!(err.contains("'oops'") && err.contains("row 3"), "{err}");
        }
        // A part gone by the time its rows are reached: the rows before it, then the error.
        let look = || -> Vec<Part> {
            files
                .iter()
                .map(|f| {
                    look_at_part(&f.0, true, &CsvOptions::default())
                        .unwrap()
                        .unwrap()
                        .1
                })
                .collect()
        };
        let (parts, first_gone) = (look(), look());
        let columns = id_and_x();
        let decode = |parts| -> Vec<Result<RecordBatch>> {
            decode_parts(parts, &columns, &[0, 1], &[1], &[], &Nulls::default())
                .unwrap()
                .collect()
        };
        let gone = |result: &Result<RecordBatch>| matches!(result, Err(Error::InputMissing(m)) if m.contains("cannot open input"));
        std::fs::remove_file(&files[1].0).unwrap();
        let results = decode(parts);
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].as_ref().unwrap().num_rows(), 2);
        assert!(gone(&results[1]));
        std::fs::remove_file(&files[0].0).unwrap();
        let results = decode(first_gone);
        assert_eq!(results.len(), 1);
        assert!(gone(&results[0]));
    }
}
