// SwiGLU activation of the Llama MLP, over flat f32 arrays of n elements:
//   h = silu(gate) * up,  silu(g) = g * sigmoid(g)
// Backward (naive equivalent: swigluBackwardRef in engine/ops/swiglu.ref.ts):
//   dGate = dh * up * sigmoid(g) * (1 + g * (1 - sigmoid(g)))
//   dUp   = dh * silu(g)
// gate, up, h, dh, dGate, dUp are (n) = (tokens, intermediate) flattened.
// One invocation per element; flat index = (wg.y * row_stride + wg.x) * 256 + lid.

struct Params {
  n: u32,
  row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> h: array<f32>;       // forward output
@group(0) @binding(4) var<storage, read> dh: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_gate: array<f32>;
@group(0) @binding(6) var<storage, read_write> d_up: array<f32>;

// 1 / (1 + exp(-g)) without overflowing exp for large |g|.
fn sigmoid(g: f32) -> f32 {
  let e = exp(-abs(g));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
}

@compute @workgroup_size(256)
fn swiglu_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let g = gate[i];
  h[i] = g * sigmoid(g) * up[i];
}

@compute @workgroup_size(256)
fn swiglu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let g = gate[i];
  let s = sigmoid(g);
  let d = dh[i];
  d_gate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  d_up[i] = d * g * s;
}
