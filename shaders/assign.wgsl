// Nearest-centroid assignment, fused with argmin: the n×k distance matrix is never written.
//
// The centroids are streamed through workgroup memory in tiles. The search uses ‖c‖² − 2x·c
// (lowest index on ties); the chosen distance is then computed exactly as ‖x − c‖². Used for
// every Lloyd step and for the final assignment.
//
// The entry points keep the centroid tile as zero-padded vec4s and have the same arithmetic per
// row (features summed in order; the padding adds exact zeros):
// - `assign_registers`, for d ≤ 64: each invocation holds RB rows' points in registers, as
//   DV = ⌈d/4⌉ vec4s each (DV and RB are fixed when the pipeline is built), so one broadcast
//   read of a centroid vec4 from the tile feeds 4·RB multiply-adds. A workgroup covers 256·RB
//   rows: invocation `lid` takes rows lid, lid + 256, …, so each of its RB loads is coalesced;
// - `assign_accumulate`, a Lloyd step in one pass: `assign_registers`, then the workgroup's
//   per-cluster partial sums of its own 256·RB rows (its "range"), whose points were just read
//   and are likely still cached. Each invocation owns some (cluster, vec4 of features) pairs
//   and walks the cluster's rows in row order, found through a per-cluster bit mask of each 256
//   rows, with Kahan summation, so the result is deterministic; `fold_ranges` (fold.wgsl) then
//   adds the ranges in groups;
// - `assign`, for any d: one row per invocation, read from memory MAX_V vec4s at a time, each
//   block once per tile of centroids.
//
// Bindings (group 0):
//   0 params     uniform  rows in this chunk, features d, clusters k, workgroups along x,
//                         whether to write the distances (only the final assignment reads them),
//                         slots = k·(d + 1), a 0 the compiler cannot see (`assign_accumulate`),
//                         whether the workgroups take their rows last first (`reverse`), and
//                         whether `labels` holds no labels yet (a new run: all rows changed)
//   1 points     storage  this chunk's points, row-major f32 (rows × d)
//   2 centroids  storage  k × d f32, row-major
//   3 norms      storage  k f32: ‖c‖² of each centroid
//   4 labels     storage  rows u32, read (previous label, unless unset) and written (new label)
//   5 distances  storage  rows f32: ‖x − c‖² to the new label's centroid (when asked for)
//   6 wg_stats   storage  2 f32 per workgroup: Σ distances, number of labels that changed
//   7 partials   storage  `assign_accumulate` only: slots × 2 f32 per workgroup that holds
//                         rows, written: the sum of each slot over the workgroup's rows and its
//                         rounding error, as accumulate.wgsl writes them

struct Params {
    rows: u32,
    dims: u32,
    k: u32,
    wg_x: u32,
    write_distances: u32,
    slots: u32,
    /// Always 0; see `unseen`.
    zero: u32,
    /// 1: the first workgroups dispatched take the last rows (see `rows_block`).
    reverse: u32,
    /// 1: `labels` holds nothing of this run yet; every row counts as changed.
    labels_unset: u32,
}

const WG: u32 = 256u;
/// vec4s of features per point in `assign_registers`: ⌈d/4⌉, at most MAX_V.
override DV: u32 = 4u;
/// Rows per invocation in `assign_registers`: 1 to 4, with RB·DV ≤ MAX_V.
override RB: u32 = 1u;
const MAX_V: u32 = 16u;
/// vec4s of centroid tile.
const TILE_V: u32 = 1024u;
/// Most centroids in a tile of `assign`, which runs past MAX_V vec4s per point:
/// TILE_V / (MAX_V + 1).
const BLOCK_TILE: u32 = 60u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> centroids: array<f32>;
@group(0) @binding(3) var<storage, read> norms: array<f32>;
@group(0) @binding(4) var<storage, read_write> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> distances: array<f32>;
@group(0) @binding(6) var<storage, read_write> wg_stats: array<f32>;
@group(0) @binding(7) var<storage, read_write> partials: array<f32>;

var<workgroup> tile_vectors: array<vec4<f32>, TILE_V>;
var<workgroup> tile_norms: array<f32, TILE_V>;
var<workgroup> sum_distance: array<f32, WG>;
var<workgroup> sum_changed: array<f32, WG>;

/// Records `row`'s new label (and its distance when asked); 1 if the label changed, else 0.
fn record(row: u32, best: u32, distance: f32) -> f32 {
    var changed = 1.0;
    if (params.labels_unset == 0u && labels[row] == best) {
        changed = 0.0;
    }
    labels[row] = best;
    if (params.write_distances != 0u) {
        distances[row] = distance;
    }
    return changed;
}

/// Writes the workgroup's Σ distances and number of changed labels from each invocation's own
/// (a fixed-order tree sum). Called by every invocation, in uniform control flow.
fn finish(lid: u32, wg: u32, own_distance: f32, own_changed: f32) {
    sum_distance[lid] = own_distance;
    sum_changed[lid] = own_changed;
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

/// The block of `per_group` rows that the workgroup at `wid` takes: the blocks in the order the
/// grid is dispatched, or, with `params.reverse`, last first, so that a pass can start where the
/// previous pass over the same points ended and find that part still cached and its addresses
/// still translated. Results are stored by block, so the direction changes no value. Spare
/// workgroups of a two-dimensional grid (past the last block) keep their own number.
fn rows_block(wid: vec3<u32>, per_group: u32) -> u32 {
    let wg = wid.x + wid.y * params.wg_x;
    let blocks = (params.rows + per_group - 1u) / per_group;
    if (params.reverse != 0u && wg < blocks) {
        return blocks - 1u - wg;
    }
    return wg;
}

@compute @workgroup_size(256)
fn assign(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let wg = rows_block(wid, WG);
    let row = wg * WG + lid;
    let in_range = row < params.rows;
    let k = params.k;
    let vectors = (params.dims + 3u) / 4u;
    let per_tile = min(TILE_V / vectors, BLOCK_TILE);

    var best = 0u;
    var best_score = 3.402823e38;
    // The point in blocks of MAX_V vec4s, each read once per tile; every centroid's product
    // carries on from block to block in `dots`, so the features are still added in order.
    var x: array<vec4<f32>, MAX_V>;
    var dots: array<f32, BLOCK_TILE>;
    for (var c0 = 0u; c0 < k; c0 += per_tile) {
        let count = min(per_tile, k - c0);
        load_tile(lid, c0, count, vectors);
        workgroupBarrier();
        if (in_range) {
            for (var b0 = 0u; b0 < vectors; b0 += MAX_V) {
                for (var v = 0u; v < MAX_V; v++) {
                    if (b0 + v < vectors) {
                        x[v] = point_vec(row, b0 + v);
                    }
                }
                for (var c = 0u; c < count; c++) {
                    var dot = select(dots[c], 0.0, b0 == 0u);
                    for (var v = 0u; v < MAX_V; v++) {
                        if (b0 + v < vectors) {
                            dot = add_products(dot, x[v], tile_vectors[c * vectors + b0 + v]);
                        }
                    }
                    dots[c] = dot;
                }
            }
            for (var c = 0u; c < count; c++) {
                let score = tile_norms[c] - 2.0 * dots[c];
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
        for (var v = 0u; v < vectors; v++) {
            let diff = point_vec(row, v) - centroid_vec(best, v);
            distance = add_squares(distance, diff);
        }
        changed = record(row, best, distance);
    }
    finish(lid, wg, distance, changed);
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

/// acc + a.x·b.x + … + a.w·b.w, added in that order.
fn add_products(acc: f32, a: vec4<f32>, b: vec4<f32>) -> f32 {
    var sum = acc;
    sum += a.x * b.x;
    sum += a.y * b.y;
    sum += a.z * b.z;
    sum += a.w * b.w;
    return sum;
}

/// Feature j of point `row`, or 0 past the last feature.
fn point_at(row: u32, j: u32) -> f32 {
    if (j < params.dims) {
        return points[row * params.dims + j];
    }
    return 0.0;
}

/// Feature j of centroid c, or 0 past the last feature.
fn centroid_at(c: u32, j: u32) -> f32 {
    if (j < params.dims) {
        return centroids[c * params.dims + j];
    }
    return 0.0;
}

/// Features 4v..4v+3 of point `row`, zero-padded.
fn point_vec(row: u32, v: u32) -> vec4<f32> {
    let j = 4u * v;
    return vec4<f32>(point_at(row, j), point_at(row, j + 1u), point_at(row, j + 2u), point_at(row, j + 3u));
}

/// Loads centroids c0..c0 + count into the tile (`vectors` vec4s each) with their norms.
fn load_tile(lid: u32, c0: u32, count: u32, vectors: u32) {
    for (var i = lid; i < count * vectors; i += WG) {
        tile_vectors[i] = centroid_vec(c0 + i / vectors, i % vectors);
    }
    for (var i = lid; i < count; i += WG) {
        tile_norms[i] = norms[c0 + i];
    }
}

/// Features 4v..4v+3 of centroid c, zero-padded.
fn centroid_vec(c: u32, v: u32) -> vec4<f32> {
    let j = 4u * v;
    return vec4<f32>(centroid_at(c, j), centroid_at(c, j + 1u), centroid_at(c, j + 2u), centroid_at(c, j + 3u));
}

@compute @workgroup_size(256)
fn assign_registers(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    assign_block(lid, rows_block(wid, WG * RB));
}

/// `assign_registers` for workgroup `wg`: records its rows' labels and its stats, and returns
/// the labels of the invocation's RB rows. Called by every invocation, in uniform control flow.
fn assign_block(lid: u32, wg: u32) -> vec4<u32> {
    let first = wg * WG * RB + lid;
    let k = params.k;
    let per_tile = TILE_V / DV;

    // Row first + i·WG in x[i·DV ..]; rows past the end stay zero and are not recorded.
    var x: array<vec4<f32>, MAX_V>;
    for (var i = 0u; i < RB; i++) {
        let row = first + i * WG;
        if (row < params.rows) {
            for (var v = 0u; v < DV; v++) {
                x[i * DV + v] = point_vec(row, v);
            }
        }
    }

    var best = vec4<u32>(0u);
    var best_score = vec4<f32>(3.402823e38);
    for (var c0 = 0u; c0 < k; c0 += per_tile) {
        let count = min(per_tile, k - c0);
        load_tile(lid, c0, count, DV);
        workgroupBarrier();
        for (var c = 0u; c < count; c++) {
            var dot = vec4<f32>(0.0);
            for (var v = 0u; v < DV; v++) {
                let t = tile_vectors[c * DV + v];
                for (var i = 0u; i < RB; i++) {
                    dot[i] = add_products(dot[i], x[i * DV + v], t);
                }
            }
            let norm = tile_norms[c];
            for (var i = 0u; i < RB; i++) {
                let score = norm - 2.0 * dot[i];
                if (score < best_score[i]) {
                    best_score[i] = score;
                    best[i] = c0 + c;
                }
            }
        }
        workgroupBarrier();
    }

    // Each row's exact distance, added to the invocation's sums in row order.
    var own_distance = 0.0;
    var own_changed = 0.0;
    for (var i = 0u; i < RB; i++) {
        let row = first + i * WG;
        if (row < params.rows) {
            var distance = 0.0;
            for (var v = 0u; v < DV; v++) {
                let diff = x[i * DV + v] - centroid_vec(best[i], v);
                distance = add_squares(distance, diff);
            }
            own_distance += distance;
            own_changed += record(row, best[i], distance);
        }
    }
    finish(lid, wg, own_distance, own_changed);
    return best;
}

/// `t` unchanged, through an OR with `params.zero` (always 0), which the compiler cannot see
/// through. WGSL lets a compiler reassociate float arithmetic, and Mesa's does turn Kahan's
/// (t − sum) − y with t = sum + y into 0, which silently makes the sum a plain one.
fn unseen(t: vec4<f32>) -> vec4<f32> {
    return bitcast<vec4<f32>>(bitcast<vec4<u32>>(t) | vec4<u32>(params.zero));
}

/// Words of a 256-row bit mask.
const WORDS: u32 = WG / 32u;
/// Most clusters `assign_accumulate` takes (its masks are MASK_K × WORDS words).
const MASK_K: u32 = 256u;
/// Most (cluster, vec4 of features) pairs an invocation of `assign_accumulate` owns:
/// k·DV ≤ 256 · MAX_OWN.
const MAX_OWN: u32 = 8u;

var<workgroup> masks: array<atomic<u32>, MASK_K * WORDS>;

@compute @workgroup_size(256)
fn assign_accumulate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let wg = rows_block(wid, WG * RB);
    for (var w = lid; w < MASK_K * WORDS; w += WG) {
        atomicStore(&masks[w], 0u);
    }
    // assign_block's barriers order the clearing before the first mask is set.
    let best = assign_block(lid, wg);

    // Invocation lid owns the pairs (c, v) = lid + o·256 (c = pair / DV): features 4v..4v + 3
    // of cluster c, summed as a vec4 (each component as a scalar Kahan sum would be), and for
    // v = 0 also the cluster's count.
    let pairs = params.k * DV;
    let first = wg * WG * RB;
    let word = lid / 32u;
    let bit = 1u << (lid % 32u);
    var sum: array<vec4<f32>, MAX_OWN>;
    var compensation: array<vec4<f32>, MAX_OWN>;
    var count: array<u32, MAX_OWN>;
    // The rows first + i·256 .. first + i·256 + 255, one batch at a time, so each pair sees its
    // cluster's rows in row order.
    for (var i = 0u; i < RB; i++) {
        let base = first + i * WG;
        let live = base + lid < params.rows;
        if (live) {
            atomicOr(&masks[best[i] * WORDS + word], bit);
        }
        workgroupBarrier();
        for (var o = 0u; o < MAX_OWN; o++) {
            let pair = lid + o * WG;
            if (pair < pairs) {
                let cluster = pair / DV;
                let v = pair % DV;
                for (var w = 0u; w < WORDS; w++) {
                    var m = atomicLoad(&masks[cluster * WORDS + w]);
                    count[o] += countOneBits(m);
                    // At most 32 rounds: each clears the lowest set bit.
                    for (var r = 0u; r < 32u && m != 0u; r++) {
                        let row = base + w * 32u + countTrailingZeros(m);
                        m &= m - 1u;
                        let y = point_vec(row, v) - compensation[o];
                        let t = sum[o] + y;
                        compensation[o] = (unseen(t) - sum[o]) - y;
                        sum[o] = t;
                    }
                }
            }
        }
        workgroupBarrier();
        if (live) {
            atomicAnd(&masks[best[i] * WORDS + word], ~bit);
        }
    }
    // Slot (c, j) of the partials is c·(d + 1) + j; (c, d) is the count. Each slot is the sum
    // and its rounding error (the negated compensation). The grid's spare workgroups past the
    // last row have no range.
    let d = params.dims;
    for (var o = 0u; o < MAX_OWN && first < params.rows; o++) {
        let pair = lid + o * WG;
        if (pair < pairs) {
            let cluster = pair / DV;
            let v = pair % DV;
            let out = wg * params.slots + cluster * (d + 1u);
            for (var t = 0u; t < 4u && 4u * v + t < d; t++) {
                let slot = 2u * (out + 4u * v + t);
                partials[slot] = sum[o][t];
                partials[slot + 1u] = -compensation[o][t];
            }
            if (v == 0u) {
                partials[2u * (out + d)] = f32(count[o]);
                partials[2u * (out + d) + 1u] = 0.0;
            }
        }
    }
}
