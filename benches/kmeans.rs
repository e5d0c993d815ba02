//! Criterion benches of the CPU backend's hot paths on seeded blobs: one Lloyd step (assignment
//! plus partial sums), the final assignment, and greedy k-means++ seeding. Labelled
//! backend/n×d×k.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use strata::backend::Backend;
use strata::backend::cpu::CpuBackend;
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
        let mut backend = CpuBackend::new(&points);
        group.throughput(Throughput::Elements(n));
        group.bench_function(BenchmarkId::new("cpu", format!("{n}x{d}x{k}")), |b| {
            b.iter(|| black_box(backend.step(black_box(&centroids)).expect("cpu step")));
        });
        group.bench_function(
            BenchmarkId::new("cpu-assign", format!("{n}x{d}x{k}")),
            |b| {
                b.iter(|| black_box(backend.assign(black_box(&centroids)).expect("cpu assign")));
            },
        );
    }
    group.finish();
}

fn seeding(c: &mut Criterion) {
    let mut group = c.benchmark_group("kmeans++");
    group.sample_size(10);
    let (n, d, k) = (200_000u64, 16usize, 32usize);
    let points = blobs(n, d);
    let mut backend = CpuBackend::new(&points);
    group.bench_function(BenchmarkId::new("cpu", format!("{n}x{d}x{k}")), |b| {
        b.iter(|| {
            let mut rng = SeededRng::new(0, Stream::Init { run: 0 });
            black_box(kmeans_plusplus(&mut backend, &points, k, &mut rng).expect("seeding"))
        });
    });
    group.finish();
}

criterion_group!(benches, lloyd_step, seeding);
criterion_main!(benches);
