//! The wgpu backend: the same arithmetic as the CPU backend, in WGSL compute shaders.
//!
//! The normalized points are uploaded once, in chunks no larger than the adapter's storage
//! binding limit, and stay resident across iterations and restarts. Per Lloyd step only the k×d
//! centroids go up; per-workgroup statistics and the per-range partial sums, folded on the
//! device into about √ranges groups of consecutive ranges (with their rounding errors), come
//! back, read in the same submission as the kernels, and are finished on the host in f64, in
//! chunk and group order, so results are deterministic. k-means++ keeps the closest distances on
//! the device: per round only the workgroups' sums come back, and a sample reads back the 256
//! distances of the block it falls in.
//! A Lloyd step's partial sums come from a sort of each 16,384-row range by cluster and a sum per
//! (cluster, feature) slot; `STRATA_GPU_FUSED_STEP=1` makes them in the assignment's own pass
//! instead (`assign_accumulate`, per workgroup of 256·RB rows), where the shape allows.
//! `STRATA_GPU_ALTERNATE=1` turns the passes that follow one another over the points (Lloyd
//! steps, k-means++ rounds) in opposite directions (`Directions`), which changes no result.
//! Per-point kernels use a second dispatch dimension beyond 65,535 workgroups. The chunk size can
//! be forced small (`STRATA_GPU_CHUNK_ROWS`) so tests cover several chunks on small data.

pub mod context;
pub mod driver;
pub mod profile;
pub mod select;

pub use context::{AdapterSummary, GpuContext, list_adapters};
pub use profile::{IdleTime, KernelTime, PhaseGpuTimes};

use super::{Assignment, Backend, BackendInfo, BackendKind, StepPartials, point_reaching};
use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::{positive_from_env, switch_from_env};
use context::{Kernel, PerPoint, SORT_SMALL_K, Span};
use std::sync::Arc;
use wgpu::BufferUsages as Usage;

/// Invocations per workgroup of the per-point kernels.
const WG: usize = 256;
/// Rows per range of the partial-sum kernel.
const RANGE_ROWS: usize = 16_384;
/// Most features the assignment kernel's centroid tile holds.
pub const MAX_DIMS: usize = 2048;
/// Environment variable forcing the rows per chunk (tests use it to cover several chunks).
pub const CHUNK_ROWS_ENV: &str = "STRATA_GPU_CHUNK_ROWS";
/// Environment variable that, set to 1, runs a Lloyd step in one pass (`assign_accumulate`)
/// where the shape allows, instead of three kernels (assignment, sort by cluster, partial sums).
/// Off by default: slower on both adapters measured (lavapipe by 4%; an H100 at 10M × 16 × 64,
/// 2.9 ms for the one pass against 1.6 ms for the three kernels).
pub const FUSED_STEP_ENV: &str = "STRATA_GPU_FUSED_STEP";
/// Environment variable that, set to 1, has each pass over the points of a Lloyd step or of
/// k-means++ start where the previous one ended (see `Directions`). Off by default: on an H100
/// it changed no kernel's time at 8M to 10M rows (BENCHMARKS.md).
pub const ALTERNATE_ENV: &str = "STRATA_GPU_ALTERNATE";
/// Bytes of each chunk's parameter buffers, which hold one of the `*Params` structs below.
const PARAMS_BYTES: u64 = 48;
const _: () = assert!(
    size_of::<AssignParams>() as u64 <= PARAMS_BYTES
        && size_of::<AccumulateParams>() as u64 <= PARAMS_BYTES
        && size_of::<FoldParams>() as u64 <= PARAMS_BYTES
        && size_of::<SeedParams>() as u64 <= PARAMS_BYTES
);
/// Most clusters `assign_accumulate` takes (`MASK_K` in assign.wgsl).
const STEP_MAX_K: usize = 256;
/// Most (cluster, vec4 of features) pairs k·⌈d/4⌉ `assign_accumulate` takes: 256 invocations ×
/// `MAX_OWN` (assign.wgsl).
const STEP_MAX_PAIRS: usize = 256 * 8;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AssignParams {
    rows: u32,
    dims: u32,
    k: u32,
    wg_x: u32,
    /// 1 to write each row's distance (the final assignment), 0 not to (a Lloyd step).
    write_distances: u32,
    /// k·(d + 1), the partial-sum slots of `assign_accumulate`.
    slots: u32,
    /// Always 0: the shaders' compensated sums pass values through it so that the compiler
    /// cannot simplify the compensation away (WGSL allows reassociation).
    zero: u32,
    /// 1: the workgroups take their blocks of rows last first (`rows_block`, assign.wgsl).
    reverse: u32,
    /// 1: the labels buffer holds no labels yet (a new run), so every row counts as changed
    /// and the previous label is not read.
    labels_unset: u32,
    pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AccumulateParams {
    rows: u32,
    dims: u32,
    range_rows: u32,
    slots: u32,
    clusters: u32,
    /// Always 0 (see `AssignParams::zero`).
    zero: u32,
    /// 1: the workgroups take the ranges last first (`range_of`, sort.wgsl and accumulate.wgsl).
    reverse: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FoldParams {
    slots: u32,
    ranges: u32,
    per_group: u32,
    groups: u32,
    /// Always 0 (see `AssignParams::zero`).
    zero: u32,
    pad: [u32; 3],
}

/// Ranges per folded group and the number of groups for `ranges` ranges: both about √ranges, so
/// each invocation of `fold_ranges` adds few values and the read-back stays small (611 ranges at
/// 10M rows fold into 25 groups).
fn fold_shape(ranges: usize) -> (usize, usize) {
    let root = ranges.isqrt();
    let per_group = if root * root < ranges { root + 1 } else { root }.max(1);
    (per_group, ranges.div_ceil(per_group))
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SilhouetteParams {
    rows: u32,
    dims: u32,
    clusters: u32,
    wg_x: u32,
    col_start: u32,
    col_end: u32,
    /// Always 0 (see `AssignParams::zero`).
    zero: u32,
    pad: u32,
}

/// Columns per exact-silhouette pass, times the point's vec4s: about 0.1 s per pass at 1M × 16
/// on a large GPU (an estimate, not a measurement).
const SILHOUETTE_PASS_WORK: usize = 1 << 18;

/// Loop iterations one invocation on a software adapter may take: half of llvmpipe's cap.
/// llvmpipe counts the iterations of all of an invocation's loops together and silently stops
/// looping at 65,535: a silhouette walk left short scores wrong, and an assignment that stops
/// before the last centroids picks a wrong one (seen at k = 300, d = 1,024).
const SOFTWARE_LOOP_BUDGET: usize = 1 << 15;

/// vec4s of the workgroup tile in `assign` and `silhouette` (`TILE_V` in assign.wgsl and
/// silhouette.wgsl).
const TILE_VECTORS: usize = 1024;
/// vec4s of a point those general kernels hold at once (`MAX_V`).
const BLOCK_VECTORS: usize = 16;
/// Most centroids or columns in one of their tiles (`BLOCK_TILE`).
const BLOCK_TILE: usize = 60;

/// Loop iterations that llvmpipe counts per centroid (or column) in the general kernels, which
/// hold the point `BLOCK_VECTORS` vec4s at a time: one per block and two more for the centroid,
/// and per tile some per block (the point's loads) and the tile's loads, shared by its
/// centroids, counted generously. The loops over a block's vec4s have a fixed count and are not
/// counted. Read off lavapipe (Mesa 22.3) as the largest assignment that was still right: at
/// d = 1,024, k = 2,300 was and 2,500 stopped short (about 27 per centroid, 32 here); at d =
/// 2,048, k = 870 was and 936 stopped short (about 72, 86 here).
fn blocked_iterations(dims: usize) -> usize {
    let vectors = dims.div_ceil(4).max(1);
    let blocks = vectors.div_ceil(BLOCK_VECTORS);
    let per_tile = (TILE_VECTORS / vectors).clamp(1, BLOCK_TILE);
    blocks + 2 + (3 * blocks + 8).div_ceil(per_tile)
}

/// Columns per exact-silhouette pass on a software adapter, for `kernel` over points of
/// `dims` features in `clusters` clusters, within `SOFTWARE_LOOP_BUDGET`. Iterations per column,
/// read off lavapipe (Mesa 22.3) as the largest single pass that still scored right: 2·RB + 3
/// for the register kernel (5,957, 7,280 and 9,360 columns fit at RB = 4, 3, 2, whatever d up to
/// 16), and for the general one those of the assignment (`blocked_iterations`) and one more for
/// closing clusters. Closing clusters adds at most k + 1 iterations per point over a whole walk,
/// counted against every pass.
fn software_silhouette_columns(kernel: &Kernel, dims: usize, clusters: usize) -> usize {
    let rb = kernel.rows_per_invocation as usize;
    let per_column = if kernel.registers {
        2 * rb + 3
    } else {
        blocked_iterations(dims) + 1
    };
    let closing = (clusters + 1) * rb;
    (SOFTWARE_LOOP_BUDGET.saturating_sub(closing) / per_column).max(64)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SeedParams {
    rows: u32,
    dims: u32,
    centres: u32,
    replace: u32,
    wg_x: u32,
    /// 1: the workgroups take their blocks of rows last first (`rows_block`, seed.wgsl).
    reverse: u32,
    pad: [u32; 2],
}

/// One compute pass: the kernel, its buffers in binding order, and the workgroup grid.
type Pass<'a> = (&'a Kernel, &'a [&'a wgpu::Buffer], (u32, u32));

/// A growable device buffer (re-created larger when needed).
struct Scratch {
    buffer: wgpu::Buffer,
    bytes: u64,
}

/// One resident slice of the points with its per-row buffers.
struct Chunk {
    rows: usize,
    points: wgpu::Buffer,
    labels: wgpu::Buffer,
    distances: wgpu::Buffer,
    /// Per workgroup: the assignment's 2 stats, or `seed_update`'s 3-word block sum.
    wg_stats: wgpu::Buffer,
    closest: Option<wgpu::Buffer>,
    /// Each range's row indices grouped by cluster (sort_by_cluster), for the partial sums.
    order: Option<wgpu::Buffer>,
    /// Each range's cluster start offsets and cursors (2·(k + 1) u32 per range).
    bounds: Option<Scratch>,
    partials: Option<Scratch>,
    /// The partials folded into groups of ranges: (sum, rounding error) per group and slot.
    folded: Option<Scratch>,
    trial_sums: Option<Scratch>,
    /// Uniforms of the assignment, the sort and partial sums, seeding, and the fold.
    params: [wgpu::Buffer; 4],
    grid: (u32, u32),
}

impl Chunk {
    fn workgroups(&self) -> usize {
        (self.grid.0 * self.grid.1) as usize
    }

    fn ranges(&self) -> usize {
        self.rows.div_ceil(RANGE_ROWS)
    }
}

/// The GPU backend over resident points.
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    /// The assignment kernel for this data's number of features.
    assign: Arc<Kernel>,
    /// `assign_accumulate` for this data's features, when asked for (`STRATA_GPU_FUSED_STEP=1`
    /// or `with_fused_step`) and the adapter and the features allow it: a Lloyd step in one pass.
    fused: Option<Arc<Kernel>>,
    /// Passes over the points alternate direction (`STRATA_GPU_ALTERNATE=1` or
    /// `with_alternating_passes`; see `Directions`).
    alternate: bool,
    /// Lloyd steps run so far, for the alternating directions.
    steps: u64,
    /// k-means++ passes over the points run so far, for the alternating directions.
    seed_passes: u64,
    /// The labels buffers hold no labels of this run yet (`reset_labels`): the next assignment
    /// counts every row as changed without reading them.
    labels_unset: bool,
    rows: usize,
    dims: usize,
    chunks: Vec<Chunk>,
    /// Workgroups per dispatch dimension: the device's limit, or lower (`with_layout`).
    max_groups: u32,
    centroids: Option<Scratch>,
    norms: Option<Scratch>,
    centres: Option<Scratch>,
    /// k-means++: running sums (f64, in row order) of the closest distances over the blocks of
    /// `WG` points that `seed_update`'s workgroups sum; block b is the b-th workgroup of the
    /// chunks in order.
    potential: Vec<f64>,
}

/// Workgroup grid for `rows` one-invocation-per-row: (x, y) with x ≤ the per-dimension limit.
fn grid(rows: usize, max_per_dim: u32) -> (u32, u32) {
    let groups = rows.div_ceil(WG).max(1) as u64;
    let x = groups.min(u64::from(max_per_dim));
    (x as u32, groups.div_ceil(x) as u32)
}

/// Workgroup grid for `kernel` over `rows` points: each workgroup covers WG × the kernel's
/// points per invocation.
fn kernel_grid(kernel: &Kernel, rows: usize, max_per_dim: u32) -> (u32, u32) {
    grid(
        rows.div_ceil(kernel.rows_per_invocation as usize),
        max_per_dim,
    )
}

/// Which way a Lloyd step's or a k-means++ round's passes take the rows. Workgroups are
/// dispatched roughly in order, so a pass over the points in the same order as the previous one
/// begins on the rows read longest ago: once the points outgrow what the device's caches and
/// address translation hold, every pass finds none of its rows there. Run the other way, a pass
/// begins on the rows the previous one read last. Every result is stored by block or range and
/// finished in a fixed order, so the directions change no value, only what the device still
/// holds when a pass begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Directions {
    /// The assignment (or the one-pass step, or a k-means++ pass) takes its blocks last first.
    assign_reversed: bool,
    /// The sort by cluster and the partial sums take their ranges last first.
    sums_reversed: bool,
    /// The chunks are taken last first.
    chunks_reversed: bool,
}

impl Directions {
    /// Every pass in row order, chunks in order: the default.
    const FORWARD: Directions = Directions {
        assign_reversed: false,
        sums_reversed: false,
        chunks_reversed: false,
    };

    /// The directions of k-means++ pass number `pass` (from 0; each round scores the
    /// candidates, then updates the closest distances) when passes alternate: every other pass
    /// takes the chunks and their rows last first, so each begins where the previous one ended.
    fn alternating_seeding(pass: u64) -> Directions {
        let odd = pass % 2 == 1;
        Directions {
            assign_reversed: odd,
            sums_reversed: false,
            chunks_reversed: odd,
        }
    }

    /// The chunks' indices in the order these directions take them.
    fn chunk_order(self, chunks: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..chunks).collect();
        if self.chunks_reversed {
            order.reverse();
        }
        order
    }

    /// The directions of Lloyd step number `step` (from 0) when passes alternate. In three
    /// passes (assignment, sort, sums) each chunk is assigned forwards and sorted and summed
    /// backwards, so the sums begin on the rows the assignment read last and end on the first
    /// rows, where the next step's assignment begins; the chunks alternate, so the next step
    /// begins with the chunk this one ended on. In one pass (`fused`) that pass alternates.
    fn alternating(fused: bool, step: u64) -> Directions {
        let odd = step % 2 == 1;
        Directions {
            assign_reversed: fused && odd,
            sums_reversed: !fused,
            chunks_reversed: odd,
        }
    }
}

/// Environment variable capping the workgroups per dispatch dimension below the device's, so
/// that grids take their second dimension on smaller data (to test it, or to time it).
pub const GROUPS_PER_DIM_ENV: &str = "STRATA_GPU_GROUPS_PER_DIM";

impl GpuBackend {
    /// Uploads `points` to the context's device, in chunks sized by the device limits (or by
    /// `STRATA_GPU_CHUNK_ROWS`), with grids as wide as the device allows (or as
    /// `STRATA_GPU_GROUPS_PER_DIM`).
    ///
    /// # Errors
    /// A usage error beyond `MAX_DIMS` features; exit 69 when the device runs out of memory.
    pub fn new(ctx: Arc<GpuContext>, points: &Matrix) -> Result<Self> {
        Self::laid_out_by_env(ctx, points, log::Level::Info)
    }

    /// The layout `STRATA_GPU_CHUNK_ROWS` and `STRATA_GPU_GROUPS_PER_DIM` ask for, the upload
    /// logged at `upload_log`.
    fn laid_out_by_env(
        ctx: Arc<GpuContext>,
        points: &Matrix,
        upload_log: log::Level,
    ) -> Result<Self> {
        Self::build(
            ctx,
            points,
            positive_from_env(CHUNK_ROWS_ENV),
            positive_from_env(GROUPS_PER_DIM_ENV),
            upload_log,
        )
    }

    /// The adapter this backend runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        self.ctx.adapter()
    }

    /// Like `new`, with at most `chunk_rows` rows per chunk.
    ///
    /// # Errors
    /// As for `new`.
    pub fn with_chunk_rows(
        ctx: Arc<GpuContext>,
        points: &Matrix,
        chunk_rows: Option<usize>,
    ) -> Result<Self> {
        Self::with_layout(ctx, points, chunk_rows, None)
    }

    /// Like `with_chunk_rows`, with at most `groups_per_dim` workgroups per dispatch dimension
    /// (never more than the device allows). Real limits (65,535 and up) reach the second
    /// dimension only past about 16 million rows; a low cap takes small data there, for tests.
    ///
    /// # Errors
    /// As for `new`.
    pub fn with_layout(
        ctx: Arc<GpuContext>,
        points: &Matrix,
        chunk_rows: Option<usize>,
        groups_per_dim: Option<u32>,
    ) -> Result<Self> {
        Self::build(ctx, points, chunk_rows, groups_per_dim, log::Level::Info)
    }

    /// Like `new`, for one block of points of a run that assigns its input block by block on
    /// the same device (`predict`): the upload is logged at debug level, not once per block.
    ///
    /// # Errors
    /// As for `new`.
    pub fn for_block(ctx: Arc<GpuContext>, points: &Matrix) -> Result<Self> {
        Self::laid_out_by_env(ctx, points, log::Level::Debug)
    }

    /// The device context, to build further backends on it.
    pub fn context(&self) -> Arc<GpuContext> {
        self.ctx.clone()
    }

    fn build(
        ctx: Arc<GpuContext>,
        points: &Matrix,
        chunk_rows: Option<usize>,
        groups_per_dim: Option<u32>,
        upload_log: log::Level,
    ) -> Result<Self> {
        let (rows, dims) = (points.rows(), points.cols());
        if dims > MAX_DIMS {
            return Err(Error::usage(format!(
                "the GPU backend handles at most {MAX_DIMS} features, not {dims}; use --backend cpu"
            )));
        }
        let assign = ctx.per_point(PerPoint::Assign, dims)?;
        let fused = if switch_from_env(FUSED_STEP_ENV) {
            Self::step_kernel(&ctx, &assign, dims)?
        } else {
            None
        };
        let limits = ctx.limits().clone();
        let max_groups = groups_per_dim.map_or(limits.max_compute_workgroups_per_dimension, |g| {
            g.clamp(1, limits.max_compute_workgroups_per_dimension)
        });
        if groups_per_dim.is_some() {
            log::debug!("GPU: grids of at most {max_groups} workgroups per dimension");
        }
        let max_bytes = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        // Whole workgroups per chunk, and no more ranges than one dispatch dimension holds.
        let by_limit = ((max_bytes / (4 * dims as u64)) as usize / WG * WG)
            .min(max_groups as usize * RANGE_ROWS)
            .max(WG);
        let chunk = chunk_rows.map_or(by_limit, |r| r.min(by_limit)).max(1);
        let mut chunks = Vec::with_capacity(rows.div_ceil(chunk));
        // Inert inside `predict`'s stage, whose blocks come here one by one.
        let progress = crate::progress::stage(
            "uploading to the GPU",
            crate::progress::Total::Exactly(rows as u64),
            "rows",
        );
        for (i, slice) in points.as_slice().chunks(chunk * dims).enumerate() {
            let n = slice.len() / dims;
            let g = grid(n, max_groups);
            let built = ctx.checked("uploading the points", || {
                let storage = Usage::STORAGE | Usage::COPY_DST | Usage::COPY_SRC;
                let points = ctx.buffer("points", (slice.len() * 4) as u64, storage);
                ctx.queue()
                    .write_buffer(&points, 0, bytemuck::cast_slice(slice));
                let uniform =
                    || ctx.buffer("params", PARAMS_BYTES, Usage::UNIFORM | Usage::COPY_DST);
                Chunk {
                    rows: n,
                    points,
                    labels: ctx.buffer("labels", (n * 4) as u64, storage),
                    distances: ctx.buffer("distances", (n * 4) as u64, storage),
                    wg_stats: ctx.buffer("workgroup stats", g.0 as u64 * g.1 as u64 * 12, storage),
                    closest: None,
                    order: None,
                    bounds: None,
                    partials: None,
                    folded: None,
                    trial_sums: None,
                    params: [uniform(), uniform(), uniform(), uniform()],
                    grid: g,
                }
            })?;
            // Submit each chunk's upload so its staging memory is released before the next.
            ctx.queue().submit([]);
            ctx.device()
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| Error::DeviceLost(format!("uploading chunk {i} failed: {e}")))?;
            chunks.push(built);
            progress.add(n as u64);
        }
        drop(progress);
        log::log!(
            upload_log,
            "GPU: {} row(s) × {dims} resident on '{}' in {} chunk(s) of up to {chunk} rows",
            rows,
            ctx.adapter().name,
            chunks.len()
        );
        Ok(GpuBackend {
            ctx,
            assign,
            fused,
            alternate: switch_from_env(ALTERNATE_ENV),
            steps: 0,
            seed_passes: 0,
            labels_unset: true,
            rows,
            dims,
            chunks,
            max_groups,
            centroids: None,
            norms: None,
            centres: None,
            potential: Vec::new(),
        })
    }

    /// Makes `slot` a storage buffer of at least `bytes`, re-created when too small.
    fn ensure<'s>(
        ctx: &GpuContext,
        slot: &'s mut Option<Scratch>,
        label: &str,
        bytes: u64,
    ) -> &'s wgpu::Buffer {
        if slot.as_ref().is_none_or(|s| s.bytes < bytes) {
            let buffer = ctx.buffer(
                label,
                bytes,
                Usage::STORAGE | Usage::COPY_DST | Usage::COPY_SRC,
            );
            *slot = Some(Scratch { buffer, bytes });
        }
        &slot.as_ref().expect("just ensured").buffer
    }

    /// Uploads centroids and their squared norms (computed as the CPU backend does).
    fn upload_centroids(&mut self, centroids: &Matrix) -> Result<()> {
        let norms: Vec<f32> = (0..centroids.rows())
            .map(|c| centroids.row(c).iter().map(|v| v * v).sum())
            .collect();
        let ctx = self.ctx.clone();
        ctx.checked("uploading centroids", || {
            let buffer = Self::ensure(
                &ctx,
                &mut self.centroids,
                "centroids",
                (centroids.as_slice().len() * 4) as u64,
            );
            ctx.queue()
                .write_buffer(buffer, 0, bytemuck::cast_slice(centroids.as_slice()));
            let buffer = Self::ensure(&ctx, &mut self.norms, "norms", (norms.len() * 4) as u64);
            ctx.queue()
                .write_buffer(buffer, 0, bytemuck::cast_slice(&norms));
        })
    }

    /// Uploads seeding centres (one or the candidates) to the centres buffer.
    fn upload_centres(&mut self, centres: &[f32]) -> Result<()> {
        let ctx = self.ctx.clone();
        ctx.checked("uploading seeding centres", || {
            let buffer = Self::ensure(
                &ctx,
                &mut self.centres,
                "centres",
                (centres.len() * 4) as u64,
            );
            ctx.queue()
                .write_buffer(buffer, 0, bytemuck::cast_slice(centres));
        })
    }

    /// Encodes one compute pass per (kernel, bound buffers in binding order, workgroup grid) and
    /// submits them together inside the error scopes.
    fn submit(&self, what: &str, passes: &[Pass<'_>]) -> Result<()> {
        self.submit_reading::<u32>(what, passes, &[]).map(|_| ())
    }

    /// Like `submit`, then reads `spans` back after the passes in the same submission.
    fn submit_reading<T: bytemuck::Pod>(
        &self,
        what: &str,
        passes: &[Pass<'_>],
        spans: &[Span<'_>],
    ) -> Result<Vec<Vec<T>>> {
        let ctx = &self.ctx;
        let profiler = ctx.profiler();
        debug_assert!(passes.len() <= profile::MAX_PASSES);
        let encoder = ctx.checked(what, || {
            let mut encoder = ctx
                .device()
                .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(what) });
            for (i, (kernel, buffers, (x, y))) in passes.iter().enumerate() {
                let entries: Vec<wgpu::BindGroupEntry> = buffers
                    .iter()
                    .enumerate()
                    .map(|(i, b)| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource: b.as_entire_binding(),
                    })
                    .collect();
                let group = ctx.device().create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &kernel.layout,
                    entries: &entries,
                });
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: None,
                    timestamp_writes: profiler.map(|p| wgpu::ComputePassTimestampWrites {
                        query_set: &p.queries,
                        beginning_of_pass_write_index: Some(2 * i as u32),
                        end_of_pass_write_index: Some(2 * i as u32 + 1),
                    }),
                });
                pass.set_pipeline(&kernel.pipeline);
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(*x, *y, 1);
            }
            if let Some(p) = profiler {
                let stamps = 2 * passes.len() as u32;
                encoder.resolve_query_set(&p.queries, 0..stamps, &p.resolved, 0);
            }
            encoder
        })?;
        // The timestamps come back with the values, after the same wait, as raw `T`s.
        let stamp_values = profiler.map_or(0, |_| 2 * passes.len() * 8 / size_of::<T>());
        let mut values = if spans.is_empty() && profiler.is_none() {
            ctx.checked(what, || {
                ctx.queue().submit([encoder.finish()]);
            })?;
            Vec::new()
        } else {
            let mut all = spans.to_vec();
            if let Some(p) = profiler {
                all.push(Span::first(&p.resolved, stamp_values));
            }
            ctx.read_after(encoder, &all)?
        };
        if let Some(p) = profiler {
            let raw = values.pop().unwrap_or_default();
            let stamps: Vec<u64> = bytemuck::cast_slice::<T, u8>(&raw)
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8-byte chunks")))
                .collect();
            let names: Vec<&str> = passes.iter().map(|(kernel, ..)| kernel.name).collect();
            p.record(&names, &stamps);
        }
        Ok(values)
    }

    /// Exit 70 for results that cannot be right (`what` the device returned: a label past the
    /// last centroid, counts that do not add up to the rows): a driver fault or a kernel cut
    /// short, which nothing of this run may be built on.
    fn implausible(&self, what: &str) -> Error {
        Error::Internal(format!(
            "the GPU ('{}') returned {what}; nothing is written from this run. Rerun with \
             --backend cpu, and report the adapter and its driver (`strata info`)",
            self.ctx.adapter().name
        ))
    }

    /// The shapes this backend cannot run with `k` centroids: partial sums (`sums`) with more
    /// blocks of slots than one dispatch dimension holds, and on a software adapter an
    /// assignment past its loop budget.
    ///
    /// # Errors
    /// A usage error that names the limit.
    fn check_shape(&self, k: usize, sums: bool) -> Result<()> {
        let d = self.dims;
        let slots = k * (d + 1);
        if sums && slots.div_ceil(WG) > self.max_groups as usize {
            return Err(Error::usage(format!(
                "k × (features + 1) = {slots} is too large for the GPU backend's partial sums; use --backend cpu"
            )));
        }
        if self.ctx.adapter().software {
            // An invocation walks every centroid: the register kernels take about one loop
            // iteration per centroid on lavapipe (k = 70,000 at d = 4 stopped near 64,770), the
            // general one a few per block of the point (`blocked_iterations`); llvmpipe would
            // stop either short.
            let per_centroid = if self.assign.registers {
                1
            } else {
                blocked_iterations(d)
            };
            let iterations = k * per_centroid;
            if iterations > SOFTWARE_LOOP_BUDGET {
                return Err(Error::usage(format!(
                    "k = {k} centroids of {d} features take {iterations} loop iterations per point, \
                     beyond the {SOFTWARE_LOOP_BUDGET} a software GPU adapter ('{}') runs \
                     correctly; use --backend cpu (or a hardware GPU)",
                    self.ctx.adapter().name
                )));
            }
        }
        Ok(())
    }

    /// Runs the assignment kernel on every chunk and reads back, per chunk in one submission,
    /// either (`sums`) its workgroup stats and folded partial sums, or its labels and distances.
    /// The partial sums come from `assign_accumulate` in the same pass as the assignment where
    /// it applies (see `fused_step`), else from sorting each range by cluster and summing it.
    /// Values come back as raw 32-bit words, in chunk order whatever order the chunks ran in.
    fn run_assign(&mut self, centroids: &Matrix, sums: bool) -> Result<Vec<[Vec<u32>; 2]>> {
        self.upload_centroids(centroids)?;
        let (k, d) = (centroids.rows(), self.dims);
        let slots = k * (d + 1);
        let slot_blocks = slots.div_ceil(WG);
        self.check_shape(k, sums)?;
        let fused = self.fused_step(k).filter(|_| sums);
        let ctx = self.ctx.clone();
        let max_per_dim = self.max_groups;
        let ways = if sums && self.alternate {
            self.steps += 1;
            Directions::alternating(fused.is_some(), self.steps - 1)
        } else {
            Directions::FORWARD
        };
        let mut results = vec![[Vec::new(), Vec::new()]; self.chunks.len()];
        for i in ways.chunk_order(self.chunks.len()) {
            // The assignment's own grid, with no more workgroups (and stats) than the chunk's.
            let assign_grid = kernel_grid(&self.assign, self.chunks[i].rows, max_per_dim);
            let rows = self.chunks[i].rows;
            // A fused step's ranges are its workgroups' rows.
            let ranges = match &fused {
                Some(kernel) => rows.div_ceil(WG * kernel.rows_per_invocation as usize),
                None => self.chunks[i].ranges(),
            };
            let (per_group, groups) = fold_shape(ranges);
            ctx.checked("running the assignment", || {
                let chunk = &mut self.chunks[i];
                let assign = AssignParams {
                    rows: rows as u32,
                    dims: d as u32,
                    k: k as u32,
                    wg_x: assign_grid.0,
                    write_distances: u32::from(!sums),
                    slots: slots as u32,
                    zero: 0,
                    reverse: u32::from(ways.assign_reversed),
                    labels_unset: u32::from(self.labels_unset),
                    pad: [0; 3],
                };
                ctx.queue()
                    .write_buffer(&chunk.params[0], 0, bytemuck::bytes_of(&assign));
                if !sums {
                    return;
                }
                let fold = FoldParams {
                    slots: slots as u32,
                    ranges: ranges as u32,
                    per_group: per_group as u32,
                    groups: groups as u32,
                    zero: 0,
                    pad: [0; 3],
                };
                ctx.queue()
                    .write_buffer(&chunk.params[3], 0, bytemuck::bytes_of(&fold));
                // A sum and its rounding error per range and slot.
                let partials = (ranges * slots * 2 * 4) as u64;
                Self::ensure(&ctx, &mut chunk.partials, "partials", partials);
                let folded = (groups * slots * 2 * 4) as u64;
                Self::ensure(&ctx, &mut chunk.folded, "folded partials", folded);
                if fused.is_some() {
                    return;
                }
                let params = AccumulateParams {
                    rows: rows as u32,
                    dims: d as u32,
                    range_rows: RANGE_ROWS as u32,
                    slots: slots as u32,
                    clusters: k as u32,
                    zero: 0,
                    reverse: u32::from(ways.sums_reversed),
                    pad: 0,
                };
                ctx.queue()
                    .write_buffer(&chunk.params[1], 0, bytemuck::bytes_of(&params));
                let bounds = (ranges * 2 * (k + 1) * 4) as u64;
                Self::ensure(&ctx, &mut chunk.bounds, "cluster bounds", bounds);
                if chunk.order.is_none() {
                    chunk.order =
                        Some(ctx.buffer("order by cluster", (rows * 4) as u64, Usage::STORAGE));
                }
            })?;
            let chunk = &self.chunks[i];
            let centroid_buf = &self.centroids.as_ref().expect("uploaded above").buffer;
            let norm_buf = &self.norms.as_ref().expect("uploaded above").buffer;
            let assign = [
                &chunk.params[0],
                &chunk.points,
                centroid_buf,
                norm_buf,
                &chunk.labels,
                &chunk.distances,
                &chunk.wg_stats,
            ];
            let mut read = if !sums {
                let spans = [
                    Span::first(&chunk.labels, rows),
                    Span::first(&chunk.distances, rows),
                ];
                self.submit_reading(
                    "running the assignment",
                    &[(&self.assign, &assign, assign_grid)],
                    &spans,
                )?
            } else {
                let (Some(partials), Some(folded)) = (&chunk.partials, &chunk.folded) else {
                    unreachable!("partial-sum buffers ensured above");
                };
                let fold: &[&wgpu::Buffer] = &[&chunk.params[3], &partials.buffer, &folded.buffer];
                let fold_pass: Pass = (&ctx.fold, fold, (groups as u32, slot_blocks as u32));
                let spans = [
                    Span::first(
                        &chunk.wg_stats,
                        2 * (assign_grid.0 * assign_grid.1) as usize,
                    ),
                    Span::first(&folded.buffer, groups * slots * 2),
                ];
                if let Some(kernel) = &fused {
                    let mut step = assign.to_vec();
                    step.push(&partials.buffer);
                    self.submit_reading(
                        "running the assignment",
                        &[(kernel, &step, assign_grid), fold_pass],
                        &spans,
                    )?
                } else {
                    let (Some(bounds), Some(order)) = (&chunk.bounds, &chunk.order) else {
                        unreachable!("sort buffers ensured above");
                    };
                    let sort: &[&wgpu::Buffer] =
                        &[&chunk.params[1], &chunk.labels, &bounds.buffer, order];
                    let accumulate: &[&wgpu::Buffer] = &[
                        &chunk.params[1],
                        &chunk.points,
                        order,
                        &bounds.buffer,
                        &partials.buffer,
                    ];
                    let sorter = if k <= SORT_SMALL_K {
                        &ctx.sort_small
                    } else {
                        &ctx.sort
                    };
                    self.submit_reading(
                        "running the assignment",
                        &[
                            (&self.assign, &assign, assign_grid),
                            (sorter, sort, (ranges as u32, 1)),
                            (
                                &ctx.accumulate,
                                accumulate,
                                (ranges as u32, slot_blocks as u32),
                            ),
                            fold_pass,
                        ],
                        &spans,
                    )?
                }
            };
            let second = read.pop().unwrap_or_default();
            let first = read.pop().unwrap_or_default();
            results[i] = [first, second];
        }
        self.labels_unset = false;
        Ok(results)
    }

    /// `assign_accumulate` for `dims` features where the adapter has it, with the same rows per
    /// invocation as `assign` (whose workgroup stats it writes in the same places).
    fn step_kernel(ctx: &GpuContext, assign: &Kernel, dims: usize) -> Result<Option<Arc<Kernel>>> {
        Ok(ctx
            .step_kernel(dims)?
            .filter(|f| f.rows_per_invocation == assign.rows_per_invocation))
    }

    /// `assign_accumulate` when a Lloyd step with `k` clusters can use it: its kernel exists for
    /// these features (see `GpuContext::step_kernel`), k ≤ 256, k·⌈d/4⌉ ≤ 2,048 (each
    /// invocation owns at most 8 pairs of a cluster and 4 features), and its partial sums
    /// (k·(d + 1) sums and their rounding errors per workgroup) take no more memory than the
    /// workgroup's points, so they fit wherever the points do.
    fn fused_step(&self, k: usize) -> Option<Arc<Kernel>> {
        let d = self.dims;
        self.fused.clone().filter(|kernel| {
            let points = WG * kernel.rows_per_invocation as usize * d;
            k <= STEP_MAX_K && k * d.div_ceil(4) <= STEP_MAX_PAIRS && 2 * k * (d + 1) <= points
        })
    }

    /// Runs each Lloyd step in one pass (`assign_accumulate`) where the adapter and the shape
    /// allow, as `STRATA_GPU_FUSED_STEP=1` does.
    ///
    /// # Errors
    /// Exit 70 when the kernel does not compile.
    pub fn with_fused_step(mut self) -> Result<Self> {
        self.fused = Self::step_kernel(&self.ctx, &self.assign, self.dims)?;
        Ok(self)
    }

    /// Has each pass over the points (Lloyd steps and k-means++) start where the previous pass
    /// ended, as `STRATA_GPU_ALTERNATE=1` does (see `Directions`).
    pub fn with_alternating_passes(mut self) -> Self {
        self.alternate = true;
        self
    }

    /// The directions of the next k-means++ pass over the points (see `Directions`).
    fn seeding_directions(&mut self) -> Directions {
        if !self.alternate {
            return Directions::FORWARD;
        }
        self.seed_passes += 1;
        Directions::alternating_seeding(self.seed_passes - 1)
    }

    /// Runs `seed_update` with `centre` on every chunk and refreshes the running sums of the
    /// potential from its per-workgroup sums; returns the total potential.
    fn update_closest(&mut self, centre: &[f32], replace: bool) -> Result<f64> {
        self.upload_centres(centre)?;
        let ctx = self.ctx.clone();
        let ways = self.seeding_directions();
        let mut block_sums = vec![Vec::new(); self.chunks.len()];
        for i in ways.chunk_order(self.chunks.len()) {
            ctx.checked("updating k-means++ distances", || {
                let chunk = &mut self.chunks[i];
                if chunk.closest.is_none() {
                    chunk.closest = Some(ctx.buffer(
                        "closest",
                        (chunk.rows * 4) as u64,
                        Usage::STORAGE | Usage::COPY_SRC,
                    ));
                }
                let params = SeedParams {
                    rows: chunk.rows as u32,
                    dims: self.dims as u32,
                    centres: 1,
                    replace: u32::from(replace),
                    wg_x: chunk.grid.0,
                    reverse: u32::from(ways.assign_reversed),
                    pad: [0; 2],
                };
                ctx.queue()
                    .write_buffer(&chunk.params[2], 0, bytemuck::bytes_of(&params));
            })?;
            let chunk = &self.chunks[i];
            let chunk_closest = chunk.closest.as_ref().expect("created above");
            let centres = &self.centres.as_ref().expect("uploaded above").buffer;
            let buffers: &[&wgpu::Buffer] = &[
                &chunk.params[2],
                &chunk.points,
                centres,
                chunk_closest,
                &chunk.wg_stats,
            ];
            // Only the workgroups that hold points: the grid's spare ones sum nothing.
            let blocks = chunk.rows.div_ceil(WG);
            block_sums[i] = self
                .submit_reading::<u32>(
                    "updating k-means++ distances",
                    &[(&ctx.seed_update, buffers, chunk.grid)],
                    &[Span::first(&chunk.wg_stats, 3 * blocks)],
                )?
                .pop()
                .unwrap_or_default();
        }
        // Running sums in row order, whatever order the chunks ran in.
        let mut potential = Vec::with_capacity(self.rows.div_ceil(WG));
        let mut running = 0.0f64;
        for block in block_sums.concat().chunks_exact(3) {
            // (lo, hi, shift): the fixed-point sum (hi·2³² + lo)·2^−shift (seed.wgsl).
            let fixed = (u64::from(block[1]) << 32) | u64::from(block[0]);
            running += fixed as f64 * 2f64.powi(-(block[2] as i32));
            potential.push(running);
        }
        self.potential = potential;
        Ok(running)
    }

    /// Where block `b` (see `potential`) lies: its chunk, its first row in that chunk and in
    /// all the points, and its number of rows.
    fn block(&self, mut b: usize) -> (usize, usize, usize, usize) {
        let mut offset = 0;
        for (i, chunk) in self.chunks.iter().enumerate() {
            let blocks = chunk.rows.div_ceil(WG);
            if b < blocks {
                let start = b * WG;
                return (i, start, offset + start, WG.min(chunk.rows - start));
            }
            b -= blocks;
            offset += chunk.rows;
        }
        unreachable!("block beyond the last chunk")
    }
}

impl Backend for GpuBackend {
    fn info(&self) -> BackendInfo {
        let adapter = self.ctx.adapter();
        BackendInfo {
            kind: BackendKind::Gpu,
            adapter: format!(
                "{} ({}, {})",
                adapter.name, adapter.backend, adapter.device_type
            ),
            threads: rayon::current_num_threads(),
        }
    }

    fn rows(&self) -> usize {
        self.rows
    }

    fn dims(&self) -> usize {
        self.dims
    }

    fn reset_labels(&mut self) -> Result<()> {
        // Nothing to write: the next assignment is told that the labels are unset, instead of
        // every row's label being overwritten from the host.
        self.labels_unset = true;
        Ok(())
    }

    fn step(&mut self, centroids: &Matrix) -> Result<StepPartials> {
        let (k, d) = (centroids.rows(), self.dims);
        let slots = k * (d + 1);
        let mut total = StepPartials::zeros(k, d);
        // A folded slot is (sum, rounding error); the group's total is their sum.
        let value =
            |pair: &[u32]| f64::from(f32::from_bits(pair[0])) + f64::from(f32::from_bits(pair[1]));
        for [stats, folded] in self.run_assign(centroids, true)? {
            for wg in stats.chunks_exact(2) {
                total.inertia += f64::from(f32::from_bits(wg[0]));
                total.changed += f32::from_bits(wg[1]) as u64;
            }
            for group in folded.chunks_exact(2 * slots) {
                for c in 0..k {
                    let slot = &group[2 * c * (d + 1)..2 * (c + 1) * (d + 1)];
                    total.counts[c] += value(&slot[2 * d..]) as u64;
                    let sums = &mut total.sums[c * d..(c + 1) * d];
                    for (s, pair) in sums.iter_mut().zip(slot[..2 * d].chunks_exact(2)) {
                        *s += value(pair);
                    }
                }
            }
        }
        let counted: u64 = total.counts.iter().sum();
        if counted != self.rows as u64 {
            return Err(self.implausible(&format!(
                "partial sums that count {counted} points of {}",
                self.rows
            )));
        }
        Ok(total)
    }

    fn assign(&mut self, centroids: &Matrix) -> Result<Assignment> {
        let mut labels = Vec::new();
        let mut sq_distances = Vec::new();
        for [chunk_labels, chunk_distances] in self.run_assign(centroids, false)? {
            // Converted in place; one chunk's vectors are taken as they are, not copied.
            let chunk_distances: Vec<f32> =
                chunk_distances.into_iter().map(f32::from_bits).collect();
            if labels.is_empty() {
                labels = chunk_labels;
                sq_distances = chunk_distances;
            } else {
                labels.extend(chunk_labels);
                sq_distances.extend(chunk_distances);
            }
        }
        let k = centroids.rows();
        if let Some(row) = labels.iter().position(|&label| label as usize >= k) {
            return Err(self.implausible(&format!(
                "label {} for row {row}, with {k} centroids",
                labels[row]
            )));
        }
        Ok(Assignment {
            labels,
            sq_distances,
        })
    }

    fn seed_first(&mut self, centre: &[f32]) -> Result<f64> {
        self.update_closest(centre, true)
    }

    fn seed_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>> {
        // The block where the running sum reaches each target (None: rounding left the target
        // past the last one), then only those blocks' distances come back, scanned in f64 as
        // the CPU backend scans its partition.
        let found: Vec<Option<usize>> = targets
            .iter()
            .map(|&target| {
                let b = self.potential.partition_point(|&p| p < target);
                (b < self.potential.len()).then_some(b)
            })
            .collect();
        let mut wanted: Vec<usize> = found.iter().flatten().copied().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let places: Vec<_> = wanted.iter().map(|&b| self.block(b)).collect();
        let mut spans = Vec::with_capacity(places.len());
        for &(chunk, start, _, len) in &places {
            let closest = self.chunks[chunk].closest.as_ref().ok_or_else(|| {
                Error::Internal("k-means++ sampling before the first centre".into())
            })?;
            spans.push(Span {
                source: closest,
                offset: (start * 4) as u64,
                len,
            });
        }
        let distances = self.ctx.read_spans::<f32>(&spans)?;
        Ok(targets
            .iter()
            .zip(&found)
            .map(|(&target, block)| {
                let Some(b) = *block else {
                    return self.rows - 1;
                };
                let at = wanted.binary_search(&b).expect("every found block is read");
                let (_, _, first, _) = places[at];
                let before = if b == 0 { 0.0 } else { self.potential[b - 1] };
                first + point_reaching(&distances[at], before, target)
            })
            .collect())
    }

    fn seed_trials(&mut self, candidates: &Matrix) -> Result<Vec<f64>> {
        let t = candidates.rows();
        self.upload_centres(candidates.as_slice())?;
        let ctx = self.ctx.clone();
        let ways = self.seeding_directions();
        let mut chunk_sums = vec![Vec::new(); self.chunks.len()];
        for i in ways.chunk_order(self.chunks.len()) {
            ctx.checked("scoring k-means++ candidates", || {
                let chunk = &mut self.chunks[i];
                let params = SeedParams {
                    rows: chunk.rows as u32,
                    dims: self.dims as u32,
                    centres: t as u32,
                    replace: 0,
                    wg_x: chunk.grid.0,
                    reverse: u32::from(ways.assign_reversed),
                    pad: [0; 2],
                };
                ctx.queue()
                    .write_buffer(&chunk.params[2], 0, bytemuck::bytes_of(&params));
                let bytes = (chunk.workgroups() * t * 4) as u64;
                Self::ensure(&ctx, &mut chunk.trial_sums, "trial sums", bytes);
            })?;
            let chunk = &self.chunks[i];
            let sums = &chunk.trial_sums.as_ref().expect("ensured above").buffer;
            let chunk_closest = chunk.closest.as_ref().ok_or_else(|| {
                Error::Internal("k-means++ trials before the first centre".into())
            })?;
            let centres = &self.centres.as_ref().expect("uploaded above").buffer;
            let buffers: &[&wgpu::Buffer] = &[
                &chunk.params[2],
                &chunk.points,
                centres,
                chunk_closest,
                sums,
            ];
            chunk_sums[i] = self
                .submit_reading::<f32>(
                    "scoring k-means++ candidates",
                    &[(&ctx.seed_trials, buffers, chunk.grid)],
                    &[Span::first(sums, chunk.workgroups() * t)],
                )?
                .pop()
                .unwrap_or_default();
        }
        // Added in row order, whatever order the chunks ran in.
        let mut totals = vec![0.0f64; t];
        for wg in chunk_sums.concat().chunks_exact(t) {
            totals
                .iter_mut()
                .zip(wg)
                .for_each(|(a, &b)| *a += f64::from(b));
        }
        Ok(totals)
    }

    fn seed_commit(&mut self, centre: &[f32]) -> Result<()> {
        self.update_closest(centre, false).map(|_| ())
    }

    fn silhouette_exact(&mut self, sorted: &Matrix, offsets: &[usize]) -> Result<Vec<f32>> {
        let ctx = self.ctx.clone();
        let (n, d) = (sorted.rows(), sorted.cols());
        let limits = ctx.limits();
        if (sorted.as_slice().len() * 4) as u64
            > limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size)
        {
            return Err(Error::usage(format!(
                "an exact silhouette of {n} points × {d} features does not fit one GPU buffer; use --silhouette sample:N"
            )));
        }
        let kernel = ctx.per_point(PerPoint::Silhouette, d)?;
        let g = kernel_grid(&kernel, n, self.max_groups);
        let offsets: Vec<u32> = offsets.iter().map(|&o| o as u32).collect();
        let columns = if ctx.adapter().software {
            software_silhouette_columns(&kernel, d, offsets.len() - 1)
        } else {
            (SILHOUETTE_PASS_WORK / d.div_ceil(4)).max(1)
        };
        let (params_buf, points, offsets_buf, scores, state) =
            ctx.checked("uploading points for the silhouette", || {
                let upload = |label, bytes: &[u8], usage| {
                    let buffer = ctx.buffer(label, bytes.len() as u64, usage | Usage::COPY_DST);
                    ctx.queue().write_buffer(&buffer, 0, bytes);
                    buffer
                };
                (
                    ctx.buffer(
                        "silhouette params",
                        std::mem::size_of::<SilhouetteParams>() as u64,
                        Usage::UNIFORM | Usage::COPY_DST,
                    ),
                    upload(
                        "sorted points",
                        bytemuck::cast_slice(sorted.as_slice()),
                        Usage::STORAGE,
                    ),
                    upload("offsets", bytemuck::cast_slice(&offsets), Usage::STORAGE),
                    ctx.buffer("scores", (n * 4) as u64, Usage::STORAGE | Usage::COPY_SRC),
                    ctx.buffer("silhouette walks", (n * 20) as u64, Usage::STORAGE),
                )
            })?;
        let buffers: &[&wgpu::Buffer] = &[&params_buf, &points, &offsets_buf, &scores, &state];
        // Not counted: the passes are queued without waiting, so a count would run ahead of
        // the device; the line shows how long the scoring has run.
        let _progress = crate::progress::stage("silhouette", crate::progress::Total::Unknown, "");
        for col_start in (0..n).step_by(columns) {
            let params = SilhouetteParams {
                rows: n as u32,
                dims: d as u32,
                clusters: (offsets.len() - 1) as u32,
                wg_x: g.0,
                col_start: col_start as u32,
                col_end: (col_start + columns).min(n) as u32,
                zero: 0,
                pad: 0,
            };
            ctx.checked("scoring the silhouette", || {
                ctx.queue()
                    .write_buffer(&params_buf, 0, bytemuck::bytes_of(&params));
            })?;
            self.submit("scoring the silhouette", &[(&kernel, buffers, g)])?;
        }
        ctx.read::<f32>(&scores, 0, n)
    }

    fn check_clusters(&self, k: usize) -> Result<()> {
        self.check_shape(k, true)
    }

    fn exact_silhouette_limit(&self) -> usize {
        if self.ctx.adapter().software {
            5_000
        } else {
            1_000_000
        }
    }

    fn end_seeding(&mut self) {
        for chunk in &mut self.chunks {
            chunk.closest = None;
        }
        self.potential = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::context::{MAX_ROWS_PER_INVOCATION, REGISTER_DIMS, REQUIRED_INVOCATIONS};
    use super::{
        BLOCK_TILE, BLOCK_VECTORS, Directions, SORT_SMALL_K, STEP_MAX_K, STEP_MAX_PAIRS,
        TILE_VECTORS, WG, fold_shape,
    };

    /// The value of the u32 constant `name` of shader `file`, as naga reads it (a constant
    /// expression such as `WG / 32u` comes evaluated).
    fn shader_constant(file: &str, name: &str) -> usize {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("shaders")
            .join(file);
        let source = std::fs::read_to_string(&path).unwrap();
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{file}: {}", e.emit_to_string(&source)));
        let (_, constant) = module
            .constants
            .iter()
            .find(|(_, c)| c.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{file} declares no constant {name}"));
        match module.global_expressions[constant.init] {
            naga::Expression::Literal(naga::Literal::U32(value)) => value as usize,
            ref other => panic!("{file}: {name} is {other:?}, not a u32"),
        }
    }

    /// The sizes the host plans dispatches, tiles and software loop counts with are the ones
    /// the shaders declare: each Rust constant below mirrors a WGSL one, which WGSL cannot
    /// import, and a change to one side alone would make the host cut the work wrongly.
    #[test]
    fn the_host_uses_the_sizes_the_shaders_declare() {
        assert_eq!(WG, REQUIRED_INVOCATIONS as usize);
        for file in ["assign.wgsl", "seed.wgsl", "silhouette.wgsl", "sort.wgsl"] {
            assert_eq!(shader_constant(file, "WG"), WG, "{file}: WG");
        }
        for file in ["assign.wgsl", "silhouette.wgsl"] {
            assert_eq!(
                shader_constant(file, "TILE_V"),
                TILE_VECTORS,
                "{file}: TILE_V"
            );
            assert_eq!(
                shader_constant(file, "MAX_V"),
                BLOCK_VECTORS,
                "{file}: MAX_V"
            );
            assert_eq!(
                shader_constant(file, "BLOCK_TILE"),
                BLOCK_TILE,
                "{file}: BLOCK_TILE"
            );
        }
        // The general kernels take points of more than BLOCK_VECTORS vec4s, so no more than
        // this many centroids (or columns) of them fit in a tile.
        assert_eq!(BLOCK_TILE, TILE_VECTORS / (BLOCK_VECTORS + 1));
        // The register kernels hold a point in one block.
        assert_eq!(REGISTER_DIMS, 4 * BLOCK_VECTORS);
        assert_eq!(
            shader_constant("silhouette.wgsl", "MAX_RB"),
            MAX_ROWS_PER_INVOCATION as usize,
            "silhouette.wgsl: MAX_RB"
        );
        assert_eq!(
            shader_constant("assign.wgsl", "MASK_K"),
            STEP_MAX_K,
            "assign.wgsl: MASK_K"
        );
        assert_eq!(
            WG * shader_constant("assign.wgsl", "MAX_OWN"),
            STEP_MAX_PAIRS,
            "assign.wgsl: MAX_OWN"
        );
        assert_eq!(
            shader_constant("sort.wgsl", "SMALL_K"),
            SORT_SMALL_K,
            "sort.wgsl: SMALL_K"
        );
    }

    #[test]
    fn fold_groups_cover_every_range_once() {
        for (ranges, shape) in [
            (1, (1, 1)),
            (2, (2, 1)),
            (3, (2, 2)),
            (7, (3, 3)),
            (16, (4, 4)),
        ] {
            assert_eq!(fold_shape(ranges), shape, "{ranges} ranges");
        }
        assert_eq!(fold_shape(611), (25, 25));
        for ranges in 1..2000 {
            let (per_group, groups) = fold_shape(ranges);
            assert!(per_group * groups >= ranges && per_group * (groups - 1) < ranges);
        }
    }

    /// With alternating passes every pass over a chunk's points begins at the end of the chunk
    /// where the previous pass over them ended, and every step begins with the chunk the previous
    /// step ended with; in both forms of the Lloyd step and in k-means++, over several steps and
    /// chunks.
    #[test]
    fn alternating_passes_begin_where_the_last_ones_ended() {
        let chunks = 3;
        for fused in [false, true] {
            // Per chunk, whether the last pass over its points ended on its last row.
            let mut ended: Vec<Option<bool>> = vec![None; chunks];
            let mut last_chunk = None;
            for step in 0..6 {
                let ways = Directions::alternating(fused, step);
                let order = ways.chunk_order(chunks);
                if let Some(last) = last_chunk {
                    assert_eq!(order[0], last, "fused {fused}, step {step}: first chunk");
                }
                for &c in &order {
                    // The assignment reads the points; in three passes, so do the sums.
                    let mut passes = vec![ways.assign_reversed];
                    if !fused {
                        passes.push(ways.sums_reversed);
                    }
                    for reversed in passes {
                        if let Some(end) = ended[c] {
                            assert_eq!(reversed, end, "fused {fused}, step {step}, chunk {c}");
                        }
                        ended[c] = Some(!reversed);
                    }
                }
                last_chunk = order.last().copied();
            }
        }
        // k-means++: one pass per call (candidates scored, then the closest distances updated).
        let mut ended: Vec<Option<bool>> = vec![None; chunks];
        let mut last_chunk = None;
        for pass in 0..6 {
            let ways = Directions::alternating_seeding(pass);
            let order = ways.chunk_order(chunks);
            if let Some(last) = last_chunk {
                assert_eq!(order[0], last, "k-means++ pass {pass}: first chunk");
            }
            for &c in &order {
                if let Some(end) = ended[c] {
                    assert_eq!(
                        ways.assign_reversed, end,
                        "k-means++ pass {pass}, chunk {c}"
                    );
                }
                ended[c] = Some(!ways.assign_reversed);
            }
            last_chunk = order.last().copied();
        }
    }
}
