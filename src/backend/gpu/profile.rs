//! Per-kernel GPU time from timestamp queries, for `strata bench` on a card.
//!
//! Off unless `STRATA_GPU_PROFILE=1` and the adapter supports timestamp queries. When on, every
//! compute pass writes a timestamp at its start and end; the backend reads them back after each
//! submission, which adds one round trip per submission, so the phase times of a profiled run
//! are a little longer than an unprofiled one's.

use std::sync::Mutex;

/// Environment variable that turns kernel timing on.
pub const PROFILE_ENV: &str = "STRATA_GPU_PROFILE";

/// Most compute passes one submission may time.
pub(super) const MAX_PASSES: usize = 8;

/// The GPU time one kernel took over a phase.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelTime {
    /// The kernel's entry point.
    pub kernel: String,
    /// Dispatches timed.
    pub dispatches: u64,
    /// Sum of their GPU times, milliseconds.
    pub total_ms: f64,
}

/// The query set and the buffer its timestamps are resolved into.
pub(super) struct Profiler {
    pub queries: wgpu::QuerySet,
    pub resolved: wgpu::Buffer,
    period_ns: f64,
    totals: Mutex<Vec<KernelTime>>,
}

/// True when the environment asks for kernel timing.
pub(super) fn requested() -> bool {
    std::env::var(PROFILE_ENV).is_ok_and(|v| v == "1")
}

impl Profiler {
    pub(super) fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Profiler {
        let count = 2 * MAX_PASSES as u32;
        Profiler {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolved: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("resolved timestamps"),
                size: u64::from(count) * wgpu::QUERY_SIZE as u64,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            period_ns: f64::from(queue.get_timestamp_period()),
            totals: Mutex::new(Vec::new()),
        }
    }

    /// Adds pass `i`'s time (`stamps[2i + 1] − stamps[2i]`) to `names[i]`.
    pub(super) fn record(&self, names: &[&str], stamps: &[u64]) {
        let Ok(mut totals) = self.totals.lock() else {
            return;
        };
        for (name, pair) in names.iter().zip(stamps.chunks_exact(2)) {
            let ms = pair[1].saturating_sub(pair[0]) as f64 * self.period_ns / 1e6;
            match totals.iter_mut().find(|t| t.kernel == *name) {
                Some(t) => {
                    t.dispatches += 1;
                    t.total_ms += ms;
                }
                None => totals.push(KernelTime {
                    kernel: (*name).to_string(),
                    dispatches: 1,
                    total_ms: ms,
                }),
            }
        }
    }

    /// The times recorded since the last call, in order of first use; then starts afresh.
    pub(super) fn take(&self) -> Vec<KernelTime> {
        self.totals
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }
}
