//! Per-kernel GPU time from timestamp queries, for `strata bench` on a card.
//!
//! Off unless `STRATA_GPU_PROFILE=1` and the adapter supports timestamp queries. When on, every
//! compute pass writes a timestamp at its start and end; the backend reads them back with the
//! submission's own results (a submission that reads nothing back waits for them, so the exact
//! silhouette's passes do not overlap when profiled). The time from one timed submission's last
//! pass to the next one's first is the GPU's idle time between them: the host's turnaround
//! (reading back, finishing on the host, encoding and submitting the next step).

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

/// The GPU's idle time between consecutive timed submissions over a phase.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IdleTime {
    /// Gaps measured (timed submissions after the phase's first).
    pub gaps: u64,
    /// Sum of the gaps, milliseconds.
    pub total_ms: f64,
}

/// What a phase's timed submissions took: GPU time per kernel, and idle time between them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PhaseGpuTimes {
    pub kernels: Vec<KernelTime>,
    pub idle: IdleTime,
}

/// The query set and the buffer its timestamps are resolved into.
pub(super) struct Profiler {
    pub queries: wgpu::QuerySet,
    pub resolved: wgpu::Buffer,
    period_ns: f64,
    /// This phase's times, and the timestamp that ended its last timed submission.
    totals: Mutex<(PhaseGpuTimes, Option<u64>)>,
}

/// True when the environment asks for kernel timing.
pub(super) fn requested() -> bool {
    crate::switch_from_env(PROFILE_ENV)
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
            totals: Mutex::new((PhaseGpuTimes::default(), None)),
        }
    }

    /// Adds pass `i`'s time (`stamps[2i + 1] − stamps[2i]`) to `names[i]`, and the gap since the
    /// previous timed submission to the idle time.
    pub(super) fn record(&self, names: &[&str], stamps: &[u64]) {
        let Ok(mut guard) = self.totals.lock() else {
            return;
        };
        let (times, last_end) = &mut *guard;
        let ms = |from: u64, to: u64| to.saturating_sub(from) as f64 * self.period_ns / 1e6;
        if let (Some(end), Some(&start)) = (*last_end, stamps.first()) {
            times.idle.gaps += 1;
            times.idle.total_ms += ms(end, start);
        }
        if let Some(&end) = stamps.last() {
            *last_end = Some(end);
        }
        for (name, pair) in names.iter().zip(stamps.chunks_exact(2)) {
            let ms = ms(pair[0], pair[1]);
            match times.kernels.iter_mut().find(|t| t.kernel == *name) {
                Some(t) => {
                    t.dispatches += 1;
                    t.total_ms += ms;
                }
                None => times.kernels.push(KernelTime {
                    kernel: (*name).to_string(),
                    dispatches: 1,
                    total_ms: ms,
                }),
            }
        }
    }

    /// The times recorded since the last call (kernels in order of first use); then starts
    /// afresh, so the first gap of the next phase is not counted.
    pub(super) fn take(&self) -> PhaseGpuTimes {
        self.totals
            .lock()
            .map(|mut t| std::mem::take(&mut *t).0)
            .unwrap_or_default()
    }
}
