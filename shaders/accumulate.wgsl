// Per-cluster partial sums for the Lloyd update, without float atomics.
//
// The points of a chunk are cut into ranges of `range_rows`, which `sort_by_cluster` has already
// grouped by cluster. Workgroup (r, b) sums range r for the 256 "slots" of block b. A slot is
// (cluster c, feature j) for j < d, and (c, d) counts the cluster's points. Each invocation owns
// one slot and walks only its cluster's rows of the range, in row order, with Kahan summation, so
// the work is O(rows × d) rather than O(rows × k × d), and the result is deterministic and
// accurate. It writes the sum with what Kahan's compensation says it is short of, since the
// exact sum of a range may not be an f32 (2²⁴ + 255). `fold_ranges` (fold.wgsl) then adds
// consecutive ranges in groups, and the host adds the groups in f64, in order.
//
// Bindings (group 0):
//   0 params    uniform  rows in this chunk, features d, rows per range, slots = k·(d + 1),
//                        clusters k, a 0 the compiler cannot see, and whether the workgroups
//                        take the ranges last first (see `range_of`)
//   1 points    storage  this chunk's points, row-major f32 (rows × d)
//   2 order     storage  rows u32: each range's row indices grouped by cluster (sort_by_cluster)
//   3 bounds    storage  2·(k + 1) u32 per range: the first k + 1 are the clusters' start offsets
//   4 partials  storage  ranges × slots × 2 f32, written: for each range and slot, the sum over
//                        the range and its rounding error (the exact sum is their sum)

struct Params {
    rows: u32,
    dims: u32,
    range_rows: u32,
    slots: u32,
    clusters: u32,
    /// Always 0; see `unseen`.
    zero: u32,
    /// 1: the first workgroups dispatched take the last ranges.
    reverse: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read> bounds: array<u32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

/// The range that workgroups (wid.x, ·) sum: one per workgroup along x, in order, or last first
/// with `params.reverse`. Workgroups are dispatched roughly in order, so a pass that runs the
/// other way from the previous pass over the same points starts on the rows that pass read
/// last, which may still be cached, their addresses still translated. Each range's sums are
/// stored in its own place, so the direction changes no value.
fn range_of(wid: vec3<u32>) -> u32 {
    if (params.reverse != 0u) {
        let ranges = (params.rows + params.range_rows - 1u) / params.range_rows;
        return ranges - 1u - wid.x;
    }
    return wid.x;
}

@compute @workgroup_size(256)
fn accumulate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let range = range_of(wid);
    let slot = wid.y * 256u + lid;
    if (slot >= params.slots) {
        return;
    }
    let d = params.dims;
    let cluster = slot / (d + 1u);
    let feature = slot % (d + 1u);
    let start = range * params.range_rows;
    let starts = range * 2u * (params.clusters + 1u);
    let first = start + bounds[starts + cluster];
    let last = start + bounds[starts + cluster + 1u];
    var sum = 0.0;
    // How much `sum` exceeds the exact sum of what it added.
    var compensation = 0.0;
    if (feature == d) {
        sum = f32(last - first);
    } else {
        for (var i = first; i < last; i++) {
            let y = points[order[i] * d + feature] - compensation;
            let t = sum + y;
            compensation = (unseen(t) - sum) - y;
            sum = t;
        }
    }
    let out = 2u * (range * params.slots + slot);
    partials[out] = sum;
    partials[out + 1u] = -compensation;
}

/// `t` unchanged, through an OR with `params.zero` (always 0), which the compiler cannot see
/// through. WGSL lets a compiler reassociate float arithmetic, and Mesa's does turn Kahan's
/// (t − sum) − y with t = sum + y into 0, which silently makes the sum a plain one.
fn unseen(t: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(t) | params.zero);
}
