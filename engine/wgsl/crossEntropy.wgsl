// Cross-entropy over a vocabulary processed in column chunks of the logits, so the full (N, V)
// f32 logits never exist at once. The launcher (ops/crossEntropy.ts) computes each chunk
//   logits_c = hidden @ W[c0 : c0 + Vc, :]^T       logits_c is (N, Vc), hidden (N, H), W (V, H)
// with the shared matmul and then calls, per chunk:
//   ce_forward_chunk:    online logsumexp. state[i] = (running max m, running sum s of exp(x - m),
//                        label logit z, unused) is merged with this chunk's (max, sum exp), and z is
//                        picked when c0 <= label[i] < c0 + Vc. `first` starts a fresh state.
//   ce_forward_finalize: lse[i] = m + log(s); loss[i] = lse[i] - z (0 where label[i] == -100,
//                        NaN for a label outside [0, V)).
// Training forwards also build the softmax-weighted mean of the LM-head rows the backward needs,
//   E[i, :] = sum_v softmax(logits[i, :])_v W[v, :]         (N, H), an online softmax over chunks:
//   ce_forward_chunk with probs = 1 also overwrites the chunk, after the merge, with
//                        P_c[i, j] = exp(logits_c[i, j] - m_new) / s_new   (the softmax so far), and
//                        sets state[i].w = s_old * exp(m_old - m_new) / s_new, the factor that
//                        renormalises the E of the earlier chunks;
//   then the launcher multiplies P_c @ W_c (split over K into partial sums) and
//   ce_softmax_weight_reduce: E[i, h] = E[i, h] * state[i].w + sum_z partial[z, i, h]
//                        (E is not read for the first chunk). After the last chunk E is exact,
//                        and the backward (crossEntropyBackward.wgsl) needs no logits at all:
//                        dHidden = dLoss * (E - W[label]).
// Naive equivalent (crossEntropy.ref.ts): logits = hidden @ W^T; loss = logsumexp(logits) - logits[label].
//
// Dispatch: ce_forward_chunk runs one 256-wide workgroup per row (flat workgroup index = row,
// wrapped into y past the per-dimension limit); ce_forward_finalize one invocation per row,
// ce_softmax_weight_reduce one per element of E.

const WG: u32 = 256u;
const IGNORE: i32 = -100;
const NEG_BIG: f32 = -3.0e38; // a finite "minus infinity": exp(NEG_BIG - x) is 0, never NaN

struct Params {
  rows: u32,       // N
  cols: u32,       // Vc, columns of this logits chunk (finalize: V, the whole vocabulary)
  col_start: u32,  // c0, vocabulary index of column 0
  first: u32,      // 1 for the first chunk: start the running state afresh
  row_stride: u32, // workgroups per row of the 2-D dispatch grid
  nan_bits: u32,   // 0x7fc00000, a runtime NaN for invalid labels (a constant NaN is a compile error)
  probs: u32,      // ce_forward_chunk: 1 = also write P_c in place and the rescale factor
  width: u32,      // ce_softmax_weight_reduce: H, columns of E
  parts: u32,      // ce_softmax_weight_reduce: partial sums to add
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>; // (N, Vc)
@group(0) @binding(2) var<storage, read> labels: array<i32>;       // (N)
@group(0) @binding(3) var<storage, read_write> state: array<vec4<f32>>; // (N) of (m, s, z, rescale)

var<workgroup> red_m: array<f32, WG>;
var<workgroup> red_s: array<f32, WG>;
var<workgroup> merged: vec2<f32>; // (m_new, s_new) of this row after the merge

// (m1, s1) and (m2, s2) each mean s * exp(m); their sum as (max, rescaled sum).
fn merge(m1: f32, s1: f32, m2: f32, s2: f32) -> vec2<f32> {
  let m = max(m1, m2);
  return vec2<f32>(m, s1 * exp(m1 - m) + s2 * exp(m2 - m));
}

@compute @workgroup_size(WG)
fn ce_forward_chunk(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * p.row_stride + wg.x;
  if (row >= p.rows) { return; } // uniform per workgroup, so the barriers below stay uniform
  let base = row * p.cols;
  var m = NEG_BIG;
  var s = 0.0;
  for (var j = lid; j < p.cols; j += WG) {
    let x = logits[base + j];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  red_m[lid] = m;
  red_s[lid] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      let r = merge(red_m[lid], red_s[lid], red_m[lid + half], red_s[lid + half]);
      red_m[lid] = r.x;
      red_s[lid] = r.y;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var st = vec4<f32>(NEG_BIG, 0.0, 0.0, 0.0);
    if (p.first == 0u) { st = state[row]; }
    let r = merge(st.x, st.y, red_m[0], red_s[0]);
    let rel = labels[row] - i32(p.col_start);
    if (rel >= 0 && rel < i32(p.cols)) { st.z = logits[base + u32(rel)]; }
    // s_old * exp(m_old - m_new) / s_new: 0 for the first chunk (s_old = 0).
    state[row] = vec4<f32>(r.x, r.y, st.z, st.y * exp(st.x - r.x) / r.y);
    merged = r;
  }
  if (p.probs == 0u) { return; } // uniform: a Params field
  workgroupBarrier(); // the label logit is read before the chunk is overwritten
  let mn = merged;
  for (var j = lid; j < p.cols; j += WG) {
    logits[base + j] = exp(logits[base + j] - mn.x) / mn.y;
  }
}

@group(0) @binding(6) var<storage, read_write> lse_out: array<f32>;  // (N)
@group(0) @binding(7) var<storage, read_write> loss_out: array<f32>; // (N)

@compute @workgroup_size(WG)
fn ce_forward_finalize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = (wg.y * p.row_stride + wg.x) * WG + lid;
  if (row >= p.rows) { return; }
  let st = state[row];
  let lse = st.x + log(st.y);
  lse_out[row] = lse;
  let label = labels[row];
  var loss = 0.0;
  if (label != IGNORE) {
    if (label < 0 || label >= i32(p.cols)) {
      loss = bitcast<f32>(p.nan_bits);
    } else {
      loss = lse - st.z;
    }
  }
  loss_out[row] = loss;
}

// E (N, H) = E * state.w + sum of `parts` partial products (parts, N, H) (logits binding).
@group(0) @binding(8) var<storage, read_write> softmax_weight: array<f32>;

@compute @workgroup_size(WG)
fn ce_softmax_weight_reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.y * p.row_stride + wg.x) * WG + lid;
  let count = p.rows * p.width;
  if (i >= count) { return; }
  var v = 0.0;
  for (var z = 0u; z < p.parts; z++) { v += logits[z * count + i]; }
  if (p.first == 0u) { v = softmax_weight[i] * state[i / p.width].w + v; }
  softmax_weight[i] = v;
}
