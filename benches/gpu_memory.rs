//! How fast a kernel streams device memory as more and more of it is allocated and read.
//!
//! ```text
//! cargo bench --bench gpu_memory -- [MAX_MIB] [REPS]
//! ```
//!
//! It allocates storage buffers of 64 MiB one after another (as a growing fit allocates its
//! points, labels and distances), up to MAX_MIB in all (default 2048). After each allocation it
//! times a kernel that reads every vec4 of a buffer, REPS passes (default 50) in one submission,
//! wall clock from submit to completion, and prints the read rate of four patterns:
//! - the first buffer alone, and the newest alone;
//! - every buffer allocated so far, in allocation order on every pass ("sweep"), as a Lloyd
//!   iteration reads all of its points;
//! - every buffer, in allocation order on even passes and in reverse on odd ones ("zigzag").
//!
//! This separates the causes of a slowdown past some amount of resident data:
//! - if only the newest buffer reads slowly, the later allocations landed in slower memory;
//! - if the first buffer slows as well, what matters is the total allocated;
//! - if the single buffers keep their rate and only the sweep slows once the data passes some
//!   size, what matters is the amount read per pass: address translation (or a cache) that
//!   holds less than one pass, so a pass in the same order finds none of it left. The zigzag then
//!   stays faster, because each pass starts where the previous one ended;
//! - if nothing slows, the memory is not the cause, and the kernels are.
//!
//! It uses the best adapter wgpu finds, with that adapter's own limits, as Strata does, and it
//! prints a note and stops when there is none.

use std::time::Instant;

const BUFFER_MIB: u64 = 64;
const WG: u32 = 256;

const SHADER: &str = r"
// Reads every vec4 of `data`; the store never happens (the data is zero) but keeps the loads.
@group(0) @binding(0) var<storage, read> data: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
    let v = data[id.x];
    if (v.x + v.y + v.z + v.w == 12345.5) {
        sink[0] = v.x;
    }
}
";

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let max_mib = args.first().copied().unwrap_or(2048).max(BUFFER_MIB);
    let reps = args.get(1).copied().unwrap_or(50).max(1) as u32;

    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let Ok(adapter) = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    })) else {
        println!("gpu_memory: no GPU adapter; nothing measured");
        return;
    };
    let info = adapter.get_info();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("gpu_memory"),
        required_limits: adapter.limits(),
        memory_hints: wgpu::MemoryHints::Performance,
        ..Default::default()
    }))
    .expect("the adapter opens a device");
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("stream"),
        source: wgpu::ShaderSource::Wgsl(SHADER.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("stream"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let sink = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("sink"),
        size: 256,
        usage: wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let bytes = BUFFER_MIB << 20;
    let groups = (bytes / 16).div_ceil(u64::from(WG)) as u32;
    let usage =
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC;

    let bind = |buffer: &wgpu::Buffer| {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: buffer.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: sink.as_entire_binding(),
                },
            ],
        })
    };
    // Runs `reps` passes in one submission, pass `r` reading the buffers of `binds` that
    // `order(r)` lists, one after another; GB/s read.
    let stream = |binds: &[wgpu::BindGroup], order: &dyn Fn(u32) -> Vec<usize>, reps: u32| {
        let mut encoder = device.create_command_encoder(&Default::default());
        let mut read = 0;
        for r in 0..reps {
            for i in order(r) {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &binds[i], &[]);
                pass.dispatch_workgroups(groups, 1, 1);
                read += bytes;
            }
        }
        let start = Instant::now();
        queue.submit([encoder.finish()]);
        device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("the device completes the reads");
        read as f64 / start.elapsed().as_secs_f64() / 1e9
    };

    println!(
        "gpu_memory: '{}' ({:?}, {}), {BUFFER_MIB} MiB buffers up to {max_mib} MiB, {reps} passes each",
        info.name, info.backend, info.driver
    );
    println!(
        "{:>13} {:>11} {:>12} {:>11} {:>12}",
        "allocated MiB", "first GB/s", "newest GB/s", "sweep GB/s", "zigzag GB/s"
    );
    let mut buffers: Vec<wgpu::Buffer> = Vec::new();
    let mut binds: Vec<wgpu::BindGroup> = Vec::new();
    while (buffers.len() as u64 + 1) * BUFFER_MIB <= max_mib {
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("resident"),
            size: bytes,
            usage,
            mapped_at_creation: false,
        });
        binds.push(bind(&buffer));
        buffers.push(buffer);
        let n = binds.len();
        // The first use zero-fills the buffer: keep that out of the timing.
        stream(&binds, &|_| vec![n - 1], 1);
        let first = stream(&binds, &|_| vec![0], reps);
        let newest = stream(&binds, &|_| vec![n - 1], reps);
        let sweep = stream(&binds, &|_| (0..n).collect(), reps);
        let zigzag = stream(
            &binds,
            &|r| {
                if r % 2 == 0 {
                    (0..n).collect()
                } else {
                    (0..n).rev().collect()
                }
            },
            reps,
        );
        println!(
            "{:>13} {first:>11.1} {newest:>12.1} {sweep:>11.1} {zigzag:>12.1}",
            buffers.len() as u64 * BUFFER_MIB
        );
    }
}
