// Batched matmul: out = alpha * op(A) @ op(B) (+ bias) (+ out when ACCUMULATE), f32 accumulation.
//   A is (batch, M, K), or (batch, K, M) when TRANS_A     storage type TA (preamble: f32 | f16)
//   B is (batch, K, N), or (batch, N, K) when TRANS_B     storage type TB (preamble: f32 | f16)
//   bias is (N) f32 (bound to a dummy when !HAS_BIAS), out is (batch, M, N) f32.
//   Batch item z starts at z * stride_{a,b,out} elements (stride 0 broadcasts one matrix).
// Naive equivalent: for z, m, n: out[z,m,n] = alpha * sum_k opA[z,m,k] * opB[z,k,n] + bias[n] (+ out[z,m,n]).
//
// Each workgroup of WG_X x WG_Y invocations computes a TM x TN tile of out (TM = WG_Y * RM,
// TN = 4 * WG_X); each invocation RM rows x 4 columns, held in vec4 registers. K is walked in blocks
// of TK through workgroup memory: As holds op(A)[m0 .. m0+TM, k0 .. k0+TK] as [k][m], Bs holds
// op(B)[k0 .. k0+TK, n0 .. n0+TN] as [k][n], so the inner loop reads a vec4 of each per k and row
// quad. Dispatch: (ceil(N / TN), ceil(M / TM), batch).
//
// Two entry points differ only in how tiles are fetched from storage:
//   matmul_forward       scalar loads, any shape;
//   matmul_forward_vec4  vec4 loads; needs the contiguous dimension of A and of B and both batch
//                        strides to be multiples of 4 (the launcher checks).
// They bind the same slots with scalar and vec4 views (a / a4, b / b4); each uses only its own.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  stride_a: u32,
  stride_b: u32,
  stride_out: u32,
  alpha: f32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;
// Tile shape (the launcher picks one per M): invocations along n and m, rows per invocation
// (1, 2, 4 or 8), and the K block (a multiple of 4).
override WG_X: u32 = 16u;
override WG_Y: u32 = 8u;
override RM: u32 = 8u;
override TK: u32 = 32u;

const MAX_RM = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<TA>;
@group(0) @binding(1) var<storage, read> a4: array<vec4<TA>>;
@group(0) @binding(2) var<storage, read> b: array<TB>;
@group(0) @binding(2) var<storage, read> b4: array<vec4<TB>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// [k][m / 4] and [k][n / 4].
var<workgroup> As: array<vec4<f32>, TK * WG_Y * RM / 4u>;
var<workgroup> Bs: array<vec4<f32>, TK * WG_X>;

fn tm() -> u32 { return WG_Y * RM; }
fn tn() -> u32 { return WG_X * 4u; }
fn threads() -> u32 { return WG_X * WG_Y; }

// op(A)[m, k] of batch item at element offset `base`, 0 outside the matrix.
fn fetch_a(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (TRANS_A) { return f32(a[base + k * p.M + m]); }
  return f32(a[base + m * p.K + k]);
}

// op(B)[k, n], 0 outside the matrix.
fn fetch_b(base: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  if (TRANS_B) { return f32(b[base + n * p.K + k]); }
  return f32(b[base + k * p.N + n]);
}

fn set_as(k: u32, m: u32, v: f32) {
  As[k * (tm() / 4u) + m / 4u][m % 4u] = v;
}

fn set_bs(k: u32, n: u32, v: f32) {
  Bs[k * WG_X + n / 4u][n % 4u] = v;
}

// Fills As and Bs for the K block starting at k0 with scalar loads, walking the contiguous
// dimension of each operand in storage.
fn load_tiles_scalar(t: u32, base_a: u32, base_b: u32, m0: u32, n0: u32, k0: u32) {
  for (var e = t; e < TK * tm(); e += threads()) {
    if (TRANS_A) {
      let k = e / tm();
      let m = e % tm();
      set_as(k, m, fetch_a(base_a, m0 + m, k0 + k));
    } else {
      let m = e / TK;
      let k = e % TK;
      set_as(k, m, fetch_a(base_a, m0 + m, k0 + k));
    }
  }
  for (var e = t; e < TK * tn(); e += threads()) {
    if (TRANS_B) {
      let n = e / TK;
      let k = e % TK;
      set_bs(k, n, fetch_b(base_b, k0 + k, n0 + n));
    } else {
      let k = e / tn();
      let n = e % tn();
      set_bs(k, n, fetch_b(base_b, k0 + k, n0 + n));
    }
  }
}

// Four consecutive elements along an operand's contiguous dimension, starting at element `at`
// (a multiple of 4); zero when the run starts outside the matrix (it then lies wholly outside).
fn fetch_a4(at: u32, inside: bool) -> vec4<f32> {
  if (!inside) { return vec4<f32>(0.0); }
  return vec4<f32>(a4[at / 4u]);
}

fn fetch_b4(at: u32, inside: bool) -> vec4<f32> {
  if (!inside) { return vec4<f32>(0.0); }
  return vec4<f32>(b4[at / 4u]);
}

// Same as load_tiles_scalar with vec4 loads: TK * TM / 4 runs of A and TK * TN / 4 runs of B.
fn load_tiles_vec4(t: u32, base_a: u32, base_b: u32, m0: u32, n0: u32, k0: u32) {
  let mq = tm() / 4u;
  for (var r = t; r < TK * mq; r += threads()) {
    if (TRANS_A) {
      // Run r covers op(A)[m0 + 4j .. +4, k0 + k].
      let k = r / mq;
      let j = r % mq;
      let m = m0 + 4u * j;
      As[k * mq + j] = fetch_a4(base_a + (k0 + k) * p.M + m, m < p.M && k0 + k < p.K);
    } else {
      // Run r covers op(A)[m0 + m, k0 + 4q .. +4].
      let m = r / (TK / 4u);
      let q = r % (TK / 4u);
      let v = fetch_a4(base_a + (m0 + m) * p.K + k0 + 4u * q, m0 + m < p.M && k0 + 4u * q < p.K);
      for (var c = 0u; c < 4u; c++) { set_as(4u * q + c, m, v[c]); }
    }
  }
  for (var r = t; r < TK * WG_X; r += threads()) {
    if (TRANS_B) {
      // Run r covers op(B)[k0 + 4q .. +4, n0 + n].
      let n = r / (TK / 4u);
      let q = r % (TK / 4u);
      let v = fetch_b4(base_b + (n0 + n) * p.K + k0 + 4u * q, n0 + n < p.N && k0 + 4u * q < p.K);
      for (var c = 0u; c < 4u; c++) { set_bs(4u * q + c, n, v[c]); }
    } else {
      // Run r covers op(B)[k0 + k, n0 + 4j .. +4].
      let k = r / WG_X;
      let j = r % WG_X;
      let n = n0 + 4u * j;
      Bs[k * WG_X + j] = fetch_b4(base_b + (k0 + k) * p.N + n, n < p.N && k0 + k < p.K);
    }
  }
}

// acc[i] += As[k][row i of this invocation] * Bs[k][4 columns of this invocation], over the block.
fn multiply_block(tx: u32, ty: u32, acc: ptr<function, array<vec4<f32>, MAX_RM>>) {
  let mq = tm() / 4u;
  for (var k = 0u; k < TK; k++) {
    let bv = Bs[k * WG_X + tx];
    if (RM % 4u == 0u) {
      for (var i = 0u; i < RM / 4u; i++) {
        let av = As[k * mq + ty * (RM / 4u) + i];
        (*acc)[4u * i] += av.x * bv;
        (*acc)[4u * i + 1u] += av.y * bv;
        (*acc)[4u * i + 2u] += av.z * bv;
        (*acc)[4u * i + 3u] += av.w * bv;
      }
    } else {
      for (var i = 0u; i < RM; i++) {
        let r = ty * RM + i;
        (*acc)[i] += As[k * mq + r / 4u][r % 4u] * bv;
      }
    }
  }
}

fn store_tile(tx: u32, ty: u32, base_out: u32, m0: u32, n0: u32, acc: ptr<function, array<vec4<f32>, MAX_RM>>) {
  let n = n0 + tx * 4u;
  var bias4 = vec4<f32>(0.0);
  if (HAS_BIAS) {
    for (var c = 0u; c < 4u; c++) {
      if (n + c < p.N) { bias4[c] = bias[n + c]; }
    }
  }
  for (var i = 0u; i < RM; i++) {
    let m = m0 + ty * RM + i;
    if (m >= p.M) { break; }
    let v = p.alpha * (*acc)[i] + bias4;
    let row = base_out + m * p.N;
    for (var c = 0u; c < 4u; c++) {
      if (n + c < p.N) {
        if (ACCUMULATE) { out[row + n + c] += v[c]; } else { out[row + n + c] = v[c]; }
      }
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.y * WG_X + lid.x;
  let m0 = wg.y * tm();
  let n0 = wg.x * tn();
  let base_a = wg.z * p.stride_a;
  let base_b = wg.z * p.stride_b;
  var acc: array<vec4<f32>, MAX_RM>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    load_tiles_scalar(t, base_a, base_b, m0, n0, k0);
    workgroupBarrier();
    multiply_block(lid.x, lid.y, &acc);
    workgroupBarrier();
  }
  store_tile(lid.x, lid.y, wg.z * p.stride_out, m0, n0, &acc);
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_forward_vec4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.y * WG_X + lid.x;
  let m0 = wg.y * tm();
  let n0 = wg.x * tn();
  let base_a = wg.z * p.stride_a;
  let base_b = wg.z * p.stride_b;
  var acc: array<vec4<f32>, MAX_RM>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    load_tiles_vec4(t, base_a, base_b, m0, n0, k0);
    workgroupBarrier();
    multiply_block(lid.x, lid.y, &acc);
    workgroupBarrier();
  }
  store_tile(lid.x, lid.y, wg.z * p.stride_out, m0, n0, &acc);
}
