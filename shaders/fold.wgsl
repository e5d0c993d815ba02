// Folds the per-range partial sums of `accumulate` into a few groups of consecutive ranges, so
// that a Lloyd step reads back about √ranges rows of partials instead of one per range.
//
// Workgroup (g, b) folds ranges g·per_group .. min((g + 1)·per_group, ranges) for the 256 slots
// of block b. Each invocation owns one slot and adds its ranges' sums in order, keeping the
// rounding error of every addition (Neumaier's variant of Kahan summation, which also keeps a
// small range between two large ones that cancel) together with the ranges' own rounding
// errors, then writes the sum and the error: the group's total is sum + error, which the host
// takes in f64 (the groups in order), so folding loses next to nothing beside reading every
// range. The counts are whole numbers below 2²⁴ per group and add exactly.
//
// Bindings (group 0):
//   0 params    uniform  slots = k·(d + 1), ranges, ranges per group, groups, and a 0 the
//                        compiler cannot see
//   1 partials  storage  ranges × slots × 2 f32: (sum, rounding error) per range and slot
//                        (accumulate's output)
//   2 folded    storage  groups × slots × 2 f32, written: (sum, error) per group and slot

struct Params {
    slots: u32,
    ranges: u32,
    per_group: u32,
    groups: u32,
    /// Always 0; see `unseen`.
    zero: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> folded: array<f32>;

@compute @workgroup_size(256)
fn fold_ranges(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let group = wid.x;
    let slot = wid.y * 256u + lid;
    if (slot >= params.slots || group >= params.groups) {
        return;
    }
    let first = group * params.per_group;
    let last = min(first + params.per_group, params.ranges);
    var sum = 0.0;
    var error = 0.0;
    for (var r = first; r < last; r++) {
        let at = 2u * (r * params.slots + slot);
        let x = partials[at];
        error += partials[at + 1u];
        let t = sum + x;
        // What t lost of the smaller of the two.
        if (abs(sum) >= abs(x)) {
            error += (sum - unseen(t)) + x;
        } else {
            error += (x - unseen(t)) + sum;
        }
        sum = t;
    }
    let out = 2u * (group * params.slots + slot);
    folded[out] = sum;
    folded[out + 1u] = error;
}

/// `t` unchanged, through an OR with `params.zero` (always 0), which the compiler cannot see
/// through. WGSL lets a compiler reassociate float arithmetic, which may turn (sum − t) + x with
/// t = sum + x into 0 (Mesa's does so to Kahan's form of it).
fn unseen(t: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(t) | params.zero);
}
