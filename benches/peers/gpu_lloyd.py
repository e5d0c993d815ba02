#!/usr/bin/env python3
"""Strata's GPU backend beside a PyTorch Lloyd step on the same card: one file, the same
normalized points, the same initial centroids (the first k rows), the same number of
iterations, printed as one table (ms per iteration, inertia after the iterations, ratio).

    python3 benches/peers/gpu_lloyd.py --strata target/release/strata --input g10m.parquet \
        --k 64 --iters 20 --repeat 3

The PyTorch step is the usual formulation on a GPU: the n x k matrix of ||c||^2 - 2 x.c from
one matrix product (float32, TF32 off), argmin per row, the per-cluster sums with index_add_
and the counts with bincount, the means on the device. Its points are resident on the card and
its time is CUDA-synchronized wall time of --iters steps after two warm-up steps (no transfers,
no final labelling). Strata's time is its report's `lloyd` phase (the iterations and one final
assignment, divided by iterations + 1; the points were uploaded before it). Neither includes I/O.
Run `strata bench --input FILE --k K --backends gpu` beside it for achieved GB/s and GFLOP/s.
--device cpu runs the PyTorch side on the CPU (to try the script without a GPU).
"""
import argparse
import os
import statistics
import tempfile
import time

import pyarrow.csv as pacsv
import torch

from common import load_points, strata_fit


def torch_lloyd(x, init, iters, device):
    """ms per Lloyd iteration and the inertia (exact squared distances, f64 sum) after them."""
    torch.backends.cuda.matmul.allow_tf32 = False
    xt = torch.from_numpy(x).to(device)
    k = init.shape[0]

    def step(c):
        scores = torch.addmm((c * c).sum(1)[None, :], xt, c.T, beta=1.0, alpha=-2.0)
        labels = scores.argmin(1)
        sums = torch.zeros_like(c).index_add_(0, labels, xt)
        counts = torch.bincount(labels, minlength=k).to(c.dtype)[:, None]
        return torch.where(counts > 0, sums / counts.clamp(min=1), c)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    c = torch.from_numpy(init).to(device)
    for _ in range(2):
        step(c)
    sync()
    start = time.perf_counter()
    for _ in range(iters):
        c = step(c)
    sync()
    elapsed = time.perf_counter() - start
    labels = torch.addmm((c * c).sum(1)[None, :], xt, c.T, alpha=-2.0).argmin(1)
    inertia = ((xt - c[labels]) ** 2).sum(1).double().sum().item()
    return 1000 * elapsed / iters, inertia


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--input", required=True, help="a `strata generate` Parquet file")
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side (median reported)")
    ap.add_argument("--device", default="cuda", help="PyTorch device (cuda, or cpu to try it)")
    ap.add_argument("--backend", default="gpu", help="Strata backend (gpu, or cpu to try it)")
    args = ap.parse_args()

    table, names, x = load_points(args.input)
    init = x[: args.k].copy()
    with tempfile.TemporaryDirectory() as tmp:
        init_csv = os.path.join(tmp, "init.csv")
        pacsv.write_csv(table.select(names).slice(0, args.k), init_csv)
        strata = []
        for _ in range(args.repeat):
            r = strata_fit(args.strata, args.input, args.k, tmp,
                           ["--init", init_csv, "--max-iter", str(args.iters)],
                           backend=args.backend)
            strata.append(1000 * r["timings_s"]["lloyd"] / (r["iterations"] + 1))
    runs = [torch_lloyd(x, init, args.iters, args.device) for _ in range(args.repeat)]

    ours, theirs = statistics.median(strata), statistics.median(t for t, _ in runs)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    print(f"rows={x.shape[0]} dims={x.shape[1]} k={args.k} iters={args.iters} "
          f"repeat={args.repeat} device={name} strata backend={r['backend']['adapter']}")
    print(f"{'':34}{'strata':>14}{'pytorch':>16}{'ratio':>8}")
    print(f"{'Lloyd (ms per iteration, no I/O)':34}{ours:>14.3f}{theirs:>16.3f}{theirs / ours:>7.2f}x")
    print(f"{'inertia after the iterations':34}{r['inertia']:>14.6e}{runs[-1][1]:>16.6e}")
    print("ratio: PyTorch's time / Strata's (above 1: Strata is faster)")


if __name__ == "__main__":
    main()
