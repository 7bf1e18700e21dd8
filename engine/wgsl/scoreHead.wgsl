// The reward model's score head (transformers *ForSequenceClassification with num_labels 1: a
// Linear(hidden, 1, bias=False) read at one token per row), forward and backward.
//   hidden (B·T, H) f32 final normed hidden states; w (H) f32 score.weight; pos (B) u32 the token
//   each row is scored at (the rightmost non-pad token, computed on the CPU: scorePositions).
//   score_forward:          rewards[b] = dot(hidden[b·T + pos[b], :], w)            one workgroup per row
//   score_backward_dhidden: dhidden[b·T + t, h] = (t == pos[b]) ? d_rewards[b]·w[h] : 0   (overwritten)
//   score_backward_dweight: dw[h] = (accumulate ? dw[h] : 0) + sum_b d_rewards[b]·hidden[b·T + pos[b], h]
// Naive equivalent: engine/ops/scoreHead.ref.ts.

const WG: u32 = 64u;

struct Params {
  B: u32,
  T: u32,
  H: u32,
  accumulate: u32,  // score_backward_dweight: 1 adds into dw (gradient accumulation)
  row_stride: u32,  // workgroups per row of the 2-D dispatch grid (dhidden)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;         // (B·T, H)
@group(0) @binding(2) var<storage, read> w: array<f32>;              // (H)
@group(0) @binding(3) var<storage, read> pos: array<u32>;            // (B)
@group(0) @binding(4) var<storage, read_write> rewards: array<f32>;  // (B)
@group(0) @binding(5) var<storage, read> d_rewards: array<f32>;      // (B)
@group(0) @binding(6) var<storage, read_write> dhidden: array<f32>;  // (B·T, H)
@group(0) @binding(7) var<storage, read_write> dw: array<f32>;       // (H)

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn score_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let b = wg.x;
  if (b >= p.B) { return; } // uniform per workgroup
  let base = (b * p.T + pos[b]) * p.H;
  var acc = 0.0;
  for (var h = lid; h < p.H; h += WG) {
    acc += hidden[base + h] * w[h];
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { red[lid] += red[lid + half]; }
    workgroupBarrier();
  }
  if (lid == 0u) { rewards[b] = red[0]; }
}

@compute @workgroup_size(256)
fn score_backward_dhidden(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * 256u + lid;
  if (i >= p.B * p.T * p.H) { return; }
  let row = i / p.H;
  let h = i % p.H;
  let b = row / p.T;
  let t = row % p.T;
  dhidden[i] = select(0.0, d_rewards[b] * w[h], t == pos[b]);
}

@compute @workgroup_size(WG)
fn score_backward_dweight(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = gid.x;
  if (h >= p.H) { return; }
  var acc = 0.0;
  if (p.accumulate == 1u) { acc = dw[h]; }
  for (var b = 0u; b < p.B; b++) {
    acc += d_rewards[b] * hidden[(b * p.T + pos[b]) * p.H + h];
  }
  dw[h] = acc;
}
