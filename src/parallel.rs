//! Deterministic parallel reductions over row partitions.
//!
//! Rows are cut into fixed partitions whose size does not depend on the thread count; partitions
//! run in parallel (rayon) and their results are folded in partition order. So every floating
//! point sum is the same whatever `--threads` is, which makes results byte-identical across
//! machines with different core counts. Partitions run in waves so at most `WAVE` partial results
//! are alive at once, whatever the input size.

use rayon::prelude::*;
use std::ops::Range;

/// Rows per partition: large enough to amortize scheduling, small enough to balance two cores.
pub const PARTITION_ROWS: usize = 16_384;

/// Partitions computed before their results are folded.
const WAVE: usize = 64;

fn part_range(part: usize, part_rows: usize, rows: usize) -> Range<usize> {
    part * part_rows..((part + 1) * part_rows).min(rows)
}

/// Maps each partition of `rows` in parallel and folds the results in partition order.
pub fn fold_partitions<T, M, F>(rows: usize, part_rows: usize, map: M, mut fold: F)
where
    T: Send,
    M: Fn(Range<usize>) -> T + Sync + Send,
    F: FnMut(T),
{
    let parts = rows.div_ceil(part_rows);
    for wave in (0..parts).step_by(WAVE) {
        let results: Vec<T> = (wave..(wave + WAVE).min(parts))
            .into_par_iter()
            .map(|p| map(part_range(p, part_rows, rows)))
            .collect();
        results.into_iter().for_each(&mut fold);
    }
}

/// Like [`fold_partitions`], with a per-row output slice each partition writes its part of.
///
/// # Panics
/// If `per_row.len() != rows` (a caller bug).
pub fn fold_partitions_mut<E, T, M, F>(
    rows: usize,
    part_rows: usize,
    per_row: &mut [E],
    map: M,
    mut fold: F,
) where
    E: Send,
    T: Send,
    M: Fn(Range<usize>, &mut [E]) -> T + Sync + Send,
    F: FnMut(T),
{
    assert_eq!(
        per_row.len(),
        rows,
        "per-row output must have one entry per row"
    );
    let parts = rows.div_ceil(part_rows);
    for wave in (0..parts).step_by(WAVE) {
        let end = (wave + WAVE).min(parts);
        let span = wave * part_rows..(end * part_rows).min(rows);
        let results: Vec<T> = per_row[span]
            .par_chunks_mut(part_rows)
            .enumerate()
            .map(|(i, out)| map(part_range(wave + i, part_rows, rows), out))
            .collect();
        results.into_iter().for_each(&mut fold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_every_row_once_in_order() {
        let mut seen = Vec::new();
        fold_partitions(100_000, 1000, |r| r, |r| seen.push(r));
        assert_eq!(seen.len(), 100);
        assert_eq!(seen[0], 0..1000);
        assert_eq!(seen[99], 99_000..100_000);
    }

    #[test]
    fn mut_variant_hands_out_the_matching_slice() {
        let mut out = vec![0usize; 70_001];
        fold_partitions_mut(
            70_001,
            100,
            &mut out,
            |r, slice| {
                for (i, v) in r.clone().zip(slice.iter_mut()) {
                    *v = i;
                }
                r.len()
            },
            |_| {},
        );
        assert!(out.iter().enumerate().all(|(i, &v)| i == v));
    }
}
