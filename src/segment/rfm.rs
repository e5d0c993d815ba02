//! `strata rfm`: a transaction log → one row per customer of recency, frequency and monetary
//! features.
//!
//! The log is streamed batch by batch; only one running record per customer is kept (first and
//! last purchase day, purchases, the sum of amounts, and with `--order` its orders' 64-bit
//! keys), so the log's length is not limited by memory. Customers come out in the order they
//! first appear in the log.
//!
//! Definitions (days are calendar days: a timestamp's in the time zone its column names, as
//! written when it names none; with `--time-zone`, every instant's in that zone). A purchase is
//! a transaction with an amount of zero or more; a negative amount is a refund:
//! - `recency_days` = as-of − last purchase; `tenure_days` = as-of − first purchase;
//! - `frequency` = distinct orders with a purchase (`--order`), else purchases;
//! - `monetary` = the sum of all amounts, so refunds reduce it;
//! - `avg_order_value` = monetary / frequency;
//! - as-of defaults to the day after the last transaction in the log (refunds included).
//!
//! A refund moves neither recency nor frequency: a customer who bought once and returned it a
//! week later bought once, a week earlier. A customer with refunds only (the purchase fell
//! before the log began) has no purchase to measure and is left out of the table; the summary
//! counts such customers.

use super::keys::{Numbering, TextList, prefetch};
use crate::data::ids::{
    is_whole_number_type, key_text, not_whole, plain_integers, warn_turned_to_text, whole_numbers,
};
use crate::data::read::{KeyRead, Opened, Source, as_floats, batch_column, find_column, key_read};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::{
    Date32Type, Date64Type, Float64Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{Datelike, Offset, TimeZone};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// What to do with a row that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BadRows {
    /// Stop with an error naming the first bad row and the count.
    Error,
    /// Leave them out (and write them to `--rejects`).
    Skip,
}

/// The columns and rules of an aggregation.
#[derive(Debug, Clone)]
pub struct RfmSpec {
    /// Customer id column (integer or string; its type is kept, but for a CSV's integers that
    /// turn out to be text; see [`KeyRead`]).
    pub customer: String,
    /// Transaction date column.
    pub date: String,
    /// Amount column.
    pub amount: String,
    /// Order id column: frequency counts distinct orders.
    pub order: Option<String>,
    /// strftime format of text dates (default: ISO `YYYY-MM-DD[...]` or `YYYYMMDD`).
    pub date_format: Option<String>,
    /// The reference day, in days since 1970-01-01.
    pub as_of: Option<i32>,
    /// The calendar days are counted on (`--time-zone`): instants (timestamps that name a zone,
    /// text with an offset or Z) are taken to its day. `None`: each instant's own zone's day.
    pub time_zone: Option<Tz>,
    /// Bad-row policy.
    pub bad_rows: BadRows,
}

/// Days since 1970-01-01 of a calendar date, or `None` when it does not exist.
pub fn days_from_ymd(year: i32, month: u32, day: u32) -> Option<i32> {
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// The ISO text of a day since 1970-01-01.
pub fn iso_day(days: i32) -> String {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|e| e.checked_add_signed(chrono::TimeDelta::days(i64::from(days))))
        .map_or_else(
            || format!("day {days}"),
            |d| d.format("%Y-%m-%d").to_string(),
        )
}

/// Parses `YYYY-MM-DD` (anything after the tenth character, such as a time, is ignored) or
/// `YYYYMMDD`.
pub fn parse_default_date(text: &str) -> Option<i32> {
    let t = text.trim();
    let b = t.as_bytes();
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if b.len() >= 10 && b[4] == b'-' && b[7] == b'-' && (b.len() == 10 || !b[10].is_ascii_digit()) {
        let (y, m, d) = (&t[0..4], &t[5..7], &t[8..10]);
        if digits(y) && digits(m) && digits(d) {
            return days_from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        }
        return None;
    }
    if b.len() == 8 && digits(t) {
        return ymd_number(t.parse().ok()?);
    }
    None
}

/// A YYYYMMDD integer as days.
fn ymd_number(value: i64) -> Option<i32> {
    if !(0..=99_991_231).contains(&value) {
        return None;
    }
    let year = i32::try_from(value / 10_000).ok()?;
    days_from_ymd(year, (value / 100 % 100) as u32, (value % 100) as u32)
}

/// The day of `text` read with the strftime `format`: a date, a date and time the format
/// describes, or a date the format describes with a time after it (`3/1/2024 10:00` read with
/// `%m/%d/%Y`, as spreadsheets write timestamps), whose time is ignored as the default forms'
/// is.
fn parse_with_format(text: &str, format: &str) -> Option<i32> {
    let t = text.trim();
    let date = chrono::NaiveDate::parse_from_str(t, format)
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, format).map(|dt| dt.date()))
        .or_else(
            |e| match chrono::NaiveDate::parse_and_remainder(t, format) {
                Ok((date, rest)) if rest.starts_with([' ', 'T']) => Ok(date),
                _ => Err(e),
            },
        )
        .ok()?;
    // Years past 9999 come from numbers that are no dates (milliseconds read with %s).
    if !(1..=9999).contains(&date.year()) {
        return None;
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// What a whole number that is no date looks like, and what to do about it: Unix time
/// (seconds since 1970, or a finer unit), or a spreadsheet's serial day number. Empty when it
/// looks like none of them.
fn number_date_hint(value: &str) -> String {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return String::new();
    }
    let convert = |unit: &str, pandas: &str| {
        format!(
            "; it looks like Unix time in {unit}, which is read only in seconds: write the \
             column as dates or timestamps (in pandas, pd.to_datetime(column, unit='{pandas}', \
             utc=True))"
        )
    };
    match digits.len() {
        9 | 10 => "; it looks like Unix time (seconds since 1970-01-01 UTC): give \
                   --date-format %s"
            .to_string(),
        12 | 13 => convert("milliseconds", "ms"),
        15 | 16 => convert("microseconds", "us"),
        18 | 19 => convert("nanoseconds", "ns"),
        5 if digits
            .parse::<u32>()
            .is_ok_and(|v| (20_000..80_000).contains(&v)) =>
        {
            "; it looks like a spreadsheet's serial day number (days since 1899-12-30): save \
             the column formatted as dates"
                .to_string()
        }
        _ => String::new(),
    }
}

/// What to say after the first bad date, `value` (as text; "null" when missing), of a log read
/// with `format` or the default forms: the format it does not match, or the --date-format that
/// reads a text date written as this one, guessed from its layout (month or day first is told
/// where one of the two is above 12).
fn date_hint(value: &str, format: Option<&str>) -> String {
    if value == "null" {
        return String::new();
    }
    if let Some(format) = format {
        return format!(
            ", not a date as --date-format '{format}' writes one{}",
            number_date_hint(value)
        );
    }
    const LAYOUTS: &str = ". Text dates are read as YYYY-MM-DD or YYYYMMDD (with any time after \
                           them)";
    // The date before any time: up to a space, or a T with a digit after it (01-OCT-24 is all
    // date).
    let mut date = value.trim().split(' ').next().unwrap_or_default();
    if let Some(at) = date
        .as_bytes()
        .windows(2)
        .position(|w| w[0] == b'T' && w[1].is_ascii_digit())
    {
        date = &date[..at];
    }
    let other_layouts = || {
        format!("{LAYOUTS}; give other layouts with --date-format, as in --date-format '%d/%m/%Y'")
    };
    let Some(sep) = ['/', '.', '-'].into_iter().find(|&c| date.contains(c)) else {
        // A YYYYMMDD number that is no date needs no layout; other numbers may be Unix time.
        return if value.bytes().all(|b| b.is_ascii_digit()) {
            number_date_hint(value)
        } else {
            other_layouts()
        };
    };
    let parts: Vec<&str> = date.split(sep).collect();
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let year = |s: &str| (s.len() == 4 || s.len() == 2) && s.bytes().all(|b| b.is_ascii_digit());
    let y = |s: &str| if s.len() == 4 { "%Y" } else { "%y" };
    let suggestion = match parts.as_slice() {
        // The default layout: the date itself is no date (2024-02-30).
        [a, _, _] if a.len() == 4 && sep == '-' => return String::new(),
        [a, m, d] if a.len() == 4 && year(a) && number(m).is_some() && number(d).is_some() => {
            format!("--date-format '%Y{sep}%m{sep}%d'")
        }
        [a, b, c] if year(c) => match (number(a), number(b)) {
            (Some(a), Some(_)) if a > 12 => format!("--date-format '%d{sep}%m{sep}{}'", y(c)),
            (Some(_), Some(b)) if b > 12 => format!("--date-format '%m{sep}%d{sep}{}'", y(c)),
            (Some(_), Some(_)) => format!(
                "--date-format '%m{sep}%d{sep}{y}' if the month comes first, or \
                 '%d{sep}%m{sep}{y}' if the day does",
                y = y(c)
            ),
            (Some(_), None) if b.len() == 3 && b.bytes().all(|c| c.is_ascii_alphabetic()) => {
                format!("--date-format '%d{sep}%b{sep}{}'", y(c))
            }
            _ => String::new(),
        },
        _ => String::new(),
    };
    if suggestion.is_empty() {
        return other_layouts();
    }
    format!("{LAYOUTS}; for dates written as this one, give {suggestion}")
}

/// Why a row cannot be used.
fn reason_text(reason: Reason) -> &'static str {
    match reason {
        Reason::NullCustomer => "null customer id",
        Reason::BadDate => "missing or unparseable date",
        Reason::BadAmount => "missing, NaN or infinite amount",
        Reason::NullOrder => "null order id",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    NullCustomer,
    BadDate,
    BadAmount,
    NullOrder,
}

/// The calendar days of instants in one time zone (seconds since 1970-01-01 UTC → days since
/// 1970-01-01 on the zone's calendar). A zone's offset from UTC changes a few times a year at
/// most, so it is looked up at the first and last second of each UTC day and, where the two
/// agree, kept for the day (no zone changes and changes back within one day); on a day it
/// changes within, each instant is looked up.
struct LocalDays {
    zone: Tz,
    /// The UTC day of `offsets[0]`.
    first: i64,
    /// Per UTC day from `first` on: the offset in seconds that holds through all of it, or
    /// [`Self::UNSEEN`] or [`Self::CHANGES`].
    offsets: Vec<i32>,
}

impl LocalDays {
    const DAY: i64 = 86_400;
    /// A day not looked up yet.
    const UNSEEN: i32 = i32::MIN;
    /// A day the offset changes within (or past chrono's range of dates).
    const CHANGES: i32 = i32::MAX;
    /// The most days kept (2,870 years); instants beyond are looked up one by one.
    const SPAN: i64 = 1 << 20;

    fn new(zone: Tz) -> Self {
        LocalDays {
            zone,
            first: 0,
            offsets: Vec::new(),
        }
    }

    /// The zone's offset from UTC, in seconds, at `secs`; `None` past chrono's range of dates.
    fn offset_at(zone: &Tz, secs: i64) -> Option<i32> {
        let utc = chrono::DateTime::from_timestamp(secs, 0)?.naive_utc();
        Some(zone.offset_from_utc_datetime(&utc).fix().local_minus_utc())
    }

    /// The offset that holds through UTC day `utc_day`, or [`Self::CHANGES`].
    fn whole_day_offset(zone: &Tz, utc_day: i64) -> i32 {
        let start = utc_day.checked_mul(Self::DAY);
        let start = start.and_then(|s| Self::offset_at(zone, s));
        let end = start.and_then(|_| Self::offset_at(zone, utc_day * Self::DAY + Self::DAY - 1));
        match (start, end) {
            (Some(start), Some(end)) if start == end => start,
            _ => Self::CHANGES,
        }
    }

    /// The slot of `utc_day` in `offsets`, grown to hold it; `None` beyond [`Self::SPAN`].
    fn slot(&mut self, utc_day: i64) -> Option<usize> {
        if self.offsets.is_empty() {
            self.first = utc_day;
        }
        let last = self.first + self.offsets.len() as i64 - 1;
        let (from, to) = (self.first.min(utc_day), last.max(utc_day));
        if to - from >= Self::SPAN {
            return None;
        }
        if from < self.first {
            let before = (self.first - from) as usize;
            self.offsets
                .splice(0..0, std::iter::repeat_n(Self::UNSEEN, before));
            self.first = from;
        }
        let len = (to - from + 1) as usize;
        if len > self.offsets.len() {
            self.offsets.resize(len, Self::UNSEEN);
        }
        Some((utc_day - self.first) as usize)
    }

    /// The day on the zone's calendar of the instant `secs` seconds after 1970-01-01 UTC.
    fn day(&mut self, secs: i64) -> Option<i32> {
        let utc_day = secs.div_euclid(Self::DAY);
        let whole_day = match self.slot(utc_day) {
            Some(slot) => {
                if self.offsets[slot] == Self::UNSEEN {
                    self.offsets[slot] = Self::whole_day_offset(&self.zone, utc_day);
                }
                self.offsets[slot]
            }
            None => Self::CHANGES,
        };
        let offset = match whole_day {
            Self::CHANGES => Self::offset_at(&self.zone, secs)?,
            offset => offset,
        };
        i32::try_from((secs + i64::from(offset)).div_euclid(Self::DAY)).ok()
    }
}

/// A time zone by its IANA name (`America/New_York`) or an offset (`+05:30`, `-0300`), as
/// Arrow names them; also `Z` and `utc` in any case.
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    let utc = name == "Z" || name.eq_ignore_ascii_case("utc");
    if utc { "UTC" } else { name }.parse().ok()
}

/// The time zone a timestamp column names.
fn time_zone(name: &str) -> Result<Tz> {
    parse_time_zone(name).ok_or_else(|| {
        Error::data(format!(
            "the date column's timestamps are in time zone '{name}', which is neither a time \
             zone name (such as America/New_York) nor an offset (such as +05:30); its calendar \
             days cannot be told"
        ))
    })
}

/// Seconds east of UTC of an offset written after a time: `Z`, `UTC`, `+05:30`, `-0300`, `+05`.
fn parse_offset(text: &str) -> Option<i64> {
    if text == "Z" || text == "z" || text.eq_ignore_ascii_case("utc") {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    // HH, HHMM or HH:MM.
    let body = &text.as_bytes()[1..];
    let digit = |i: usize| {
        body.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let pair = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let (hours, minutes) = match body.len() {
        2 => (pair(0)?, 0),
        4 => (pair(0)?, pair(2)?),
        5 if body[2] == b':' => (pair(0)?, pair(3)?),
        _ => return None,
    };
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3_600 + minutes * 60))
}

/// The instant, in seconds since 1970-01-01 UTC, of an ISO date and time that carries its
/// offset: `2024-03-01T22:00:00-05:00`, `2024-03-02 03:00:00Z`, `2024-03-01 22:00:00.250 -0500`
/// (a fraction of a second is dropped). `None` for a date alone, or a time with no offset.
fn parse_instant(text: &str) -> Option<i64> {
    let t = text.trim();
    let day = parse_default_date(t.get(..10)?)?;
    let rest = t.get(10..)?.strip_prefix(['T', 't', ' '])?;
    let two = |at: usize| -> Option<i64> {
        let d = rest.get(at..at + 2)?;
        d.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| d.parse().ok())?
    };
    let (hours, minutes) = (two(0)?, two(3)?);
    if rest.as_bytes().get(2) != Some(&b':') {
        return None;
    }
    let mut at = 5;
    let mut seconds = 0;
    if rest.as_bytes().get(at) == Some(&b':') {
        seconds = two(at + 1)?;
        at += 3;
        if rest.as_bytes().get(at) == Some(&b'.') {
            let fraction = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if fraction == 0 {
                return None;
            }
            at += 1 + fraction;
        }
    }
    // A leap second (60) is the last second of its minute.
    if hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let offset = parse_offset(rest[at..].trim_start())?;
    let local = i64::from(day) * 86_400 + hours * 3_600 + minutes * 60 + seconds.min(59);
    Some(local - offset)
}

/// The instant of `text` read with a strftime `format` that has an offset (`%z`, `%:z`).
fn parse_instant_with_format(text: &str, format: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text.trim(), format)
        .ok()
        .filter(|t| (1..=9999).contains(&t.year()))
        .map(|t| t.timestamp())
}

/// Reads a date column's values as days since 1970-01-01, batch by batch: dates as they are,
/// timestamps on the calendar of `--time-zone` or else of their column's time zone (as written
/// when it names none), text and YYYYMMDD integers as written (but, with `--time-zone`, a time
/// written with its offset).
struct DayReader<'a> {
    /// strftime format of text dates (default: ISO or YYYYMMDD).
    format: Option<&'a str>,
    /// The time zone of the last timestamp column read, and its offsets.
    zone: Option<(Arc<str>, LocalDays)>,
    /// `--time-zone`: the calendar every instant is taken to.
    calendar: Option<LocalDays>,
    /// Whether a value was read as an instant on `calendar`.
    any_instant: bool,
}

impl<'a> DayReader<'a> {
    fn new(format: Option<&'a str>, calendar: Option<Tz>) -> Self {
        DayReader {
            format,
            zone: None,
            calendar: calendar.map(LocalDays::new),
            any_instant: false,
        }
    }

    /// The day on `--time-zone`'s calendar of an instant, if one was given.
    fn on_calendar(&mut self, secs: i64) -> Option<Option<i32>> {
        let calendar = self.calendar.as_mut()?;
        self.any_instant = true;
        Some(calendar.day(secs))
    }

    /// The day of each value: `None` for a null or unparseable one.
    fn days(&mut self, array: &ArrayRef) -> Result<Vec<Option<i32>>> {
        const MS_PER_DAY: i64 = 86_400_000;
        let n = array.len();
        let per_unit = |value: i64, per_day: i64| i32::try_from(value.div_euclid(per_day)).ok();
        let out: Vec<Option<i32>> = match array.data_type() {
            // A column with no values at all (a CSV whose cells are all empty).
            DataType::Null => vec![None; n],
            DataType::Date32 => {
                let a = array.as_primitive::<Date32Type>();
                (0..n).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
            }
            DataType::Date64 => {
                let a = array.as_primitive::<Date64Type>();
                (0..n)
                    .map(|i| {
                        a.is_valid(i)
                            .then(|| per_unit(a.value(i), MS_PER_DAY))
                            .flatten()
                    })
                    .collect()
            }
            DataType::Timestamp(unit, tz) => {
                let (values, per_second): (Vec<Option<i64>>, i64) = match unit {
                    TimeUnit::Second => (
                        array.as_primitive::<TimestampSecondType>().iter().collect(),
                        1,
                    ),
                    TimeUnit::Millisecond => (
                        array
                            .as_primitive::<TimestampMillisecondType>()
                            .iter()
                            .collect(),
                        1_000,
                    ),
                    TimeUnit::Microsecond => (
                        array
                            .as_primitive::<TimestampMicrosecondType>()
                            .iter()
                            .collect(),
                        1_000_000,
                    ),
                    TimeUnit::Nanosecond => (
                        array
                            .as_primitive::<TimestampNanosecondType>()
                            .iter()
                            .collect(),
                        1_000_000_000,
                    ),
                };
                match tz {
                    // No zone: the wall-clock time as written.
                    None => values
                        .into_iter()
                        .map(|v| v.and_then(|v| per_unit(v, per_second * 86_400)))
                        .collect(),
                    // Instants in UTC, whose day is the one on --time-zone's calendar, else
                    // in the zone they were recorded in.
                    Some(tz) => {
                        let days = match &mut self.calendar {
                            Some(calendar) => {
                                self.any_instant |= values.iter().any(Option::is_some);
                                calendar
                            }
                            None => {
                                if self.zone.as_ref().is_none_or(|(name, _)| name != tz) {
                                    let zone = LocalDays::new(time_zone(tz)?);
                                    self.zone = Some((tz.clone(), zone));
                                }
                                &mut self.zone.as_mut().expect("set above").1
                            }
                        };
                        values
                            .into_iter()
                            .map(|v| v.and_then(|v| days.day(v.div_euclid(per_second))))
                            .collect()
                    }
                }
            }
            // With --date-format, whole numbers are read as their text (Unix time with %s).
            t if t.is_integer() && self.format.is_some() => {
                let text = arrow_cast::cast(array, &DataType::Utf8)
                    .map_err(|e| Error::data(format!("date column: {e}")))?;
                return self.days(&text);
            }
            t if t.is_integer() => {
                let a = arrow_cast::cast(array, &DataType::Int64)
                    .map_err(|e| Error::data(format!("date column: {e}")))?;
                let a = a.as_primitive::<Int64Type>();
                (0..n)
                    .map(|i| a.is_valid(i).then(|| ymd_number(a.value(i))).flatten())
                    .collect()
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let a = arrow_cast::cast(array, &DataType::Utf8)
                    .map_err(|e| Error::data(format!("date column: {e}")))?;
                let a = a.as_string::<i32>();
                let format = self.format;
                a.iter()
                    .map(|v| {
                        let t = v?;
                        // With --time-zone, a time that carries its offset is an instant.
                        if self.calendar.is_some() {
                            let instant = match format {
                                Some(f) => parse_instant_with_format(t, f),
                                None => parse_instant(t),
                            };
                            if let Some(day) = instant.and_then(|secs| self.on_calendar(secs)) {
                                return day;
                            }
                        }
                        match format {
                            Some(f) => parse_with_format(t, f),
                            None => parse_default_date(t),
                        }
                    })
                    .collect()
            }
            other => {
                return Err(Error::data(format!(
                    "the date column has type {other}; it must be a date, a timestamp, YYYYMMDD \
                     integers or text (ISO, YYYYMMDD, or --date-format)"
                )));
            }
        };
        Ok(out)
    }
}

/// Customer ids as hashable keys, keeping the input type for the output.
enum Keys {
    /// Integer ids (any width, read as i64); the input type, and whether they come as text
    /// to be parsed here (a CSV's; see [`KeyRead::IntegersFromText`]).
    Int(Numbering<Vec<i64>>, DataType, bool),
    /// Text ids, stored once; the input type, and whether they were integers read from text
    /// until one was not (and so are read without the spaces around them, as those were).
    Text(Numbering<TextList>, DataType, bool),
}

impl Keys {
    fn new(data_type: &DataType) -> Result<Keys> {
        let data_type = crate::data::ids::decoded_type(data_type);
        match data_type {
            // Floating-point and decimal ids are whole numbers (see `whole_numbers`), kept as
            // integers.
            t if t.is_integer() || is_whole_number_type(t) => {
                Ok(Keys::Int(Numbering::default(), t.clone(), false))
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                Ok(Keys::Text(Numbering::default(), data_type.clone(), false))
            }
            // No values seen (an empty CSV, or every id missing): every row will be rejected.
            DataType::Null => Ok(Keys::Text(Numbering::default(), DataType::Utf8, false)),
            other => Err(Error::data(format!(
                "the customer column has type {other}; it must hold integers, text, or \
                 floating-point or decimal whole numbers"
            ))),
        }
    }

    /// Keys read as `reading` says from a column of `data_type`.
    fn read_as(reading: KeyRead, data_type: &DataType) -> Result<Keys> {
        match reading {
            KeyRead::Typed => Keys::new(data_type),
            KeyRead::Text => Keys::new(&DataType::Utf8),
            KeyRead::IntegersFromText => Ok(Keys::Int(Numbering::default(), DataType::Int64, true)),
        }
    }

    /// Per row of `array`, the customer's slot (new customers are appended); `None` for null.
    /// `array` holds the rows from `row_base` of the column `name`.
    fn slots(&mut self, array: &ArrayRef, row_base: u64, name: &str) -> Result<Vec<Option<usize>>> {
        match self {
            Keys::Int(keys, _, true) => {
                let text = array.as_string::<i32>();
                let mut ids = Vec::with_capacity(text.len());
                if let Some((i, value)) = plain_integers(text, |id| ids.push(id)) {
                    warn_turned_to_text("customer", name, row_base + i as u64, value);
                    self.turn_to_text()?;
                    return self.slots(array, row_base, name);
                }
                keys.number_column(ids.iter().map(Option::as_ref))
            }
            Keys::Int(keys, t, _) if is_whole_number_type(t) => {
                let mut ids = Vec::with_capacity(array.len());
                if let Some((i, value)) = whole_numbers(array, |id| ids.push(id))? {
                    let row = row_base + i as u64;
                    return Err(not_whole("customer", name, t, row, &value));
                }
                keys.number_column(ids.iter().map(Option::as_ref))
            }
            Keys::Int(keys, ..) => {
                let cast = arrow_cast::cast(array, &DataType::Int64).map_err(|e| {
                    Error::data(format!("customer ids do not fit a 64-bit integer: {e}"))
                })?;
                let ids = cast.as_primitive::<Int64Type>();
                keys.number_column(
                    ids.values()
                        .iter()
                        .enumerate()
                        .map(|(i, v)| ids.is_valid(i).then_some(v)),
                )
            }
            Keys::Text(keys, _, turned) => {
                let cast = arrow_cast::cast(array, &DataType::Utf8)
                    .map_err(|e| Error::data(format!("customer ids: {e}")))?;
                let text = cast.as_string::<i32>();
                keys.number_column(text.iter().map(|id| id.map(|id| key_text(id, *turned))))
            }
        }
    }

    /// Turns integer keys to text keys, each as its number writes it, in the same order and
    /// so with the same numbers.
    fn turn_to_text(&mut self) -> Result<()> {
        if let Keys::Int(keys, ..) = self {
            let mut text = Numbering::<TextList>::default();
            for id in std::mem::take(keys).into_keys() {
                text.number(&id.to_string())?;
            }
            *self = Keys::Text(text, DataType::Utf8, true);
        }
        Ok(())
    }

    fn len(&self) -> usize {
        match self {
            Keys::Int(keys, ..) => keys.len(),
            Keys::Text(keys, ..) => keys.len(),
        }
    }

    fn into_array(self) -> Result<(ArrayRef, DataType)> {
        match self {
            Keys::Int(keys, t, _) => {
                let array: ArrayRef = Arc::new(Int64Array::from(keys.into_keys()));
                let array = arrow_cast::cast(&array, &t)
                    .map_err(|e| Error::Internal(format!("customer ids back to {t}: {e}")))?;
                Ok((array, t))
            }
            Keys::Text(keys, t, _) => keys.into_keys().into_array(&t),
        }
    }
}

/// One customer's running record.
#[derive(Debug, Clone)]
struct Running {
    /// First and last purchase day (`i32::MAX` and `i32::MIN` before the first purchase).
    first: i32,
    last: i32,
    /// Last day of any transaction, refunds included (for the `--as-of` check).
    last_any: i32,
    purchases: u64,
    monetary: f64,
    /// Keys of the orders with a purchase (`--order`; see `OrderKeys`).
    orders: Orders,
}

impl Running {
    fn new(day: i32) -> Running {
        Running {
            first: i32::MAX,
            last: i32::MIN,
            last_any: day,
            purchases: 0,
            monetary: 0.0,
            orders: Orders::default(),
        }
    }

    /// Adds one usable transaction.
    fn add(&mut self, day: i32, amount: f64, order: Option<u64>) {
        self.last_any = self.last_any.max(day);
        self.monetary += amount;
        if amount >= 0.0 {
            self.first = self.first.min(day);
            self.last = self.last.max(day);
            self.purchases += 1;
            if let Some(order) = order {
                self.orders.push(order);
            }
        }
    }
}

/// A customer's order keys: appended as they come (not again when equal to the last one, as
/// an order's lines usually are), and sorted and deduplicated in place whenever the buffer is
/// full, then given room for as many again, so it holds at most about twice the distinct
/// orders. Cheaper than a hash set, whose inserts and growth were a fifth of `rfm`'s time with
/// `--order`.
#[derive(Debug, Clone, Default)]
struct Orders(Vec<u64>);

/// How many rows ahead the aggregation asks for a customer's record.
const RECORD_AHEAD: usize = 16;

impl Orders {
    /// Asks the cache for the last key (which the next push compares with).
    fn prefetch_end(&self) {
        if let Some(last) = self.0.last() {
            prefetch(last);
        }
    }

    fn push(&mut self, key: u64) {
        if self.0.last() == Some(&key) {
            return;
        }
        if self.0.len() == self.0.capacity() && self.0.len() >= 16 {
            self.0.sort_unstable();
            self.0.dedup();
            // Room for as many again as are left: the next sort is that many pushes away.
            self.0.reserve_exact(self.0.len());
        }
        self.0.push(key);
    }

    /// Distinct orders.
    fn distinct(&mut self) -> usize {
        self.0.sort_unstable();
        self.0.dedup();
        self.0.len()
    }
}

/// Rows left out, kept for `--rejects`.
#[derive(Debug, Default)]
pub struct Rejects {
    rows: Vec<u64>,
    reasons: Vec<&'static str>,
    /// The rejected rows' customer, date, amount (and order) values as text.
    values: Vec<Vec<Option<String>>>,
}

/// What an aggregation saw.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RfmSummary {
    pub transactions: u64,
    pub customers: u64,
    pub rejected: u64,
    /// Transactions with a negative amount, and their sum.
    pub refunds: u64,
    pub refund_total: f64,
    /// Customers whose transactions are all refunds: left out of the table.
    pub refunds_only: u64,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub as_of: Option<String>,
    /// `--time-zone`, the calendar the days are on (`null`: each timestamp's own zone).
    pub time_zone: Option<String>,
}

/// The aggregated table and what was seen on the way.
pub struct RfmOutcome {
    pub schema: SchemaRef,
    pub batch: RecordBatch,
    pub summary: RfmSummary,
    pub rejects: Rejects,
    /// Input column names of the rejects' value columns.
    pub reject_columns: Vec<String>,
}

impl Rejects {
    /// The rejected rows as a table: `row`, `reason`, and the used columns as text.
    ///
    /// # Errors
    /// An internal error if the columns do not line up.
    pub fn to_batch(&self, columns: &[String]) -> Result<(SchemaRef, RecordBatch)> {
        let mut fields = vec![
            Field::new("row", DataType::UInt64, false),
            Field::new("reason", DataType::Utf8, false),
        ];
        fields.extend(columns.iter().map(|c| Field::new(c, DataType::Utf8, true)));
        let schema = Arc::new(Schema::new(fields));
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(self.rows.clone())),
            Arc::new(StringArray::from(self.reasons.clone())),
        ];
        for j in 0..columns.len() {
            arrays.push(Arc::new(StringArray::from(
                self.values.iter().map(|v| v[j].clone()).collect::<Vec<_>>(),
            )));
        }
        let batch = RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| Error::Internal(format!("rejects table: {e}")))?;
        Ok((schema, batch))
    }

    /// Rows left out.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A batch's order column as keys of distinct orders: an integer order id is its own key, so
/// distinct ids never collide; a text one is a 64-bit SipHash of the text.
enum OrderKeys {
    Signed(Int64Array),
    Unsigned(UInt64Array),
    Text(StringArray),
}

impl OrderKeys {
    fn new(array: &ArrayRef) -> Result<OrderKeys> {
        let cast = |to: &DataType| {
            arrow_cast::cast(array, to).map_err(|e| Error::data(format!("order column: {e}")))
        };
        let data_type = crate::data::ids::decoded_type(array.data_type());
        Ok(if data_type.is_signed_integer() {
            OrderKeys::Signed(cast(&DataType::Int64)?.as_primitive::<Int64Type>().clone())
        } else if data_type.is_unsigned_integer() {
            OrderKeys::Unsigned(
                cast(&DataType::UInt64)?
                    .as_primitive::<UInt64Type>()
                    .clone(),
            )
        } else {
            OrderKeys::Text(cast(&DataType::Utf8)?.as_string::<i32>().clone())
        })
    }

    /// Row `i`'s order key; `None` for a null order.
    fn key(&self, i: usize) -> Option<u64> {
        match self {
            OrderKeys::Signed(a) => a.is_valid(i).then(|| a.value(i) as u64),
            OrderKeys::Unsigned(a) => a.is_valid(i).then(|| a.value(i)),
            OrderKeys::Text(a) => a.is_valid(i).then(|| {
                let mut h = DefaultHasher::new();
                a.value(i).hash(&mut h);
                h.finish()
            }),
        }
    }
}

/// Aggregates a transaction log.
///
/// # Errors
/// Exit 65 for a missing column, a column of the wrong type, bad rows under `--bad-rows
/// error`, transactions after `--as-of`, or a log without usable rows; 66/74 for I/O.
pub fn aggregate(source: Source, spec: &RfmSpec) -> Result<RfmOutcome> {
    let name = source.name();
    let (opened, stand_ins) = Opened::open_with_stand_ins(source)?;
    let schema = opened.schema().clone();
    let customer_idx = find_column(&schema, &spec.customer, "customer")?;
    let date_idx = find_column(&schema, &spec.date, "date")?;
    let amount_idx = find_column(&schema, &spec.amount, "amount")?;
    let order_idx = spec
        .order
        .as_deref()
        .map(|o| find_column(&schema, o, "order"))
        .transpose()?;
    let amount_type = schema.field(amount_idx).data_type();
    if !(amount_type.is_numeric() || matches!(amount_type, DataType::Null)) {
        return Err(Error::data(format!(
            "amount column '{}' has type {amount_type}; it must be numeric{}",
            spec.amount,
            match (opened.words(amount_idx), opened.formatted(amount_idx)) {
                (Some(words), _) => crate::data::read::words_hint(
                    &words.iter().map(String::as_str).collect::<Vec<_>>()
                ),
                (None, Some(value)) => format!(
                    "; its values are numbers written as a spreadsheet shows them, such as \
                     '{value}'{}",
                    crate::data::read::FORMATTED_HINT
                ),
                (None, None) if !opened.typed() && amount_type == &DataType::Utf8 => {
                    crate::data::read::INFERRED_TEXT_HINT.to_string()
                }
                (None, None) => String::new(),
            }
        )));
    }
    let customer_read = key_read(&opened, customer_idx, "customer");
    let mut keys = Keys::read_as(customer_read, schema.field(customer_idx).data_type())?;
    let mut text = vec![date_idx];
    text.extend((customer_read != KeyRead::Typed).then_some(customer_idx));
    let mut used = vec![customer_idx, date_idx, amount_idx];
    used.extend(order_idx);
    let mut projection = used.clone();
    projection.sort_unstable();
    projection.dedup();
    let reject_columns: Vec<String> = used
        .iter()
        .map(|&i| schema.field(i).name().clone())
        .collect();

    // Indexed by customer slot; `None` for a customer seen only in rejected rows.
    let mut records: Vec<Option<Running>> = Vec::new();
    let mut rejects = Rejects::default();
    let mut first_bad: Option<(u64, Reason, String)> = None;
    let mut bad: u64 = 0;
    let (mut transactions, mut refunds, mut refund_total) = (0u64, 0u64, 0.0f64);
    let mut row_base: u64 = 0;
    // The first and last day of the usable rows.
    let mut log_days: Option<(i32, i32)> = None;
    let mut day_reader = DayReader::new(spec.date_format.as_deref(), spec.time_zone);
    let progress = crate::progress::stage(
        format!("reading {name}"),
        opened.rows_total(),
        "transactions",
    );
    for batch in opened.batches_with_text(&projection, &[amount_idx], &text)? {
        let batch = batch?;
        let column = |index: usize| batch_column(&batch, &schema, index);
        let n = batch.num_rows();
        let slots = keys.slots(column(customer_idx)?, row_base, &spec.customer)?;
        records.resize(keys.len(), None);
        let days = day_reader.days(column(date_idx)?)?;
        let not_read = |e| Error::data(format!("amount column '{}': {e}", spec.amount));
        // Numbers named missing are compared in the column's own precision.
        let amounts = stand_ins.nulled(as_floats(column(amount_idx)?).map_err(not_read)?)?;
        let amounts = arrow_cast::cast(&amounts, &DataType::Float64).map_err(not_read)?;
        let amounts: &Float64Array = amounts.as_primitive::<Float64Type>();
        let orders = order_idx.map(|i| OrderKeys::new(column(i)?)).transpose()?;
        for i in 0..n {
            // In a log ordered by time, each row's record is somewhere else in memory: ask for
            // it ahead, then for the end of its order keys (where the row's key goes).
            if let Some(&Some(ahead)) = slots.get(i + RECORD_AHEAD) {
                prefetch(records.as_ptr().wrapping_add(ahead));
            }
            if let Some(&Some(ahead)) = slots.get(i + RECORD_AHEAD / 2)
                && let Some(record) = &records[ahead]
            {
                record.orders.prefetch_end();
            }
            let amount = amounts.is_valid(i).then(|| amounts.value(i));
            let order = orders.as_ref().map(|o| o.key(i));
            let reason = match (slots[i], days[i], amount, order) {
                (None, ..) => Some(Reason::NullCustomer),
                (_, None, ..) => Some(Reason::BadDate),
                (_, _, None, _) => Some(Reason::BadAmount),
                (_, _, Some(a), _) if !a.is_finite() => Some(Reason::BadAmount),
                (.., Some(None)) => Some(Reason::NullOrder),
                _ => None,
            };
            if let Some(reason) = reason {
                bad += 1;
                let texts = || -> Result<Vec<Option<String>>> {
                    used.iter()
                        .map(|&c| {
                            let a = column(c)?;
                            Ok(a.is_valid(i).then(|| {
                                arrow_cast::display::array_value_to_string(a, i).unwrap_or_default()
                            }))
                        })
                        .collect()
                };
                if first_bad.is_none() {
                    let value = texts()?
                        .get(match reason {
                            Reason::NullCustomer => 0,
                            Reason::BadDate => 1,
                            Reason::BadAmount => 2,
                            Reason::NullOrder => 3,
                        })
                        .cloned()
                        .flatten()
                        .unwrap_or_else(|| "null".to_string());
                    first_bad = Some((row_base + i as u64, reason, value));
                }
                if spec.bad_rows == BadRows::Skip {
                    rejects.rows.push(row_base + i as u64);
                    rejects.reasons.push(reason_text(reason));
                    rejects.values.push(texts()?);
                }
                continue;
            }
            let (slot, day, amount) = (
                slots[i].unwrap_or_default(),
                days[i].unwrap_or_default(),
                amount.unwrap_or_default(),
            );
            transactions += 1;
            if amount < 0.0 {
                refunds += 1;
                refund_total += amount;
            }
            log_days = Some(log_days.map_or((day, day), |(a, b)| (day.min(a), day.max(b))));
            records[slot].get_or_insert_with(|| Running::new(day)).add(
                day,
                amount,
                order.flatten(),
            );
        }
        row_base += n as u64;
        progress.set(row_base);
    }
    drop(progress);
    if let (BadRows::Error, Some((row, reason, value))) = (spec.bad_rows, &first_bad) {
        let hint = match reason {
            Reason::BadDate => date_hint(value, spec.date_format.as_deref()),
            _ => String::new(),
        };
        return Err(Error::data(format!(
            "{bad} bad row(s) in the transaction log; the first is row {row} (0-based): {} \
             ('{value}'){hint}. Fix them, or pass --bad-rows skip (with --rejects FILE to keep \
             them)",
            reason_text(*reason)
        )));
    }
    let Some((first_day, last_day)) = log_days else {
        return Err(Error::data(format!(
            "the transaction log has no usable rows ({row_base} read, {bad} rejected)"
        )));
    };
    if let Some(zone) = spec.time_zone
        && !day_reader.any_instant
    {
        log::warn!(
            "--time-zone {zone} changed no day: the date column '{}' holds no instant (a \
             timestamp that names a time zone, or a time written with its offset or Z); dates, \
             and times with neither, are read as written",
            spec.date
        );
    }
    let as_of = match spec.as_of {
        Some(day) => day,
        None => last_day + 1,
    };
    let late = records
        .iter()
        .flatten()
        .filter(|r| r.last_any > as_of)
        .count();
    if late > 0 {
        return Err(Error::data(format!(
            "{late} customer(s) have transactions after --as-of {} (the log runs to {}); \
             give a later --as-of or filter the log",
            iso_day(as_of),
            iso_day(last_day)
        )));
    }
    // A customer whose every row was rejected has a slot but no record, and one with refunds
    // only has no purchase: both are left out.
    let seen = records.iter().flatten().count();
    let (kept, mut records): (Vec<u64>, Vec<Running>) = records
        .into_iter()
        .enumerate()
        .filter_map(|(slot, r)| r.filter(|r| r.purchases > 0).map(|r| (slot as u64, r)))
        .unzip();
    let refunds_only = (seen - records.len()) as u64;
    let (ids, id_type) = keys.into_array()?;
    // Usually every customer is kept: then the ids are the column as it is, not a copy.
    let ids = if kept.len() == ids.len() {
        ids
    } else {
        arrow_select::take::take(&ids, &UInt64Array::from(kept), None)
            .map_err(|e| Error::Internal(format!("customer ids: {e}")))?
    };
    if records.is_empty() {
        return Err(Error::data(format!(
            "the transaction log has no purchases: all {transactions} usable transaction(s) \
             have negative amounts (refunds); is --amount the right column?"
        )));
    }
    let frequency: Vec<i64> = records
        .iter_mut()
        .map(|r| {
            if order_idx.is_some() {
                r.orders.distinct() as i64
            } else {
                r.purchases as i64
            }
        })
        .collect();
    let monetary: Vec<f64> = records.iter().map(|r| r.monetary).collect();
    let fields = vec![
        Field::new(&spec.customer, id_type, false),
        Field::new("recency_days", DataType::Int64, false),
        Field::new("frequency", DataType::Int64, false),
        Field::new("monetary", DataType::Float64, false),
        Field::new("avg_order_value", DataType::Float64, false),
        Field::new("tenure_days", DataType::Int64, false),
        Field::new("first_purchase", DataType::Date32, false),
        Field::new("last_purchase", DataType::Date32, false),
    ];
    let schema = Arc::new(Schema::new(fields));
    let columns: Vec<ArrayRef> = vec![
        ids,
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| i64::from(as_of - r.last)),
        )),
        Arc::new(Int64Array::from(frequency.clone())),
        Arc::new(Float64Array::from(monetary.clone())),
        Arc::new(Float64Array::from_iter_values(
            monetary.iter().zip(&frequency).map(|(&m, &f)| m / f as f64),
        )),
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| i64::from(as_of - r.first)),
        )),
        Arc::new(Date32Array::from_iter_values(
            records.iter().map(|r| r.first),
        )),
        Arc::new(Date32Array::from_iter_values(
            records.iter().map(|r| r.last),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| Error::Internal(format!("rfm table: {e}")))?;
    Ok(RfmOutcome {
        schema,
        batch,
        summary: RfmSummary {
            transactions,
            customers: records.len() as u64,
            rejected: bad,
            refunds,
            refund_total,
            refunds_only,
            first_day: Some(iso_day(first_day)),
            last_day: Some(iso_day(last_day)),
            as_of: Some(iso_day(as_of)),
            time_zone: spec.time_zone.map(|zone| zone.to_string()),
        },
        rejects,
        reject_columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_count_distinct_orders_in_bounded_memory() {
        // 3,000 distinct orders of 1 to 4 lines each, lines adjacent or scattered; each
        // count is checked against a hash set, and the buffer never holds much more than
        // twice the distinct orders seen so far.
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        for scattered in [false, true] {
            let mut orders = Orders::default();
            let mut seen = std::collections::HashSet::new();
            for n in 0..3_000u64 {
                let key = if scattered { next() % 3_000 } else { n };
                for _ in 0..=next() % 4 {
                    orders.push(key);
                    seen.insert(key);
                }
                assert!(
                    orders.0.capacity() <= 2 * seen.len() + 32,
                    "{} keys held for {} distinct",
                    orders.0.capacity(),
                    seen.len()
                );
            }
            assert_eq!(orders.distinct(), seen.len(), "scattered: {scattered}");
        }
    }

    #[test]
    fn dates_in_every_text_form() {
        let d = days_from_ymd(2024, 2, 29).unwrap();
        assert_eq!(d, 19_782);
        assert_eq!(parse_default_date("2024-02-29"), Some(d));
        assert_eq!(parse_default_date("2024-02-29T23:59:59Z"), Some(d));
        assert_eq!(parse_default_date("2024-02-29 08:00"), Some(d));
        assert_eq!(parse_default_date("20240229"), Some(d));
        assert_eq!(parse_default_date("2023-02-29"), None, "not a leap year");
        assert_eq!(parse_default_date("2024-13-01"), None);
        assert_eq!(parse_default_date("29/02/2024"), None);
        assert_eq!(parse_default_date("2024-02-290"), None);
        assert_eq!(parse_with_format("29/02/2024", "%d/%m/%Y"), Some(d));
        assert_eq!(
            parse_with_format("02/29/2024 10:30", "%m/%d/%Y %H:%M"),
            Some(d)
        );
        assert_eq!(ymd_number(20240229), Some(d));
        assert_eq!(ymd_number(20241301), None);
        assert_eq!(iso_day(d), "2024-02-29");
        assert_eq!(days_from_ymd(1970, 1, 1), Some(0));
        assert_eq!(days_from_ymd(1969, 12, 31), Some(-1));
    }

    /// Seconds since 1970-01-01 UTC of a UTC date and time.
    fn utc(y: i32, mo: u32, d: u32, h: i64, mi: i64, s: i64) -> i64 {
        i64::from(days_from_ymd(y, mo, d).unwrap()) * 86_400 + h * 3_600 + mi * 60 + s
    }

    #[test]
    fn a_timestamp_is_on_the_calendar_of_its_zone() {
        let day = |zone: &str, secs: i64| LocalDays::new(time_zone(zone).unwrap()).day(secs);
        let ymd = |y, m, d| days_from_ymd(y, m, d);
        let ny = "America/New_York";
        // Eastern time: UTC−5 in winter, −4 in summer; the clocks go forward on 2024-03-10 at
        // 07:00 UTC and back on 2024-11-03 at 06:00 UTC.
        assert_eq!(day(ny, utc(2024, 3, 10, 4, 59, 59)), ymd(2024, 3, 9));
        assert_eq!(day(ny, utc(2024, 3, 10, 5, 0, 0)), ymd(2024, 3, 10));
        assert_eq!(day(ny, utc(2024, 7, 1, 3, 59, 59)), ymd(2024, 6, 30));
        assert_eq!(day(ny, utc(2024, 7, 1, 4, 0, 0)), ymd(2024, 7, 1));
        assert_eq!(day(ny, utc(2024, 11, 3, 3, 59, 59)), ymd(2024, 11, 2));
        assert_eq!(day(ny, utc(2024, 11, 4, 4, 59, 59)), ymd(2024, 11, 3));
        assert_eq!(day(ny, utc(2024, 11, 4, 5, 0, 0)), ymd(2024, 11, 4));
        // Before 1970: 23:00 on 1969-12-31 in New York is 04:00 UTC the next day.
        assert_eq!(day(ny, utc(1970, 1, 1, 4, 0, 0)), ymd(1969, 12, 31));
        // Fixed offsets: half an hour off the hour, by name and as an offset; UTC by its names.
        // Each pair is the UTC instant of local midnight starting 2024-01-02.
        for (zones, midnight) in [
            (
                &["Asia/Kolkata", "+05:30", "+0530"][..],
                utc(2024, 1, 1, 18, 30, 0),
            ),
            (
                &["UTC", "utc", "Z", "Etc/UTC", "+00:00"][..],
                utc(2024, 1, 2, 0, 0, 0),
            ),
        ] {
            for zone in zones {
                assert_eq!(day(zone, midnight - 1), ymd(2024, 1, 1), "{zone}");
                assert_eq!(day(zone, midnight), ymd(2024, 1, 2), "{zone}");
            }
        }
        // Lord Howe Island moves its clocks by half an hour: +11 until 2024-04-06 15:00 UTC,
        // then +10:30.
        let lh = "Australia/Lord_Howe";
        assert_eq!(day(lh, utc(2024, 4, 6, 12, 59, 59)), ymd(2024, 4, 6));
        assert_eq!(day(lh, utc(2024, 4, 6, 13, 0, 0)), ymd(2024, 4, 7));
        assert_eq!(day(lh, utc(2024, 4, 7, 13, 29, 59)), ymd(2024, 4, 7));
        assert_eq!(day(lh, utc(2024, 4, 7, 13, 30, 0)), ymd(2024, 4, 8));
        // Samoa went from UTC−10 to +14 at 10:00 UTC on 2011-12-30, within a UTC day, and
        // skipped its 30 December.
        let samoa = "Pacific/Apia";
        assert_eq!(day(samoa, utc(2011, 12, 30, 9, 59, 59)), ymd(2011, 12, 29));
        assert_eq!(day(samoa, utc(2011, 12, 30, 10, 0, 0)), ymd(2011, 12, 31));
        // Instants further apart than the days kept are looked up one by one (in 1870 New York
        // kept local mean time, −4:56:02; in 4900, winter is on Eastern Standard Time still).
        let mut days = LocalDays::new(time_zone(ny).unwrap());
        assert_eq!(days.day(utc(1870, 1, 1, 4, 56, 1)), ymd(1869, 12, 31));
        assert_eq!(days.day(utc(1870, 1, 1, 4, 56, 2)), ymd(1870, 1, 1));
        assert_eq!(days.day(utc(4900, 1, 1, 4, 59, 59)), ymd(4899, 12, 31));
        assert_eq!(days.day(utc(4900, 1, 1, 5, 0, 0)), ymd(4900, 1, 1));
        assert_eq!(days.offsets.len(), 1);
        // A name no zone has is an input error that names it.
        let Err(e) = time_zone("Mars/Olympus") else {
            panic!("an unknown zone was taken")
        };
        assert_eq!(e.exit_code(), 65);
        assert!(e.to_string().contains("'Mars/Olympus'"), "{e}");
    }

    #[test]
    fn whole_numbers_that_are_no_dates_are_named_by_what_they_look_like() {
        let d = days_from_ymd(2024, 3, 2);
        assert_eq!(parse_with_format("1709348400", "%s"), d);
        assert_eq!(parse_with_format("1709348400000", "%s"), None, "year 56137");
        assert_eq!(parse_instant_with_format("1709348400000", "%s"), None);
        let hint = |v: &str| number_date_hint(v);
        assert!(hint("1709348400").contains("--date-format %s"));
        assert!(hint("170934840").contains("--date-format %s"));
        assert!(hint("1709348400000").contains("milliseconds"));
        assert!(hint("1709348400000000").contains("microseconds"));
        assert!(hint("1709348400000000000").contains("unit='ns'"));
        assert!(hint("45352").contains("serial day number"));
        for not in [
            "20240230",
            "99999",
            "12345",
            "17093484000",
            "-1709348400",
            "1.5",
            "",
        ] {
            assert_eq!(hint(not), "", "{not}");
        }
        // The hint follows the format's message too.
        assert!(date_hint("1709348400000", Some("%s")).ends_with("utc=True))"));
        assert!(date_hint("20240230", None).is_empty());
    }

    #[test]
    fn a_time_written_with_its_offset_is_an_instant() {
        // 2024-03-01 22:00 in New York's winter (−5) is 03:00 UTC on the 2nd.
        let want = Some(utc(2024, 3, 2, 3, 0, 0));
        for text in [
            "2024-03-01T22:00:00-05:00",
            "2024-03-01 22:00:00-05:00",
            "2024-03-01 22:00-0500",
            "2024-03-01T22:00:00.250-05",
            "2024-03-01 22:00:00.123456789 -05:00",
            " 2024-03-02T03:00:00Z ",
            "2024-03-02t03:00:00z",
            "2024-03-02 03:00:00 UTC",
            "2024-03-02 03:00:00+00:00",
            "2024-03-02T08:30:00+05:30",
        ] {
            assert_eq!(parse_instant(text), want, "{text}");
        }
        // A leap second is the last second of its minute; before 1970 counts back.
        assert_eq!(
            parse_instant("2016-12-31T23:59:60Z"),
            Some(utc(2016, 12, 31, 23, 59, 59))
        );
        assert_eq!(
            parse_instant("1969-12-31T23:00:00-05:00"),
            Some(utc(1970, 1, 1, 4, 0, 0))
        );
        // Not instants: no offset, no time, or a malformed time or offset.
        for text in [
            "2024-03-01",
            "2024-03-01 22:00:00",
            "2024-03-01T22:00",
            "20240301T220000Z",
            "2024-03-01T22:00:00+5",
            "2024-03-01T22:00:00+0:530",
            "2024-03-01T22:00:00+aé5",
            "2024-03-01T22:00:00+05:3",
            "2024-03-01T22:00:00+24:00",
            "2024-03-01T22:00:00+05:60",
            "2024-03-01T24:00:00Z",
            "2024-03-01T22:60:00Z",
            "2024-03-01T22:00:61Z",
            "2024-03-01T22:00:00.Z",
            "2024-03-01T22:00:00 EST",
            "2024-03-01T2:00:00Z",
            "2024-02-30T22:00:00Z",
        ] {
            assert_eq!(parse_instant(text), None, "{text}");
        }
        // With a format, only one that has an offset.
        assert_eq!(
            parse_instant_with_format("01/03/2024 22:00 -0500", "%d/%m/%Y %H:%M %z"),
            want
        );
        assert_eq!(
            parse_instant_with_format("01/03/2024 22:00", "%d/%m/%Y %H:%M"),
            None
        );
    }

    #[test]
    fn the_offsets_kept_per_day_give_what_each_instant_looked_up_gives() {
        // Instants 7 min 13 s apart through fourteen months of each zone's changes, visited
        // in an order that jumps about, so the kept offsets are used out of order too; each
        // day is checked against the zone's own offset at that instant.
        let step = 7 * 60 + 13;
        let (start, end) = (utc(2023, 10, 1, 0, 0, 0), utc(2024, 12, 1, 0, 0, 0));
        let count = (end - start) / step;
        assert_ne!(count % 7919, 0);
        // With the number of times each zone changes its clocks in those months.
        for (zone, changes) in [
            ("America/New_York", 3),
            ("Australia/Lord_Howe", 2),
            ("Europe/London", 3),
            ("+05:30", 0),
        ] {
            let tz = time_zone(zone).unwrap();
            let mut days = LocalDays::new(tz);
            for i in 0..count {
                // i ↦ (i·7919 + count/2) mod count visits every instant once (7919 is prime,
                // count not a multiple of it), from the middle on, so the days kept grow both
                // ways.
                let secs = start + ((i * 7919 + count / 2) % count) * step;
                let offset = LocalDays::offset_at(&tz, secs).unwrap();
                let want = i32::try_from((secs + i64::from(offset)).div_euclid(86_400)).unwrap();
                assert_eq!(days.day(secs), Some(want), "{zone} at {secs}");
            }
            // The days the clocks change on, and those only, are looked up instant by instant.
            let seen = days
                .offsets
                .iter()
                .filter(|&&o| o == LocalDays::CHANGES)
                .count();
            assert_eq!(seen, changes, "{zone}");
            assert!(!days.offsets.contains(&LocalDays::UNSEEN), "{zone}");
        }
    }
}
