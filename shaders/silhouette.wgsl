// Exact silhouette: every point against every point, O(n) memory.
//
// The points arrive sorted by label, so cluster c is rows offsets[c]..offsets[c + 1]. One
// invocation per point walks all points in order, streamed through workgroup memory in tiles;
// since clusters are contiguous it only keeps the running (Kahan-compensated) sum of distances to
// the current cluster, its own cluster's sum and the best mean distance to another cluster.
// Singleton clusters score 0, as scikit-learn's.
//
// Bindings (group 0):
//   0 params   uniform  rows, features d, clusters k, workgroups along x
//   1 points   storage  rows × d f32, sorted by label
//   2 offsets  storage  k + 1 u32: cluster c is rows offsets[c]..offsets[c + 1]
//   3 scores   storage  rows f32, written: each point's silhouette

struct Params {
    rows: u32,
    dims: u32,
    clusters: u32,
    wg_x: u32,
}

const WG: u32 = 256u;
const TILE: u32 = 2048u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

var<workgroup> tile: array<f32, TILE>;

@compute @workgroup_size(256)
fn silhouette(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = (wid.x + wid.y * params.wg_x) * WG + lid;
    let in_range = row < params.rows;
    let d = params.dims;
    let k = params.clusters;
    let tile_rows = min(TILE / d, WG);

    var own = 0u;
    if (in_range) {
        while (own + 1u < k && offsets[own + 1u] <= row) {
            own += 1u;
        }
    }
    var cluster = 0u;
    var sum = 0.0;
    var compensation = 0.0;
    var own_sum = 0.0;
    var best = 3.402823e38;

    for (var t0 = 0u; t0 < params.rows; t0 += tile_rows) {
        let count = min(tile_rows, params.rows - t0);
        for (var i = lid; i < count * d; i += WG) {
            tile[i] = points[t0 * d + i];
        }
        workgroupBarrier();
        for (var r = 0u; r < count; r++) {
            let j = t0 + r;
            // Close every cluster that ends before row j.
            loop {
                if (cluster >= k || j < offsets[cluster + 1u]) {
                    break;
                }
                let size = offsets[cluster + 1u] - offsets[cluster];
                if (size > 0u) {
                    if (cluster == own) {
                        own_sum = sum;
                    } else {
                        best = min(best, sum / f32(size));
                    }
                }
                sum = 0.0;
                compensation = 0.0;
                cluster += 1u;
            }
            if (in_range) {
                var dist = 0.0;
                for (var q = 0u; q < d; q++) {
                    let diff = points[row * d + q] - tile[r * d + q];
                    dist += diff * diff;
                }
                let y = sqrt(dist) - compensation;
                let t = sum + y;
                compensation = (t - sum) - y;
                sum = t;
            }
        }
        workgroupBarrier();
    }
    // Close the remaining clusters (the last one, and empty ones after it).
    while (cluster < k) {
        let size = offsets[cluster + 1u] - offsets[cluster];
        if (size > 0u) {
            if (cluster == own) {
                own_sum = sum;
            } else {
                best = min(best, sum / f32(size));
            }
        }
        sum = 0.0;
        cluster += 1u;
    }
    if (in_range) {
        let own_size = offsets[own + 1u] - offsets[own];
        var score = 0.0;
        if (own_size > 1u && best < 3.402823e38) {
            let a = own_sum / f32(own_size - 1u);
            let m = max(a, best);
            if (m > 0.0) {
                score = (best - a) / m;
            }
        }
        scores[row] = score;
    }
}
