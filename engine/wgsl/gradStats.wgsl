// Global gradient statistics for one optimizer step, without float atomics and deterministically.
//   stats is (4): [0] sum of g^2 over every gradient buffer, [1] global L2 norm, [2] clip coefficient,
//                 [3] non-finite flag (0.0 or 1.0).
//   partials is (2 * slots): per workgroup of the partial pass, (sum of squares, non-finite flag).
//
// One gradStatsAccumulate(grad (n)) is, naively:
//   stats[0] += sum_i grad[i]^2 ; stats[3] = max(stats[3], any_i(!isfinite(grad[i])))
// done as a 2-level reduction whose shape depends only on the sequence of n's (bit-reproducible):
//   gradstats_partial:   k workgroups (k a function of n); workgroup w sums grad[i]^2 over
//                        i = w*256 + lid + j*(k*256) in a fixed tree into partials[base + w]. Each
//                        gradient buffer of a step gets its own slots [base, base + k).
//   gradstats_finalize:  one workgroup adds partials[0..count) in a fixed tree into stats[0] / stats[3],
//                        then norm = sqrt(stats[0]); clip = max_norm > 0 ? min(1, max_norm / (norm + 1e-6)) : 1.
//   gradstats_combine:   the same sum without the norm, for a buffer that did not fit the slots: it adds
//                        partials[base..base+k) into stats right away.
// Dispatches in a compute pass (and command buffers in a queue) run in recording order.

override ACCUMULATE_SUM: bool = true;  // false: flag only (loss values): the partial sum is 0

const WG: u32 = 256u;

struct Params {
  n: u32,          // partial: elements; combine / finalize: partials to add
  k: u32,          // partial: workgroups of this pass
  base: u32,       // first partials slot
  max_norm: f32,   // finalize only; <= 0 disables clipping
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

var<workgroup> wg_sum: array<f32, WG>;
var<workgroup> wg_flag: array<u32, WG>;

// Tests the exponent bits: `x != x` is optimised away by some compilers.
fn non_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

// Fixed-order tree over the workgroup; the result is in wg_sum[0] / wg_flag[0].
fn tree_reduce(lid: u32) {
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      wg_sum[lid] = wg_sum[lid] + wg_sum[lid + s];
      wg_flag[lid] = wg_flag[lid] | wg_flag[lid + s];
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn gradstats_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let stride = p.k * WG;
  var sum = 0.0;
  var flag = 0u;
  for (var i = wg.x * WG + lid; i < p.n; i = i + stride) {
    let g = values[i];
    if (ACCUMULATE_SUM) { sum = sum + g * g; }
    flag = flag | select(0u, 1u, non_finite(g));
  }
  wg_sum[lid] = sum;
  wg_flag[lid] = flag;
  tree_reduce(lid);
  if (lid == 0u) {
    partials[2u * (p.base + wg.x)] = wg_sum[0];
    partials[2u * (p.base + wg.x) + 1u] = f32(wg_flag[0]);
  }
}

// Adds partials[base .. base + n) into stats[0] and stats[3] (fixed order); every thread returns
// after the tree, thread 0 having written stats.
fn combine_into_stats(lid: u32) {
  var sum = 0.0;
  var flag = 0u;
  for (var w = lid; w < p.n; w = w + WG) {
    sum = sum + partials[2u * (p.base + w)];
    flag = flag | select(0u, 1u, partials[2u * (p.base + w) + 1u] != 0.0);
  }
  wg_sum[lid] = sum;
  wg_flag[lid] = flag;
  tree_reduce(lid);
  if (lid == 0u) {
    stats[0] = stats[0] + wg_sum[0];
    if (wg_flag[0] != 0u) { stats[3] = 1.0; }
  }
}

@compute @workgroup_size(WG)
fn gradstats_combine(@builtin(local_invocation_index) lid: u32) {
  combine_into_stats(lid);
}

@compute @workgroup_size(WG)
fn gradstats_finalize(@builtin(local_invocation_index) lid: u32) {
  combine_into_stats(lid);
  if (lid != 0u) { return; }
  let sum = stats[0];
  let norm = sqrt(sum);
  // An overflowed sum of squares (|g| ~ 1e19) is as unusable as a NaN: flag it too.
  let bad = stats[3] != 0.0 || non_finite(sum);
  var clip = 1.0;
  if (bad) {
    clip = 0.0;
  } else if (p.max_norm > 0.0) {
    clip = min(1.0, p.max_norm / (norm + 1e-6));
  }
  stats[1] = norm;
  stats[2] = clip;
  stats[3] = select(0.0, 1.0, bad);
}
