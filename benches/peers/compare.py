#!/usr/bin/env python3
"""Strata's CPU backend beside scikit-learn and FAISS (when `faiss` imports) on one file, the
same normalized points and the same initial centroids, in one run, printed as one table:
k-means++ seeding, ms per Lloyd iteration, inertia after the iterations, exact silhouette of
the first --silhouette-rows rows under the same labels, and the whole job end to end.

    pip install scikit-learn pyarrow [faiss-cpu]
    python3 benches/peers/compare.py --strata target/release/strata --input o1m.parquet \
        --k 32 --iters 20 --repeat 3

Points: the file's feature columns (all but `id` and `true_segment`), z-scored with the
population std as Strata does. Initial centroids: the first k rows, written to a CSV in raw
units for Strata's --init. Times exclude I/O on both sides: Strata's come from its report
(`timings_s.lloyd`: the iterations plus one final assignment, divided by iterations + 1;
`timings_s.init`: greedy k-means++), scikit-learn's are wall time of KMeans.fit on an in-memory
array (its per-iteration time also includes its own final labelling) and of kmeans_plusplus.
Medians over --repeat runs. Use data that does not converge before --iters (overlapping blobs,
e.g. `strata generate --std 4`): all sides run with tol = 0.

Silhouette: both score the same points (the first --silhouette-rows rows, z-scored as above)
under Strata's labels for them; Strata's time is the `metrics` phase of `fit --silhouette exact`
on a file of those rows (silhouette, Davies-Bouldin, Calinski-Harabasz and profiles), without
I/O; scikit-learn's is `silhouette_score`.

End to end (these include I/O): `strata fit` wall time from the file (read, normalize,
k-means++, --iters iterations, sampled silhouette, write segments) against Python reading the
same Parquet file with pyarrow, z-scoring with NumPy, kmeans_plusplus, KMeans from those
centres for --iters iterations, and silhouette_score on a 10,000-row sample.
"""
import argparse
import os
import statistics
import tempfile
import time

import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.metrics import silhouette_score

from common import load_points as load
from common import strata_fit


def strata_run(args, extra, tmp, silhouette="none"):
    return strata_fit(args.strata, args.input, args.k, tmp, extra, silhouette=silhouette,
                      threads=args.threads)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="Strata threads (0: one per core)")
    ap.add_argument("--silhouette-rows", type=int, default=20_000)
    args = ap.parse_args()

    table, names, x = load(args.input)
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

        # Exact silhouette of the first rows, under Strata's labels for them.
        subset = os.path.join(tmp, "subset.parquet")
        pq.write_table(table.slice(0, args.silhouette_rows), subset)
        seg = os.path.join(tmp, "seg.arrow")
        sil_args = argparse.Namespace(**{**vars(args), "input": subset})
        times = []
        for _ in range(args.repeat):
            r = strata_run(sil_args, ["--output", seg], tmp, silhouette="exact")
            times.append(r["timings_s"]["metrics"])
        strata_sil = (statistics.median(times), r["silhouette"]["value"])
        labels = feather.read_table(seg)["segment"].to_numpy()
        _, _, xs = load(subset)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            sk_value = silhouette_score(xs, labels)
            times.append(time.perf_counter() - start)
        sk_sil = (statistics.median(times), sk_value)

        # End to end, I/O included.
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            strata_run(args, ["--max-iter", str(args.iters), "--output",
                              os.path.join(tmp, "all.parquet")], tmp, silhouette="sample:10000")
            times.append(time.perf_counter() - start)
        strata_e2e = statistics.median(times)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        _, _, xe = load(args.input)
        centres, _ = kmeans_plusplus(xe, args.k, random_state=0)
        km = KMeans(args.k, init=centres, n_init=1, max_iter=args.iters, tol=0, algorithm="lloyd").fit(xe)
        silhouette_score(xe, km.labels_, sample_size=10_000, random_state=0)
        times.append(time.perf_counter() - start)
    sk_e2e = statistics.median(times)

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

    print(f"rows={x.shape[0]} dims={x.shape[1]} k={args.k} iters={args.iters} repeat={args.repeat} "
          f"silhouette rows={len(xs)}")
    peers = [p for p in ("scikit-learn", "faiss") if p in rows]
    print(f"{'':34}{'strata':>14}" + "".join(f"{p:>16}{'ratio':>8}" for p in peers))

    def line(label, ours, theirs, fmt):
        out = f"{label:34}{fmt(ours):>14}"
        for value in theirs:
            if value is None:
                out += f"{'-':>16}{'':>8}"
            else:
                out += f"{fmt(value):>16}{value / ours:>7.2f}x"
        print(out)

    line("k-means++ seeding (s, no I/O)", rows["strata"][1], [rows[p][1] for p in peers], lambda v: f"{v:.3f}")
    line("Lloyd (ms per iteration, no I/O)", 1000 * rows["strata"][0], [1000 * rows[p][0] for p in peers], lambda v: f"{v:.1f}")
    print(f"{'inertia after the iterations':34}{rows['strata'][2][0]:>14.6e}"
          + "".join(f"{rows[p][2][0]:>16.6e}{'':>8}" for p in peers))
    line("exact silhouette (s, no I/O)", strata_sil[0], [sk_sil[0]] + [None] * (len(peers) - 1), lambda v: f"{v:.3f}")
    print(f"{'silhouette value':34}{strata_sil[1]:>14.6f}{sk_sil[1]:>16.6f}")
    line("end to end (s, with I/O)", strata_e2e, [sk_e2e] + [None] * (len(peers) - 1), lambda v: f"{v:.2f}")
    print("ratio: the peer's time / Strata's (above 1: Strata is faster)")


if __name__ == "__main__":
    main()
