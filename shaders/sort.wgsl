// Stable counting sort of each range's rows by label, for the per-cluster partial sums.
//
// The rows of a chunk are cut into ranges of `range_rows`; one workgroup sorts one range. It
// counts each cluster's rows, turns the counts into start offsets, and writes the range's row
// indices grouped by cluster, each group in row order (a row's place in its group is the number
// of rows of the same cluster before it), so a per-cluster walk of `order` visits exactly the
// rows an all-rows scan with a label test would, in the same order.
//
// Two entry points write the same `order` and start offsets:
// - `sort_by_cluster_small`, for k ≤ SMALL_K: counters and cursors in workgroup memory, and a
//   row's place among the 256 rows of its batch read from a per-cluster bit mask of the batch
//   (8 words, counted with countOneBits) instead of comparing it with every row of the batch;
// - `sort_by_cluster`, for any k: counters and cursors in the `bounds` buffer, places by
//   comparison with the whole batch.
//
// Bindings (group 0):
//   0 params  uniform  rows in this chunk, features d, rows per range, slots, clusters k, and
//                      whether the workgroups take the ranges last first (see `range_of`)
//   1 labels  storage  rows u32, as written by assign (each < k)
//   2 bounds  storage  2·(k + 1) u32 per range, written: k + 1 start offsets within the range
//                      (cluster c is order[range start + bounds[c] .. range start + bounds[c + 1]]),
//                      then k + 1 scratch cursors (`sort_by_cluster` only)
//   3 order   storage  rows u32, written: each range's row indices (chunk-relative), by cluster

struct Params {
    rows: u32,
    dims: u32,
    range_rows: u32,
    slots: u32,
    clusters: u32,
    zero: u32,
    /// 1: the first workgroups dispatched take the last ranges.
    reverse: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> bounds: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> order: array<u32>;

var<workgroup> batch: array<u32, WG>;
var<workgroup> block_sums: array<u32, WG>;

/// The range that workgroup `wid` sorts: one per workgroup along x, in order, or last first with
/// `params.reverse` (a pass that starts where the assignment's ended, as accumulate.wgsl's
/// `range_of` explains).
fn range_of(wid: vec3<u32>) -> u32 {
    if (params.reverse != 0u) {
        let ranges = (params.rows + params.range_rows - 1u) / params.range_rows;
        return ranges - 1u - wid.x;
    }
    return wid.x;
}

@compute @workgroup_size(256)
fn sort_by_cluster(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = params.clusters;
    let range = range_of(wid);
    let start = range * params.range_rows;
    let end = min(start + params.range_rows, params.rows);
    let starts = range * 2u * (k + 1u);
    let cursors = starts + k + 1u;
    // Each invocation owns a block of the k + 1 counters.
    let per = (k + WG) / WG;
    let first = min(lid * per, k + 1u);
    let last = min(first + per, k + 1u);

    for (var c = first; c < last; c++) {
        atomicStore(&bounds[starts + c], 0u);
    }
    storageBarrier();
    for (var i = start + lid; i < end; i += WG) {
        atomicAdd(&bounds[starts + labels[i]], 1u);
    }
    storageBarrier();

    // Exclusive prefix sum of the counts (the last counter is 0, so it ends as the total).
    var total = 0u;
    for (var c = first; c < last; c++) {
        total += atomicLoad(&bounds[starts + c]);
    }
    block_sums[lid] = total;
    workgroupBarrier();
    if (lid == 0u) {
        var running = 0u;
        for (var b = 0u; b < WG; b++) {
            let sum = block_sums[b];
            block_sums[b] = running;
            running += sum;
        }
    }
    workgroupBarrier();
    var offset = block_sums[lid];
    for (var c = first; c < last; c++) {
        let count = atomicLoad(&bounds[starts + c]);
        atomicStore(&bounds[starts + c], offset);
        atomicStore(&bounds[cursors + c], offset);
        offset += count;
    }
    storageBarrier();

    // Scatter 256 rows at a time: a row goes to its cluster's cursor plus the number of earlier
    // rows of the batch with the same label; the batch's last row of a cluster moves the cursor.
    for (var b = start; b < end; b += WG) {
        let i = b + lid;
        var label = 0xffffffffu;
        if (i < end) {
            label = labels[i];
        }
        batch[lid] = label;
        workgroupBarrier();
        var before = 0u;
        var after = 0u;
        for (var j = 0u; j < WG; j++) {
            if (batch[j] == label) {
                if (j < lid) {
                    before += 1u;
                } else if (j > lid) {
                    after += 1u;
                }
            }
        }
        var place = 0u;
        if (i < end) {
            place = atomicLoad(&bounds[cursors + label]) + before;
            order[start + place] = i;
        }
        workgroupBarrier();
        storageBarrier();
        if (i < end && after == 0u) {
            atomicStore(&bounds[cursors + label], place + 1u);
        }
        storageBarrier();
    }
}

/// Most clusters `sort_by_cluster_small` takes (its masks are SMALL_K × 8 words).
const SMALL_K: u32 = 256u;
/// Words of a batch's bit mask: one bit per row of the batch.
const WORDS: u32 = WG / 32u;

var<workgroup> cursor: array<atomic<u32>, SMALL_K + 1u>;
var<workgroup> masks: array<atomic<u32>, SMALL_K * WORDS>;

@compute @workgroup_size(256)
fn sort_by_cluster_small(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let k = params.clusters;
    let range = range_of(wid);
    let start = range * params.range_rows;
    let end = min(start + params.range_rows, params.rows);
    let starts = range * 2u * (k + 1u);
    for (var c = lid; c <= k; c += WG) {
        atomicStore(&cursor[c], 0u);
    }
    for (var w = lid; w < k * WORDS; w += WG) {
        atomicStore(&masks[w], 0u);
    }
    workgroupBarrier();
    for (var i = start + lid; i < end; i += WG) {
        atomicAdd(&cursor[labels[i]], 1u);
    }
    workgroupBarrier();

    // Exclusive prefix sum of the counts, by one invocation: k ≤ 256 additions.
    if (lid == 0u) {
        var running = 0u;
        for (var c = 0u; c <= k; c++) {
            let count = atomicLoad(&cursor[c]);
            atomicStore(&cursor[c], running);
            atomicStore(&bounds[starts + c], running);
            running += count;
        }
    }
    workgroupBarrier();

    // Batches of 256 rows: each row sets its bit in its cluster's mask; its place in the
    // cluster is the cursor plus the set bits below its own; the row with no set bit above its
    // own moves the cursor. Each row clears its bit again before the next batch.
    let word = lid / 32u;
    let bit = 1u << (lid % 32u);
    for (var b = start; b < end; b += WG) {
        let i = b + lid;
        let live = i < end;
        var label = 0u;
        if (live) {
            label = labels[i];
            atomicOr(&masks[label * WORDS + word], bit);
        }
        workgroupBarrier();
        var before = 0u;
        var last = true;
        if (live) {
            for (var w = 0u; w < WORDS; w++) {
                let m = atomicLoad(&masks[label * WORDS + w]);
                if (w < word) {
                    before += countOneBits(m);
                } else if (w == word) {
                    before += countOneBits(m & (bit - 1u));
                    last = last && (m & ~(bit | (bit - 1u))) == 0u;
                } else {
                    last = last && m == 0u;
                }
            }
        }
        var place = 0u;
        if (live) {
            place = atomicLoad(&cursor[label]) + before;
            order[start + place] = i;
        }
        workgroupBarrier();
        if (live) {
            atomicAnd(&masks[label * WORDS + word], ~bit);
            if (last) {
                atomicStore(&cursor[label], place + 1u);
            }
        }
        workgroupBarrier();
    }
}
