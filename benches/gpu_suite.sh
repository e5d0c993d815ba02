#!/usr/bin/env bash
# The GPU figures of BENCHMARKS.md ("On an NVIDIA GPU") in one go, on a machine with a card:
#
#   benches/gpu_suite.sh STRATA OUT [info] [lloyd] [peers] [silhouette] [predict] [cliff] [alternate]
#
# STRATA is a release binary, OUT a folder for the log and the JSON reports; with no section
# named, all but `predict`, `cliff` and `alternate` run. `cliff` probes why 9M × 16 × 64 and more
# ran several times slower per row than 8M (BENCHMARKS.md): the card's clocks through the runs,
# rows against bytes, and another process's memory in use, and (when the `gpu_memory` bench
# binary is found: $GPU_MEMORY, else beside STRATA) the read rate of a plain kernel as device
# memory is allocated 64 MiB at a time, one buffer at a time and all of them per pass.
# `alternate` times the Lloyd step with its passes in alternating directions around the cliff.
# Generated data goes to $STRATA_SUITE_DATA (default /tmp/strata-suite), not OUT.
# Every step has a time limit, so one that hangs cannot take the rest with it. PyTorch (for the
# ceilings and the same-card Lloyd step) and pyarrow are needed for `info` and `peers`.
set -u
strata=$(realpath "$1")
out=$(realpath -m "$2")
shift 2
sections=${*:-info lloyd peers silhouette}
here=$(dirname "$(realpath "$0")")
data=${STRATA_SUITE_DATA:-/tmp/strata-suite}
mkdir -p "$out" "$data"
log="$out/suite.log"

step() { # step SECONDS NAME COMMAND...
    local limit=$1 name=$2
    shift 2
    echo "=== $name: $*" | tee -a "$log"
    local t0=$EPOCHREALTIME
    timeout "$limit" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    echo "=== $name: exit $rc after $(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }") s" | tee -a "$log"
}

cat >"$data/ceilings.py" <<'EOF'
import torch
def timed(f, reps=20):
    f(); torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        a.record(); f(); b.record(); torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return sorted(times)[len(times) // 2]
src = torch.randn(1 << 28, device="cuda")
dst = torch.empty_like(src)
ms = timed(lambda: dst.copy_(src))
print(f"device copy: {2 * src.numel() * 4 / ms / 1e6:.0f} GB/s (read + written, median of 20)")
torch.backends.cuda.matmul.allow_tf32 = False
a = torch.randn(8192, 8192, device="cuda")
b = torch.randn(8192, 8192, device="cuda")
ms = timed(lambda: a @ b, 10)
print(f"fp32 matmul (TF32 off) 8192^3: {2 * 8192**3 / ms / 1e9:.1f} TFLOP/s (median of 10)")
print(torch.cuda.get_device_name(), torch.__version__)
EOF

for section in $sections; do
    case $section in
    info)
        step 30 nvidia-smi nvidia-smi
        step 30 info "$strata" info
        step 120 ceilings python3 "$data/ceilings.py"
        ;;
    lloyd)
        step 60 sanity "$strata" bench --rows 100000 --dims 16 --k 8 --iters 5 --backends cpu,gpu
        step 240 bench-10m "$strata" bench --rows 10000000 --dims 16 --k 64 --iters 20 \
            --backends cpu,gpu --report "$out/b10m.json"
        STRATA_GPU_PROFILE=1 step 120 bench-10m-kernels "$strata" bench --rows 10000000 \
            --dims 16 --k 64 --iters 20 --backends gpu --report "$out/b10m-kernels.json"
        # The Lloyd step in one pass (assignment and partial sums, no sort) against the default
        # three kernels, once unprofiled for the wall time and once profiled.
        STRATA_GPU_FUSED_STEP=1 step 120 bench-10m-one-pass "$strata" bench --rows 10000000 \
            --dims 16 --k 64 --iters 20 --backends gpu
        STRATA_GPU_FUSED_STEP=1 STRATA_GPU_PROFILE=1 step 120 bench-10m-one-pass-kernels \
            "$strata" bench --rows 10000000 --dims 16 --k 64 --iters 20 --backends gpu
        # Fewer points per invocation of the assignment than the default (4 at d = 16).
        for r in 1 2; do
            STRATA_GPU_ROWS_PER_INVOCATION=$r STRATA_GPU_PROFILE=1 step 120 "bench-10m-rows$r" \
                "$strata" bench --rows 10000000 --dims 16 --k 64 --iters 20 --backends gpu
        done
        step 240 bench-1m64 "$strata" bench --rows 1000000 --dims 64 --k 256 --iters 20 \
            --backends cpu,gpu --report "$out/b1m64.json"
        STRATA_GPU_PROFILE=1 step 120 bench-1m64-kernels "$strata" bench --rows 1000000 \
            --dims 64 --k 256 --iters 20 --backends gpu --report "$out/b1m64-kernels.json"
        # Past 64 features: the general assignment, which reads each point 64 features at a
        # time, once per tile of centroids.
        STRATA_GPU_PROFILE=1 step 120 bench-1m128-kernels "$strata" bench --rows 1000000 \
            --dims 128 --k 64 --iters 20 --backends gpu --report "$out/b1m128-kernels.json"
        ;;
    peers)
        step 120 gen-10m "$strata" -q generate --rows 10000000 --dims 16 --centers 64 --std 4 \
            --seed 5 --output "$data/g10m.parquet"
        step 300 torch-10m python3 "$here/peers/gpu_lloyd.py" --strata "$strata" \
            --input "$data/g10m.parquet" --k 64 --iters 20
        step 60 gen-1m64 "$strata" -q generate --rows 1000000 --dims 64 --centers 256 --std 4 \
            --seed 5 --output "$data/g1m64.parquet"
        step 200 torch-1m64 python3 "$here/peers/gpu_lloyd.py" --strata "$strata" \
            --input "$data/g1m64.parquet" --k 256 --iters 20
        ;;
    silhouette)
        step 60 gen-s1m "$strata" -q generate --rows 1000000 --dims 16 --centers 8 --seed 5 \
            --output "$data/s1m.parquet"
        step 300 silhouette-1m "$strata" fit --input "$data/s1m.parquet" --id id \
            --exclude true_segment --k 8 --backend gpu --silhouette exact \
            --output "$data/s1m-segments.parquet" --report "$out/s1m.json"
        ;;
    predict)
        # The streamed predict: one block of rows at a time uploaded, assigned and freed on the
        # card, against the CPU backend; the two segments files should agree but for near-ties
        # (labels) and rounding (distances).
        step 120 gen-p10m "$strata" -q generate --rows 10000000 --dims 16 --centers 64 --std 4 \
            --seed 5 --output "$data/p10m.parquet"
        step 300 fit-p10m "$strata" fit --input "$data/p10m.parquet" --id id \
            --exclude true_segment --k 64 --backend gpu --silhouette none \
            --output "$data/p10m-fit.parquet" --model "$data/p10m-model.json"
        for backend in gpu cpu; do
            step 300 "predict-p10m-$backend" "$strata" predict --model "$data/p10m-model.json" \
                --input "$data/p10m.parquet" --id id --backend "$backend" \
                --output "$data/p10m-$backend.parquet" --report "$out/predict-$backend.json"
        done
        step 60 predict-agreement python3 -c "
import sys, numpy as np, pyarrow.parquet as pq
g, c = (pq.read_table(p, columns=['segment', 'distance']) for p in sys.argv[1:])
labels = (g['segment'].to_numpy() != c['segment'].to_numpy()).sum()
dg, dc = g['distance'].to_numpy(), c['distance'].to_numpy()
print(f'{labels} label(s) differ; distances within {np.max(np.abs(dg - dc) / np.maximum(dc, 1e-9)):.2e} relative')
" "$data/p10m-gpu.parquet" "$data/p10m-cpu.parquet"
        ;;
    cliff)
        nvidia-smi --query-gpu=timestamp,pstate,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu \
            --format=csv -lms 100 >"$out/clocks.csv" 2>&1 &
        smi=$!
        # Why the clocks are where they are (power cap, thermal, idle), logged apart so that a
        # field this driver does not know cannot cost the log above.
        nvidia-smi --query-gpu=timestamp,clocks_throttle_reasons.active,power.limit \
            --format=csv -lms 100 >"$out/throttle.csv" 2>&1 &
        smi2=$!
        probe=${GPU_MEMORY:-$(dirname "$strata")/gpu_memory}
        if [ -x "$probe" ]; then
            step 300 gpu-memory "$probe" 2048 50
        else
            echo "=== gpu-memory: no probe at $probe (cargo bench --bench gpu_memory --no-run)" | tee -a "$log"
        fi
        for rows in 6000000 7000000 8000000 8500000 9000000 10000000; do
            STRATA_GPU_PROFILE=1 step 120 "rows-$rows" "$strata" -q bench --rows "$rows" \
                --dims 16 --k 64 --iters 20 --backends gpu
        done
        # One point per invocation, as when the cliff was found: 39,063 assignment workgroups
        # at 10M, past 32,768 along x from 8.39M rows. The same on grids of at most 16,384
        # per dimension (2-D): if only this one is fast, the cliff is the width of the grid.
        for cap in none 16384; do
            if [ "$cap" = none ]; then unset STRATA_GPU_GROUPS_PER_DIM; else export STRATA_GPU_GROUPS_PER_DIM=$cap; fi
            STRATA_GPU_ROWS_PER_INVOCATION=1 STRATA_GPU_PROFILE=1 step 120 "rows1-10m-grid-$cap" \
                "$strata" -q bench --rows 10000000 --dims 16 --k 64 --iters 20 --backends gpu
        done
        unset STRATA_GPU_GROUPS_PER_DIM
        # The same 640 MB of points as 10M × 16, in half the rows and workgroups.
        STRATA_GPU_PROFILE=1 step 120 bytes-5m32 "$strata" -q bench --rows 5000000 --dims 32 \
            --k 64 --iters 20 --backends gpu
        # 4M rows (fast alone) while another process holds 2 GiB of the card.
        python3 -c "import torch, time; x = torch.ones(2 << 30, dtype=torch.uint8, device='cuda'); time.sleep(60)" &
        holder=$!
        sleep 15
        STRATA_GPU_PROFILE=1 step 120 rows-4m-beside-2g "$strata" -q bench --rows 4000000 \
            --dims 16 --k 64 --iters 20 --backends gpu
        step 30 performance nvidia-smi -q -d PERFORMANCE,POWER,CLOCK
        kill $holder $smi $smi2 2>/dev/null
        wait 2>/dev/null
        ;;
    alternate)
        # Passes that begin where the previous one over the points ended (STRATA_GPU_ALTERNATE)
        # against passes in row order, run by run: if the cliff is a pass outgrowing what the
        # card caches or translates (the `cliff` section's gpu-memory sweep slower than its
        # zigzag), the alternating runs keep part of it. Three passes, one pass, 1M-row chunks.
        for rows in 8000000 9000000 10000000; do
            for alternate in 0 1; do
                STRATA_GPU_ALTERNATE=$alternate STRATA_GPU_PROFILE=1 step 120 \
                    "rows-$rows-alternate-$alternate" "$strata" -q bench --rows "$rows" \
                    --dims 16 --k 64 --iters 20 --backends gpu
            done
        done
        for alternate in 0 1; do
            STRATA_GPU_ALTERNATE=$alternate STRATA_GPU_FUSED_STEP=1 STRATA_GPU_PROFILE=1 step 120 \
                "one-pass-10m-alternate-$alternate" "$strata" -q bench --rows 10000000 \
                --dims 16 --k 64 --iters 20 --backends gpu
            STRATA_GPU_ALTERNATE=$alternate STRATA_GPU_CHUNK_ROWS=1000000 STRATA_GPU_PROFILE=1 \
                step 120 "chunks-1m-alternate-$alternate" "$strata" -q bench --rows 10000000 \
                --dims 16 --k 64 --iters 20 --backends gpu
        done
        ;;
    *) echo "unknown section $section" | tee -a "$log" ;;
    esac
done
