// Optimizer updates over flat f32 tensors of n elements, after gradstats_finalize.
//   param, grad, m, v are (n); stats is (4) = [sum g^2, norm, clip, non-finite flag] (gradStats.wgsl).
// Every kernel returns without writing when stats[3] != 0 (the step is skipped: NaN/Inf seen).
//
// adamw_step, torch.optim.AdamW (amsgrad=False, maximize=False) written out as torch computes it:
//   g = grad * clip
//   param = param * (1 - lr*wd)
//   m = lerp(m, g, 1 - beta1)                 ( = beta1*m + (1-beta1)*g )
//   v = beta2*v + (1-beta2)*g*g
//   param = param - step_size * m / (sqrt(v) / bc2_sqrt + eps)
// with step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t) computed on the CPU in float64.
// sgd_step: param = param - lr * grad * clip   (no momentum, no weight decay)
// Dispatch: ceil(n / 256) workgroups in x, wrapped into y when above the per-dimension limit.

struct Params {
  n: u32,
  row_stride: u32,  // workgroups per row of the 2-D dispatch grid
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  decay: f32,       // 1 - lr * weight_decay
  step_size: f32,   // lr / (1 - beta1^t)
  bc2_sqrt: f32,    // sqrt(1 - beta2^t)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

fn flat_index(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * p.row_stride + wg.x) * 256u + lid;
}

@compute @workgroup_size(256)
fn adamw_step(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wg, lid);
  if (i >= p.n || stats[3] != 0.0) { return; }
  let g = grad[i] * stats[2];
  let mi = m[i] + (1.0 - p.beta1) * (g - m[i]);
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  let denom = sqrt(vi) / p.bc2_sqrt + p.eps;
  param[i] = param[i] * p.decay - p.step_size * mi / denom;
  m[i] = mi;
  v[i] = vi;
}

@compute @workgroup_size(256)
fn sgd_step(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wg, lid);
  if (i >= p.n || stats[3] != 0.0) { return; }
  param[i] = param[i] - p.lr * (grad[i] * stats[2]);
}
