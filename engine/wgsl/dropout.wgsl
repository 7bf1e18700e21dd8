// Inverted dropout with a counter-based hash RNG: no mask buffer, the same (seed, index) always
// gives the same keep/drop decision, so the backward regenerates the forward's mask.
//   keep[i] = hash(seed, i) >= threshold        threshold = round(p * 2^32), so P(drop) = p
//   y[i]    = x[i] * keep[i] * scale            scale = 1 / (1 - p)  (0 when p = 1)
//   dx[i]   = dy[i] * keep[i] * scale           (the same formula on the gradient)
// x, y, dy, dx are (n) f32. The *_inplace entry points bind one read_write buffer (y = x, dx = dy).
// Flat index = (wg.y * row_stride + wg.x) * 256 + lid. Naive equivalent: dropout.ref.ts.

struct Params {
  n: u32,
  seed: u32,
  threshold: u32,
  scale: f32,
  row_stride: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// PCG-RXS-M-XS 32-bit output permutation (Jarzynski & Olano, "Hash Functions for GPU Rendering").
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn keep_scale(i: u32) -> f32 {
  let h = pcg(pcg(i ^ pcg(p.seed)) + p.seed);
  return select(0.0, p.scale, h >= p.threshold);
}

fn index(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * p.row_stride + wg.x) * 256u + lid;
}

@compute @workgroup_size(256)
fn dropout_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i < p.n) { dst[i] = src[i] * keep_scale(i); }
}

@compute @workgroup_size(256)
fn dropout_forward_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i < p.n) { dst[i] = dst[i] * keep_scale(i); }
}

@compute @workgroup_size(256)
fn dropout_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i < p.n) { dst[i] = src[i] * keep_scale(i); }
}

@compute @workgroup_size(256)
fn dropout_backward_inplace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i < p.n) { dst[i] = dst[i] * keep_scale(i); }
}
