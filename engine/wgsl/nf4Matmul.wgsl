// Fused NF4 dequantize + matmul with a frozen 4-bit base weight W (bound as `b`, dequantized per
// element by the nf4Weight.wgsl preamble; no weight gradient exists for it):
//   nf4_matmul_forward      out (M, N) = alpha * A (M, K) @ W^T (+ bias) (+ out)   W is (N, K)
//                           the linear forward y = x W^T: M tokens, N = out, K = in
//   nf4_matmul_backward_dx  out (M, N) = alpha * A (M, K) @ W (+ out)              W is (K, N)
//                           the input gradient dx = dy W: M tokens, N = in, K = out
//   nf4_dequantize          out[i] = W[start + i], i < count (the weight as f32)
// Naive equivalent (engine/ops/nf4Matmul.ref.ts): W = dequantize_4bit(W) widened to f32, then the
// matmul. A, bias and out are f32.
//
// Tiles as in matmul.wgsl: WG_X x WG_Y invocations compute a TM x TN tile of out (TM = WG_Y * RM,
// TN = 4 * WG_X), RM rows x 4 columns each; K is walked in blocks of TK through workgroup memory
// (As[k][m], Bs[k][n]). The weight tile is fetched along W's contiguous dimension (k for the
// forward, n for dx) in runs of 8 elements, one packed u32 word and one block scale each, when
// that dimension is a multiple of 8 (RUN8); else element by element. The runs never straddle a
// row or a 64-block: they start at multiples of 8 of the flattened weight.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  alpha: f32,
  start: u32, // nf4_dequantize: first element
  row_stride: u32, // nf4_dequantize: workgroups per grid row
}

override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;
override RUN8: bool = false;
override WG_X: u32 = 16u;
override WG_Y: u32 = 8u;
override RM: u32 = 8u;
override TK: u32 = 32u; // a multiple of 8

const MAX_RM = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<vec4<f32>, TK * WG_Y * RM / 4u>;
var<workgroup> Bs: array<vec4<f32>, TK * WG_X>;

fn tm() -> u32 { return WG_Y * RM; }
fn tn() -> u32 { return WG_X * 4u; }
fn threads() -> u32 { return WG_X * WG_Y; }

fn set_as(k: u32, m: u32, v: f32) {
  As[k * (tm() / 4u) + m / 4u][m % 4u] = v;
}

fn set_bs(k: u32, n: u32, v: f32) {
  Bs[k * WG_X + n / 4u][n % 4u] = v;
}

fn load_a(t: u32, m0: u32, k0: u32) {
  for (var e = t; e < TK * tm(); e += threads()) {
    let m = e / TK;
    let k = e % TK;
    var v = 0.0;
    if (m0 + m < p.M && k0 + k < p.K) { v = a[(m0 + m) * p.K + k0 + k]; }
    set_as(k, m, v);
  }
}

// Bs[k][n] = op(W)[k0 + k, n0 + n] = W[n0 + n, k0 + k] (forward: W is (N, K), walked along k).
fn load_w_forward(t: u32, n0: u32, k0: u32) {
  if (RUN8) {
    // Run r covers W[n0 + n, k0 + k .. +8], k = 8 (r % (TK / 8)).
    for (var r = t; r < tn() * (TK / 8u); r += threads()) {
      let n = r / (TK / 8u);
      let k = 8u * (r % (TK / 8u));
      var run = Nf4Run8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (n0 + n < p.N && k0 + k < p.K) { run = nf4_weight8((n0 + n) * p.K + k0 + k); }
      for (var c = 0u; c < 4u; c++) {
        set_bs(k + c, n, run.lo[c]);
        set_bs(k + 4u + c, n, run.hi[c]);
      }
    }
  } else {
    for (var e = t; e < TK * tn(); e += threads()) {
      let n = e / TK;
      let k = e % TK;
      var v = 0.0;
      if (n0 + n < p.N && k0 + k < p.K) { v = nf4_weight((n0 + n) * p.K + k0 + k); }
      set_bs(k, n, v);
    }
  }
}

// Bs[k][n] = op(W)[k0 + k, n0 + n] = W[k0 + k, n0 + n] (dx: W is (K, N), walked along n).
fn load_w_dx(t: u32, n0: u32, k0: u32) {
  if (RUN8) {
    // Run r covers W[k0 + k, n0 + 8j .. +8]: two vec4 of Bs.
    for (var r = t; r < TK * (tn() / 8u); r += threads()) {
      let k = r / (tn() / 8u);
      let j = r % (tn() / 8u);
      var run = Nf4Run8(vec4<f32>(0.0), vec4<f32>(0.0));
      if (k0 + k < p.K && n0 + 8u * j < p.N) { run = nf4_weight8((k0 + k) * p.N + n0 + 8u * j); }
      Bs[k * WG_X + 2u * j] = run.lo;
      Bs[k * WG_X + 2u * j + 1u] = run.hi;
    }
  } else {
    for (var e = t; e < TK * tn(); e += threads()) {
      let k = e / tn();
      let n = e % tn();
      var v = 0.0;
      if (k0 + k < p.K && n0 + n < p.N) { v = nf4_weight((k0 + k) * p.N + n0 + n); }
      set_bs(k, n, v);
    }
  }
}

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

fn store_tile(tx: u32, ty: u32, m0: u32, n0: u32, acc: ptr<function, array<vec4<f32>, MAX_RM>>) {
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
    for (var c = 0u; c < 4u; c++) {
      if (n + c < p.N) {
        if (ACCUMULATE) { out[m * p.N + n + c] += v[c]; } else { out[m * p.N + n + c] = v[c]; }
      }
    }
  }
}

// The two entry points differ only in how the weight tile is fetched. (They are written out
// rather than sharing a function with a bool parameter: lavapipe then compiled both fetches into
// every pipeline, 30x slower.)
@compute @workgroup_size(WG_X, WG_Y)
fn nf4_matmul_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.y * WG_X + lid.x;
  let m0 = wg.y * tm();
  let n0 = wg.x * tn();
  var acc: array<vec4<f32>, MAX_RM>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    load_a(t, m0, k0);
    load_w_forward(t, n0, k0);
    workgroupBarrier();
    multiply_block(lid.x, lid.y, &acc);
    workgroupBarrier();
  }
  store_tile(lid.x, lid.y, m0, n0, &acc);
}

@compute @workgroup_size(WG_X, WG_Y)
fn nf4_matmul_backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.y * WG_X + lid.x;
  let m0 = wg.y * tm();
  let n0 = wg.x * tn();
  var acc: array<vec4<f32>, MAX_RM>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    load_a(t, m0, k0);
    load_w_dx(t, n0, k0);
    workgroupBarrier();
    multiply_block(lid.x, lid.y, &acc);
    workgroupBarrier();
  }
  store_tile(lid.x, lid.y, m0, n0, &acc);
}

@compute @workgroup_size(256)
fn nf4_dequantize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * p.row_stride + wg.x) * 256u + lid.x;
  if (i < p.M) { out[i] = nf4_weight(p.start + i); }
}
