//! Seeded Gaussian blobs (`strata generate`): `id`, `f0..f{d-1}`, `true_segment`, produced batch
//! by batch so 100 million rows never sit in memory. Each batch has its own random stream, so the
//! output is the same whatever the thread count, and batches are generated in parallel.

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::rng::{SeededRng, Stream};
use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use std::sync::Arc;

/// What to generate.
#[derive(Debug, Clone)]
pub struct BlobSpec {
    /// Rows.
    pub rows: u64,
    /// Features per row.
    pub dims: usize,
    /// Number of blobs.
    pub centers: usize,
    /// Standard deviation of each blob.
    pub std: f64,
    /// Half-width of the box the centres are drawn from, uniformly.
    pub box_half_width: f64,
    /// Seed.
    pub seed: u64,
    /// Rows per batch.
    pub batch_rows: usize,
}

/// A blob generator: the centres, and batches on demand.
pub struct Blobs {
    spec: BlobSpec,
    centres: Vec<Vec<f64>>,
    schema: SchemaRef,
}

impl Blobs {
    /// Draws the centres.
    ///
    /// # Errors
    /// A usage error for zero dims, centres or batch size.
    pub fn new(spec: BlobSpec) -> Result<Blobs> {
        if spec.dims == 0 || spec.centers == 0 || spec.batch_rows == 0 {
            return Err(Error::usage(
                "--dims, --centers and --batch-rows must be at least 1",
            ));
        }
        if !(spec.std >= 0.0 && spec.std.is_finite()) {
            return Err(Error::usage("--std must be a finite number ≥ 0"));
        }
        let mut rng = SeededRng::new(spec.seed, Stream::BlobCentres);
        let centres = (0..spec.centers)
            .map(|_| {
                (0..spec.dims)
                    .map(|_| (2.0 * rng.uniform() - 1.0) * spec.box_half_width)
                    .collect()
            })
            .collect();
        let mut fields = vec![Field::new("id", DataType::Int64, false)];
        fields
            .extend((0..spec.dims).map(|j| Field::new(format!("f{j}"), DataType::Float32, false)));
        fields.push(Field::new("true_segment", DataType::UInt32, false));
        Ok(Blobs {
            spec,
            centres,
            schema: Arc::new(Schema::new(fields)),
        })
    }

    /// The output schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The blob centres.
    pub fn centres(&self) -> &[Vec<f64>] {
        &self.centres
    }

    fn batch_count(&self) -> u64 {
        self.spec.rows.div_ceil(self.spec.batch_rows as u64)
    }

    /// Batch `b`: rows b·batch_rows onwards.
    fn batch(&self, b: u64) -> Result<RecordBatch> {
        let spec = &self.spec;
        let start = b * spec.batch_rows as u64;
        let len = (spec.rows - start).min(spec.batch_rows as u64) as usize;
        let mut rng = SeededRng::new(spec.seed, Stream::BlobBatch { batch: b });
        let mut labels = Vec::with_capacity(len);
        let mut columns: Vec<Vec<f32>> = vec![Vec::with_capacity(len); spec.dims];
        for _ in 0..len {
            let label = rng.below(spec.centers as u64) as usize;
            labels.push(label as u32);
            for (column, &centre) in columns.iter_mut().zip(&self.centres[label]) {
                column.push((centre + spec.std * rng.normal()) as f32);
            }
        }
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(
            start as i64..(start + len as u64) as i64,
        ))];
        arrays.extend(
            columns
                .into_iter()
                .map(|c| Arc::new(Float32Array::from(c)) as ArrayRef),
        );
        arrays.push(Arc::new(UInt32Array::from(labels)));
        RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| Error::Internal(format!("blob batch: {e}")))
    }

    /// All rows' features as one row-major matrix (benches and `strata bench` generate in
    /// memory; the rows are the same as in the written file).
    ///
    /// # Errors
    /// Only if a batch cannot be built.
    pub fn matrix(&self) -> Result<Matrix> {
        let dims = self.spec.dims;
        let mut matrix = Matrix::with_capacity(self.spec.rows as usize, dims);
        for batch in self.batches() {
            let batch = batch?;
            let block = matrix.extend_rows(batch.num_rows());
            for j in 0..dims {
                let column = batch.column(j + 1).as_primitive::<Float32Type>();
                for (row, &v) in block.chunks_exact_mut(dims).zip(column.values()) {
                    row[j] = v;
                }
            }
        }
        Ok(matrix)
    }

    /// All batches in order, generated in parallel a few at a time.
    pub fn batches(&self) -> impl Iterator<Item = Result<RecordBatch>> + '_ {
        let wave = (2 * rayon::current_num_threads()).max(2) as u64;
        let total = self.batch_count();
        (0..total.div_ceil(wave)).flat_map(move |w| {
            let batches: Vec<Result<RecordBatch>> = (w * wave..((w + 1) * wave).min(total))
                .into_par_iter()
                .map(|b| self.batch(b))
                .collect();
            batches
        })
    }
}
