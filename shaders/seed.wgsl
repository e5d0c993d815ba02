// k-means++ distance updates.
//
// `seed_update`: each point's closest squared distance becomes ‖x − c‖² to the newest centre
// (`replace` = 1, for the first centre) or the smaller of that and its current value.
// `seed_trials`: for each of `trials` candidate centres, Σ min(closest, ‖x − candidate‖²) over
// the workgroup's points (a fixed-order tree sum); the host adds the workgroups in f64.
//
// Bindings (group 0):
//   0 params    uniform  rows in this chunk, features d, number of centres given, replace flag,
//                        workgroups along x
//   1 points    storage  this chunk's points, row-major f32 (rows × d)
//   2 centres   storage  the newest centre (update) or the candidates (trials), row-major f32
//   3 closest   storage  rows f32: squared distance to the nearest centre chosen so far
//   4 wg_sums   storage  trials f32 per workgroup (trials only)

struct Params {
    rows: u32,
    dims: u32,
    centres: u32,
    replace: u32,
    wg_x: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> centres: array<f32>;
@group(0) @binding(3) var<storage, read_write> closest: array<f32>;
@group(0) @binding(4) var<storage, read_write> wg_sums: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn sq_distance(row: u32, centre: u32) -> f32 {
    let d = params.dims;
    var sum = 0.0;
    for (var j = 0u; j < d; j++) {
        let diff = points[row * d + j] - centres[centre * d + j];
        sum += diff * diff;
    }
    return sum;
}

@compute @workgroup_size(256)
fn seed_update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = (wid.x + wid.y * params.wg_x) * WG + lid;
    if (row >= params.rows) {
        return;
    }
    let distance = sq_distance(row, 0u);
    if (params.replace == 1u || distance < closest[row]) {
        closest[row] = distance;
    }
}

@compute @workgroup_size(256)
fn seed_trials(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let wg = wid.x + wid.y * params.wg_x;
    let row = wg * WG + lid;
    let in_range = row < params.rows;
    var current = 0.0;
    if (in_range) {
        current = closest[row];
    }
    for (var t = 0u; t < params.centres; t++) {
        var value = 0.0;
        if (in_range) {
            value = min(current, sq_distance(row, t));
        }
        partial[lid] = value;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) {
                partial[lid] += partial[lid + s];
            }
            workgroupBarrier();
        }
        if (lid == 0u) {
            wg_sums[wg * params.centres + t] = partial[0];
        }
        workgroupBarrier();
    }
}
