// Elementwise ops over flat f32 arrays of n elements.
//   add_forward:      out[i] = a[i] + b[i]              (residual add; backward: da = db = dout)
//   axpy_forward:     y[i]   = y[i] + alpha * x[i]      (gradient accumulation, residual backward)
//   scale_forward:    y[i]   = alpha * x[i]             (backward: dx = alpha * dy, same kernel)
// Dispatch: ceil(n / 256) workgroups in x, wrapped into y when above the per-dimension limit.

struct Params {
  n: u32,
  alpha: f32,
  row_stride: u32,  // workgroups per row of the 2-D dispatch grid
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn flat_index(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * p.row_stride + wg.x) * 256u + lid;
}

@compute @workgroup_size(256)
fn add_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wg, lid);
  if (i < p.n) { out[i] = a[i] + b[i]; }
}

@compute @workgroup_size(256)
fn axpy_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wg, lid);
  if (i < p.n) { out[i] = out[i] + p.alpha * a[i]; }
}

@compute @workgroup_size(256)
fn scale_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wg, lid);
  if (i < p.n) { out[i] = p.alpha * a[i]; }
}
