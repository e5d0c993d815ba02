//! The long-lived GPU context: adapter, device and queue, with the compute pipelines and their
//! bind-group layouts created once. Separate from the work (`GpuBackend`) so one context serves
//! many fits (restarts, sweeps, tests).
//!
//! Validation and out-of-memory errors are caught with error scopes and a lost device is
//! recorded by its callback; both become Strata errors with DESIGN.md's exit codes.

use super::profile::{self, PhaseGpuTimes, Profiler};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most features the per-point kernels hold in registers (16 vec4s); more use the general
/// kernels, which read the point 16 vec4s at a time, once per tile of centroids or columns.
pub const REGISTER_DIMS: usize = 64;

/// Most points per invocation of the register kernels (`MAX_RB` in silhouette.wgsl).
pub(super) const MAX_ROWS_PER_INVOCATION: u32 = 4;

/// Most clusters `sort_by_cluster_small` takes (`SMALL_K` in sort.wgsl).
pub(super) const SORT_SMALL_K: usize = 256;

/// A kernel that comes in a general form and a form with the point in registers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PerPoint {
    /// Nearest centroid (`assign.wgsl`).
    Assign,
    /// Exact silhouette (`silhouette.wgsl`).
    Silhouette,
}

/// A per-point kernel's shader module, general entry point and bindings.
struct PerPointModule {
    module: wgpu::ShaderModule,
    general: Arc<Kernel>,
    registers_entry: &'static str,
    bindings: &'static [Binding],
    /// Most points per invocation of the register form on a hardware GPU (software adapters
    /// take up to `MAX_ROWS_PER_INVOCATION`, register room allowing).
    hardware_rows: u32,
}

/// A compute pipeline with the layout of its one bind group.
pub(super) struct Kernel {
    /// The entry point, as kernel timings name it.
    pub name: &'static str,
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// Points each invocation takes (`RB` of the register kernels, else 1).
    pub rows_per_invocation: u32,
    /// A register form (specialised to the vec4s per point, the points held in registers), as
    /// opposed to a general kernel that reads the point in blocks, once per tile.
    pub registers: bool,
}

/// The kinds of bindings the kernels use.
#[derive(Clone, Copy)]
enum Binding {
    Uniform,
    Read,
    ReadWrite,
}

/// One adapter as `strata info` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdapterSummary {
    /// Adapter name.
    pub name: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.
    pub device_type: String,
    /// Vulkan, Metal, Dx12, …
    pub backend: String,
    /// PCI bus id (`0000:3b:00.0`), where the driver reports one; empty otherwise.
    pub pci_bus_id: String,
    /// PCI vendor id (NVIDIA's is 0x10de, 4318).
    pub vendor: u32,
    /// Driver name.
    pub driver: String,
    /// Driver version details.
    pub driver_info: String,
    /// True for software rasterizers (lavapipe/llvmpipe report device type Cpu).
    pub software: bool,
    /// Largest storage-buffer binding, bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer, bytes.
    pub max_buffer_size: u64,
    /// Workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Workgroup memory, bytes.
    pub max_compute_workgroup_storage_size: u32,
    /// Invocations per workgroup.
    pub max_compute_invocations_per_workgroup: u32,
    /// Subgroup size range reported by the adapter.
    pub subgroup_size: (u32, u32),
    /// Why Strata's kernels cannot run on it (`null` when they can).
    pub unusable: Option<String>,
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Preference order: discrete, integrated, virtual, other, software.
fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

fn summary(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let limits = adapter.limits();
    AdapterSummary {
        name: info.name.clone(),
        device_type: format!("{:?}", info.device_type),
        backend: format!("{:?}", info.backend),
        pci_bus_id: info.device_pci_bus_id.clone(),
        vendor: info.vendor,
        driver: info.driver.clone(),
        driver_info: info.driver_info.clone(),
        software: info.device_type == wgpu::DeviceType::Cpu,
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        max_buffer_size: limits.max_buffer_size,
        max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
        max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
        max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
        subgroup_size: (info.subgroup_min_size, info.subgroup_max_size),
        unusable: shortfall(&limits),
    }
}

fn adapters() -> Vec<wgpu::Adapter> {
    let mut found = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    found.sort_by_key(|a| rank(a.get_info().device_type));
    found
}

/// Every adapter wgpu finds, best first.
pub fn list_adapters() -> Vec<AdapterSummary> {
    adapters().iter().map(summary).collect()
}

/// The shared GPU context.
pub struct GpuContext {
    adapter: AdapterSummary,
    limits: wgpu::Limits,
    device: wgpu::Device,
    queue: wgpu::Queue,
    lost: Arc<Mutex<Option<String>>>,
    assign: PerPointModule,
    silhouette: PerPointModule,
    /// The register forms per (entry point, vec4 count), built when first needed.
    registers: Mutex<HashMap<(&'static str, u32), Arc<Kernel>>>,
    pub(super) sort: Kernel,
    /// `sort_by_cluster_small`, for at most `SORT_SMALL_K` clusters.
    pub(super) sort_small: Kernel,
    pub(super) accumulate: Kernel,
    pub(super) fold: Kernel,
    pub(super) seed_update: Kernel,
    pub(super) seed_trials: Kernel,
    /// Kernel timing, when asked for (`STRATA_GPU_PROFILE=1`) and the adapter can.
    profiler: Option<Profiler>,
    /// The kept read-back buffer and its size (see `read_after`).
    staging: Mutex<Option<(wgpu::Buffer, u64)>>,
}

impl GpuContext {
    /// Opens the best adapter (`hardware_only`: never a software one) with its own limits, or
    /// the one `--gpu` or `STRATA_GPU` names.
    ///
    /// # Errors
    /// Exit 69 when no suitable adapter exists or the device cannot be created; exit 2 when
    /// `--gpu` or `STRATA_GPU` names no adapter, or several, among those found.
    pub fn new(hardware_only: bool) -> Result<Arc<GpuContext>> {
        let found = adapters();
        let listed: Vec<(String, String)> = found
            .iter()
            .map(|a| (a.get_info().name, a.get_info().device_pci_bus_id))
            .collect();
        let vendors: Vec<u32> = found.iter().map(|a| a.get_info().vendor).collect();
        if let Some((label, index)) = super::select::named(&listed) {
            let index = index.map_err(Error::usage)?;
            let adapter = found.into_iter().nth(index).expect("a listed adapter");
            let name = adapter.get_info().name;
            if hardware_only && adapter.get_info().device_type == wgpu::DeviceType::Cpu {
                return Err(Error::NoAdapter(format!(
                    "{label} names '{name}', a software adapter"
                )));
            }
            if let Some(short) = shortfall(&adapter.limits()) {
                return Err(Error::NoAdapter(format!(
                    "'{name}' ({label}) cannot run Strata's kernels: it has {short}; use \
                     --backend cpu"
                )));
            }
            log::debug!("GPU: {label} names adapter {index}, '{name}'");
            return Self::open(adapter);
        }
        let mut candidates: Vec<wgpu::Adapter> = found
            .into_iter()
            .filter(|a| !hardware_only || a.get_info().device_type != wgpu::DeviceType::Cpu)
            .collect();
        if candidates.is_empty() {
            if let Some(hint) = super::driver::missing_driver(vendors) {
                log::warn!("{hint}");
            }
            let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
            return Err(Error::NoAdapter(if names.is_empty() {
                "no GPU adapter found (is a Vulkan, Metal or DX12 driver installed?); use \
                 --backend cpu"
                    .to_string()
            } else {
                format!(
                    "no hardware GPU adapter; only software ones: {}",
                    names.join(", ")
                )
            }));
        }
        let shortfalls: Vec<Option<String>> =
            candidates.iter().map(|a| shortfall(&a.limits())).collect();
        match shortfalls.iter().position(Option::is_none) {
            Some(best) => {
                // `--backend gpu` on lavapipe where the card was meant: a run that works, slowly.
                if candidates[best].get_info().device_type == wgpu::DeviceType::Cpu
                    && let Some(hint) = super::driver::missing_driver(vendors)
                {
                    log::warn!("{hint}");
                }
                Self::open(candidates.swap_remove(best))
            }
            None => {
                let reasons: Vec<String> = candidates
                    .iter()
                    .zip(shortfalls.iter().flatten())
                    .map(|(a, short)| format!("'{}' has {short}", a.get_info().name))
                    .collect();
                Err(Error::NoAdapter(format!(
                    "no GPU adapter can run Strata's kernels: {}; use --backend cpu",
                    reasons.join("; ")
                )))
            }
        }
    }

    fn open(adapter: wgpu::Adapter) -> Result<Arc<GpuContext>> {
        let summary = summary(&adapter);
        // The adapter's own limits: the defaults cap a storage binding at 128 MiB.
        let limits = adapter.limits();
        let profile = profile::requested();
        let timestamps = profile && adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        if profile && !timestamps {
            log::warn!(
                "{}=1 but '{}' has no timestamp queries; kernels are not timed",
                profile::PROFILE_ENV,
                summary.name
            );
        }
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("strata"),
            required_features: if timestamps {
                wgpu::Features::TIMESTAMP_QUERY
            } else {
                wgpu::Features::empty()
            },
            required_limits: limits.clone(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
            .map_err(|e| Error::NoAdapter(format!("cannot open GPU '{}': {e}", summary.name)))?;
        let lost = Arc::new(Mutex::new(None));
        let lost_writer = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = lost_writer.lock() {
                *slot = Some(format!("{reason:?}: {message}"));
            }
        });
        device.on_uncaptured_error(Arc::new(|error| {
            log::error!("GPU error outside a checked operation: {error}")
        }));

        use Binding::{Read, ReadWrite, Uniform};
        // wgpu's default checks add a loop counter to every loop, against infinite loops; the
        // innermost loops do only a few multiply-adds per iteration. Without the counters the
        // assignment took 7.6 ms per iteration instead of 11.8 on an H100 at 10M × 16 × 64
        // (one run each; BENCHMARKS.md). The other checks (buffer bounds, integer division)
        // stay on.
        let checks = wgpu::ShaderRuntimeChecks {
            force_loop_bounding: false,
            ..wgpu::ShaderRuntimeChecks::checked()
        };
        let source = |name: &str, text: &'static str| {
            let descriptor = wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl(
                    shader_override(name).map_or(Cow::Borrowed(text), Cow::Owned),
                ),
            };
            // SAFETY: without loop bounding a shader must not loop forever. Every loop in
            // shaders/ runs over a range fixed before it starts (rows, features, centroids,
            // columns from the params, or constants) or halves a constant down to zero.
            unsafe { device.create_shader_module_trusted(descriptor, checks) }
        };
        let assign_src = source(
            "assign",
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/assign.wgsl")),
        );
        let accumulate_src = source(
            "accumulate",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/shaders/accumulate.wgsl"
            )),
        );
        let fold_src = source(
            "fold",
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/fold.wgsl")),
        );
        let sort_src = source(
            "sort",
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/sort.wgsl")),
        );
        let silhouette_src = source(
            "silhouette",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/shaders/silhouette.wgsl"
            )),
        );
        let seed_src = source(
            "seed",
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/seed.wgsl")),
        );
        let seed_bindings = [Uniform, Read, Read, ReadWrite, ReadWrite];
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let assign = kernel(&device, &assign_src, "assign", &ASSIGN_BINDINGS, &[])?;
        let sort_bindings = [Uniform, Read, ReadWrite, ReadWrite];
        let sort = kernel(&device, &sort_src, "sort_by_cluster", &sort_bindings, &[])?;
        let sort_small = kernel(
            &device,
            &sort_src,
            "sort_by_cluster_small",
            &sort_bindings,
            &[],
        )?;
        let accumulate = kernel(
            &device,
            &accumulate_src,
            "accumulate",
            &[Uniform, Read, Read, Read, ReadWrite],
            &[],
        )?;
        let fold = kernel(
            &device,
            &fold_src,
            "fold_ranges",
            &[Uniform, Read, ReadWrite],
            &[],
        )?;
        let seed_update = kernel(&device, &seed_src, "seed_update", &seed_bindings, &[])?;
        let seed_trials = kernel(&device, &seed_src, "seed_trials", &seed_bindings, &[])?;
        let silhouette = kernel(
            &device,
            &silhouette_src,
            "silhouette",
            &SILHOUETTE_BINDINGS,
            &[],
        )?;
        if let Some(error) = pollster::block_on(scope.pop()) {
            return Err(Error::Internal(format!(
                "the compute shaders did not compile on '{}': {error}",
                summary.name
            )));
        }
        let profiler = timestamps.then(|| Profiler::new(&device, &queue));
        Ok(Arc::new(GpuContext {
            adapter: summary,
            limits,
            device,
            queue,
            lost,
            assign: PerPointModule {
                module: assign_src,
                general: Arc::new(assign),
                registers_entry: "assign_registers",
                bindings: &ASSIGN_BINDINGS,
                hardware_rows: MAX_ROWS_PER_INVOCATION,
            },
            silhouette: PerPointModule {
                module: silhouette_src,
                general: Arc::new(silhouette),
                registers_entry: "silhouette_registers",
                bindings: &SILHOUETTE_BINDINGS,
                // On an H100 at 1M × 16, k = 8, one point per invocation scored 2.4 times as
                // fast as four, and two were no better than four; on llvmpipe four were 2.4
                // times as fast as one (BENCHMARKS.md). Why the card loses is not established:
                // each walk adds its running sums and cluster to the invocation's registers.
                hardware_rows: 1,
            },
            registers: Mutex::new(HashMap::new()),
            sort,
            sort_small,
            accumulate,
            fold,
            seed_update,
            seed_trials,
            profiler,
            staging: Mutex::new(None),
        }))
    }

    /// `which` for points of `dims` features: its register form specialised to ⌈dims/4⌉ vec4s
    /// up to `REGISTER_DIMS` features (compiled on first use, then kept), else its general form.
    ///
    /// # Errors
    /// Exit 70 when the specialised kernel does not compile.
    pub(super) fn per_point(&self, which: PerPoint, dims: usize) -> Result<Arc<Kernel>> {
        let source = match which {
            PerPoint::Assign => &self.assign,
            PerPoint::Silhouette => &self.silhouette,
        };
        if dims == 0 || dims > REGISTER_DIMS {
            return Ok(source.general.clone());
        }
        self.registers(
            &source.module,
            source.registers_entry,
            source.bindings,
            dims,
            self.most_rows(source),
        )
    }

    /// Most points per invocation of `source`'s register form on this adapter.
    fn most_rows(&self, source: &PerPointModule) -> u32 {
        if self.adapter.software {
            MAX_ROWS_PER_INVOCATION
        } else {
            source.hardware_rows
        }
    }

    /// `assign_accumulate`, a whole Lloyd step in one pass, for points of `dims` features, when
    /// its register form exists for them (up to `REGISTER_DIMS`) and the adapter's workgroup
    /// memory holds its tile and bit masks; else `None`.
    ///
    /// # Errors
    /// Exit 70 when the kernel does not compile.
    pub(super) fn step_kernel(&self, dims: usize) -> Result<Option<Arc<Kernel>>> {
        if dims == 0
            || dims > REGISTER_DIMS
            || self.limits.max_compute_workgroup_storage_size < STEP_WORKGROUP_BYTES
            || self.limits.max_storage_buffers_per_shader_stage < STEP_STORAGE_BUFFERS
        {
            return Ok(None);
        }
        let module = &self.assign.module;
        // As many points per invocation as `assign_registers`, whose stats it writes.
        let most_rows = self.most_rows(&self.assign);
        self.registers(module, "assign_accumulate", &STEP_BINDINGS, dims, most_rows)
            .map(Some)
    }

    /// The register form of `entry` in `module` for `dims` (≤ `REGISTER_DIMS`) features, with
    /// up to `most_rows` points per invocation, built on first use and kept.
    fn registers(
        &self,
        module: &wgpu::ShaderModule,
        entry: &'static str,
        bindings: &[Binding],
        dims: usize,
        most_rows: u32,
    ) -> Result<Arc<Kernel>> {
        let vectors = dims.div_ceil(4) as u32;
        let mut built = self
            .registers
            .lock()
            .map_err(|_| Error::Internal("the GPU kernel cache was poisoned".into()))?;
        if let Some(found) = built.get(&(entry, vectors)) {
            return Ok(found.clone());
        }
        let rows = rows_per_invocation(vectors, most_rows);
        let constants = [("DV", f64::from(vectors)), ("RB", f64::from(rows))];
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut made = kernel(&self.device, module, entry, bindings, &constants)?;
        made.rows_per_invocation = rows;
        made.registers = true;
        if let Some(error) = pollster::block_on(scope.pop()) {
            return Err(Error::Internal(format!(
                "the {entry} kernel for {dims} features did not compile on '{}': {error}",
                self.adapter.name
            )));
        }
        log::debug!(
            "GPU: {entry} built for {vectors} vec4(s) per point, {rows} point(s) per invocation"
        );
        let made = Arc::new(made);
        built.insert((entry, vectors), made.clone());
        Ok(made)
    }

    /// The adapter this context runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The device's limits (the adapter's own).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    pub(super) fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub(super) fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    pub(super) fn profiler(&self) -> Option<&Profiler> {
        self.profiler.as_ref()
    }

    /// GPU time per kernel and idle time since the last call, when kernel timing is on (see
    /// `profile`).
    pub fn take_kernel_times(&self) -> Option<PhaseGpuTimes> {
        self.profiler.as_ref().map(Profiler::take)
    }

    /// Fails once the device has been lost.
    ///
    /// # Errors
    /// Exit 75 with the driver's reason.
    pub(super) fn check_lost(&self) -> Result<()> {
        match self.lost.lock().ok().and_then(|slot| slot.clone()) {
            Some(reason) => Err(Error::DeviceLost(format!(
                "the GPU device '{}' was lost ({reason}); rerun, or use --backend cpu",
                self.adapter.name
            ))),
            None => Ok(()),
        }
    }

    /// Runs `work` inside validation and out-of-memory error scopes.
    ///
    /// # Errors
    /// Exit 69 when the GPU ran out of memory, 70 on a validation error (a bug), 75 when the
    /// device was lost.
    pub(super) fn checked<T>(&self, what: &str, work: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = work();
        let invalid = pollster::block_on(validation.pop());
        let out_of_memory = pollster::block_on(oom.pop());
        self.check_lost()?;
        if let Some(error) = out_of_memory {
            return Err(Error::NoAdapter(format!(
                "the GPU '{}' ran out of memory while {what}: {error}; use --backend cpu or fewer rows",
                self.adapter.name
            )));
        }
        if let Some(error) = invalid {
            return Err(Error::Internal(format!(
                "GPU validation error while {what}: {error}"
            )));
        }
        Ok(value)
    }

    /// Creates a buffer of `size` bytes (at least 4).
    pub(super) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(4).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        })
    }

    /// Copies `len` values of `T` from `source` (at `offset` bytes) back to the host.
    ///
    /// # Errors
    /// Exit 75 when the device is lost while waiting; 69/70 as for `checked`.
    pub(super) fn read<T: bytemuck::Pod>(
        &self,
        source: &wgpu::Buffer,
        offset: u64,
        len: usize,
    ) -> Result<Vec<T>> {
        let mut values = self.read_spans(&[Span {
            source,
            offset,
            len,
        }])?;
        Ok(values.pop().unwrap_or_default())
    }

    /// Copies every span back to the host with one submission and one wait.
    ///
    /// # Errors
    /// As for `read`.
    pub(super) fn read_spans<T: bytemuck::Pod>(&self, spans: &[Span<'_>]) -> Result<Vec<Vec<T>>> {
        let encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("read-back"),
            });
        self.read_after(encoder, spans)
    }

    /// Submits `encoder` with copies of every span after its work, waits once, and returns
    /// each span's values. The copies go through one kept staging buffer (a new one each time
    /// only for reads larger than `KEPT_STAGING`), so a Lloyd step or a k-means++ round costs
    /// one submission and one wait.
    ///
    /// # Errors
    /// Exit 75 when the device is lost while waiting; 69/70 as for `checked`.
    pub(super) fn read_after<T: bytemuck::Pod>(
        &self,
        mut encoder: wgpu::CommandEncoder,
        spans: &[Span<'_>],
    ) -> Result<Vec<Vec<T>>> {
        let size = std::mem::size_of::<T>() as u64;
        if !size.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT) {
            return Err(Error::Internal(format!(
                "read-back of {size}-byte values: copies move multiples of 4 bytes"
            )));
        }
        // Each span starts on a map-aligned offset of the staging buffer.
        let mut places = Vec::with_capacity(spans.len());
        let mut total = 0u64;
        for span in spans {
            places.push(total);
            total = (total + span.len as u64 * size).next_multiple_of(wgpu::MAP_ALIGNMENT);
        }
        let mut kept = self
            .staging
            .lock()
            .map_err(|_| Error::Internal("the GPU read-back buffer was poisoned".into()))?;
        let staging = self.checked("reading back from the GPU", || {
            let staging = if total > KEPT_STAGING {
                self.buffer("read-back", total, STAGING_USAGE)
            } else {
                if kept.as_ref().is_none_or(|(_, bytes)| *bytes < total) {
                    // Grown to the next power of two, so a few sizes settle it.
                    let bytes = total.next_power_of_two().max(1 << 16);
                    *kept = Some((self.buffer("read-back", bytes, STAGING_USAGE), bytes));
                }
                kept.as_ref().expect("just made").0.clone()
            };
            for (span, &place) in spans.iter().zip(&places) {
                let bytes = span.len as u64 * size;
                if bytes > 0 {
                    encoder.copy_buffer_to_buffer(span.source, span.offset, &staging, place, bytes);
                }
            }
            self.queue.submit([encoder.finish()]);
            staging
        })?;
        if total == 0 {
            return Ok(spans.iter().map(|_| Vec::new()).collect());
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        staging
            .slice(..total)
            .map_async(wgpu::MapMode::Read, move |result| {
                let _ = sender.send(result);
            });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::DeviceLost(format!("waiting for the GPU failed: {e}")))?;
        self.check_lost()?;
        receiver
            .recv()
            .map_err(|_| Error::DeviceLost("the GPU never answered a read-back".to_string()))?
            .map_err(|e| Error::DeviceLost(format!("reading back from the GPU failed: {e}")))?;
        let values = staging
            .slice(..total)
            .get_mapped_range()
            .map(|view| {
                spans
                    .iter()
                    .zip(&places)
                    .map(|(span, &place)| {
                        let from = place as usize;
                        let to = from + span.len * size as usize;
                        bytemuck::cast_slice::<u8, T>(&view[from..to]).to_vec()
                    })
                    .collect()
            })
            .map_err(|e| Error::Internal(format!("mapping a read-back buffer: {e}")));
        // Unmapped whatever happened, so the kept buffer can take the next copy.
        staging.unmap();
        values
    }
}

/// A part of a device buffer to read back: `len` values from `offset` bytes.
#[derive(Clone, Copy)]
pub(super) struct Span<'a> {
    pub source: &'a wgpu::Buffer,
    pub offset: u64,
    pub len: usize,
}

impl<'a> Span<'a> {
    /// The first `len` values of `source`.
    pub fn first(source: &'a wgpu::Buffer, len: usize) -> Self {
        Span {
            source,
            offset: 0,
            len,
        }
    }
}

/// Largest read-back that goes through the kept staging buffer; larger ones (labels and
/// distances of a big chunk, once per fit) use a buffer of their own, freed after.
const KEPT_STAGING: u64 = 64 << 20;

const STAGING_USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

/// Environment variable naming a folder whose `NAME.wgsl` files replace the built-in shaders of
/// the same name, for trying a kernel change on a card without rebuilding.
pub const SHADER_DIR_ENV: &str = "STRATA_SHADER_DIR";

/// The text of `NAME.wgsl` in `STRATA_SHADER_DIR`, when that is set and the file is there.
fn shader_override(name: &str) -> Option<String> {
    let dir = std::env::var_os(SHADER_DIR_ENV)?;
    let path = std::path::Path::new(&dir).join(format!("{name}.wgsl"));
    let text = std::fs::read_to_string(&path).ok()?;
    log::warn!("shader '{name}' replaced by {}", path.display());
    Some(text)
}

/// The bindings of both silhouette kernels.
const SILHOUETTE_BINDINGS: [Binding; 5] = [
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

/// The bindings of both assignment kernels.
const ASSIGN_BINDINGS: [Binding; 7] = [
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

/// The bindings of `assign_accumulate`: the assignment's, then the partial sums (written).
const STEP_BINDINGS: [Binding; 8] = {
    let mut all = [Binding::ReadWrite; 8];
    let mut i = 0;
    while i < ASSIGN_BINDINGS.len() {
        all[i] = ASSIGN_BINDINGS[i];
        i += 1;
    }
    all
};

/// Workgroup memory `assign_accumulate` declares: the centroid tile (1,024 vec4s and as many
/// norms), the two 256-float stat sums, and 256 clusters' 8-word bit masks.
pub const STEP_WORKGROUP_BYTES: u32 = 1024 * 16 + 1024 * 4 + 2 * 256 * 4 + 256 * 8 * 4;
/// Storage buffers `assign_accumulate` binds: the assignment's and the partial sums.
pub const STEP_STORAGE_BUFFERS: u32 = 7;

/// What an adapter must offer for every kernel but `assign_accumulate` (which is only used
/// where it fits, see `step_kernel`). Workgroup memory: the assignment's centroid tile (1,024
/// vec4s and as many norms) and its two 256-float stat sums, the most any of them declares.
/// The WebGPU defaults (16 KiB) are below it; every desktop Vulkan, Metal and DX12 adapter has
/// 32 KiB or more. tests/integration/shaders.rs checks these figures against the shaders.
pub const REQUIRED_WORKGROUP_BYTES: u32 = 1024 * 16 + 1024 * 4 + 2 * 256 * 4;
/// Invocations per workgroup (and along x) every kernel declares.
pub const REQUIRED_INVOCATIONS: u32 = 256;
/// Storage buffers of the kernel that binds the most (the assignment).
pub const REQUIRED_STORAGE_BUFFERS: u32 = 6;

/// Why an adapter with `limits` cannot run Strata's kernels, or `None` when it can.
pub fn shortfall(limits: &wgpu::Limits) -> Option<String> {
    let mut short = Vec::new();
    if limits.max_compute_workgroup_storage_size < REQUIRED_WORKGROUP_BYTES {
        short.push(format!(
            "{} B of workgroup memory ({REQUIRED_WORKGROUP_BYTES} needed)",
            limits.max_compute_workgroup_storage_size
        ));
    }
    let invocations = limits
        .max_compute_invocations_per_workgroup
        .min(limits.max_compute_workgroup_size_x);
    if invocations < REQUIRED_INVOCATIONS {
        short.push(format!(
            "{invocations} invocations per workgroup ({REQUIRED_INVOCATIONS} needed)"
        ));
    }
    if limits.max_storage_buffers_per_shader_stage < REQUIRED_STORAGE_BUFFERS {
        short.push(format!(
            "{} storage buffers per kernel ({REQUIRED_STORAGE_BUFFERS} needed)",
            limits.max_storage_buffers_per_shader_stage
        ));
    }
    (!short.is_empty()).then(|| short.join(", "))
}

/// A pipeline for `entry` of `module`, with pipeline-overridable `constants`.
///
/// # Errors
/// Exit 70 when the shader translator panics on the kernel (validation errors are caught by the
/// callers' error scopes).
fn kernel(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &'static str,
    bindings: &[Binding],
    constants: &[(&str, f64)],
) -> Result<Kernel> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        build_kernel(device, module, entry, bindings, constants)
    }))
    .map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Error::Internal(format!(
            "the shader translator failed on kernel '{entry}': {message}"
        ))
    })
}

fn build_kernel(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &'static str,
    bindings: &[Binding],
    constants: &[(&str, f64)],
) -> Kernel {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
        .iter()
        .enumerate()
        .map(|(i, binding)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match binding {
                    Binding::Uniform => wgpu::BufferBindingType::Uniform,
                    Binding::Read => wgpu::BufferBindingType::Storage { read_only: true },
                    Binding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(entry),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(&pipeline_layout),
        module,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants,
            ..Default::default()
        },
        cache: None,
    });
    Kernel {
        name: entry,
        pipeline,
        layout,
        rows_per_invocation: 1,
        registers: false,
    }
}

/// Environment variable that sets the points per invocation of the register kernels (1 to 4,
/// lowered to what their registers hold), for comparing them on a card.
pub const ROWS_PER_INVOCATION_ENV: &str = "STRATA_GPU_ROWS_PER_INVOCATION";

/// Points per invocation of a register kernel for points of `vectors` vec4s: as many as fit in
/// its 16 vec4s of point registers, at most `most_rows` (or `STRATA_GPU_ROWS_PER_INVOCATION`,
/// up to what fits). Each vec4 the kernel reads from workgroup memory (a centroid, or another
/// point) then feeds that many points' arithmetic: with one point, those reads (broadcast, but
/// 16 bytes to each invocation) cost more than the arithmetic.
fn rows_per_invocation(vectors: u32, most_rows: u32) -> u32 {
    let asked = std::env::var(ROWS_PER_INVOCATION_ENV)
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    rows_for(vectors, most_rows, asked)
}

/// `rows_per_invocation` with the environment's choice (`asked`) given.
fn rows_for(vectors: u32, most_rows: u32, asked: Option<u32>) -> u32 {
    let fit = (REGISTER_DIMS as u32 / 4 / vectors).clamp(1, MAX_ROWS_PER_INVOCATION);
    asked.map_or(fit.min(most_rows.max(1)), |rows| rows.clamp(1, fit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(workgroup_bytes: u32, invocations: u32, size_x: u32, storage: u32) -> wgpu::Limits {
        wgpu::Limits {
            max_compute_workgroup_storage_size: workgroup_bytes,
            max_compute_invocations_per_workgroup: invocations,
            max_compute_workgroup_size_x: size_x,
            max_storage_buffers_per_shader_stage: storage,
            ..wgpu::Limits::default()
        }
    }

    #[test]
    fn points_per_invocation_fit_the_registers_and_the_kernels_cap() {
        // 16 vec4s of registers: 4 points of 4 vec4s (d ≤ 16), 2 of 8, 1 of 16.
        assert_eq!(rows_for(4, MAX_ROWS_PER_INVOCATION, None), 4);
        assert_eq!(rows_for(8, MAX_ROWS_PER_INVOCATION, None), 2);
        assert_eq!(rows_for(16, MAX_ROWS_PER_INVOCATION, None), 1);
        assert_eq!(rows_for(1, MAX_ROWS_PER_INVOCATION, None), 4);
        // The silhouette's cap on a hardware GPU.
        assert_eq!(rows_for(4, 1, None), 1);
        assert_eq!(rows_for(8, 1, None), 1);
        // Asked for: any count the registers hold, past the cap too (to compare on a card).
        assert_eq!(rows_for(4, 1, Some(4)), 4);
        assert_eq!(rows_for(4, 4, Some(2)), 2);
        assert_eq!(rows_for(8, 4, Some(4)), 2);
        assert_eq!(rows_for(4, 4, Some(0)), 1);
    }

    #[test]
    fn an_adapter_short_of_any_requirement_is_named_with_what_it_has() {
        // What desktop adapters report (lavapipe, and NVIDIA's 48 KiB) is enough.
        assert_eq!(shortfall(&limits(32_768, 1_024, 1_024, 16)), None);
        assert_eq!(shortfall(&limits(49_152, 1_024, 1_024, 8)), None);
        assert_eq!(
            shortfall(&limits(22_528, 256, 256, 6)),
            None,
            "exactly enough"
        );
        // The WebGPU defaults: 16 KiB of workgroup memory.
        assert_eq!(
            shortfall(&wgpu::Limits::default()).as_deref(),
            Some("16384 B of workgroup memory (22528 needed)")
        );
        assert_eq!(
            shortfall(&limits(22_527, 128, 1_024, 4)).as_deref(),
            Some(
                "22527 B of workgroup memory (22528 needed), 128 invocations per workgroup \
                 (256 needed), 4 storage buffers per kernel (6 needed)"
            )
        );
        assert_eq!(
            shortfall(&limits(32_768, 1_024, 128, 8)).as_deref(),
            Some("128 invocations per workgroup (256 needed)")
        );
    }
}
