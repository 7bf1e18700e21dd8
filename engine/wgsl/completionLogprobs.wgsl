// Per-row completion log-prob sums that start at a per-row token, and the backward that combines
// their gradient with that of a token-mean NLL over the first rows (ORPO: the whole chosen
// sequences, prompt included; SimPO/CPO: the chosen completions). Rows are (S, T); loss is the
// per-token -log p(label) (0 where label == -100); labels are already shifted (label t = ids[t+1]).
//   completion_sums_forward: over t with labels[s,t] != -100 and t + 1 >= start[s]
//                            (the token predicted at t is a completion token):
//                            sums[s] = sum -loss[s,t], counts[s] = how many.   one workgroup per row
//   completion_nll_backward: dloss[s,t] = (counted and t + 1 >= start[s] ? -d_sums[s] : 0)
//                            + (labels[s,t] != -100 and s < nll_rows ? nll_scale / nll_stats[1] : 0)
//                            with nll_stats = [mean, count] from maskedTokenMean over the first
//                            nll_rows rows.                                     one invocation per token
// Naive equivalents: engine/ops/completionLogprobs.ref.ts.

const WG: u32 = 256u;
const IGNORE: i32 = -100;

struct Params {
  T: u32,
  S: u32,
  nll_rows: u32,    // rows [0, nll_rows) carry the NLL term (0: none)
  row_stride: u32,  // workgroups per row of the 2-D dispatch grid
  nll_scale: f32,   // upstream gradient of the NLL mean
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> loss: array<f32>;         // (S, T)
@group(0) @binding(2) var<storage, read> labels: array<i32>;       // (S, T)
@group(0) @binding(3) var<storage, read> starts: array<u32>;       // (S) first completion token of each row
@group(0) @binding(4) var<storage, read_write> sums: array<f32>;   // (S)
@group(0) @binding(5) var<storage, read_write> counts: array<f32>; // (S)
@group(0) @binding(6) var<storage, read> d_sums: array<f32>;       // (S)
@group(0) @binding(7) var<storage, read_write> dloss: array<f32>;  // (S, T)
@group(0) @binding(8) var<storage, read> nll_stats: array<f32>;    // (2) [mean, count]

var<workgroup> red_sum: array<f32, WG>;
var<workgroup> red_count: array<f32, WG>;

fn in_completion(s: u32, t: u32) -> bool {
  return t + 1u >= starts[s];
}

@compute @workgroup_size(WG)
fn completion_sums_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.y * p.row_stride + wg.x;
  if (s >= p.S) { return; } // uniform per workgroup
  var sum = 0.0;
  var count = 0.0;
  for (var t = lid; t < p.T; t += WG) {
    let i = s * p.T + t;
    if (labels[i] != IGNORE && in_completion(s, t)) {
      sum -= loss[i];
      count += 1.0;
    }
  }
  red_sum[lid] = sum;
  red_count[lid] = count;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      red_sum[lid] += red_sum[lid + half];
      red_count[lid] += red_count[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    sums[s] = red_sum[0];
    counts[s] = red_count[0];
  }
}

@compute @workgroup_size(WG)
fn completion_nll_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + lid;
  if (i >= p.S * p.T) { return; }
  let s = i / p.T;
  let t = i % p.T;
  var g = 0.0;
  if (labels[i] != IGNORE) {
    if (in_completion(s, t)) { g -= d_sums[s]; }
    if (s < p.nll_rows) {
      let n = nll_stats[1];
      if (n > 0.0) { g += p.nll_scale / n; }
    }
  }
  dloss[i] = g;
}
