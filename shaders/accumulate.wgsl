// Per-cluster partial sums for the Lloyd update, without float atomics.
//
// The points of a chunk are cut into ranges of `range_rows`; workgroup (r, b) sums range r for
// the 256 "slots" of block b. A slot is (cluster c, feature j) for j < d, and (c, d) counts the
// cluster's points. Each invocation owns one slot and walks its range in row order with Kahan
// summation, so the result is deterministic and accurate; the host adds the ranges in f64, in
// order.
//
// Bindings (group 0):
//   0 params    uniform  rows in this chunk, features d, rows per range, slots = k·(d + 1)
//   1 points    storage  this chunk's points, row-major f32 (rows × d)
//   2 labels    storage  rows u32, as written by assign
//   3 partials  storage  ranges × slots f32, written: the sum of each slot over each range

struct Params {
    rows: u32,
    dims: u32,
    range_rows: u32,
    slots: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(256)
fn accumulate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let range = wid.x;
    let slot = wid.y * 256u + lid;
    if (slot >= params.slots) {
        return;
    }
    let d = params.dims;
    let cluster = slot / (d + 1u);
    let feature = slot % (d + 1u);
    let start = range * params.range_rows;
    let end = min(start + params.range_rows, params.rows);
    var sum = 0.0;
    var compensation = 0.0;
    for (var i = start; i < end; i++) {
        if (labels[i] == cluster) {
            var value = 1.0;
            if (feature < d) {
                value = points[i * d + feature];
            }
            let y = value - compensation;
            let t = sum + y;
            compensation = (t - sum) - y;
            sum = t;
        }
    }
    partials[range * params.slots + slot] = sum;
}
