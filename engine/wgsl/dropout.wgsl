// Inverted dropout with a counter-based hash RNG: no mask buffer, the same (seed, index) always
// gives the same keep/drop decision, so the backward regenerates the forward's mask.
//   keep[i] = hash(seed, i) >= threshold        threshold = round(p * 2^32), so P(drop) = p
//   y[i]    = x[i] * keep[i] * scale            scale = 1 / (1 - p)  (0 when p = 1)
//   dx[i]   = dy[i] * keep[i] * scale           (the same formula on the gradient)
// x, y, dy, dx are (n) f32. The *_inplace entry points bind one read_write buffer (y = x, dx = dy).
// dropout_backward_sum: dx[i] += sum over z < items of parts[z * n + i] * keep_scale(seed_z, i),
//   seed_z = dropout_seed(seed, z): the input gradient of a fused LoRA group whose modules share an
//   input but each drop it with their own mask (parts[z] = g_z A_z).
// Flat index = (wg.y * row_stride + wg.x) * 256 + lid. Naive equivalent: dropout.ref.ts.

struct Params {
  n: u32,
  seed: u32,
  threshold: u32,
  scale: f32,
  row_stride: u32,
  items: u32,       // dropout_backward_sum: masked parts summed into dx
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// pcg and dropout_keep_scale come from dropoutHash.wgsl (prepended by ops/dropout.ts).
fn keep_scale(i: u32) -> f32 {
  return dropout_keep_scale(p.seed, p.threshold, p.scale, i);
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

@compute @workgroup_size(256)
fn dropout_backward_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = index(wg, lid);
  if (i >= p.n) { return; }
  var acc = 0.0;
  for (var z = 0u; z < p.items; z++) {
    acc += src[z * p.n + i] * dropout_keep_scale(dropout_seed(p.seed, z), p.threshold, p.scale, i);
  }
  dst[i] = dst[i] + acc;
}
