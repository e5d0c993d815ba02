//! Columns read beside the features to describe the segments with (`fit --describe`): region,
//! channel, a loyalty tier, age. They are never clustered on; once the fit is done, each
//! segment is summarized by them (`segment::describe`).
//!
//! Numbers (integers, floats, decimals) are kept as numbers; any other type (text, booleans,
//! dictionaries, dates) as categories: its values as text, one code per row.

use super::ids::retain_vec;
use super::read::StandIns;
use crate::error::{Error, Result};
use crate::segment::keys::{KeyList, Numbering, TextList};
use arrow_array::ArrayRef;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_schema::DataType;

/// Most distinct values a column of categories may have and still be described: past it the
/// column is more like an identifier, and per-segment shares of it say little.
pub const MAX_CATEGORIES: usize = 10_000;

/// The code of a missing value (null) in a column of categories.
pub const MISSING: u32 = u32::MAX;

/// One described column as read, a value per input row.
#[derive(Debug, Clone)]
pub struct DescribedColumn {
    /// The column's name in the input.
    pub name: String,
    pub values: DescribedValues,
}

/// A described column's values.
#[derive(Debug, Clone)]
pub enum DescribedValues {
    /// Numbers as f64; NaN where missing (null, NaN, ±Inf, a `--null-values` number).
    Numbers(Vec<f64>),
    /// Values as text: per row a code into `values` (codes by first appearance), or
    /// [`MISSING`]. `overflow` when the column had more than [`MAX_CATEGORIES`] distinct
    /// values: the codes are then dropped and no longer kept.
    Categories {
        codes: Vec<u32>,
        values: Vec<String>,
        overflow: bool,
    },
}

/// A described column being read.
pub struct DescribedBuilder {
    column: DescribedColumn,
    /// The codes of a column of categories.
    seen: Numbering<TextList>,
}

impl DescribedBuilder {
    /// An empty column named `name`, of the input's type `data_type`; described by its values
    /// as categories when it is not numbers or `as_categories` says so.
    pub fn new(name: &str, data_type: &DataType, as_categories: bool) -> Self {
        let values = if data_type.is_numeric() && !as_categories {
            DescribedValues::Numbers(Vec::new())
        } else {
            DescribedValues::Categories {
                codes: Vec::new(),
                values: Vec::new(),
                overflow: false,
            }
        };
        DescribedBuilder {
            column: DescribedColumn {
                name: name.to_string(),
                values,
            },
            seen: Numbering::default(),
        }
    }

    /// Appends the values of one batch.
    ///
    /// # Errors
    /// Exit 65 when the values cannot be read as numbers or as text.
    pub fn append(&mut self, array: &ArrayRef, stand_ins: &StandIns) -> Result<()> {
        let name = &self.column.name;
        let unreadable = |e: arrow_schema::ArrowError| {
            Error::data(format!("cannot read described column '{name}': {e}"))
        };
        match &mut self.column.values {
            DescribedValues::Numbers(numbers) => {
                // In the column's own precision for the stand-ins, as a feature's.
                let floats = super::read::as_floats(array).map_err(unreadable)?;
                let floats = stand_ins.nulled(floats)?;
                let floats = arrow_cast::cast(&floats, &DataType::Float64).map_err(unreadable)?;
                numbers.extend(
                    floats
                        .as_primitive::<Float64Type>()
                        .iter()
                        .map(|v| v.filter(|x| x.is_finite()).unwrap_or(f64::NAN)),
                );
            }
            DescribedValues::Categories {
                codes,
                values,
                overflow,
            } => {
                if *overflow {
                    return Ok(());
                }
                let text = arrow_cast::cast(array, &DataType::Utf8).map_err(unreadable)?;
                let numbers = self.seen.number_column(text.as_string::<i32>())?;
                codes.extend(numbers.into_iter().map(|n| n.map_or(MISSING, |n| n as u32)));
                let keys = self.seen.keys();
                values.extend((values.len()..keys.count()).map(|i| keys.key(i).to_string()));
                if values.len() > MAX_CATEGORIES {
                    *overflow = true;
                    *codes = Vec::new();
                    *values = Vec::new();
                    self.seen = Numbering::default();
                }
            }
        }
        Ok(())
    }

    /// The rows read so far; the builder starts afresh.
    pub fn take(&mut self) -> DescribedColumn {
        let values = match &mut self.column.values {
            DescribedValues::Numbers(numbers) => DescribedValues::Numbers(std::mem::take(numbers)),
            DescribedValues::Categories {
                codes,
                values,
                overflow,
            } => DescribedValues::Categories {
                codes: std::mem::take(codes),
                values: values.clone(),
                overflow: *overflow,
            },
        };
        DescribedColumn {
            name: self.column.name.clone(),
            values,
        }
    }
}

impl DescribedColumn {
    /// Keeps only the rows where `keep` is true.
    pub fn retain(&mut self, keep: &[bool]) {
        match &mut self.values {
            DescribedValues::Numbers(numbers) => retain_vec(numbers, keep),
            DescribedValues::Categories { codes, .. } => retain_vec(codes, keep),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::Int8Type;
    use arrow_array::{BooleanArray, DictionaryArray, Float32Array, Int64Array, StringArray};
    use std::sync::Arc;

    fn codes_of(column: &DescribedColumn) -> (Vec<u32>, Vec<String>, bool) {
        match &column.values {
            DescribedValues::Categories {
                codes,
                values,
                overflow,
            } => (codes.clone(), values.clone(), *overflow),
            DescribedValues::Numbers(_) => panic!("numbers"),
        }
    }

    #[test]
    fn text_booleans_and_dictionaries_become_codes_by_first_appearance() {
        let none = StandIns::of(&[]);
        let mut text = DescribedBuilder::new("region", &DataType::Utf8, false);
        let batch: ArrayRef = Arc::new(StringArray::from(vec![Some("n"), None, Some("s")]));
        text.append(&batch, &none).unwrap();
        let batch: ArrayRef = Arc::new(StringArray::from(vec![Some("s"), Some("e"), Some("n")]));
        text.append(&batch, &none).unwrap();
        let mut column = text.take();
        assert_eq!(
            codes_of(&column),
            (
                vec![0, MISSING, 1, 1, 2, 0],
                vec!["n".into(), "s".into(), "e".into()],
                false
            )
        );
        column.retain(&[true, false, true, false, true, true]);
        assert_eq!(codes_of(&column).0, vec![0, 1, 2, 0]);

        // A code stored as a number, described by its values when asked.
        let mut tier = DescribedBuilder::new("tier", &DataType::Int64, true);
        let batch: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), Some(1), None, Some(3)]));
        tier.append(&batch, &none).unwrap();
        assert_eq!(
            codes_of(&tier.take()),
            (vec![0, 1, MISSING, 0], vec!["3".into(), "1".into()], false)
        );

        let mut flags = DescribedBuilder::new("member", &DataType::Boolean, false);
        let batch: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]));
        flags.append(&batch, &none).unwrap();
        assert_eq!(
            codes_of(&flags.take()),
            (
                vec![0, 1, MISSING],
                vec!["true".into(), "false".into()],
                false
            )
        );

        let dictionary: DictionaryArray<Int8Type> =
            vec!["web", "store", "web"].into_iter().collect();
        let batch: ArrayRef = Arc::new(dictionary);
        let mut channel = DescribedBuilder::new("channel", batch.data_type(), false);
        channel.append(&batch, &none).unwrap();
        assert_eq!(
            codes_of(&channel.take()),
            (vec![0, 1, 0], vec!["web".into(), "store".into()], false)
        );
    }

    #[test]
    fn numbers_keep_missing_as_nan_and_too_many_categories_stop_the_codes() {
        let stand_ins = StandIns::of(&["-1".to_string()]);
        let mut age = DescribedBuilder::new("age", &DataType::Int64, false);
        let batch: ArrayRef = Arc::new(Int64Array::from(vec![Some(30), None, Some(-1), Some(52)]));
        age.append(&batch, &stand_ins).unwrap();
        let mut score = DescribedBuilder::new("score", &DataType::Float32, false);
        let batch: ArrayRef = Arc::new(Float32Array::from(vec![0.5, f32::INFINITY, f32::NAN]));
        score.append(&batch, &stand_ins).unwrap();
        for (column, want) in [
            (age.take(), vec![30.0, f64::NAN, f64::NAN, 52.0]),
            (score.take(), vec![0.5, f64::NAN, f64::NAN]),
        ] {
            let DescribedValues::Numbers(got) = column.values else {
                panic!("categories");
            };
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!(g == w || (g.is_nan() && w.is_nan()), "{got:?}");
            }
        }

        let mut zip = DescribedBuilder::new("zip", &DataType::Utf8, false);
        let few: ArrayRef = Arc::new(StringArray::from(
            (0..MAX_CATEGORIES)
                .map(|i| i.to_string())
                .collect::<Vec<_>>(),
        ));
        zip.append(&few, &StandIns::of(&[])).unwrap();
        assert!(!codes_of(&zip.take()).2);
        let one_more: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        zip.append(&one_more, &StandIns::of(&[])).unwrap();
        let (codes, values, overflow) = codes_of(&zip.take());
        assert!(overflow && codes.is_empty() && values.is_empty());
    }
}
