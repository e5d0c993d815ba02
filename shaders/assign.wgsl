// Nearest-centroid assignment, fused with argmin: the n×k distance matrix is never written.
//
// One invocation per point, 256 per workgroup; the centroids are streamed through workgroup
// memory in tiles. The search uses ‖c‖² − 2x·c (lowest index on ties); the chosen distance is
// then computed exactly as ‖x − c‖². Used for every Lloyd step and for the final assignment.
//
// Bindings (group 0):
//   0 params     uniform  rows in this chunk, features d, clusters k, workgroups along x
//   1 points     storage  this chunk's points, row-major f32 (rows × d)
//   2 centroids  storage  k × d f32, row-major
//   3 norms      storage  k f32: ‖c‖² of each centroid
//   4 labels     storage  rows u32, read (previous label) and written (new label)
//   5 distances  storage  rows f32: ‖x − c‖² to the new label's centroid
//   6 wg_stats   storage  2 f32 per workgroup: Σ distances, number of labels that changed

struct Params {
    rows: u32,
    dims: u32,
    k: u32,
    wg_x: u32,
}

const WG: u32 = 256u;
const TILE: u32 = 2048u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> centroids: array<f32>;
@group(0) @binding(3) var<storage, read> norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> distances: array<f32>;
@group(0) @binding(6) var<storage, read_write> wg_stats: array<f32>;

var<workgroup> tile_centroids: array<f32, TILE>;
var<workgroup> tile_norms: array<f32, 256>;
var<workgroup> sum_distance: array<f32, WG>;
var<workgroup> sum_changed: array<f32, WG>;

@compute @workgroup_size(256)
fn assign(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let wg = wid.x + wid.y * params.wg_x;
    let row = wg * WG + lid;
    let in_range = row < params.rows;
    let d = params.dims;
    let k = params.k;
    let base = row * d;
    let per_tile = min(TILE / d, 256u);

    var best = 0u;
    var best_score = 3.402823e38;
    for (var c0 = 0u; c0 < k; c0 += per_tile) {
        let count = min(per_tile, k - c0);
        for (var i = lid; i < count * d; i += WG) {
            tile_centroids[i] = centroids[c0 * d + i];
        }
        for (var i = lid; i < count; i += WG) {
            tile_norms[i] = norms[c0 + i];
        }
        workgroupBarrier();
        if (in_range) {
            for (var c = 0u; c < count; c++) {
                var dot = 0.0;
                for (var j = 0u; j < d; j++) {
                    dot += points[base + j] * tile_centroids[c * d + j];
                }
                let score = tile_norms[c] - 2.0 * dot;
                if (score < best_score) {
                    best_score = score;
                    best = c0 + c;
                }
            }
        }
        workgroupBarrier();
    }

    var distance = 0.0;
    var changed = 0.0;
    if (in_range) {
        for (var j = 0u; j < d; j++) {
            let diff = points[base + j] - centroids[best * d + j];
            distance += diff * diff;
        }
        if (labels[row] != best) {
            changed = 1.0;
        }
        labels[row] = best;
        distances[row] = distance;
    }
    sum_distance[lid] = distance;
    sum_changed[lid] = changed;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            sum_distance[lid] += sum_distance[lid + s];
            sum_changed[lid] += sum_changed[lid + s];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        wg_stats[2u * wg] = sum_distance[0];
        wg_stats[2u * wg + 1u] = sum_changed[0];
    }
}
