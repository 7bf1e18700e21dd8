// Batched matmul on subgroup matrices (tensor cores): out = alpha * op(A) @ op(B) (+ bias) (+ out
// when ACCUMULATE), inputs rounded to SMT (f16, or f32 on f32-only configs), f32 accumulation.
// Same operands, params, bindings and naive equivalent as matmul.wgsl:
//   A is (batch, M, K), or (batch, K, M) when TRANS_A     storage type TA (f32 | f16)
//   B is (batch, K, N), or (batch, N, K) when TRANS_B     storage type TB (f32 | f16)
//   bias is (N) f32 (a dummy when !HAS_BIAS), out is (batch, M, N) f32.
//   for z, m, n: out[z,m,n] = alpha * sum_k SMT(opA[z,m,k]) * SMT(opB[z,k,n]) + bias[n] (+ out[z,m,n])
//
// The preamble (engine/gpu/subgroupMatrix.ts) supplies SMT, SM_M / SM_N / SM_K (the adapter's matrix
// config), the SmLeft / SmRight / SmResult types and load/store wrappers in the WGSL spelling this
// runtime accepts, plus the storage aliases TA and TB.
//
// One workgroup is one subgroup (SG_SIZE = adapter.info.subgroupMaxSize invocations; should the
// runtime pick smaller subgroups, each computes the same tile: slower, still right). It owns a
// TM x TN = 2 SM_M x 2 SM_N tile of out as four result matrices. K is walked in blocks of TK = 2 SM_K:
// the subgroup stages op(A)[m0.., k0..] into As (TM x TK, row-major) and op(B)[k0.., n0..] into Bs
// (TK x TN, row-major) with zero padding outside the matrix (so any M, N, K works), converted to SMT,
// then multiplies. The results go through Cs (TM x TN f32) so the epilogue (alpha, bias, accumulate,
// bounds) is the tiled kernel's. Dispatch: (ceil(N / TN), ceil(M / TM), batch).

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
override SG_SIZE: u32 = 32u;

const TM = 2u * SM_M;
const TN = 2u * SM_N;
const TK = 2u * SM_K;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<TA>;
@group(0) @binding(2) var<storage, read> b: array<TB>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<SMT, TM * TK>;
var<workgroup> Bs: array<SMT, TK * TN>;
var<workgroup> Cs: array<f32, TM * TN>;

// op(A)[m, k], 0 outside the matrix.
fn fetch_a(base: u32, m: u32, k: u32) -> SMT {
  if (m >= p.M || k >= p.K) { return SMT(0); }
  if (TRANS_A) { return SMT(a[base + k * p.M + m]); }
  return SMT(a[base + m * p.K + k]);
}

// op(B)[k, n], 0 outside the matrix.
fn fetch_b(base: u32, k: u32, n: u32) -> SMT {
  if (k >= p.K || n >= p.N) { return SMT(0); }
  if (TRANS_B) { return SMT(b[base + n * p.K + k]); }
  return SMT(b[base + k * p.N + n]);
}

// Neighbouring invocations walk each operand's contiguous storage dimension.
fn stage(t: u32, base_a: u32, base_b: u32, m0: u32, n0: u32, k0: u32) {
  for (var e = t; e < TM * TK; e += SG_SIZE) {
    var m: u32;
    var k: u32;
    if (TRANS_A) { k = e / TM; m = e % TM; } else { m = e / TK; k = e % TK; }
    As[m * TK + k] = fetch_a(base_a, m0 + m, k0 + k);
  }
  for (var e = t; e < TK * TN; e += SG_SIZE) {
    var k: u32;
    var n: u32;
    if (TRANS_B) { n = e / TK; k = e % TK; } else { k = e / TN; n = e % TN; }
    Bs[k * TN + n] = fetch_b(base_b, k0 + k, n0 + n);
  }
}

@compute @workgroup_size(SG_SIZE)
fn matmul_subgroup(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let m0 = wg.y * TM;
  let n0 = wg.x * TN;
  let base_a = wg.z * p.stride_a;
  let base_b = wg.z * p.stride_b;
  var c00 = SmResult();
  var c01 = SmResult();
  var c10 = SmResult();
  var c11 = SmResult();
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    stage(t, base_a, base_b, m0, n0, k0);
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk += SM_K) {
      let a0 = sm_load_left(kk, TK);
      let a1 = sm_load_left(SM_M * TK + kk, TK);
      let b0 = sm_load_right(kk * TN, TN);
      let b1 = sm_load_right(kk * TN + SM_N, TN);
      c00 = subgroupMatrixMultiplyAccumulate(a0, b0, c00);
      c01 = subgroupMatrixMultiplyAccumulate(a0, b1, c01);
      c10 = subgroupMatrixMultiplyAccumulate(a1, b0, c10);
      c11 = subgroupMatrixMultiplyAccumulate(a1, b1, c11);
    }
    workgroupBarrier();
  }
  sm_store_result(0u, c00, TN);
  sm_store_result(SM_N, c01, TN);
  sm_store_result(SM_M * TN, c10, TN);
  sm_store_result(SM_M * TN + SM_N, c11, TN);
  workgroupBarrier();
  let base_out = wg.z * p.stride_out;
  for (var e = t; e < TM * TN; e += SG_SIZE) {
    let m = m0 + e / TN;
    let n = n0 + e % TN;
    if (m < p.M && n < p.N) {
      var v = p.alpha * Cs[e];
      if (HAS_BIAS) { v += bias[n]; }
      let at = base_out + m * p.N + n;
      if (ACCUMULATE) { out[at] += v; } else { out[at] = v; }
    }
  }
}
