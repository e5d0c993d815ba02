#!/usr/bin/env python3
"""Exact silhouette: Strata's CPU backend beside scikit-learn's silhouette_score.

Both score the same points (the file's features, z-scored with the population std as Strata
does) under the same labels (those of `strata fit`). Strata's time is the `metrics` phase of its
report (silhouette, Davies-Bouldin and Calinski-Harabasz together; no I/O). scikit-learn's time
is silhouette_score alone, after the data is in memory.

    python3 benches/peers/silhouette.py --strata target/release/strata \
        --input blobs.parquet --k 8 --repeat 3 [--sklearn-repeat 1]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.feather as feather
from sklearn.metrics import silhouette_score

from common import load_points, strata_fit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side (median reported)")
    ap.add_argument("--sklearn-repeat", type=int, help="runs of scikit-learn (default: --repeat)")
    ap.add_argument("--threads", type=int, default=0, help="Strata threads (0: one per core)")
    args = ap.parse_args()

    _, _, x = load_points(args.input)

    strata_times = []
    with tempfile.TemporaryDirectory() as tmp:
        seg = Path(tmp) / "seg.arrow"
        for _ in range(args.repeat):
            report = strata_fit(args.strata, args.input, args.k, tmp, ["--output", str(seg)],
                                silhouette="exact", threads=args.threads)
            strata_times.append(report["timings_s"]["metrics"])
        labels = feather.read_table(seg)["segment"].to_numpy()
    strata_value = report["silhouette"]["value"]

    sk_times = []
    for _ in range(args.sklearn_repeat or args.repeat):
        start = time.perf_counter()
        sk_value = silhouette_score(x, labels)
        sk_times.append(time.perf_counter() - start)

    s, k = statistics.median(strata_times), statistics.median(sk_times)
    print(f"rows={x.shape[0]} dims={x.shape[1]} k={args.k} "
          f"runs: strata {len(strata_times)}, sklearn {len(sk_times)}")
    print(f"strata exact silhouette  {s:9.3f} s  value {strata_value:.6f}")
    print(f"sklearn silhouette_score {k:9.3f} s  value {sk_value:.6f}")
    print(f"speedup {k / s:.1f}x   |difference| {abs(strata_value - sk_value):.2e}")


if __name__ == "__main__":
    main()
