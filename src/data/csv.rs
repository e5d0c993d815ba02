//! CSV inputs: the delimiter told from the header row, column types inferred from the first
//! rows, decimal commas read as numbers in files not split by commas.

use super::read::{BATCH_ROWS, Batches, Opened};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{ArrowError, DataType, Schema};
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows read to infer CSV column types.
const CSV_INFER_ROWS: usize = 10_000;

/// Bytes of a CSV input's first line looked at to tell its delimiter.
const CSV_SNIFF_BYTES: usize = 64 * 1024;

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
    file: &mut File,
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
        .build(BufReader::new(&mut *file))
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

pub(super) fn open_csv(path: PathBuf, mut file: File) -> Result<Opened> {
    let mut head = Vec::with_capacity(CSV_SNIFF_BYTES);
    (&mut file)
        .take(CSV_SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| Error::read_input(&path, e))?;
    file.rewind().map_err(|e| Error::open_input(&path, &e))?;
    let delimiter = sniff_delimiter(&head);
    let format = arrow_csv::reader::Format::default()
        .with_header(true)
        .with_delimiter(delimiter);
    let (mut schema, _) = format
        .infer_schema(BufReader::new(&file), Some(CSV_INFER_ROWS))
        .map_err(|e| Error::read_input(&path, e))?;
    if schema.fields().is_empty() {
        return Err(Error::data(format!(
            "input '{}' is empty: a CSV input needs a header row naming its columns",
            path.display()
        )));
    }
    // A decimal comma is only possible when the comma does not split the columns.
    let mut commas = Vec::new();
    if delimiter != b',' {
        file.rewind().map_err(|e| Error::open_input(&path, &e))?;
        commas = decimal_comma_columns(&mut file, &format, &schema);
        let names: Vec<&str> = commas
            .iter()
            .map(|&i| schema.field(i).name().as_str())
            .collect();
        log::info!(
            "{}: columns split by {:?}{}",
            path.display(),
            char::from(delimiter),
            if names.is_empty() {
                String::new()
            } else {
                format!("; decimal commas in {}", names.join(", "))
            }
        );
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
    file.rewind().map_err(|e| Error::open_input(&path, &e))?;
    let schema = Arc::new(schema);
    let inferred = schema.clone();
    Ok(Opened {
        schema,
        rows_hint: None,
        open: Box::new(
            move |projection: &[usize], numeric: &[usize], text: &[usize]| {
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
                let reader = arrow_csv::ReaderBuilder::new(Arc::new(Schema::new(fields)))
                    .with_format(format)
                    .with_batch_size(BATCH_ROWS)
                    .with_projection(projection.to_vec())
                    .build(BufReader::with_capacity(1 << 20, file))
                    .map_err(|e| Error::read_input(&path, e))?;
                let mut rows: u64 = 0;
                let iter = reader.map(move |batch| {
                    let batch = batch.map_err(|e| match e {
                        // A value that does not parse as its column's type (the types come
                        // from the first rows): the file is fine, that value is not.
                        ArrowError::ParseError(_) => Error::data(format!(
                            "cannot read '{}': {e}; fix that value, or leave its column out of \
                             the features",
                            path.display()
                        )),
                        e => Error::read_input(&path, e),
                    })?;
                    let first_row = rows;
                    rows += batch.num_rows() as u64;
                    if converted.is_empty() {
                        Ok(batch)
                    } else {
                        convert_decimal_commas(batch, &converted, first_row, &path)
                    }
                });
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
}
