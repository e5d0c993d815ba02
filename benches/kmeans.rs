//! Criterion benches of the backends' hot paths on seeded blobs: one Lloyd step (assignment plus
//! partial sums), the final assignment, greedy k-means++ seeding, and the exact silhouette.
//! Labelled backend/n×d×k. The GPU cases run when wgpu finds a hardware adapter, and are
//! skipped with a note otherwise; `STRATA_BENCH_SOFTWARE_GPU=1` lets a software adapter
//! (lavapipe) stand in, to check the benches themselves on a machine without a GPU.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata::backend::Backend;
use strata::backend::cpu::CpuBackend;
use strata::backend::gpu::{GpuBackend, GpuContext};
use strata::data::matrix::Matrix;
use strata::kmeans::init::kmeans_plusplus;
use strata::rng::{SeededRng, Stream};
use strata::synth::blobs::{BlobSpec, Blobs};

fn blobs(rows: u64, dims: usize) -> Matrix {
    let spec = BlobSpec {
        rows,
        dims,
        centers: 16,
        std: 1.0,
        box_half_width: 10.0,
        seed: 1,
        batch_rows: 65_536,
    };
    Blobs::new(spec)
        .and_then(|b| b.matrix())
        .expect("seeded blobs")
}

fn first_rows(points: &Matrix, k: usize) -> Matrix {
    Matrix::from_vec(
        points.as_slice()[..k * points.cols()].to_vec(),
        points.cols(),
    )
}

/// The CPU backend, and the GPU one when an adapter exists.
fn backends(points: &Matrix) -> Vec<(&'static str, Box<dyn Backend + '_>)> {
    let mut out: Vec<(&'static str, Box<dyn Backend + '_>)> =
        vec![("cpu", Box::new(CpuBackend::new(points)))];
    let hardware_only = std::env::var("STRATA_BENCH_SOFTWARE_GPU").as_deref() != Ok("1");
    match GpuContext::new(hardware_only).and_then(|ctx| GpuBackend::new(ctx, points)) {
        Ok(gpu) => out.push(("gpu", Box::new(gpu))),
        Err(e) => eprintln!("note: GPU cases skipped: {e}"),
    }
    out
}

fn lloyd_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("step");
    group.sample_size(10);
    for (n, d, k) in [
        (200_000u64, 16usize, 32usize),
        (200_000, 16, 8),
        (200_000, 16, 128),
        (50_000, 64, 256),
    ] {
        let points = blobs(n, d);
        let centroids = first_rows(&points, k);
        group.throughput(Throughput::Elements(n));
        for (name, mut backend) in backends(&points) {
            group.bench_function(BenchmarkId::new(name, format!("{n}x{d}x{k}")), |b| {
                b.iter(|| black_box(backend.step(black_box(&centroids)).expect("step")));
            });
            group.bench_function(
                BenchmarkId::new(format!("{name}-assign"), format!("{n}x{d}x{k}")),
                |b| {
                    b.iter(|| black_box(backend.assign(black_box(&centroids)).expect("assign")));
                },
            );
        }
    }
    group.finish();
}

fn seeding(c: &mut Criterion) {
    let mut group = c.benchmark_group("kmeans++");
    group.sample_size(10);
    let (n, d, k) = (200_000u64, 16usize, 32usize);
    let points = blobs(n, d);
    for (name, mut backend) in backends(&points) {
        group.bench_function(BenchmarkId::new(name, format!("{n}x{d}x{k}")), |b| {
            b.iter(|| {
                let mut rng = SeededRng::new(0, Stream::Init { run: 0 });
                black_box(kmeans_plusplus(backend.as_mut(), &points, k, &mut rng).expect("seeding"))
            });
        });
    }
    group.finish();
}

fn silhouette(c: &mut Criterion) {
    let mut group = c.benchmark_group("silhouette-exact");
    group.sample_size(10);
    for (n, d, k) in [(20_000u64, 16usize, 8usize), (5_000, 64, 16)] {
        let points = blobs(n, d);
        let centroids = first_rows(&points, k);
        let labels = CpuBackend::new(&points)
            .assign(&centroids)
            .expect("labels")
            .labels;
        for (name, mut backend) in backends(&points) {
            group.bench_function(BenchmarkId::new(name, format!("{n}x{d}x{k}")), |b| {
                b.iter(|| {
                    black_box(
                        strata::metrics::silhouette::exact(backend.as_mut(), &points, &labels, k)
                            .expect("silhouette"),
                    )
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, lloyd_step, seeding, silhouette);
criterion_main!(benches);
