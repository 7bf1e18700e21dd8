// Backward of the LM head + cross-entropy (ops/crossEntropy.ts) from the forward's softmax-weighted
// mean of the LM-head rows E (N, H) (crossEntropy.wgsl), with no logits recomputed:
//   dHidden[i, :] = sum_v (softmax_iv - [v == label_i]) * dLoss_i * W[v, :]
//                 = dLoss_i * (E[i, :] - W[label_i, :])          (0 for ignored rows, label -100)
// in place over E. The weight (V, H) arrives in row chunks, one dispatch each, read through
// w_load (ops/operands.ts: f32 or packed f16 / bf16): the first dispatch writes every row
// (subtracting W[label] where the label lies in its chunk), later ones subtract g * W[label] for
// the rows whose label lies in theirs. A label outside [0, V) (the forward's loss is NaN) gets
// dLoss * E. Naive equivalent: lmHeadCrossEntropyBackwardRef (crossEntropy.ref.ts).
// Dispatch: one invocation per element of dHidden, flat index (wg.y * row_stride + wg.x) * 256 + lid.

const WG: u32 = 256u;
const IGNORE: i32 = -100;

struct Params {
  rows: u32,       // N
  width: u32,      // H
  row_start: u32,  // vocabulary row of the chunk's first weight row
  chunk_rows: u32, // weight rows in this chunk
  first: u32,      // 1: write every row; 0: only subtract this chunk's label rows
  row_stride: u32,
  w_off: u32,      // w_load's element offset and row stride (H)
  w_ld: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> labels: array<i32>;          // (N)
@group(0) @binding(2) var<storage, read> dloss: array<f32>;           // (N)
@group(0) @binding(3) var<storage, read_write> e_dhidden: array<f32>; // (N, H): E in, dHidden out
// binding 4: the weight chunk (w_load, from the preamble)

@compute @workgroup_size(WG)
fn ce_backward_hidden(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + lid;
  if (i >= p.rows * p.width) { return; }
  let row = i / p.width;
  let h = i % p.width;
  let label = labels[row];
  if (label == IGNORE) {
    if (p.first == 1u) { e_dhidden[i] = 0.0; }
    return;
  }
  let g = dloss[row];
  // label - row_start wraps below row_start, so one unsigned compare checks both ends.
  let rel = u32(label) - p.row_start;
  let inside = label >= 0 && rel < p.chunk_rows;
  var w = 0.0;
  if (inside) { w = w_load(0u, rel, h); }
  if (p.first == 1u) {
    e_dhidden[i] = g * (e_dhidden[i] - w);
  } else if (inside) {
    e_dhidden[i] = e_dhidden[i] - g * w;
  }
}
