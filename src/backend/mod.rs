//! The Backend trait: the heavy arithmetic over the points, behind one interface.
//!
//! Host code (seeding, the Lloyd loop, convergence, empty-cluster repair, bookkeeping) lives once
//! in `kmeans` and is generic over a backend. A backend holds the points (borrowed on the CPU,
//! resident on a GPU) and answers a handful of questions about them: per-cluster partial sums for
//! a set of centroids, the nearest centroid of every point, and the k-means++ distance updates.

pub mod cpu;
mod cpu_silhouette;
pub mod gpu;

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};

/// The partial sums of one Lloyd step over some set of points: what each partition of a
/// distributed run would send to be merged (DESIGN.md §7). This record is a stable interface.
#[derive(Debug, Clone, PartialEq)]
pub struct StepPartials {
    /// Number of clusters.
    pub k: usize,
    /// Number of features.
    pub d: usize,
    /// Points assigned to each cluster.
    pub counts: Vec<u64>,
    /// Per cluster, the sum of its points (k × d, row-major), in f64.
    pub sums: Vec<f64>,
    /// Sum of squared distances from each point to its nearest centroid.
    pub inertia: f64,
    /// Points whose label differs from the previous step's (all of them on the first step).
    pub changed: u64,
}

impl StepPartials {
    /// Empty partial sums for k clusters of d features.
    pub fn zeros(k: usize, d: usize) -> Self {
        Self {
            k,
            d,
            counts: vec![0; k],
            sums: vec![0.0; k * d],
            inertia: 0.0,
            changed: 0,
        }
    }

    /// Adds `other` into `self`. Merging in a fixed order gives a result independent of how the
    /// points were split.
    ///
    /// # Panics
    /// If the shapes differ (a caller bug).
    pub fn merge(&mut self, other: &StepPartials) {
        assert_eq!(
            (self.k, self.d),
            (other.k, other.d),
            "partials of different shapes"
        );
        self.counts
            .iter_mut()
            .zip(&other.counts)
            .for_each(|(a, b)| *a += b);
        self.sums
            .iter_mut()
            .zip(&other.sums)
            .for_each(|(a, b)| *a += b);
        self.inertia += other.inertia;
        self.changed += other.changed;
    }
}

/// The nearest centroid of every point and the squared distance to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Index of the nearest centroid (lowest index on ties).
    pub labels: Vec<u32>,
    /// ‖x − c‖² to that centroid, computed exactly (not in the expanded form).
    pub sq_distances: Vec<f32>,
}

/// Which kind of backend ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// The rayon CPU backend.
    Cpu,
    /// The wgpu backend.
    Gpu,
}

/// What a backend is, for logs and the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackendInfo {
    /// cpu or gpu.
    pub kind: BackendKind,
    /// The adapter name (the CPU backend names the host).
    pub adapter: String,
    /// Worker threads on the host.
    pub threads: usize,
}

/// The arithmetic a clustering run needs over its points.
///
/// Every method is deterministic: the same inputs give the same outputs, bit for bit, whatever
/// the thread count.
pub trait Backend {
    /// What this backend is.
    fn info(&self) -> BackendInfo;

    /// Number of points held.
    fn rows(&self) -> usize;

    /// Number of features per point.
    fn dims(&self) -> usize;

    /// Checks, before any work, that this backend can run steps with `k` centroids (the GPU
    /// has limits; the CPU takes any k).
    ///
    /// # Errors
    /// A usage error that names the limit and what to use instead.
    fn check_clusters(&self, _k: usize) -> Result<()> {
        Ok(())
    }

    /// Forgets the labels of the previous step, so the next step counts every point as changed.
    ///
    /// # Errors
    /// On a device failure.
    fn reset_labels(&mut self) -> Result<()>;

    /// Assigns every point to its nearest centroid and returns the per-cluster partial sums.
    ///
    /// # Errors
    /// On a device failure.
    fn step(&mut self, centroids: &Matrix) -> Result<StepPartials>;

    /// The nearest centroid of every point and the exact squared distance to it.
    ///
    /// # Errors
    /// On a device failure.
    fn assign(&mut self, centroids: &Matrix) -> Result<Assignment>;

    /// k-means++: sets every point's closest squared distance to its distance to `centre`;
    /// returns the total (the potential).
    ///
    /// # Errors
    /// On a device failure.
    fn seed_first(&mut self, centre: &[f32]) -> Result<f64>;

    /// k-means++: for each target in [0, potential), the first point whose running sum of
    /// closest distances reaches it (numpy's `searchsorted(cumsum, target)`), clipped to n − 1.
    ///
    /// # Errors
    /// On a device failure.
    fn seed_sample(&mut self, targets: &[f64]) -> Result<Vec<usize>>;

    /// k-means++: the potential each candidate centre (one per row) would leave:
    /// Σ min(closest, ‖x − candidate‖²).
    ///
    /// # Errors
    /// On a device failure.
    fn seed_trials(&mut self, candidates: &Matrix) -> Result<Vec<f64>>;

    /// k-means++: adds `centre`, updating every point's closest squared distance.
    ///
    /// # Errors
    /// On a device failure.
    fn seed_commit(&mut self, centre: &[f32]) -> Result<()>;

    /// k-means++: seeding is over; frees the per-point closest distances.
    fn end_seeding(&mut self);

    /// Exact silhouette of each row of `sorted`, whose rows are sorted by label so cluster c is
    /// rows `offsets[c]..offsets[c + 1]`. Independent of the points the backend holds.
    ///
    /// # Errors
    /// On a device failure.
    fn silhouette_exact(&mut self, sorted: &Matrix, offsets: &[usize]) -> Result<Vec<f32>>;

    /// Most points `--silhouette auto` scores exactly on this backend (within seconds).
    fn exact_silhouette_limit(&self) -> usize;
}

/// The vector instructions the CPU kernels use: the widest the CPU runs, lowered by
/// `STRATA_CPU_SIMD` (`avx2` or `portable`; another value is warned about and ignored). Every
/// form of a kernel gives the same results, except that the portable forms round a multiply-add
/// twice and can move a near-tie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Simd {
    /// Plain Rust, vectorized as the compiler sees fit for the baseline target.
    Portable,
    /// AVX2 and FMA: 256-bit vectors.
    Avx2,
    /// AVX-512 (foundation): 512-bit vectors for the assignment's search.
    Avx512,
}

impl Simd {
    /// Every level, narrowest first.
    pub const ALL: [Simd; 3] = [Simd::Portable, Simd::Avx2, Simd::Avx512];

    /// Every level this CPU runs, narrowest first.
    pub fn runnable() -> Vec<Simd> {
        let widest = Self::detected();
        Self::ALL.into_iter().filter(|&l| l <= widest).collect()
    }

    /// Its name, as `STRATA_CPU_SIMD` takes it and the backend's description shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2 => "avx2",
            Self::Avx512 => "avx512",
        }
    }

    /// The widest level this CPU runs (the portable one off x86-64).
    pub fn detected() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 =
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            if avx2 && std::is_x86_feature_detected!("avx512f") {
                return Self::Avx512;
            }
            if avx2 {
                return Self::Avx2;
            }
        }
        Self::Portable
    }

    /// The level the kernels use: [`Simd::detected`], capped by `STRATA_CPU_SIMD`. Read once.
    pub fn chosen() -> Self {
        static CHOSEN: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let detected = Self::detected();
            let Ok(value) = std::env::var("STRATA_CPU_SIMD") else {
                return detected;
            };
            let wanted = value.trim().to_ascii_lowercase();
            match Self::ALL.into_iter().find(|level| level.name() == wanted) {
                Some(cap) => cap.min(detected),
                None => {
                    log::warn!(
                        "STRATA_CPU_SIMD={value} is not avx512, avx2 or portable; ignored (the CPU \
                         kernels use {})",
                        detected.name()
                    );
                    detected
                }
            }
        })
    }
}

/// Whether the CPU kernels use their AVX2 + FMA forms (each kernel also has a portable form,
/// chosen otherwise).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2_fma() -> bool {
    Simd::chosen() >= Simd::Avx2
}

/// The partition where the running sum of partition potentials reaches `target`, with the sum
/// of the partitions before it; None when rounding left the target past the last one.
pub(crate) fn partition_of(part_potential: &[f64], target: f64) -> Option<(usize, f64)> {
    let mut running = 0.0f64;
    for (p, &potential) in part_potential.iter().enumerate() {
        if running + potential >= target {
            return Some((p, running));
        }
        running += potential;
    }
    None
}

/// k-means++ sampling over host-held distances: for each target, the first point whose running
/// sum of closest distances reaches it (numpy's `searchsorted`), clipped to the last point. The
/// partition sums skip to the right partition; the scan inside it is sequential in f64. The GPU
/// backend does the same over its workgroups' sums, reading back only the blocks it needs.
pub(crate) fn sample_by_potential(
    closest: &[f32],
    part_potential: &[f64],
    part_rows: usize,
    targets: &[f64],
) -> Vec<usize> {
    let n = closest.len();
    targets
        .iter()
        .map(|&target| {
            let Some((p, running)) = partition_of(part_potential, target) else {
                return n - 1;
            };
            let start = p * part_rows;
            let end = (start + part_rows).min(n);
            start + point_reaching(&closest[start..end], running, target)
        })
        .collect()
}

/// The first point of `part` (closest distances in row order, whose predecessors sum to
/// `running`) at which the running sum, taken in f64, reaches `target`; its last point when
/// rounding left the target past it.
pub(crate) fn point_reaching(part: &[f32], mut running: f64, target: f64) -> usize {
    for (i, &c) in part.iter().enumerate() {
        running += f64::from(c);
        if running >= target {
            return i;
        }
    }
    part.len() - 1
}

/// The backend the user asked for (`--backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// A real GPU when there is one, else the CPU.
    #[default]
    Auto,
    /// The wgpu backend on any adapter, software ones included.
    Gpu,
    /// The rayon CPU backend.
    Cpu,
}

/// Builds the backend for `choice` over `points`, able to run steps with up to `largest_k`
/// centroids, saying in the log which it took.
///
/// `auto` takes a hardware GPU when there is one and the CPU backend otherwise: software
/// adapters (lavapipe/llvmpipe, device type Cpu) are slower than the rayon backend. It also
/// takes the CPU when the GPU cannot run the job's shape (too many features, or too many
/// centroids for its partial sums), where `gpu` stops with a usage error.
///
/// # Errors
/// Exit 69 when `gpu` is asked for and no adapter can be used; a usage error when `gpu` is
/// asked for a shape it cannot run.
pub fn select(
    choice: BackendChoice,
    points: &Matrix,
    largest_k: usize,
) -> Result<Box<dyn Backend + '_>> {
    Ok(
        match choose(choice, points, largest_k, gpu::GpuBackend::new)? {
            Chosen::Cpu(backend) => Box::new(backend),
            Chosen::Gpu(backend) => Box::new(backend),
        },
    )
}

/// The backend `select` chose, by kind.
enum Chosen<'a> {
    Cpu(cpu::CpuBackend<'a>),
    Gpu(gpu::GpuBackend),
}

/// How a GPU backend is built over the points once the device is open.
type GpuBuild = fn(std::sync::Arc<gpu::GpuContext>, &Matrix) -> Result<gpu::GpuBackend>;

/// `select`'s choice, logged; a GPU backend is built with `build`.
fn choose(
    choice: BackendChoice,
    points: &Matrix,
    largest_k: usize,
    build: GpuBuild,
) -> Result<Chosen<'_>> {
    let on_gpu = |hardware_only: bool| {
        let opening =
            crate::progress::stage("opening the GPU", crate::progress::Total::Unknown, "");
        let ctx = gpu::GpuContext::new(hardware_only)?;
        drop(opening);
        let backend = build(ctx, points)?;
        backend.check_clusters(largest_k)?;
        Ok::<_, Error>(backend)
    };
    match choice {
        BackendChoice::Cpu => Ok(Chosen::Cpu(cpu::CpuBackend::new(points))),
        BackendChoice::Gpu => {
            let backend = on_gpu(false)?;
            let adapter = backend.adapter();
            log::info!(
                "backend gpu: adapter '{}' ({})",
                adapter.name,
                adapter.device_type
            );
            Ok(Chosen::Gpu(backend))
        }
        BackendChoice::Auto => match on_gpu(true) {
            Ok(backend) => {
                log::info!("backend auto: using the GPU '{}'", backend.adapter().name);
                Ok(Chosen::Gpu(backend))
            }
            // A --gpu that names no adapter is a mistake to report, not a reason to fall back.
            Err(usage @ Error::Usage(_)) => Err(usage),
            Err(reason) => {
                log::info!("backend auto: {reason}; using the CPU backend");
                Ok(Chosen::Cpu(cpu::CpuBackend::new(points)))
            }
        },
    }
}

/// Nearest centroids for points that arrive block by block (`predict` streams its input): the
/// backend is chosen, as [`select`] chooses it, on the first block, and every later block runs
/// on the same one (on a GPU, the same device context; each block is uploaded, assigned and
/// freed in turn). Each point's assignment depends on that point alone, so the blocks give what
/// one pass over all the points gives.
pub struct BlockAssigner {
    choice: BackendChoice,
    largest_k: usize,
    /// What was chosen, after the first block; the device context when it is a GPU.
    chosen: Option<(BackendInfo, Option<std::sync::Arc<gpu::GpuContext>>)>,
}

impl BlockAssigner {
    /// An assigner for `choice` and up to `largest_k` centroids; nothing is chosen yet.
    pub fn new(choice: BackendChoice, largest_k: usize) -> Self {
        Self {
            choice,
            largest_k,
            chosen: None,
        }
    }

    /// The backend chosen, once a block was assigned.
    pub fn info(&self) -> Option<BackendInfo> {
        self.chosen.as_ref().map(|(info, _)| info.clone())
    }

    /// The nearest of `centroids` to every point of `points`, and the exact squared distance.
    ///
    /// # Errors
    /// As [`select`] on the first block; a device failure.
    pub fn assign(&mut self, points: &Matrix, centroids: &Matrix) -> Result<Assignment> {
        match &self.chosen {
            None => {
                let (info, ctx, assignment) = match choose(
                    self.choice,
                    points,
                    self.largest_k,
                    gpu::GpuBackend::for_block,
                )? {
                    Chosen::Cpu(mut backend) => (backend.info(), None, backend.assign(centroids)?),
                    Chosen::Gpu(mut backend) => (
                        backend.info(),
                        Some(backend.context()),
                        backend.assign(centroids)?,
                    ),
                };
                self.chosen = Some((info, ctx));
                Ok(assignment)
            }
            Some((_, None)) => cpu::CpuBackend::new(points).assign(centroids),
            Some((_, Some(ctx))) => {
                gpu::GpuBackend::for_block(ctx.clone(), points)?.assign(centroids)
            }
        }
    }
}
