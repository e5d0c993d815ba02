//! The segments file (DESIGN.md §4): the id column (or `row`), `segment`, `distance`, and
//! `silhouette` when per-point silhouettes were computed, one row per kept input row, in input
//! order.

use super::write::{StagedFile, TableSink, output_format, write_table, write_table_as};
use crate::data::ids::IdColumn;
use crate::data::read::Format;
use crate::error::{Error, Result};
use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::path::Path;
use std::sync::Arc;

const ROWS_PER_BATCH: usize = 65_536;

/// The key column: the id column's name and type, or `row`.
fn key_field(id: Option<(&str, &DataType)>) -> Field {
    match id {
        Some((name, data_type)) => Field::new(name, data_type.clone(), false),
        None => Field::new("row", DataType::UInt64, false),
    }
}

fn segments_schema(key: Field, silhouette: bool) -> SchemaRef {
    let mut fields = vec![key];
    fields.push(Field::new("segment", DataType::UInt32, false));
    fields.push(Field::new("distance", DataType::Float32, false));
    if silhouette {
        fields.push(Field::new("silhouette", DataType::Float32, false));
    }
    Arc::new(Schema::new(fields))
}

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
        segments_schema(self.key_field(), self.silhouette.is_some())
    }

    fn key_field(&self) -> Field {
        key_field(self.ids.map(|ids| (ids.name(), ids.data_type())))
    }

    /// Number of rows.
    fn rows(&self) -> usize {
        self.labels.len()
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
        let progress = writing(target, n);
        let batches = (0..n.div_ceil(ROWS_PER_BATCH).max(1)).map(|b| {
            let start = b * ROWS_PER_BATCH;
            let len = ROWS_PER_BATCH.min(n - start);
            progress.add(len as u64);
            self.batch(&schema, start, len)
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
        let progress = writing(target, n);
        let batches = (0..n.div_ceil(ROWS_PER_BATCH).max(1)).map(|b| {
            let start = b * ROWS_PER_BATCH;
            let len = ROWS_PER_BATCH.min(n - start);
            progress.add(len as u64);
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

/// The progress stage of writing `rows` rows to `target`.
fn writing(target: &Path, rows: usize) -> crate::progress::Stage {
    let name = target.file_name().unwrap_or(target.as_os_str());
    crate::progress::stage(
        format!("writing {}", name.to_string_lossy()),
        crate::progress::Total::Exactly(rows as u64),
        "rows",
    )
}

/// A segments file written block by block, as `predict` assigns its input: the rows of each
/// block follow those of the one before, and are cut into the record batches that
/// [`SegmentRows::write`] cuts all of them into, so the file is the same whatever the blocks.
pub struct SegmentSink {
    schema: SchemaRef,
    sink: TableSink,
    /// The rows of the batch being filled, in pieces.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl SegmentSink {
    /// Starts a segments file (no silhouette column) for `target`, keyed by the id column
    /// `id` (name and type) or by `row`.
    ///
    /// # Errors
    /// Exit 73 or 74 as for any output.
    pub fn create(target: &Path, id: Option<(&str, &DataType)>) -> Result<SegmentSink> {
        let schema = segments_schema(key_field(id), false);
        let sink = TableSink::create_as(output_format(target), target, &schema)?;
        Ok(SegmentSink {
            schema,
            sink,
            pending: Vec::new(),
            pending_rows: 0,
        })
    }

    /// Appends the next rows. Their key is their id or, with no id column, their
    /// `source_rows`: a block after the first has to give them.
    ///
    /// # Errors
    /// Exit 74 when writing fails; an internal error for rows of another shape.
    pub fn push(&mut self, rows: &SegmentRows) -> Result<()> {
        if rows.schema() != self.schema {
            return Err(Error::Internal(
                "segment rows of another schema than the file's".into(),
            ));
        }
        let n = rows.rows();
        let mut at = 0;
        while at < n {
            let take = (ROWS_PER_BATCH - self.pending_rows).min(n - at);
            let batch = rows.batch(&self.schema, at, take)?;
            at += take;
            if self.pending.is_empty() && take == ROWS_PER_BATCH {
                self.sink.write(&batch)?;
                continue;
            }
            self.pending.push(batch);
            self.pending_rows += take;
            if self.pending_rows == ROWS_PER_BATCH {
                self.write_pending()?;
            }
        }
        Ok(())
    }

    fn write_pending(&mut self) -> Result<()> {
        let batch = arrow_select::concat::concat_batches(&self.schema, &self.pending)
            .map_err(|e| Error::Internal(format!("segments batch: {e}")))?;
        self.sink.write(&batch)?;
        self.pending.clear();
        self.pending_rows = 0;
        Ok(())
    }

    /// Writes the last rows and ends the file.
    ///
    /// # Errors
    /// Exit 74 when writing fails.
    pub fn finish(mut self) -> Result<StagedFile> {
        if !self.pending.is_empty() {
            self.write_pending()?;
        }
        self.sink.finish()
    }
}
