//! The id column: kept in its input type, checked for nulls and duplicates, written back out.
//!
//! Integer ids are held as `i64`/`u64` vectors and string ids as one Arrow string array, so the
//! column costs what it costs in the input and no more; floating-point and decimal ids, whole
//! numbers, are held as `i64` too and written back in their type. Duplicates are found by sorting each
//! row's number packed with a 32-bit hash of its id (O(n) extra memory of `u64`), never with a
//! hash set of every id.

use crate::error::{Error, Result};
use arrow_array::builder::LargeStringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Float64Type, Int64Type, UInt64Type};
use arrow_array::{Array, ArrayRef, Int64Array, LargeStringArray, UInt64Array};
use arrow_schema::DataType;
use rayon::prelude::*;
use std::cmp::Ordering;
use std::sync::Arc;

enum Values {
    Int(Vec<i64>),
    UInt(Vec<u64>),
    Str(LargeStringArray),
}

/// The id column of the input, in input order, with its name and original Arrow type.
pub struct IdColumn {
    name: String,
    data_type: DataType,
    values: Values,
}

/// Collects the id column batch by batch while the input streams.
pub struct IdColumnBuilder {
    name: String,
    data_type: DataType,
    ints: Vec<i64>,
    uints: Vec<u64>,
    strings: Option<LargeStringBuilder>,
    nulls: u64,
    first_null: Option<u64>,
    /// Whether the ids are integers read from their text (a CSV's, typed from its first rows):
    /// each is checked as written, and the column turns to text at the first that is no plain
    /// integer (`A-17`, `007`), which a number would fail on or change.
    from_text: bool,
    /// Whether ids have been taken (and so written out with the column's type).
    taken: bool,
}

/// How duplicate ids are handled (`--duplicates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplicatePolicy {
    /// A duplicate id is an error.
    Error,
    /// Keep the first row of each id.
    First,
    /// Keep the last row of each id.
    Last,
}

/// The outcome of the duplicate check.
#[derive(Debug, Default)]
pub struct Duplicates {
    /// Rows that repeat an id seen on another kept row.
    pub rows: u64,
    /// Distinct ids that occur more than once.
    pub ids: u64,
    /// One duplicated id, as text, with two rows it occurs on.
    pub example: Option<(String, u64, u64)>,
    /// Per row: false for the rows to drop under `first`/`last` (empty when there are none).
    pub drop: Vec<bool>,
}

fn is_signed(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

fn is_unsigned(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
    )
}

fn is_float(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    )
}

/// Whether keys of `data_type` are numbers that need not be whole, and are taken as keys when
/// they are (see [`whole_numbers`]): floating-point and decimal columns.
pub fn is_whole_number_type(data_type: &DataType) -> bool {
    is_float(data_type)
        || matches!(
            data_type,
            DataType::Decimal32(..)
                | DataType::Decimal64(..)
                | DataType::Decimal128(..)
                | DataType::Decimal256(..)
        )
}

/// Whether ids of `data_type` are held as `i64`: signed integers, and floating-point and
/// decimal ids, which are whole numbers (see [`whole_numbers`]).
fn held_as_signed(data_type: &DataType) -> bool {
    is_signed(data_type) || is_whole_number_type(data_type)
}

/// Gives `push` each key of `array`, a floating-point or decimal column, as the whole number
/// it holds (`None` for a null). pandas makes a column of integer ids Float64 once one is
/// missing (an export from it holds `17850.0`); a warehouse's NUMBER(38,0) is a decimal.
/// Returns the position and text of the first that is not a whole number within the 64-bit
/// integers; the keys before it were given.
///
/// # Errors
/// If `array` is of neither type (a bug in the caller's typing), or a decimal too wide for 38
/// digits.
pub fn whole_numbers(
    array: &ArrayRef,
    mut push: impl FnMut(Option<i64>),
) -> Result<Option<(usize, String)>> {
    let scale = match array.data_type() {
        DataType::Decimal32(_, s)
        | DataType::Decimal64(_, s)
        | DataType::Decimal128(_, s)
        | DataType::Decimal256(_, s) => *s,
        _ => {
            let cast = arrow_cast::cast(array, &DataType::Float64)
                .map_err(|e| Error::Internal(format!("floating-point keys: {e}")))?;
            // 2^63: the first whole number past i64, and exactly an f64.
            const PAST: f64 = 9_223_372_036_854_775_808.0;
            for (i, value) in cast.as_primitive::<Float64Type>().iter().enumerate() {
                match value {
                    None => push(None),
                    Some(v) if v.fract() == 0.0 && (-PAST..PAST).contains(&v) => {
                        push(Some(v as i64));
                    }
                    Some(v) => return Ok(Some((i, v.to_string()))),
                }
            }
            return Ok(None);
        }
    };
    // Every decimal of up to 38 digits is exactly a Decimal128 of its scale; a wider one that
    // is not stops here.
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    let cast = arrow_cast::cast_with_options(array, &DataType::Decimal128(38, scale), &options)
        .map_err(|e| Error::data(format!("decimal keys of more than 38 digits: {e}")))?;
    let decimals = cast.as_primitive::<Decimal128Type>();
    let unit = 10i128
        .checked_pow(u32::from(scale.unsigned_abs()))
        .ok_or_else(|| Error::data(format!("decimal keys of scale {scale}: too wide")))?;
    for (i, raw) in decimals.iter().enumerate() {
        let Some(raw) = raw else {
            push(None);
            continue;
        };
        let whole = match scale {
            0 => Some(raw),
            s if s > 0 => (raw % unit == 0).then_some(raw / unit),
            _ => raw.checked_mul(unit),
        };
        match whole.and_then(|w| i64::try_from(w).ok()) {
            Some(key) => push(Some(key)),
            None => return Ok(Some((i, decimals.value_as_string(i)))),
        }
    }
    Ok(None)
}

/// The error for a key column (`what`: id or customer) named `name`, floating-point or decimal
/// (`data_type`), that holds `value`, no whole number within the 64-bit integers, at `row`.
pub fn not_whole(what: &str, name: &str, data_type: &DataType, row: u64, value: &str) -> Error {
    let why = if is_float(data_type) {
        " (pandas holds a column of integers as floating-point once a value is missing)"
    } else {
        ""
    };
    Error::data(format!(
        "{what} column '{name}' holds {value} at row {row}, not a whole number within the \
         64-bit integers; a {data_type} {what} column is read as whole numbers{why}: fix that \
         value, or write the column as integers or text"
    ))
}

fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// The integer `text` writes plainly: digits with no leading zero (but 0 itself), after a minus
/// sign if negative; `None` for any other text, or a number outside i64.
fn plain_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain = match digits.as_bytes() {
        [b'0'] => !text.starts_with('-'),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    plain.then(|| text.parse().ok()).flatten()
}

/// Gives `push` each value of `text`, integers given as text, as a number (`None` for a null)
/// while each is one written plainly (spaces around it aside); returns the position and the
/// text of the first that is not.
pub fn plain_integers(
    text: &arrow_array::StringArray,
    mut push: impl FnMut(Option<i64>),
) -> Option<(usize, &str)> {
    for (i, value) in text.iter().enumerate() {
        match value.map(|v| (v, plain_integer(v.trim_ascii()))) {
            None => push(None),
            Some((_, Some(number))) => push(Some(number)),
            Some((value, None)) => return Some((i, value)),
        }
    }
    None
}

/// A key's text in a column that was read as integers from its text until `turned` (see
/// [`plain_integers`]): the keys read as integers were read without the spaces around them, so
/// the rest are too, or ` 12` after the turn would be another id than ` 12` before it.
pub fn key_text(text: &str, turned: bool) -> &str {
    if turned { text.trim_ascii() } else { text }
}

/// Logs that the key column `name` (of ids or customers: `what`) whose first rows held whole
/// numbers is read and written as text, since row `row` holds `value`, which is no plain one.
pub fn warn_turned_to_text(what: &str, name: &str, row: u64, value: &str) {
    log::warn!(
        "{what} column '{name}' is read and written as text: row {row} holds '{value}', no \
         whole number written plainly as the {what}s of its first rows"
    );
}

/// The type an id column's values have: a dictionary-encoded column (a pandas `category`, a
/// Parquet column written with its dictionary) holds values of its dictionary's type, and is
/// read, and written back, decoded as that type.
pub fn decoded_type(data_type: &DataType) -> &DataType {
    match data_type {
        DataType::Dictionary(_, values) => values,
        other => other,
    }
}

impl IdColumnBuilder {
    /// Starts an id column named `name` of `data_type`.
    ///
    /// # Errors
    /// If the type is neither an integer, a string, a floating-point nor a decimal type.
    pub fn new(name: &str, data_type: &DataType) -> Result<Self> {
        let data_type = decoded_type(data_type);
        if !(held_as_signed(data_type) || is_unsigned(data_type) || is_string(data_type)) {
            return Err(Error::data(format!(
                "id column '{name}' has type {data_type}; an id must be an integer, a string, \
                 or a floating-point or decimal column of whole numbers"
            )));
        }
        if is_float(data_type) {
            log::info!(
                "id column '{name}' has type {data_type}: its ids are read as whole numbers, and \
                 written back as {data_type}"
            );
        }
        Ok(Self {
            name: name.to_string(),
            data_type: data_type.clone(),
            ints: Vec::new(),
            uints: Vec::new(),
            strings: is_string(data_type).then(LargeStringBuilder::new),
            nulls: 0,
            first_null: None,
            from_text: false,
            taken: false,
        })
    }

    /// Starts an id column named `name` of integers given as text (a CSV's, whose first rows
    /// held whole numbers): Int64 while every id is one written plainly, text from the first
    /// that is not, with the ids before it as written.
    pub fn integers_from_text(name: &str) -> Self {
        let mut builder = Self::new(name, &DataType::Int64).expect("Int64 is an id type");
        builder.from_text = true;
        builder
    }

    /// Appends `text`, the ids of the rows from `row_base`, as integers while each is one
    /// written plainly (spaces around it aside); at the first that is not, the column turns to
    /// text: the ids before it were plain integers, so their text is their number's. The
    /// rest of `text` is then left to the caller: its position is returned.
    ///
    /// # Errors
    /// Exit 65 when some ids were taken as integers already (a block of a stream written out).
    fn append_integers(&mut self, text: &arrow_array::StringArray, row_base: u64) -> Result<usize> {
        // A null was counted; it reads as 0 here, as in other integer columns.
        let ints = &mut self.ints;
        let Some((i, value)) = plain_integers(text, |id| ints.push(id.unwrap_or(0))) else {
            return Ok(text.len());
        };
        let row = row_base + i as u64;
        if self.taken {
            return Err(Error::data(format!(
                "id column '{}' holds '{value}' at row {row}, no whole number written plainly \
                 as the ids before it, which are written out as integers already; a CSV id \
                 column's type comes from its first rows: fix the ids, or write them all as \
                 text in a file whose type the input says (Parquet)",
                self.name
            )));
        }
        warn_turned_to_text("id", &self.name, row, value);
        let mut strings = LargeStringBuilder::new();
        for number in self.ints.drain(..) {
            strings.append_value(number.to_string());
        }
        self.strings = Some(strings);
        self.data_type = DataType::Utf8;
        Ok(i)
    }

    /// Appends one batch's id values; `row_base` is the input row of the batch's first row.
    ///
    /// # Errors
    /// If the column cannot be cast to the id representation (a bug in the caller's typing).
    pub fn append(&mut self, array: &ArrayRef, row_base: u64) -> Result<()> {
        if array.null_count() > 0 {
            self.nulls += array.null_count() as u64;
            if self.first_null.is_none() {
                let i = (0..array.len()).find(|&i| array.is_null(i)).unwrap_or(0);
                self.first_null = Some(row_base + i as u64);
            }
        }
        let cast_err = |e: arrow_schema::ArrowError| Error::Internal(format!("id cast: {e}"));
        let mut array = array.clone();
        if self.from_text && self.strings.is_none() {
            let done = self.append_integers(array.as_string::<i32>(), row_base)?;
            if self.strings.is_none() {
                return Ok(());
            }
            array = array.slice(done, array.len() - done);
        }
        if let Some(builder) = self.strings.as_mut() {
            let cast = arrow_cast::cast(&array, &DataType::LargeUtf8).map_err(cast_err)?;
            for value in cast.as_string::<i64>() {
                builder.append_value(key_text(value.unwrap_or(""), self.from_text));
            }
        } else if is_whole_number_type(&self.data_type) {
            // A null was counted; it reads as 0 here, as in other integer columns.
            let ints = &mut self.ints;
            if let Some((i, value)) = whole_numbers(&array, |id| ints.push(id.unwrap_or(0)))? {
                let row = row_base + i as u64;
                return Err(not_whole("id", &self.name, &self.data_type, row, &value));
            }
        } else if is_signed(&self.data_type) {
            let cast = arrow_cast::cast(&array, &DataType::Int64).map_err(cast_err)?;
            self.ints
                .extend_from_slice(cast.as_primitive::<Int64Type>().values());
        } else {
            let cast = arrow_cast::cast(&array, &DataType::UInt64).map_err(cast_err)?;
            self.uints
                .extend_from_slice(cast.as_primitive::<UInt64Type>().values());
        }
        Ok(())
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type the ids are written back as (a dictionary's value type).
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// Whether any id appended so far was null.
    pub fn has_nulls(&self) -> bool {
        self.nulls > 0
    }

    /// Fails when any id appended so far was null.
    ///
    /// # Errors
    /// Exit 65 with the count and the first row: every row must be identifiable.
    pub fn check_nulls(&self) -> Result<()> {
        match self.first_null {
            Some(row) => Err(Error::data(format!(
                "id column '{}' has {} null value(s), the first at row {row}; every row needs an \
                 id (or leave out --id to number rows instead)",
                self.name, self.nulls
            ))),
            None => Ok(()),
        }
    }

    /// The ids appended since the last take, as a column; the null count carries on, for
    /// [`IdColumnBuilder::check_nulls`] over the whole input (a null reads as 0 or "" here).
    pub fn take(&mut self) -> IdColumn {
        self.taken = true;
        let values = if let Some(builder) = self.strings.as_mut() {
            Values::Str(builder.finish())
        } else if held_as_signed(&self.data_type) {
            Values::Int(std::mem::take(&mut self.ints))
        } else {
            Values::UInt(std::mem::take(&mut self.uints))
        };
        IdColumn {
            name: self.name.clone(),
            data_type: self.data_type.clone(),
            values,
        }
    }
}

impl IdColumn {
    /// The column's name in the input.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column's Arrow type in the input (and in every output); a dictionary-encoded column's
    /// value type.
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        match &self.values {
            Values::Int(v) => v.len(),
            Values::UInt(v) => v.len(),
            Values::Str(a) => a.len(),
        }
    }

    /// True when there are no ids.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Id `i` as text, for messages.
    pub fn display(&self, i: usize) -> String {
        match &self.values {
            Values::Int(v) => v[i].to_string(),
            Values::UInt(v) => v[i].to_string(),
            Values::Str(a) => format!("\"{}\"", a.value(i)),
        }
    }

    /// Rows `start..start + len` as an Arrow array of the input's type.
    ///
    /// # Errors
    /// If the cast back to the input type fails (it cannot for the types accepted).
    pub fn slice(&self, start: usize, len: usize) -> Result<ArrayRef> {
        let array: ArrayRef = match &self.values {
            Values::Int(v) => Arc::new(Int64Array::from(v[start..start + len].to_vec())),
            Values::UInt(v) => Arc::new(UInt64Array::from(v[start..start + len].to_vec())),
            Values::Str(a) => Arc::new(a.slice(start, len)),
        };
        arrow_cast::cast(&array, &self.data_type).map_err(|e| {
            Error::Internal(format!("cannot cast ids back to {}: {e}", self.data_type))
        })
    }

    /// Keeps the ids of the rows where `keep[i]` is true.
    pub fn retain(&mut self, keep: &[bool]) {
        match &mut self.values {
            Values::Int(v) => retain_vec(v, keep),
            Values::UInt(v) => retain_vec(v, keep),
            Values::Str(a) => {
                let mask = arrow_array::BooleanArray::from(keep.to_vec());
                let filtered = arrow_select::filter::filter(a, &mask)
                    .expect("filtering a string array with a mask of its own length cannot fail");
                *a = filtered.as_string::<i64>().clone();
            }
        }
    }

    /// Finds repeated ids and, under `first`/`last`, which rows to drop. The example is the
    /// first id that repeats, with its first two rows.
    pub fn duplicates(&self, policy: DuplicatePolicy) -> Duplicates {
        // Ids in increasing order (an export sorted by customer) cannot repeat: one pass in
        // memory order settles it.
        let increasing = (1..self.len())
            .into_par_iter()
            .all(|i| self.compare(i - 1, i) == Ordering::Less);
        if increasing {
            return Duplicates::default();
        }
        self.duplicates_by(policy, |i| match &self.values {
            Values::Int(v) => (hash_int(v[i] as u64) >> 32) as u32,
            Values::UInt(v) => (hash_int(v[i]) >> 32) as u32,
            Values::Str(a) => (hash_text(a.value(i).as_bytes()) >> 32) as u32,
        })
    }

    /// [`IdColumn::duplicates`] with `hash` (row → 32 bits of its id's hash).
    ///
    /// Each row's number packed below its hash, sorted: rows whose ids hash alike form runs,
    /// in row order (sorting row numbers by the ids themselves compared text at random places
    /// in memory, most of the time of a fit on five million text ids). A run is split into
    /// ids by comparing them: nearly always one id; hashes that collide are sorted by id.
    fn duplicates_by(
        &self,
        policy: DuplicatePolicy,
        hash: impl Fn(usize) -> u32 + Sync,
    ) -> Duplicates {
        let n = self.len();
        // Row numbers fit 32 bits, as labels do everywhere (4,294,967,296 rows would be a
        // matrix of terabytes).
        debug_assert!(u32::try_from(n).is_ok());
        let mut keyed: Vec<u64> = (0..n)
            .into_par_iter()
            .map(|i| (u64::from(hash(i)) << 32) | i as u64)
            .collect();
        keyed.par_sort_unstable();
        let same = |x: u32, y: u32| self.compare(x as usize, y as usize) == Ordering::Equal;
        let mut found = Duplicates::default();
        let mut run: Vec<u32> = Vec::new();
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && keyed[end] >> 32 == keyed[start] >> 32 {
                end += 1;
            }
            if end - start > 1 {
                run.clear();
                run.extend(keyed[start..end].iter().map(|&k| k as u32));
                if !run.iter().all(|&row| same(row, run[0])) {
                    run.sort_unstable_by(|&x, &y| {
                        self.compare(x as usize, y as usize).then(x.cmp(&y))
                    });
                }
                let mut first = 0;
                while first < run.len() {
                    let mut past = first + 1;
                    while past < run.len() && same(run[first], run[past]) {
                        past += 1;
                    }
                    if past - first > 1 {
                        self.note_repeats(&run[first..past], policy, &mut found);
                    }
                    first = past;
                }
            }
            start = end;
        }
        found
    }

    /// Id `x` against id `y`.
    fn compare(&self, x: usize, y: usize) -> Ordering {
        match &self.values {
            Values::Int(v) => v[x].cmp(&v[y]),
            Values::UInt(v) => v[x].cmp(&v[y]),
            Values::Str(a) => a.value(x).cmp(a.value(y)),
        }
    }

    /// Counts one repeated id's rows (in row order) and marks the ones `policy` drops.
    fn note_repeats(&self, rows: &[u32], policy: DuplicatePolicy, found: &mut Duplicates) {
        found.ids += 1;
        found.rows += (rows.len() - 1) as u64;
        let (a, b) = (u64::from(rows[0]), u64::from(rows[1]));
        if found.example.as_ref().is_none_or(|e| a < e.1) {
            found.example = Some((self.display(a as usize), a, b));
        }
        if policy != DuplicatePolicy::Error {
            if found.drop.is_empty() {
                found.drop = vec![false; self.len()];
            }
            let keep = if policy == DuplicatePolicy::First {
                rows[0]
            } else {
                rows[rows.len() - 1]
            };
            for &row in rows {
                found.drop[row as usize] = row != keep;
            }
        }
    }
}

/// A 64-bit hash of an integer id: SplitMix64's finalizer, so every input bit moves every
/// output bit (high bits included, which hash tables and sorts take). Not made to resist
/// crafted collisions, which a batch job over its own data does not need: equal hashes are
/// always followed by comparing the ids, so a collision costs time, never a wrong answer.
pub fn hash_int(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A 64-bit hash of a text id: its length, then each 8-byte word (the last padded with
/// zeros) mixed in with [`hash_int`].
pub fn hash_text(bytes: &[u8]) -> u64 {
    let mut h = hash_int(bytes.len() as u64);
    for word in bytes.chunks(8) {
        let mut padded = [0u8; 8];
        padded[..word.len()].copy_from_slice(word);
        h = hash_int(h ^ u64::from_le_bytes(padded));
    }
    h
}

/// Keeps the values where `keep` is true.
pub(crate) fn retain_vec<T: Copy>(values: &mut Vec<T>, keep: &[bool]) {
    let mut i = 0;
    values.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray};

    fn build(array: ArrayRef) -> IdColumn {
        let mut builder = IdColumnBuilder::new("id", array.data_type()).unwrap();
        builder.append(&array, 0).unwrap();
        builder.check_nulls().unwrap();
        builder.take()
    }

    fn texts(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn floating_point_ids_are_whole_numbers_within_i64() {
        let whole = |values: Vec<Option<f64>>| {
            let array: ArrayRef = Arc::new(arrow_array::Float64Array::from(values));
            let mut got = Vec::new();
            let first_bad = whole_numbers(&array, |id| got.push(id)).unwrap();
            (got, first_bad)
        };
        let least = -9_223_372_036_854_775_808.0;
        assert_eq!(
            whole(vec![
                Some(17_850.0),
                None,
                Some(-0.0),
                Some(least),
                Some(2f64.powi(62))
            ]),
            (
                vec![Some(17_850), None, Some(0), Some(i64::MIN), Some(1 << 62)],
                None
            )
        );
        // 2^63 is past i64; a fraction, NaN or an infinity is no whole number. The ids before
        // the first of them were given.
        for bad in [-least, 0.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let (got, first_bad) = whole(vec![Some(1.0), Some(bad)]);
            assert_eq!(got, [Some(1)], "{bad}");
            assert_eq!(first_bad, Some((1, bad.to_string())), "{bad}");
        }
        // Float32 ids are cast exactly.
        let array: ArrayRef = Arc::new(arrow_array::Float32Array::from(vec![16_777_216.0f32]));
        let mut got = Vec::new();
        assert_eq!(whole_numbers(&array, |id| got.push(id)).unwrap(), None);
        assert_eq!(got, [Some(16_777_216)]);
    }

    #[test]
    fn decimal_ids_are_whole_numbers_within_i64() {
        let whole = |raw: Vec<Option<i128>>, precision: u8, scale: i8| {
            let array = arrow_array::Decimal128Array::from(raw)
                .with_precision_and_scale(precision, scale)
                .unwrap();
            let array: ArrayRef = Arc::new(array);
            let mut got = Vec::new();
            let first_bad = whole_numbers(&array, |id| got.push(id)).unwrap();
            (got, first_bad)
        };
        // NUMBER(38,0): the integers themselves, i64's ends included.
        let ends = vec![Some(i128::from(i64::MIN)), None, Some(i128::from(i64::MAX))];
        assert_eq!(
            whole(ends, 38, 0),
            (vec![Some(i64::MIN), None, Some(i64::MAX)], None)
        );
        // Past i64, with the value as the decimal writes it.
        let past = whole(vec![Some(7), Some(i128::from(i64::MAX) + 1)], 38, 0);
        assert_eq!(
            past,
            (vec![Some(7)], Some((1, "9223372036854775808".into())))
        );
        // A scale of 2: 1700.00 is 1700, 2.50 is no whole number.
        assert_eq!(
            whole(vec![Some(170_000), Some(250)], 18, 2),
            (vec![Some(1700)], Some((1, "2.50".into())))
        );
        // A negative scale: 12 × 10^3.
        assert_eq!(whole(vec![Some(12)], 10, -3), (vec![Some(12_000)], None));
    }

    #[test]
    fn plain_integers_are_told_from_other_text() {
        for (text, want) in [
            ("0", Some(0)),
            ("17", Some(17)),
            ("-17", Some(-17)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("007", None),
            ("-0", None),
            ("-07", None),
            ("+7", None),
            ("1e3", None),
            ("A-17", None),
            ("", None),
            ("-", None),
        ] {
            assert_eq!(plain_integer(text), want, "{text}");
        }
    }

    #[test]
    fn integers_from_text_turn_to_text_at_the_first_that_is_not_one() {
        // Plain integers (spaces around one aside) stay integers.
        let mut builder = IdColumnBuilder::integers_from_text("id");
        builder
            .append(&texts(&[Some("12"), Some(" 7")]), 0)
            .unwrap();
        let ids = builder.take();
        assert_eq!(ids.data_type(), &DataType::Int64);
        assert_eq!(ids.display(1), "7");
        // A later id that is no plain integer: every id as text, those before as numbers read.
        let mut builder = IdColumnBuilder::integers_from_text("id");
        builder
            .append(&texts(&[Some("12"), Some(" 7")]), 0)
            .unwrap();
        builder
            .append(&texts(&[Some("5"), Some("007"), Some("A-1"), None]), 2)
            .unwrap();
        // The ids read as integers lost the spaces around them, and so do the later ones.
        builder.append(&texts(&[Some(" 7 ")]), 6).unwrap();
        assert!(builder.has_nulls());
        let ids = builder.take();
        assert_eq!(ids.data_type(), &DataType::Utf8);
        let all: Vec<String> = (0..ids.len()).map(|i| ids.display(i)).collect();
        assert_eq!(
            all,
            [
                "\"12\"", "\"7\"", "\"5\"", "\"007\"", "\"A-1\"", "\"\"", "\"7\""
            ]
        );
        // Once ids have been written out as integers, such an id is an error naming its row.
        let mut builder = IdColumnBuilder::integers_from_text("cid");
        builder.append(&texts(&[Some("1")]), 0).unwrap();
        builder.take();
        let err = builder
            .append(&texts(&[Some("2"), Some("02")]), 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("'cid' holds '02' at row 2"), "{err}");
    }

    #[test]
    fn finds_duplicates_and_keeps_first_or_last() {
        let ids = build(Arc::new(Int32Array::from(vec![5, 3, 5, 7, 3, 5])));
        let found = ids.duplicates(DuplicatePolicy::First);
        assert_eq!((found.rows, found.ids), (3, 2));
        assert_eq!(found.drop, vec![false, false, true, false, true, true]);
        let found = ids.duplicates(DuplicatePolicy::Last);
        assert_eq!(found.drop, vec![true, true, true, false, false, false]);
    }

    /// Duplicates as a map from id to its rows would count them.
    fn oracle(
        ids: &[String],
        policy: DuplicatePolicy,
    ) -> (u64, u64, Option<(usize, usize)>, Vec<bool>) {
        let mut rows: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for (i, id) in ids.iter().enumerate() {
            rows.entry(id).or_default().push(i);
        }
        let repeated: Vec<&Vec<usize>> = rows.values().filter(|r| r.len() > 1).collect();
        let mut drop = vec![false; ids.len()];
        for r in &repeated {
            let keep = if policy == DuplicatePolicy::First {
                r[0]
            } else {
                r[r.len() - 1]
            };
            for &row in r.iter() {
                drop[row] = row != keep;
            }
        }
        let example = repeated.iter().map(|r| (r[0], r[1])).min();
        let extra = repeated.iter().map(|r| r.len() as u64 - 1).sum();
        (extra, repeated.len() as u64, example, drop)
    }

    #[test]
    fn duplicates_match_an_oracle_whatever_the_hashes_collide() {
        // 2,000 rows over 700 ids in scrambled order, as text and as integers.
        let numbers: Vec<u64> = (0..2000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9) % 700)
            .collect();
        let text: Vec<String> = numbers.iter().map(|v| format!("c{v}")).collect();
        let ids_text = build(Arc::new(StringArray::from(text.clone())));
        let ints: Vec<i32> = numbers.iter().map(|&v| v as i32 - 350).collect();
        let ids_int = build(Arc::new(Int32Array::from(ints)));
        for policy in [
            DuplicatePolicy::Error,
            DuplicatePolicy::First,
            DuplicatePolicy::Last,
        ] {
            let (rows, distinct, example, drop) = oracle(&text, policy);
            for ids in [&ids_text, &ids_int] {
                // The real hash, every id colliding, and three ids to a hash.
                let found = [
                    ids.duplicates(policy),
                    ids.duplicates_by(policy, |_| 7),
                    ids.duplicates_by(policy, |i| numbers[i] as u32 / 3),
                ];
                for f in found {
                    assert_eq!((f.rows, f.ids), (rows, distinct), "{policy:?}");
                    let got = f.example.as_ref().map(|e| (e.1 as usize, e.2 as usize));
                    assert_eq!(got, example, "{policy:?}");
                    let (a, _) = example.unwrap();
                    assert_eq!(f.example.unwrap().0, ids.display(a));
                    if policy == DuplicatePolicy::Error {
                        assert!(f.drop.is_empty());
                    } else {
                        assert_eq!(f.drop, drop, "{policy:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn increasing_ids_have_no_duplicates_and_one_step_back_is_found() {
        let mut values: Vec<i32> = (0..1000).map(|i| 3 * i - 500).collect();
        let ids = build(Arc::new(Int32Array::from(values.clone())));
        assert_eq!(ids.duplicates(DuplicatePolicy::Error).rows, 0);
        values[700] = values[699];
        let ids = build(Arc::new(Int32Array::from(values)));
        let found = ids.duplicates(DuplicatePolicy::Error);
        assert_eq!((found.rows, found.ids), (1, 1));
        assert_eq!(found.example, Some(("1597".to_string(), 699, 700)));
        let text: Vec<String> = (0..1000).map(|i| format!("c{i:04}")).collect();
        let ids = build(Arc::new(StringArray::from(text)));
        assert_eq!(ids.duplicates(DuplicatePolicy::First).rows, 0);
    }

    #[test]
    fn string_ids_keep_their_type() {
        let ids = build(Arc::new(StringArray::from(vec!["b", "a", "b"])));
        let found = ids.duplicates(DuplicatePolicy::Error);
        assert_eq!(found.example, Some(("\"b\"".to_string(), 0, 2)));
        assert_eq!(ids.slice(1, 2).unwrap().data_type(), &DataType::Utf8);
    }

    #[test]
    fn null_ids_are_an_error() {
        let array: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        let mut builder = IdColumnBuilder::new("id", array.data_type()).unwrap();
        builder.append(&array, 10).unwrap();
        let err = builder.check_nulls().err().unwrap().to_string();
        assert!(err.contains("first at row 11"), "{err}");
        // Taking a block's ids keeps the count for the whole input.
        assert_eq!(builder.take().len(), 2);
        builder.append(&array, 12).unwrap();
        let err = builder.check_nulls().err().unwrap().to_string();
        assert!(
            err.contains("2 null value(s), the first at row 11"),
            "{err}"
        );
    }
}
