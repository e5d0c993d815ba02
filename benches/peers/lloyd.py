#!/usr/bin/env python3
"""Lloyd iterations and k-means++ seeding: Strata's CPU backend beside scikit-learn (and FAISS
when `faiss` imports), on the same file, the same normalized points and the same initial
centroids, in one run.

    pip install scikit-learn pyarrow [faiss-cpu]
    python3 benches/peers/lloyd.py --strata target/release/strata --input o1m.parquet \
        --k 32 --iters 20 --repeat 3

Points: the file's feature columns (all but `id` and `true_segment`), z-scored with the
population std as Strata does. Initial centroids: the first k rows, written to a CSV in raw
units for Strata's --init. Times exclude I/O on both sides: Strata's come from its report
(`timings_s.lloyd`: the iterations plus one final assignment, divided by iterations + 1;
`timings_s.init`: greedy k-means++), scikit-learn's are wall time of KMeans.fit on an in-memory
array (its per-iteration time also includes its own final labelling) and of kmeans_plusplus.
Medians over --repeat runs. Use data that does not converge before --iters (overlapping blobs,
e.g. `strata generate --std 4`): all sides run with tol = 0.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sklearn.cluster import KMeans, kmeans_plusplus


def strata_run(args, extra, tmp):
    report = os.path.join(tmp, "report.json")
    cmd = [args.strata, "-q", "fit", "--input", args.input, "--id", "id", "--exclude",
           "true_segment", "--k", str(args.k), "--backend", "cpu", "--silhouette", "none",
           "--tol", "0", "--report", report] + extra
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(report) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="Strata threads (0: one per core)")
    args = ap.parse_args()

    table = pq.read_table(args.input)
    names = [c for c in table.column_names if c not in ("id", "true_segment")]
    raw = np.column_stack([table[c].to_numpy().astype(np.float64) for c in names])
    x = ((raw - raw.mean(axis=0)) / raw.std(axis=0)).astype(np.float32)
    init = x[: args.k].copy()
    rows = {}

    with tempfile.TemporaryDirectory() as tmp:
        init_csv = os.path.join(tmp, "init.csv")
        pacsv.write_csv(table.select(names).slice(0, args.k), init_csv)
        lloyd, seed, inertia = [], [], None
        for _ in range(args.repeat):
            r = strata_run(args, ["--init", init_csv, "--max-iter", str(args.iters)], tmp)
            lloyd.append(r["timings_s"]["lloyd"] / (r["iterations"] + 1))
            inertia = (r["inertia"], r["iterations"])
            seed.append(strata_run(args, ["--max-iter", "1"], tmp)["timings_s"]["init"])
        rows["strata"] = (statistics.median(lloyd), statistics.median(seed), inertia)

    lloyd, seed = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        km = KMeans(args.k, init=init, n_init=1, max_iter=args.iters, tol=0, algorithm="lloyd").fit(x)
        lloyd.append((time.perf_counter() - start) / km.n_iter_)
        start = time.perf_counter()
        kmeans_plusplus(x, args.k, random_state=0)
        seed.append(time.perf_counter() - start)
    rows["scikit-learn"] = (statistics.median(lloyd), statistics.median(seed), (km.inertia_, km.n_iter_))

    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        lloyd = []
        for _ in range(args.repeat):
            km = faiss.Kmeans(x.shape[1], args.k, niter=args.iters, max_points_per_centroid=x.shape[0])
            start = time.perf_counter()
            km.train(x, init_centroids=init)
            lloyd.append((time.perf_counter() - start) / args.iters)
        rows["faiss"] = (statistics.median(lloyd), None, (float(km.obj[-1]), args.iters))

    print(f"rows={x.shape[0]} dims={x.shape[1]} k={args.k} iters={args.iters} repeat={args.repeat}")
    print(f"{'':14}{'ms/iter':>10}{'seeding s':>12}{'inertia':>16}{'iters':>7}")
    for name, (per_iter, seeding, (w, n)) in rows.items():
        s = "-" if seeding is None else f"{seeding:.3f}"
        print(f"{name:14}{1000 * per_iter:10.1f}{s:>12}{w:16.6e}{n:7d}")
    base = rows["strata"]
    for name, (per_iter, seeding, _) in rows.items():
        if name != "strata":
            ratio = f"Lloyd {per_iter / base[0]:.2f}x"
            if seeding is not None:
                ratio += f", seeding {seeding / base[1]:.2f}x"
            print(f"{name} / strata: {ratio}")


if __name__ == "__main__":
    main()
