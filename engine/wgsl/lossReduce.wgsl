// Reductions of per-token losses (N) under the ignore mask (label == -100), and their backwards.
//   token_mean_forward:  out[0] = sum_{label_i != -100} loss[i] / count   (0 when count == 0),
//                        out[1] = count when `out` has room.             one workgroup
//   token_mean_backward: dloss[i] = scale / count where label_i != -100, else 0.   one workgroup
//   seq_sum_forward:     out[s] = sum_{t, label[s*T+t] != -100} -loss[s*T + t]
//                        (summed completion log-probs; rows are (S, T)).  one workgroup per sequence
//   seq_sum_backward:    dloss[s*T + t] = -dsums[s] where counted, else 0. one invocation per row
// Naive equivalents: crossEntropy.ref.ts maskedTokenMeanRef / sequenceLogprobSumsRef.

const WG: u32 = 256u;
const IGNORE: i32 = -100;

struct Params {
  n: u32,          // rows to reduce over (token mean: N; sequence sums: T per sequence)
  seqs: u32,       // S (sequence kernels)
  scale: f32,      // upstream gradient of the mean (token_mean_backward)
  row_stride: u32, // workgroups per row of the 2-D dispatch grid
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> loss: array<f32>;       // (N)
@group(0) @binding(2) var<storage, read> labels: array<i32>;     // (N)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // forward: (>= 1) or (S); backward: dloss (N)
@group(0) @binding(4) var<storage, read> dsums: array<f32>;      // (S)

var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;

// Tree-sums red_a and red_b across the workgroup; the totals end in slot 0.
fn reduce_pair(lid: u32) {
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      red_a[lid] += red_a[lid + half];
      red_b[lid] += red_b[lid + half];
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn token_mean_forward(@builtin(local_invocation_index) lid: u32) {
  var sum = 0.0;
  var count = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (labels[i] != IGNORE) {
      sum += loss[i];
      count += 1.0;
    }
  }
  red_a[lid] = sum;
  red_b[lid] = count;
  reduce_pair(lid);
  if (lid == 0u) {
    let c = red_b[0];
    out[0] = select(0.0, red_a[0] / c, c > 0.0);
    if (arrayLength(&out) >= 2u) { out[1] = c; }
  }
}

@compute @workgroup_size(WG)
fn token_mean_backward(@builtin(local_invocation_index) lid: u32) {
  var count = 0.0;
  for (var i = lid; i < p.n; i += WG) {
    if (labels[i] != IGNORE) { count += 1.0; }
  }
  red_a[lid] = count;
  red_b[lid] = 0.0;
  reduce_pair(lid);
  let c = red_a[0];
  let g = select(0.0, p.scale / c, c > 0.0);
  for (var i = lid; i < p.n; i += WG) {
    out[i] = select(0.0, g, labels[i] != IGNORE);
  }
}

@compute @workgroup_size(WG)
fn seq_sum_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let s = wg.y * p.row_stride + wg.x;
  if (s >= p.seqs) { return; }
  let base = s * p.n;
  var sum = 0.0;
  for (var t = lid; t < p.n; t += WG) {
    if (labels[base + t] != IGNORE) { sum -= loss[base + t]; }
  }
  red_a[lid] = sum;
  red_b[lid] = 0.0;
  reduce_pair(lid);
  if (lid == 0u) { out[s] = red_a[0]; }
}

@compute @workgroup_size(WG)
fn seq_sum_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + lid;
  if (i >= p.n * p.seqs) { return; }
  out[i] = select(0.0, -dsums[i / p.n], labels[i] != IGNORE);
}
