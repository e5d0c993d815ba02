//! The feature matrix: contiguous, row-major `f32`, the one copy of the data Strata keeps.
//!
//! Everything downstream (backends, metrics, writers) borrows it. It is also the shape used for
//! small k×d blocks such as centroids, so one type carries "rows of d floats" everywhere.

use rayon::prelude::*;

/// A dense row-major matrix of `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    values: Vec<f32>,
    cols: usize,
}

impl Matrix {
    /// A matrix of `rows` × `cols` zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            values: vec![0.0; rows * cols],
            cols,
        }
    }

    /// Wraps row-major `values` with `cols` columns.
    ///
    /// # Panics
    /// If `cols` is 0 or `values.len()` is not a multiple of `cols` (a caller bug, not bad input).
    pub fn from_vec(values: Vec<f32>, cols: usize) -> Self {
        assert!(cols > 0, "a matrix needs at least one column");
        assert_eq!(
            values.len() % cols,
            0,
            "{} values do not fill rows of {cols}",
            values.len()
        );
        Self { values, cols }
    }

    /// An empty matrix with `cols` columns and room for `rows` rows.
    pub fn with_capacity(rows: usize, cols: usize) -> Self {
        assert!(cols > 0, "a matrix needs at least one column");
        Self {
            values: Vec::with_capacity(rows * cols),
            cols,
        }
    }

    /// Reserves room for `rows` more rows if the allocator grants it; false (and nothing
    /// reserved) when it does not, or when the count overflows. For row counts that are only
    /// expected (a file's claim, an estimate): the matrix grows as rows arrive either way.
    pub fn try_reserve_rows(&mut self, rows: usize) -> bool {
        rows.checked_mul(self.cols)
            .is_some_and(|values| self.values.try_reserve(values).is_ok())
    }

    /// Removes every row, keeping the room they took for the rows that follow.
    pub fn clear(&mut self) {
        self.values.clear();
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.cols
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` as a slice of `cols` values.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i`, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.values[i * self.cols..(i + 1) * self.cols]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// All values, row-major, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.values
    }

    /// Appends `rows` rows of NaN and returns them for filling. The NaNs are written by
    /// every thread, so that the first touch of fresh memory (the kernel's page faults and
    /// zeroing) is shared too.
    pub fn extend_rows(&mut self, rows: usize) -> &mut [f32] {
        let start = self.values.len();
        let added = rows * self.cols;
        self.values.reserve(added);
        self.values.spare_capacity_mut()[..added]
            .par_chunks_mut(1 << 16)
            .for_each(|part| part.fill(std::mem::MaybeUninit::new(f32::NAN)));
        // SAFETY: the `added` values after the length were initialized just above, and the
        // reserve made room for them.
        unsafe { self.values.set_len(start + added) };
        &mut self.values[start..]
    }

    /// Appends one row.
    pub fn push_row(&mut self, row: &[f32]) {
        assert_eq!(
            row.len(),
            self.cols,
            "row length must equal the column count"
        );
        self.values.extend_from_slice(row);
    }

    /// Keeps only the rows for which `keep(i)` is true, in order, moving them in place (no copy
    /// of the matrix is made).
    pub fn retain_rows(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let cols = self.cols;
        let rows = self.rows();
        let mut write = 0;
        for read in 0..rows {
            if keep(read) {
                if read != write {
                    self.values
                        .copy_within(read * cols..(read + 1) * cols, write * cols);
                }
                write += 1;
            }
        }
        self.values.truncate(write * cols);
    }

    /// Converts the rows to `Vec<Vec<f64>>` (for small matrices such as centroids in JSON).
    pub fn to_rows_f64(&self) -> Vec<Vec<f64>> {
        self.values
            .chunks(self.cols)
            .map(|r| r.iter().map(|&v| f64::from(v)).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_rows_keeps_order() {
        let mut m = Matrix::from_vec((0..12).map(|v| v as f32).collect(), 3);
        m.retain_rows(|i| i != 1);
        assert_eq!(m.as_slice(), &[0., 1., 2., 6., 7., 8., 9., 10., 11.]);
        assert_eq!(m.rows(), 3);
    }

    #[test]
    fn room_for_rows_is_reserved_only_when_it_can_be_had() {
        let mut m = Matrix::with_capacity(0, 4);
        assert!(m.try_reserve_rows(1_000));
        assert!(m.values.capacity() >= 4_000);
        // A count whose values overflow usize, and one no allocator grants (2^61 × 4 floats
        // is 2^65 bytes): refused, nothing changes, and rows still arrive.
        assert!(!m.try_reserve_rows(usize::MAX / 2));
        assert!(!m.try_reserve_rows(1 << 61));
        m.extend_rows(2).fill(1.0);
        assert_eq!(m.rows(), 2);
    }
}
