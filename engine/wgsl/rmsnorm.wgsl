// RMSNorm, Hugging Face LlamaRMSNorm in f32:
//   rstd[r] = 1 / sqrt(mean_j(x[r, j]^2) + eps)
//   y[r, j] = x[r, j] * rstd[r] * weight[j]
// x, y, dy, dx are (rows, dim) f32 rows (all in one layout): row r starts at element
//   (r / group_rows) * group_stride + row_off + (r % group_rows) * dim
// (contiguous: group_rows 1, group_stride dim, row_off 0; Qwen3's per-head q norm over the q
// columns of fused q|k|v rows: group_rows n_heads, group_stride qd + 2 kd, row_off 0);
// weight is (dim) of storage type W (f32 or f16, from the preamble); rstd is (rows) f32, saved
// by the forward for the backward.
// Backward (naive equivalent: rmsnormBackwardRef in engine/ops/rmsnorm.ref.ts):
//   dx[r, j] = rstd * (w[j] dy[r, j] - x[r, j] * rstd^2 * mean_k(dy[r, k] w[k] x[r, k]))
//   dWeight[j] += sum_r dy[r, j] * x[r, j] * rstd[r]
// Row kernels run one 256-wide workgroup per row (reduction in workgroup memory, any dim); the
// row index is wg.y * row_stride + wg.x so more than 65535 rows fit in a dispatch.

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
  row_stride: u32,  // workgroups per row of the 2-D dispatch grid
  chunk_rows: u32,  // dweight_partial: rows summed per partial
  chunks: u32,      // dweight_reduce: number of partials per column
  group_rows: u32,  // row layout, see above
  group_stride: u32,
  row_off: u32,
}

override ACCUMULATE: bool = false;  // backward: dx += instead of dx =

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<W>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;  // y (forward) or dx (backward)
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;  // (chunks, dim) scratch
@group(0) @binding(7) var<storage, read_write> dweight: array<f32>;  // (dim)

var<workgroup> red: array<f32, WG>;

fn row_base(row: u32) -> u32 {
  return (row / p.group_rows) * p.group_stride + p.row_off + (row % p.group_rows) * p.dim;
}

// Sum of `v` over the workgroup; every invocation gets the total.
fn workgroup_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

// y = x * rstd * weight; writes rstd. x, y: (rows, dim).
@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * p.row_stride + wg.x;
  if (row >= p.rows) { return; }  // uniform per workgroup: barriers stay uniform
  let base = row_base(row);
  var ss = 0.0;
  for (var j = lid; j < p.dim; j += WG) {
    let v = x[base + j];
    ss += v * v;
  }
  let r = inverseSqrt(workgroup_sum(lid, ss) / f32(p.dim) + p.eps);
  if (lid == 0u) { rstd[row] = r; }
  for (var j = lid; j < p.dim; j += WG) {
    out[base + j] = (x[base + j] * r) * f32(weight[j]);
  }
}

// dx = rstd * (w dy - x rstd^2 mean(dy w x)), overwriting or adding into dx. All (rows, dim).
@compute @workgroup_size(WG)
fn rmsnorm_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * p.row_stride + wg.x;
  if (row >= p.rows) { return; }
  let base = row_base(row);
  var dot = 0.0;
  for (var j = lid; j < p.dim; j += WG) {
    dot += dy[base + j] * f32(weight[j]) * x[base + j];
  }
  let r = rstd[row];
  let c = workgroup_sum(lid, dot) / f32(p.dim) * r * r;
  for (var j = lid; j < p.dim; j += WG) {
    var g = r * (dy[base + j] * f32(weight[j]) - x[base + j] * c);
    if (ACCUMULATE) { g += out[base + j]; }
    out[base + j] = g;
  }
}

// partial[c, j] = sum over rows r in chunk c of dy[r, j] * x[r, j] * rstd[r].
// Grid: (ceil(dim / 256), chunks); one invocation per (column, chunk), fixed row order.
@compute @workgroup_size(WG)
fn rmsnorm_backward_dweight_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wg.x * WG + lid;
  if (j >= p.dim) { return; }
  let c = wg.y;
  let r0 = c * p.chunk_rows;
  let r1 = min(r0 + p.chunk_rows, p.rows);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) {
    acc += dy[row_base(r) + j] * x[row_base(r) + j] * rstd[r];
  }
  partial[c * p.dim + j] = acc;
}

// dweight[j] += sum_c partial[c, j], chunks in order (deterministic). Grid: ceil(dim / 256).
@compute @workgroup_size(WG)
fn rmsnorm_backward_dweight_reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = wg.x * WG + lid;
  if (j >= p.dim) { return; }
  var acc = 0.0;
  for (var c = 0u; c < p.chunks; c++) {
    acc += partial[c * p.dim + j];
  }
  dweight[j] = dweight[j] + acc;
}
