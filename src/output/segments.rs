//! The segments file (DESIGN.md §4): the id column (or `row`), `segment`, `distance`, and
//! `silhouette` when per-point silhouettes were computed, one row per kept input row, in input
//! order.

use super::write::{StagedFile, write_table, write_table_as};
use crate::data::ids::IdColumn;
use crate::data::read::Format;
use crate::error::{Error, Result};
use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::path::Path;
use std::sync::Arc;

const ROWS_PER_BATCH: usize = 65_536;

/// What goes into a segments file.
pub struct SegmentRows<'a> {
    /// The id column, or `None` to write `row`.
    pub ids: Option<&'a IdColumn>,
    /// Input row of each kept row when rows were dropped.
    pub source_rows: Option<&'a [u64]>,
    /// Segment of each row.
    pub labels: &'a [u32],
    /// Squared distance of each row to its centroid (written as the distance).
    pub sq_distances: &'a [f32],
    /// Per-point silhouette, when computed.
    pub silhouette: Option<&'a [f32]>,
}

impl SegmentRows<'_> {
    fn schema(&self) -> SchemaRef {
        let mut fields = vec![self.key_field()];
        fields.push(Field::new("segment", DataType::UInt32, false));
        fields.push(Field::new("distance", DataType::Float32, false));
        if self.silhouette.is_some() {
            fields.push(Field::new("silhouette", DataType::Float32, false));
        }
        Arc::new(Schema::new(fields))
    }

    fn key_field(&self) -> Field {
        match self.ids {
            Some(ids) => Field::new(ids.name(), ids.data_type().clone(), false),
            None => Field::new("row", DataType::UInt64, false),
        }
    }

    fn key(&self, start: usize, len: usize) -> Result<ArrayRef> {
        let range = start..start + len;
        Ok(match (self.ids, self.source_rows) {
            (Some(ids), _) => ids.slice(start, len)?,
            (None, Some(rows)) => Arc::new(UInt64Array::from(rows[range.clone()].to_vec())),
            (None, None) => Arc::new(UInt64Array::from_iter_values(range.map(|r| r as u64))),
        })
    }

    fn batch(&self, schema: &SchemaRef, start: usize, len: usize) -> Result<RecordBatch> {
        let range = start..start + len;
        let mut columns = vec![
            self.key(start, len)?,
            Arc::new(UInt32Array::from(self.labels[range.clone()].to_vec())) as ArrayRef,
            Arc::new(Float32Array::from_iter_values(
                self.sq_distances[range.clone()].iter().map(|d| d.sqrt()),
            )),
        ];
        if let Some(s) = self.silhouette {
            columns.push(Arc::new(Float32Array::from(s[range].to_vec())));
        }
        RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| Error::Internal(format!("segments batch: {e}")))
    }

    /// Writes the rows to a staged file for `target`.
    ///
    /// # Errors
    /// Exit 73 or 74 as for any output.
    pub fn write(&self, target: &Path) -> Result<StagedFile> {
        let schema = self.schema();
        let n = self.labels.len();
        let batches = (0..n.div_ceil(ROWS_PER_BATCH).max(1)).map(|b| {
            let start = b * ROWS_PER_BATCH;
            self.batch(&schema, start, ROWS_PER_BATCH.min(n - start))
        });
        write_table(target, &schema, batches)
    }

    /// Writes the marketing export for `target`: a plain CSV of the id (or `row`), `segment`
    /// and `segment_label`, one row per customer, whatever the extension.
    ///
    /// # Errors
    /// Exit 73 or 74 as for any output.
    pub fn write_export(&self, target: &Path, segment_labels: &[String]) -> Result<StagedFile> {
        let schema = Arc::new(Schema::new(vec![
            self.key_field(),
            Field::new("segment", DataType::UInt32, false),
            Field::new("segment_label", DataType::Utf8, false),
        ]));
        let n = self.labels.len();
        let batches = (0..n.div_ceil(ROWS_PER_BATCH).max(1)).map(|b| {
            let start = b * ROWS_PER_BATCH;
            let len = ROWS_PER_BATCH.min(n - start);
            let segments = &self.labels[start..start + len];
            let columns: Vec<ArrayRef> = vec![
                self.key(start, len)?,
                Arc::new(UInt32Array::from(segments.to_vec())),
                Arc::new(StringArray::from_iter_values(
                    segments
                        .iter()
                        .map(|&s| segment_labels[s as usize].as_str()),
                )),
            ];
            RecordBatch::try_new(schema.clone(), columns)
                .map_err(|e| Error::Internal(format!("export batch: {e}")))
        });
        write_table_as(Format::Csv, target, &schema, batches)
    }
}
