"""What the peer scripts share: the points as Strata sees them, and a `strata fit` run."""
import json
import os
import subprocess

import numpy as np
import pyarrow.parquet as pq

# Columns of `strata generate` output that are not features.
NOT_FEATURES = ("id", "true_segment")


def load_points(path):
    """The Parquet file's table, its feature column names, and the features z-scored with the
    population std (as Strata's default --normalize zscore), as float32."""
    table = pq.read_table(path)
    names = [c for c in table.column_names if c not in NOT_FEATURES]
    raw = np.column_stack([table[c].to_numpy().astype(np.float64) for c in names])
    return table, names, ((raw - raw.mean(axis=0)) / raw.std(axis=0)).astype(np.float32)


def strata_fit(strata, input_path, k, tmp, extra, backend="cpu", silhouette="none", threads=0):
    """Runs `strata fit` on a `strata generate` file and returns its report (a dict)."""
    report = os.path.join(tmp, "report.json")
    cmd = [strata, "-q", "fit", "--input", input_path, "--id", "id", "--exclude", "true_segment",
           "--k", str(k), "--backend", backend, "--silhouette", silhouette, "--tol", "0",
           "--report", report] + extra
    if threads:
        cmd += ["--threads", str(threads)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(report) as f:
        return json.load(f)
