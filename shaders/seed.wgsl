// k-means++ distance updates.
//
// `seed_update`: each point's closest squared distance becomes ‖x − c‖² to the newest centre
// (`replace` = 1, for the first centre) or the smaller of that and its current value. Each
// workgroup also writes the sum of its points' new distances, so that the host can find which
// 256 points a k-means++ sample falls in without reading every distance back. The sum is taken
// in 64-bit fixed point scaled to the workgroup's largest distance (integer additions, so no
// compiler can reorder them away): each distance loses less than 2⁻⁴⁸ of that largest one,
// and distances that are integers of up to 24 bits add up exactly.
// `seed_trials`: for each of `trials` candidate centres, Σ min(closest, ‖x − candidate‖²) over
// the workgroup's points (a fixed-order tree sum); the host adds the workgroups in f64.
//
// Bindings (group 0):
//   0 params    uniform  rows in this chunk, features d, number of centres given, replace flag,
//                        workgroups along x, and whether the workgroups take their rows last
//                        first (see `rows_block`)
//   1 points    storage  this chunk's points, row-major f32 (rows × d)
//   2 centres   storage  the newest centre (update) or the candidates (trials), row-major f32
//   3 closest   storage  rows f32: squared distance to the nearest centre chosen so far
//   4 wg_sums   storage  update: 3 u32 per workgroup, Σ closest = (hi·2³² + lo)·2^−shift as
//                        (lo, hi, shift as i32); trials: trials f32 bit patterns per workgroup

struct Params {
    rows: u32,
    dims: u32,
    centres: u32,
    replace: u32,
    wg_x: u32,
    /// 1: the first workgroups dispatched take the last rows.
    reverse: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> centres: array<f32>;
@group(0) @binding(3) var<storage, read_write> closest: array<f32>;
@group(0) @binding(4) var<storage, read_write> wg_sums: array<u32>;

var<workgroup> largest: atomic<u32>;
var<workgroup> fixed: array<vec2<u32>, WG>;
/// `seed_trials`' tree sums: candidates t0 .. t0 + 3 and t0 + 4 .. t0 + 7.
var<workgroup> partial_low: array<vec4<f32>, WG>;
var<workgroup> partial_high: array<vec4<f32>, WG>;

fn sq_distance(row: u32, centre: u32) -> f32 {
    let d = params.dims;
    var sum = 0.0;
    for (var j = 0u; j < d; j++) {
        let diff = points[row * d + j] - centres[centre * d + j];
        sum += diff * diff;
    }
    return sum;
}

/// The block of WG rows that the workgroup at `wid` takes: in the order the grid is dispatched,
/// or last first with `params.reverse` (a pass that begins where the previous pass over the
/// points ended, as `rows_block` in assign.wgsl explains). Sums are stored by block, so the
/// direction changes no value. Spare workgroups of a 2-D grid keep their own number.
fn rows_block(wid: vec3<u32>) -> u32 {
    let wg = wid.x + wid.y * params.wg_x;
    let blocks = (params.rows + WG - 1u) / WG;
    if (params.reverse != 0u && wg < blocks) {
        return blocks - 1u - wg;
    }
    return wg;
}

@compute @workgroup_size(256)
fn seed_update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let wg = rows_block(wid);
    let row = wg * WG + lid;
    var value = 0.0;
    if (row < params.rows) {
        let distance = sq_distance(row, 0u);
        if (params.replace == 1u) {
            value = distance;
            closest[row] = distance;
        } else {
            value = closest[row];
            if (distance < value) {
                value = distance;
                closest[row] = distance;
            }
        }
    }
    // The largest distance's exponent (the bit patterns of non-negative floats order as they do).
    if (lid == 0u) {
        atomicStore(&largest, 0u);
    }
    workgroupBarrier();
    atomicMax(&largest, bitcast<u32>(value) & 0x7fffffffu);
    workgroupBarrier();
    let top = atomicLoad(&largest);
    // Scaled so the largest distance is below 2⁴⁹: 256 of them stay below 2⁵⁷. The scaled value
    // splits exactly into its bits above and below 2³²; the fraction below 1 is dropped.
    let shift = min(48 - (i32(top >> 23u) - 127), 127);
    let scaled = ldexp(abs(value), shift);
    let high = floor(scaled * (1.0 / 4294967296.0));
    let low = scaled - high * 4294967296.0;
    fixed[lid] = vec2(u32(low), u32(high));
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            let a = fixed[lid];
            let b = fixed[lid + s];
            let lo = a.x + b.x;
            fixed[lid] = vec2(lo, a.y + b.y + select(0u, 1u, lo < a.x));
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        wg_sums[3u * wg] = fixed[0].x;
        wg_sums[3u * wg + 1u] = fixed[0].y;
        wg_sums[3u * wg + 2u] = bitcast<u32>(shift);
    }
}

// Squared distances from `row` to candidates t0 .. t0 + 7, as two vec4s (those past the last
// read as the last one; the caller drops them), reading the point once for all eight.
fn sq_distances8(row: u32, t0: u32) -> array<vec4<f32>, 2> {
    let d = params.dims;
    let last = params.centres - 1u;
    let a = vec4(t0, min(t0 + 1u, last), min(t0 + 2u, last), min(t0 + 3u, last)) * d;
    let b = vec4(min(t0 + 4u, last), min(t0 + 5u, last), min(t0 + 6u, last), min(t0 + 7u, last)) * d;
    var low = vec4(0.0);
    var high = vec4(0.0);
    for (var j = 0u; j < d; j++) {
        let x = vec4(points[row * d + j]);
        let da = x - vec4(centres[a.x + j], centres[a.y + j], centres[a.z + j], centres[a.w + j]);
        let db = x - vec4(centres[b.x + j], centres[b.y + j], centres[b.z + j], centres[b.w + j]);
        low += da * da;
        high += db * db;
    }
    return array(low, high);
}

// Eight candidates per tree sum, lane by lane in two vec4s: the same additions in the same
// order as one candidate at a time, with an eighth of the barriers.
@compute @workgroup_size(256)
fn seed_trials(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let wg = rows_block(wid);
    let row = wg * WG + lid;
    let in_range = row < params.rows;
    var current = 0.0;
    if (in_range) {
        current = closest[row];
    }
    for (var t0 = 0u; t0 < params.centres; t0 += 8u) {
        var low = vec4(0.0);
        var high = vec4(0.0);
        if (in_range) {
            let distances = sq_distances8(row, t0);
            low = min(vec4(current), distances[0]);
            high = min(vec4(current), distances[1]);
        }
        partial_low[lid] = low;
        partial_high[lid] = high;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) {
                partial_low[lid] += partial_low[lid + s];
                partial_high[lid] += partial_high[lid + s];
            }
            workgroupBarrier();
        }
        if (lid < min(8u, params.centres - t0)) {
            var sum = 0.0;
            if (lid < 4u) {
                sum = partial_low[0][lid];
            } else {
                sum = partial_high[0][lid - 4u];
            }
            wg_sums[wg * params.centres + t0 + lid] = bitcast<u32>(sum);
        }
        workgroupBarrier();
    }
}
