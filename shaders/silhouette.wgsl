// Exact silhouette: every point against every point, O(n) memory.
//
// The points arrive sorted by label, so cluster c is rows offsets[c]..offsets[c + 1]. One
// invocation per point walks the points in order, streamed through workgroup memory in tiles;
// since clusters are contiguous it only keeps the running (Kahan-compensated) sum of distances to
// the current cluster, its own cluster's sum and the best mean distance to another cluster.
// Singleton clusters score 0, as scikit-learn's.
//
// The walk is cut into passes over columns col_start..col_end, one dispatch each; between passes
// each point's walk is kept in `state`, and the last pass writes the scores. Short dispatches keep
// clear of driver watchdogs, and of llvmpipe's cap of 65,535 loop iterations per invocation,
// beyond which it silently stops looping.
//
// Two entry points with the same bindings and the same arithmetic (features summed in order):
// - `silhouette_registers`, for d ≤ 64: each invocation walks RB points at once, held in
//   registers as DV = ⌈d/4⌉ zero-padded vec4s each (DV and RB are fixed when the pipeline is
//   built), so each tile vec4 read from workgroup memory serves RB points. A workgroup covers
//   256·RB points: invocation `lid` takes points lid, lid + 256, …;
// - `silhouette`, for any d: one point per invocation, read from memory MAX_V vec4s at a time,
//   each block once per tile.
// Both keep the tile as zero-padded vec4s.
//
// Bindings (group 0):
//   0 params   uniform  rows, features d, clusters k, workgroups along x, this pass's columns,
//                       and a 0 the compiler cannot see (see `add_distance`)
//   1 points   storage  rows × d f32, sorted by label
//   2 offsets  storage  k + 1 u32: cluster c is rows offsets[c]..offsets[c + 1]
//   3 scores   storage  rows f32, written by the last pass: each point's silhouette
//   4 state    storage  rows × 5 words: each point's walk between passes

struct Params {
    rows: u32,
    dims: u32,
    clusters: u32,
    wg_x: u32,
    col_start: u32,
    col_end: u32,
    /// Always 0; see `add_distance`.
    zero: u32,
}

/// One invocation's walk over the sorted points.
struct Walk {
    /// The cluster being summed.
    cluster: u32,
    sum: f32,
    compensation: f32,
    /// Σ distances to the own cluster, once it is closed.
    own_sum: f32,
    /// Smallest mean distance to another non-empty cluster so far.
    best: f32,
}

const WG: u32 = 256u;
/// vec4s of features per point in `silhouette_registers`: ⌈d/4⌉, at most MAX_V.
override DV: u32 = 4u;
/// Points per invocation in `silhouette_registers`: 1 to 4, with RB·DV ≤ MAX_V.
override RB: u32 = 1u;
const MAX_V: u32 = 16u;
/// Most points per invocation.
const MAX_RB: u32 = 4u;
/// vec4s of tile.
const TILE_V: u32 = 1024u;
/// Most columns in a tile of `silhouette`, which runs past MAX_V vec4s per point:
/// TILE_V / (MAX_V + 1).
const BLOCK_TILE: u32 = 60u;
const NONE: f32 = 3.402823e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<Walk>;

var<workgroup> tile: array<vec4<f32>, TILE_V>;

/// The walk of point `row` as the previous pass left it (a fresh one on the first pass).
fn resume(row: u32, in_range: bool) -> Walk {
    if (in_range && params.col_start > 0u) {
        return state[row];
    }
    return Walk(0u, 0.0, 0.0, 0.0, NONE);
}

/// The cluster that point `row` belongs to.
fn own_cluster(row: u32) -> u32 {
    var own = 0u;
    while (own + 1u < params.clusters && offsets[own + 1u] <= row) {
        own += 1u;
    }
    return own;
}

/// The first column past cluster c: where a walk summing c must close it (`reach`). Past the
/// last cluster, 0, so that `reach` (which then does nothing) is never skipped.
fn cluster_end(c: u32) -> u32 {
    if (c >= params.clusters) {
        return 0u;
    }
    return offsets[c + 1u];
}

/// Closes every cluster that ends at or before column j (all of them when j = rows).
fn reach(walk: ptr<function, Walk>, own: u32, j: u32) {
    loop {
        let c = (*walk).cluster;
        if (c >= params.clusters || j < offsets[c + 1u]) {
            break;
        }
        let size = offsets[c + 1u] - offsets[c];
        if (size > 0u) {
            if (c == own) {
                (*walk).own_sum = (*walk).sum;
            } else {
                (*walk).best = min((*walk).best, (*walk).sum / f32(size));
            }
        }
        (*walk).sum = 0.0;
        (*walk).compensation = 0.0;
        (*walk).cluster = c + 1u;
    }
}

/// Adds the distance √sq to the current cluster's sum. The new sum goes through an OR with
/// `params.zero` (always 0), which the compiler cannot see through, before the compensation is
/// taken from it: WGSL lets a compiler reassociate float arithmetic, and Mesa's turns
/// (t − sum) − y with t = sum + y into 0, which silently makes the sum a plain one.
fn add_distance(walk: ptr<function, Walk>, sq: f32) {
    let y = sqrt(sq) - (*walk).compensation;
    let t = (*walk).sum + y;
    let unseen = bitcast<f32>(bitcast<u32>(t) | params.zero);
    (*walk).compensation = (unseen - (*walk).sum) - y;
    (*walk).sum = t;
}

/// Keeps the walk for the next pass, or on the last pass closes the remaining clusters and
/// writes the point's score.
fn suspend(walk: ptr<function, Walk>, own: u32, row: u32, in_range: bool) {
    if (!in_range) {
        return;
    }
    if (params.col_end < params.rows) {
        state[row] = *walk;
        return;
    }
    reach(walk, own, params.rows);
    let own_size = offsets[own + 1u] - offsets[own];
    let best = (*walk).best;
    var score = 0.0;
    if (own_size > 1u && best < NONE) {
        let a = (*walk).own_sum / f32(own_size - 1u);
        let m = max(a, best);
        if (m > 0.0) {
            score = (best - a) / m;
        }
    }
    scores[row] = score;
}

/// acc + a.x² + a.y² + a.z² + a.w², added in that order.
fn add_squares(acc: f32, a: vec4<f32>) -> f32 {
    var sum = acc;
    sum += a.x * a.x;
    sum += a.y * a.y;
    sum += a.z * a.z;
    sum += a.w * a.w;
    return sum;
}

/// Feature j of sorted point `row`, or 0 past the last feature.
fn point_at(row: u32, j: u32) -> f32 {
    if (j < params.dims) {
        return points[row * params.dims + j];
    }
    return 0.0;
}

/// Features 4v..4v+3 of sorted point `row`, zero-padded.
fn point_vec(row: u32, v: u32) -> vec4<f32> {
    let j = 4u * v;
    return vec4<f32>(point_at(row, j), point_at(row, j + 1u), point_at(row, j + 2u), point_at(row, j + 3u));
}

/// Loads columns t0..t0 + count into the tile, `vectors` vec4s each.
fn load_tile(lid: u32, t0: u32, count: u32, vectors: u32) {
    for (var i = lid; i < count * vectors; i += WG) {
        tile[i] = point_vec(t0 + i / vectors, i % vectors);
    }
}

@compute @workgroup_size(256)
fn silhouette(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let row = (wid.x + wid.y * params.wg_x) * WG + lid;
    let in_range = row < params.rows;
    let vectors = (params.dims + 3u) / 4u;
    let tile_rows = min(TILE_V / vectors, BLOCK_TILE);
    let own = own_cluster(row);
    var walk = resume(row, in_range);

    // The point in blocks of MAX_V vec4s, each read once per tile; every column's sum of
    // squares carries on from block to block in `squares`, so the features are still added in
    // order.
    var x: array<vec4<f32>, MAX_V>;
    var squares: array<f32, BLOCK_TILE>;
    for (var t0 = params.col_start; t0 < params.col_end; t0 += tile_rows) {
        let count = min(tile_rows, params.col_end - t0);
        load_tile(lid, t0, count, vectors);
        workgroupBarrier();
        if (in_range) {
            for (var b0 = 0u; b0 < vectors; b0 += MAX_V) {
                for (var v = 0u; v < MAX_V; v++) {
                    if (b0 + v < vectors) {
                        x[v] = point_vec(row, b0 + v);
                    }
                }
                for (var r = 0u; r < count; r++) {
                    var sq = select(squares[r], 0.0, b0 == 0u);
                    for (var v = 0u; v < MAX_V; v++) {
                        if (b0 + v < vectors) {
                            sq = add_squares(sq, x[v] - tile[r * vectors + b0 + v]);
                        }
                    }
                    squares[r] = sq;
                }
            }
        }
        for (var r = 0u; r < count; r++) {
            reach(&walk, own, t0 + r);
            if (in_range) {
                add_distance(&walk, squares[r]);
            }
        }
        workgroupBarrier();
    }
    suspend(&walk, own, row, in_range);
}

@compute @workgroup_size(256)
fn silhouette_registers(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let first = (wid.x + wid.y * params.wg_x) * WG * RB + lid;
    let tile_rows = TILE_V / DV;

    // Point first + i·WG: its cluster, its walk, and its features in x[i·DV ..] (zero past the
    // last point, whose walks are neither summed nor kept).
    var own: array<u32, MAX_RB>;
    var walks: array<Walk, MAX_RB>;
    var x: array<vec4<f32>, MAX_V>;
    for (var i = 0u; i < RB; i++) {
        let row = first + i * WG;
        let in_range = row < params.rows;
        own[i] = own_cluster(row);
        walks[i] = resume(row, in_range);
        if (in_range) {
            for (var v = 0u; v < DV; v++) {
                x[i * DV + v] = point_vec(row, v);
            }
        }
    }
    // Every walk of the invocation moves through the same columns, so they all close clusters at
    // the same columns: the next such column is the invocation's.
    var boundary = cluster_end(walks[0].cluster);
    for (var t0 = params.col_start; t0 < params.col_end; t0 += tile_rows) {
        let count = min(tile_rows, params.col_end - t0);
        load_tile(lid, t0, count, DV);
        workgroupBarrier();
        for (var r = 0u; r < count; r++) {
            var sq = vec4<f32>(0.0);
            for (var v = 0u; v < DV; v++) {
                let t = tile[r * DV + v];
                for (var i = 0u; i < RB; i++) {
                    let diff = x[i * DV + v] - t;
                    sq[i] = add_squares(sq[i], diff);
                }
            }
            // Through copies: naga's SPIR-V output fails on a pointer into the array.
            let j = t0 + r;
            if (j >= boundary) {
                for (var i = 0u; i < RB; i++) {
                    var walk = walks[i];
                    reach(&walk, own[i], j);
                    walks[i] = walk;
                }
                boundary = cluster_end(walks[0].cluster);
            }
            for (var i = 0u; i < RB; i++) {
                if (first + i * WG < params.rows) {
                    var walk = walks[i];
                    add_distance(&walk, sq[i]);
                    walks[i] = walk;
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < RB; i++) {
        let row = first + i * WG;
        var walk = walks[i];
        suspend(&walk, own[i], row, row < params.rows);
    }
}
