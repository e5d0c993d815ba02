//! Segments described by columns they were not clustered on (`fit --describe`): for a column
//! of categories, each segment's share of every category with its index against all rows (the
//! segment's share ÷ the population's × 100); for a column of numbers, each segment's mean,
//! lower median and index, as the features are profiled.
//!
//! Categories are listed in the order of their count in the whole population (ties: first
//! seen first), the first [`TOP_CATEGORIES`] by name and the rest together as `other`;
//! missing values are their own line. Shares are of the segment's rows, missing included, so a
//! segment's shares add up to 1.

use super::profile::{cell, columns};
use crate::data::described::{DescribedColumn, DescribedValues, MAX_CATEGORIES, MISSING};
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;

/// Categories named in the report; the rest are summed into `other`.
pub const TOP_CATEGORIES: usize = 20;

/// Categories given a column each in the printed table; the rest are summed into `other`.
const SHOWN_CATEGORIES: usize = 6;

/// Rows of a count among a segment's rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Share {
    pub count: u64,
    /// count ÷ the segment's rows (0 for an empty segment).
    pub share: f64,
    /// share ÷ the population's share × 100.
    pub index: f64,
}

/// One named category in a segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryShare {
    pub value: String,
    #[serde(flatten)]
    pub share: Share,
}

/// A column of categories in one segment (or in all rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Categories {
    /// The population's first [`TOP_CATEGORIES`] categories by count, in that order.
    pub categories: Vec<CategoryShare>,
    /// The other categories together, when there are more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<Share>,
    /// Missing values, when the column has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Share>,
}

/// A column of numbers in one segment (or in all rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Numbers {
    /// Values present.
    pub count: u64,
    /// Values missing (null, NaN, ±Inf, a `--null-values` number).
    pub missing: u64,
    /// `None` when no value is present.
    pub mean: Option<f64>,
    /// The lower median (the ⌈m/2⌉-th smallest of m values).
    pub median: Option<f64>,
    /// mean ÷ the population's mean × 100; `None` when that mean is not positive or a value of
    /// the column is negative (as for the features).
    pub index: Option<f64>,
}

/// A described column in one segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Summary {
    Categories(Categories),
    Numbers(Numbers),
}

/// One described column: per segment, and over all rows.
#[derive(Debug, Clone)]
pub struct Description {
    pub column: String,
    /// Segment by segment.
    pub segments: Vec<Summary>,
    /// All rows.
    pub population: Summary,
}

/// Describes the segments (`labels`, whose segment sizes are `sizes`) by each of `columns`,
/// which hold a value per labelled row; a column with too many categories is left out with a
/// warning.
///
/// # Errors
/// An internal error when a column does not hold a value per labelled row.
pub fn describe(
    columns: &[DescribedColumn],
    labels: &[u32],
    sizes: &[u64],
) -> Result<Vec<Description>> {
    for column in columns {
        let rows = match &column.values {
            DescribedValues::Categories { overflow: true, .. } => continue,
            DescribedValues::Categories { codes, .. } => codes.len(),
            DescribedValues::Numbers(values) => values.len(),
        };
        if rows != labels.len() {
            return Err(Error::Internal(format!(
                "described column '{}' holds {rows} values for {} labelled rows",
                column.name,
                labels.len()
            )));
        }
    }
    Ok(columns
        .iter()
        .filter_map(|column| {
            let (segments, population) = match &column.values {
                DescribedValues::Categories { overflow: true, .. } => {
                    log::warn!(
                        "described column '{}' has more than {MAX_CATEGORIES} distinct values, \
                         too many to describe segments by: left out (describe a coarser column)",
                        column.name
                    );
                    return None;
                }
                DescribedValues::Categories { codes, values, .. } => {
                    categories(codes, values, labels, sizes)
                }
                DescribedValues::Numbers(values) => numbers(values, labels, sizes),
            };
            Some(Description {
                column: column.name.clone(),
                segments,
                population,
            })
        })
        .collect())
}

/// Count of each code per segment, `width` codes a segment (missing values last).
fn code_counts(codes: &[u32], labels: &[u32], k: usize, width: usize) -> Vec<u64> {
    const ROWS: usize = 1 << 16;
    codes
        .par_chunks(ROWS)
        .zip(labels.par_chunks(ROWS))
        .fold(
            || vec![0u64; k * width],
            |mut counts, (codes, labels)| {
                for (&code, &label) in codes.iter().zip(labels) {
                    let slot = if code == MISSING {
                        width - 1
                    } else {
                        code as usize
                    };
                    counts[label as usize * width + slot] += 1;
                }
                counts
            },
        )
        .reduce(
            || vec![0u64; k * width],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

fn categories(
    codes: &[u32],
    values: &[String],
    labels: &[u32],
    sizes: &[u64],
) -> (Vec<Summary>, Summary) {
    let (k, m) = (sizes.len(), values.len());
    let width = m + 1;
    let counts = code_counts(codes, labels, k, width);
    let mut all = vec![0u64; width];
    for row in counts.chunks(width) {
        all.iter_mut().zip(row).for_each(|(a, &c)| *a += c);
    }
    let rows: u64 = sizes.iter().sum();
    // Categories by population count, then by first appearance (a stable sort of the codes).
    // Codes seen only on rows dropped since (`--missing drop`) have no count left.
    let mut order: Vec<usize> = (0..m).filter(|&code| all[code] > 0).collect();
    order.sort_by_key(|&code| std::cmp::Reverse(all[code]));
    let (named, rest) = order.split_at(order.len().min(TOP_CATEGORIES));
    let summary = |row: &[u64], size: u64| {
        let share = |count: u64, population: u64| Share {
            count,
            share: ratio(count, size),
            index: ratio(count, size) / ratio(population, rows) * 100.0,
        };
        let sum = |codes: &[usize], of: &[u64]| codes.iter().map(|&c| of[c]).sum::<u64>();
        Summary::Categories(Categories {
            categories: named
                .iter()
                .map(|&code| CategoryShare {
                    value: values[code].clone(),
                    share: share(row[code], all[code]),
                })
                .collect(),
            other: (!rest.is_empty()).then(|| share(sum(rest, row), sum(rest, &all))),
            missing: (all[m] > 0).then(|| share(row[m], all[m])),
        })
    };
    let segments = counts
        .chunks(width)
        .zip(sizes)
        .map(|(row, &size)| summary(row, size))
        .collect();
    (segments, summary(&all, rows))
}

/// `part ÷ whole`, 0 when the whole is empty.
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn numbers(values: &[f64], labels: &[u32], sizes: &[u64]) -> (Vec<Summary>, Summary) {
    let k = sizes.len();
    // Sums in row order; the present values gathered segment by segment for the medians.
    let mut sums = vec![0.0f64; k];
    let mut present = vec![0usize; k];
    let mut negative = false;
    for (&v, &label) in values.iter().zip(labels) {
        if !v.is_nan() {
            sums[label as usize] += v;
            present[label as usize] += 1;
            negative |= v < 0.0;
        }
    }
    let mut starts = vec![0usize; k + 1];
    for c in 0..k {
        starts[c + 1] = starts[c] + present[c];
    }
    let mut gathered = vec![0.0f64; starts[k]];
    let mut next = starts.clone();
    for (&v, &label) in values.iter().zip(labels) {
        if !v.is_nan() {
            gathered[next[label as usize]] = v;
            next[label as usize] += 1;
        }
    }
    let total: f64 = sums.iter().sum();
    let population_mean = (starts[k] > 0).then(|| total / starts[k] as f64);
    let summary = |sum: f64, slice: &mut [f64], size: u64| {
        let count = slice.len();
        let mean = (count > 0).then(|| sum / count as f64);
        Summary::Numbers(Numbers {
            count: count as u64,
            missing: size - count as u64,
            mean,
            median: lower_median(slice),
            index: match (mean, population_mean) {
                (Some(mean), Some(all)) if all > 0.0 && !negative => Some(mean / all * 100.0),
                _ => None,
            },
        })
    };
    let segments = (0..k)
        .map(|c| {
            let slice = &mut gathered[starts[c]..starts[c + 1]];
            summary(sums[c], slice, sizes[c])
        })
        .collect();
    let rows = sizes.iter().sum();
    let population = summary(total, &mut gathered, rows);
    (segments, population)
}

/// The ⌈m/2⌉-th smallest of the m values of `slice` (reordered), if any.
fn lower_median(slice: &mut [f64]) -> Option<f64> {
    if slice.is_empty() {
        return None;
    }
    let middle = (slice.len() - 1) / 2;
    Some(*slice.select_nth_unstable_by(middle, f64::total_cmp).1)
}

/// The printed tables: one per column of categories (each segment's share of the population's
/// first categories, with the index), then the means (with the index) and the medians of the
/// columns of numbers. Empty when nothing is described.
pub fn render(descriptions: &[Description]) -> String {
    let mut out = String::new();
    for d in descriptions {
        if !matches!(d.population, Summary::Categories(_)) {
            continue;
        }
        fn cats(s: &Summary) -> &Categories {
            match s {
                Summary::Categories(c) => c,
                Summary::Numbers(_) => unreachable!("a column is of one kind"),
            }
        }
        let all = cats(&d.population);
        let shown = all.categories.len().min(SHOWN_CATEGORIES);
        // The rows of a summary past the shown categories.
        let folded_count = |c: &Categories| {
            c.categories[shown..]
                .iter()
                .map(|c| c.share.count)
                .sum::<u64>()
                + c.other.map_or(0, |o| o.count)
        };
        let (folded_all, rows) = (folded_count(all), segment_size(all));
        let folded = all.categories.len() > shown || all.other.is_some();
        let mut header = vec!["segment".to_string()];
        header.extend(all.categories[..shown].iter().map(|c| c.value.clone()));
        if folded {
            header.push("other".into());
        }
        if all.missing.is_some() {
            header.push("(missing)".into());
        }
        header.push(String::new());
        let shared = |s: &Share| format!("{:.1}% ({:.0})", 100.0 * s.share, s.index);
        let rows: Vec<Vec<String>> = d
            .segments
            .iter()
            .enumerate()
            .map(|(segment, summary)| {
                let c = cats(summary);
                let mut row = vec![segment.to_string()];
                row.extend(c.categories[..shown].iter().map(|c| shared(&c.share)));
                if folded {
                    let (count, size) = (folded_count(c), segment_size(c));
                    row.push(shared(&Share {
                        count,
                        share: ratio(count, size),
                        index: ratio(count, size) / ratio(folded_all, rows) * 100.0,
                    }));
                }
                if let Some(missing) = c.missing {
                    row.push(shared(&missing));
                }
                row.push(String::new());
                row
            })
            .collect();
        out.push_str(&format!(
            "\n{}: share of each segment (index: all rows = 100)\n",
            d.column
        ));
        out.push_str(&columns(&header, &rows));
    }
    let numeric: Vec<&Description> = descriptions
        .iter()
        .filter(|d| matches!(d.population, Summary::Numbers(_)))
        .collect();
    if numeric.is_empty() {
        return out;
    }
    let header: Vec<String> = std::iter::once("segment".to_string())
        .chain(numeric.iter().map(|d| d.column.clone()))
        .chain([String::new()])
        .collect();
    let table = |value: &dyn Fn(&Numbers) -> String| {
        let k = numeric[0].segments.len();
        let rows: Vec<Vec<String>> = (0..k)
            .map(|segment| {
                std::iter::once(segment.to_string())
                    .chain(numeric.iter().map(|d| match &d.segments[segment] {
                        Summary::Numbers(n) => value(n),
                        Summary::Categories(_) => unreachable!("a column is of one kind"),
                    }))
                    .chain([String::new()])
                    .collect()
            })
            .collect();
        columns(&header, &rows)
    };
    out.push_str("\ndescribed columns, mean (index: all rows = 100)\n");
    out.push_str(&table(&|n| match (n.mean, n.index) {
        (Some(mean), Some(index)) => format!("{} ({index:.0})", cell(mean)),
        (Some(mean), None) => cell(mean),
        (None, _) => "-".to_string(),
    }));
    out.push_str("\ndescribed columns, median\n");
    out.push_str(&table(&|n| n.median.map_or("-".to_string(), cell)));
    out
}

/// The rows a summary of categories counts: its categories, other and missing together.
fn segment_size(c: &Categories) -> u64 {
    c.categories.iter().map(|c| c.share.count).sum::<u64>()
        + c.other.map_or(0, |o| o.count)
        + c.missing.map_or(0, |m| m.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kmeans::segment_sizes;

    fn categories_of(summary: &Summary) -> &Categories {
        match summary {
            Summary::Categories(c) => c,
            Summary::Numbers(_) => panic!("numbers"),
        }
    }

    #[test]
    fn categories_past_the_top_twenty_are_other_and_missing_values_their_own_line() {
        // Categories c0..c21, coded in that order. Segment 0: c0 three times, c1 twice, c21
        // once. Segment 1: c0, then c2..c21 once each, then a missing value.
        let values: Vec<String> = (0..22).map(|i| format!("c{i}")).collect();
        let mut codes = vec![0, 0, 0, 1, 1, 21];
        let mut labels = vec![0u32; 6];
        codes.push(0);
        codes.extend(2..22);
        codes.push(MISSING);
        labels.resize(codes.len(), 1);
        let column = DescribedColumn {
            name: "store".into(),
            values: DescribedValues::Categories {
                codes,
                values,
                overflow: false,
            },
        };
        let sizes = segment_sizes(&labels, 2);
        let d = describe(&[column], &labels, &sizes).unwrap().remove(0);
        // 28 rows: c0 4, c1 2, c21 2 (after c1 on the tie: seen later), c2..c20 one each.
        let all = categories_of(&d.population);
        let order: Vec<&str> = all.categories.iter().map(|c| c.value.as_str()).collect();
        let mut want = vec!["c0".to_string(), "c1".into(), "c21".into()];
        want.extend((2..=18).map(|i| format!("c{i}")));
        assert_eq!(order, want);
        let (s0, s1) = (categories_of(&d.segments[0]), categories_of(&d.segments[1]));
        assert_eq!(
            s0.categories[0].share,
            Share {
                count: 3,
                share: 0.5,
                index: 350.0
            }
        );
        assert_eq!(s0.categories[2].share.count, 1);
        assert!((s0.categories[2].share.index - (1.0 / 6.0) / (2.0 / 28.0) * 100.0).abs() < 1e-9);
        // c19 and c20 are "other": none in segment 0, both in segment 1.
        assert_eq!(s0.other.unwrap().count, 0);
        let other = s1.other.unwrap();
        assert_eq!(other.count, 2);
        assert!((other.index - (2.0 / 22.0) / (2.0 / 28.0) * 100.0).abs() < 1e-9);
        assert_eq!(s0.missing.unwrap().count, 0);
        let missing = s1.missing.unwrap();
        assert!((missing.share - 1.0 / 22.0).abs() < 1e-15);
        assert!((missing.index - 28.0 / 22.0 * 100.0).abs() < 1e-9);
        // Each segment's shares add up to 1.
        for s in [s0, s1] {
            let total: f64 = s.categories.iter().map(|c| c.share.share).sum::<f64>()
                + s.other.map_or(0.0, |o| o.share)
                + s.missing.map_or(0.0, |m| m.share);
            assert!((total - 1.0).abs() < 1e-12, "{total}");
        }
        // Printed: six categories, then the other fourteen named ones and c19, c20 together
        // (16 of segment 1's 22 rows; 16 of all 28), then the missing values.
        let table = render(&[d]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[1],
            "store: share of each segment (index: all rows = 100)"
        );
        let header: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            header,
            [
                "segment",
                "c0",
                "c1",
                "c21",
                "c2",
                "c3",
                "c4",
                "other",
                "(missing)"
            ]
        );
        let row: Vec<&str> = lines[4]
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(row[0], "1");
        assert_eq!(row[7], "72.7% (127)");
        assert_eq!(row[8], "4.5% (127)");
    }

    #[test]
    fn numbers_give_means_lower_medians_and_an_index_only_without_negatives() {
        // Segment 0: 1, 2, 6, 10 and a missing value; segment 1: nothing; segment 2: 3.
        let values = vec![1.0, 10.0, f64::NAN, 2.0, 6.0, 3.0];
        let labels = vec![0, 0, 0, 0, 0, 2];
        let column = |values: Vec<f64>| DescribedColumn {
            name: "age".into(),
            values: DescribedValues::Numbers(values),
        };
        let d = describe(
            &[column(values.clone())],
            &labels,
            &segment_sizes(&labels, 3),
        )
        .unwrap()
        .remove(0);
        let all_mean = 22.0 / 5.0;
        assert_eq!(
            d.segments[0],
            Summary::Numbers(Numbers {
                count: 4,
                missing: 1,
                mean: Some(4.75),
                median: Some(2.0),
                index: Some(4.75 / all_mean * 100.0),
            })
        );
        assert_eq!(
            d.segments[1],
            Summary::Numbers(Numbers {
                count: 0,
                missing: 0,
                mean: None,
                median: None,
                index: None,
            })
        );
        let Summary::Numbers(all) = &d.population else {
            panic!("categories");
        };
        assert_eq!((all.count, all.missing, all.median), (5, 1, Some(3.0)));
        // One negative value: the ratio of means says nothing, so no index.
        let mut negative = values;
        negative[1] = -10.0;
        let d = describe(&[column(negative)], &labels, &segment_sizes(&labels, 3))
            .unwrap()
            .remove(0);
        assert!(matches!(
            d.segments[0],
            Summary::Numbers(Numbers { index: None, .. })
        ));
        let table = render(&[d]);
        assert!(table.contains("described columns, mean"), "{table}");
    }
}
