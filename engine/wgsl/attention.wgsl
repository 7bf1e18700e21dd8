// Causal grouped-query self-attention, flash style (FlashAttention-2 forward and backward).
//
//   q, dq are (B, Tq, n_heads, HD) rows of q_stride elements starting at q_off (so q can be the q
//   columns of a fused q|k|v projection); k, v, dk, dv are (B, Tk, n_kv, HD) rows of kv_stride
//   starting at k_off / v_off (the k|v columns of the same rows, or a KV cache); dq, dk, dv use the
//   layout of q, k, v. out, dout are (B, Tq, n_heads, HD) contiguous.
//   lse is (B, n_heads, Tq)   stats is (B, n_heads, Tq) of vec2(lse, D)   segments is u32 (B, Tk)
//   Query row i sits at absolute position Tk - Tq + i; query head h reads kv head h / group.
//
// Naive equivalent (attention.ref.ts), per (b, h):
//   S = scale * Q K^T, masked where j > pos(i) or segments[j] != segments[pos(i)]
//   P = softmax(S) row-wise; out = P V; lse_i = log(sum_j exp(S_ij))
//   backward: D_i = rowsum(dO_i * out_i); dV = P^T dO; dP = dO V^T; dS = P * (dP - D)
//             dQ = scale * dS K; dK = scale * dS^T Q (summed over the query heads of a group)
//
// Entry points (64 threads each, no atomics, every output written by exactly one thread):
//   attention_forward          grid (ceil(Tq/BQ), n_heads, B): BQ query rows stream K/V tiles of BK
//                               keys through workgroup memory with an online softmax.
//   attention_backward_delta   flat grid over B*Tq*n_heads rows: stats = (lse, D).
//   attention_backward_dkdv    grid (ceil(Tk/BK), n_kv, B): BK keys stream Q/dO tiles of BQ rows
//                               of every query head of the group; each thread accumulates KC
//                               keys over a share of the head dims.
//   attention_backward_dq      grid (ceil(Tq/BQ), n_heads, B): BQ query rows stream K/V tiles;
//                               each thread accumulates KC rows over a share of the head dims.
//   Both recompute P and dS per tile pair in backward_pairs; it and the forward's forward_scores
//   are register-tiled over the owned side (each owned vec4 read once for NS pairs).
// Thread layout for the row-owning side: lanes = 64 / rows threads per owned row, lane t holds
// vec4 chunks t, t + lanes, ... (DPT4 of them) of the row's accumulator in registers.
// Workgroup tiles hold rows of HD4 = ceil(HD / 4) vec4s, zero padded past HD.

struct Params {
  Tq: u32,
  Tk: u32,
  n_heads: u32,
  n_kv: u32,
  group: u32,       // n_heads / n_kv
  scale: f32,
  row_stride: u32,  // workgroups per row of the flat grid (delta kernel)
  rows: u32,        // B * Tq * n_heads (delta kernel)
  // Loop bounds equal to the overrides HD, BQ, BK: read from the uniform so shader compilers
  // do not fully unroll them (SwiftShader took ~40 s to compile the unrolled hd-64 backward).
  hd: u32,
  hd4: u32,         // ceil(hd / 4)
  bq: u32,
  bk: u32,
  use_seg: u32,     // 1: mask keys whose segment id differs from the query position's
  q_stride: u32,    // elements between token rows of q / dq, and where head 0 starts in a row
  q_off: u32,
  kv_stride: u32,   // elements between token rows of k, v / dk, dv, and where k and v start
  k_off: u32,
  v_off: u32,
}

override HD: u32 = 64u;        // head dim
override BQ: u32 = 16u;        // query rows per tile
override BK: u32 = 16u;        // key rows per tile
override DPT4: u32 = 4u;       // vec4 chunks per thread of the row-owning side: ceil(HD4 / lanes)
override HD4: u32 = (HD + 3u) / 4u;
// Score phases (forward_scores, backward_pairs): which side a thread owns (dkdv: keys; forward,
// dq: query rows) and how many streamed indices each takes: ceil(streamed rows / (NT / owned rows)).
override KEYS_OWNED: bool = false;
override NS: u32 = 1u;
// The backward's accumulation: owned keys (dkdv) or query rows (dq) per thread, KC * DPT4 <=
// MAXDPT4 accumulators (each of dK and dV in dkdv), so one vec4 read of dO / Q (dkdv) or K (dq)
// feeds KC of them.
override KC: u32 = 1u;

const NT: u32 = 64u;           // threads per workgroup
const MAXDPT4: u32 = 8u;       // register accumulator capacity in vec4s (HD <= 256 with >= 8 lanes)
const MAXKC: u32 = 8u;         // owned keys / rows per thread in the backward's accumulation
const MAXNS: u32 = 32u;        // pair accumulators per thread (NS <= 32: 32 streamed rows, 1 owned)
const MASKED: f32 = -1e30;     // score of a masked pair; real scaled scores never come close

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> segments: array<u32>;
// forward outputs
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
// backward
@group(0) @binding(5) var<storage, read> out_in: array<f32>;
@group(0) @binding(6) var<storage, read> lse_in: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read_write> stats_out: array<vec2<f32>>;
@group(0) @binding(8) var<storage, read> stats: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> dq: array<f32>;
@group(0) @binding(9) var<storage, read_write> dk: array<f32>;
// store_dv(i, x) comes from the preamble (ops/attention.ts): dv at binding 10, or into dk's buffer
// when dq|dk|dv share one (WebGPU forbids two writable bindings of one buffer).

var<workgroup> tq: array<vec4<f32>, BQ * HD4>;    // Q tile (scaled in the forward)
var<workgroup> tdo: array<vec4<f32>, BQ * HD4>;   // dO tile
var<workgroup> tk: array<vec4<f32>, BK * HD4>;    // K tile (forward: K, then V)
var<workgroup> tv: array<vec4<f32>, BK * HD4>;    // V tile
var<workgroup> ts: array<f32, BQ * BK>;    // scores / P, [query][key]
var<workgroup> tds: array<f32, BQ * BK>;   // dS, [query][key]

// May the query at absolute position qpos (< Tk) attend to key j?
fn allowed(b: u32, qpos: u32, j: u32) -> bool {
  if (j > qpos) { return false; }
  if (p.use_seg != 0u) { return segments[b * p.Tk + j] == segments[b * p.Tk + qpos]; }
  return true;
}

fn q_index(b: u32, i: u32, h: u32) -> u32 { return (b * p.Tq + i) * p.q_stride + p.q_off + h * HD; }
fn k_index(b: u32, j: u32, g: u32) -> u32 { return (b * p.Tk + j) * p.kv_stride + p.k_off + g * HD; }
fn v_index(b: u32, j: u32, g: u32) -> u32 { return (b * p.Tk + j) * p.kv_stride + p.v_off + g * HD; }
fn out_index(b: u32, i: u32, h: u32) -> u32 { return ((b * p.Tq + i) * p.n_heads + h) * HD; }
fn row_index(b: u32, h: u32, i: u32) -> u32 { return (b * p.n_heads + h) * p.Tq + i; }

// Tiles: row r of the tile = row (q0 + r) or (k0 + r) of the tensor as vec4s; zero past the end.
fn load_q_tile(b: u32, h: u32, q0: u32, tid: u32, mul: f32) {
  for (var e = tid; e < p.bq * p.hd4; e += NT) {
    let i = q0 + e / p.hd4;
    var x = vec4<f32>(0.0);
    if (i < p.Tq) {
      let base = q_index(b, i, h);
      let d0 = (e % p.hd4) * 4u;
      for (var c = 0u; c < 4u; c++) {
        if (d0 + c < p.hd) { x[c] = q[base + d0 + c]; }
      }
    }
    tq[e] = x * mul;
  }
}

fn load_do_tile(b: u32, h: u32, q0: u32, tid: u32) {
  for (var e = tid; e < p.bq * p.hd4; e += NT) {
    let i = q0 + e / p.hd4;
    var x = vec4<f32>(0.0);
    if (i < p.Tq) {
      let base = out_index(b, i, h);
      let d0 = (e % p.hd4) * 4u;
      for (var c = 0u; c < 4u; c++) {
        if (d0 + c < p.hd) { x[c] = dout[base + d0 + c]; }
      }
    }
    tdo[e] = x;
  }
}

fn load_k_tile(b: u32, g: u32, k0: u32, tid: u32) {
  for (var e = tid; e < p.bk * p.hd4; e += NT) {
    let j = k0 + e / p.hd4;
    var x = vec4<f32>(0.0);
    if (j < p.Tk) {
      let base = k_index(b, j, g);
      let d0 = (e % p.hd4) * 4u;
      for (var c = 0u; c < 4u; c++) {
        if (d0 + c < p.hd) { x[c] = k[base + d0 + c]; }
      }
    }
    tk[e] = x;
  }
}

fn load_v_into_tk(b: u32, g: u32, k0: u32, tid: u32) {
  for (var e = tid; e < p.bk * p.hd4; e += NT) {
    let j = k0 + e / p.hd4;
    var x = vec4<f32>(0.0);
    if (j < p.Tk) {
      let base = v_index(b, j, g);
      let d0 = (e % p.hd4) * 4u;
      for (var c = 0u; c < 4u; c++) {
        if (d0 + c < p.hd) { x[c] = v[base + d0 + c]; }
      }
    }
    tk[e] = x;
  }
}

fn load_v_tile(b: u32, g: u32, k0: u32, tid: u32) {
  for (var e = tid; e < p.bk * p.hd4; e += NT) {
    let j = k0 + e / p.hd4;
    var x = vec4<f32>(0.0);
    if (j < p.Tk) {
      let base = v_index(b, j, g);
      let d0 = (e % p.hd4) * 4u;
      for (var c = 0u; c < 4u; c++) {
        if (d0 + c < p.hd) { x[c] = v[base + d0 + c]; }
      }
    }
    tv[e] = x;
  }
}

// Backward pair (query row q0 + r of head h, key k0 + c) from its two dot products: P to ts, dS to tds.
fn backward_pair_store(b: u32, h: u32, q0: u32, k0: u32, r: u32, c: u32, qk: f32, dov: f32) {
  let i = q0 + r;
  var pij = 0.0;
  var dsij = 0.0;
  if (i < p.Tq && allowed(b, p.Tk - p.Tq + i, k0 + c)) {
    let st = stats[row_index(b, h, i)];
    pij = exp(qk * p.scale - st.x);
    dsij = pij * (dov - st.y);
  }
  ts[r * BK + c] = pij;
  tds[r * BK + c] = dsij;
}

// Every pair of the tile, register-tiled: thread tid owns one index o = tid % OWNED of the side its
// kernel owns (dkdv: a key, dq: a query row) and streamed indices tid / OWNED + s * (NT / OWNED)
// (s < NS), so each owned vec4 of K and V (dkdv) or Q and dO (dq) is read from workgroup memory
// once per head-dim chunk for NS pairs instead of once per pair. KEYS_OWNED picks the side.
fn backward_pairs(b: u32, h: u32, q0: u32, k0: u32, tid: u32) {
  let owned = select(BQ, BK, KEYS_OWNED);
  let streamed = select(p.bk, p.bq, KEYS_OWNED);
  let o = tid % owned;
  let s0 = tid / owned;
  let step = NT / owned;
  var qk: array<f32, MAXNS>;
  var dov: array<f32, MAXNS>;
  for (var s = 0u; s < NS; s++) {
    qk[s] = 0.0;
    dov[s] = 0.0;
  }
  for (var d = 0u; d < p.hd4; d++) {
    var a: vec4<f32>; // the owned row's chunk d: K and V (dkdv) or Q and dO (dq)
    var a2: vec4<f32>;
    if (KEYS_OWNED) {
      a = tk[o * HD4 + d];
      a2 = tv[o * HD4 + d];
    } else {
      a = tq[o * HD4 + d];
      a2 = tdo[o * HD4 + d];
    }
    for (var s = 0u; s < NS; s++) {
      let x = min(s0 + s * step, streamed - 1u); // past the tile: a real row, result unused
      if (KEYS_OWNED) {
        qk[s] += dot(tq[x * HD4 + d], a);
        dov[s] += dot(tdo[x * HD4 + d], a2);
      } else {
        qk[s] += dot(a, tk[x * HD4 + d]);
        dov[s] += dot(a2, tv[x * HD4 + d]);
      }
    }
  }
  for (var s = 0u; s < NS; s++) {
    let x = s0 + s * step;
    if (x < streamed) {
      if (KEYS_OWNED) { backward_pair_store(b, h, q0, k0, x, o, qk[s], dov[s]); } else { backward_pair_store(b, h, q0, k0, o, x, qk[s], dov[s]); }
    }
  }
}

// The forward's scores of the tile into ts (MASKED where not allowed), register-tiled as
// backward_pairs: thread tid owns query row tid % BQ and keys tid / BQ + s * (NT / BQ), s < NS.
fn forward_scores(b: u32, q0: u32, k0: u32, tid: u32) {
  let o = tid % BQ;
  let s0 = tid / BQ;
  let step = NT / BQ;
  var qk: array<f32, MAXNS>;
  for (var s = 0u; s < NS; s++) { qk[s] = 0.0; }
  for (var d = 0u; d < p.hd4; d++) {
    let a = tq[o * HD4 + d];
    for (var s = 0u; s < NS; s++) {
      let x = min(s0 + s * step, p.bk - 1u); // past the tile: a real row, result unused
      qk[s] += dot(a, tk[x * HD4 + d]);
    }
  }
  let i = q0 + o;
  for (var s = 0u; s < NS; s++) {
    let x = s0 + s * step;
    if (x < p.bk) {
      var sc = MASKED;
      if (i < p.Tq && allowed(b, p.Tk - p.Tq + i, k0 + x)) { sc = qk[s]; }
      ts[o * BK + x] = sc;
    }
  }
}

@compute @workgroup_size(64)
fn attention_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let b = wg.z;
  let h = wg.y;
  let g = h / p.group;
  let q0 = wg.x * BQ;
  let off = p.Tk - p.Tq;
  let lanes = NT / BQ;
  let r = tid / lanes;
  let lane = tid % lanes;
  load_q_tile(b, h, q0, tid, p.scale);

  var acc: array<vec4<f32>, MAXDPT4>;
  var m = MASKED;
  var l = 0.0;
  let k_end = off + min(q0 + BQ, p.Tq);  // keys [0, k_end) are visible to some row of the tile
  for (var k0 = 0u; k0 < k_end; k0 += BK) {
    workgroupBarrier();
    load_k_tile(b, g, k0, tid);
    workgroupBarrier();
    forward_scores(b, q0, k0, tid);
    workgroupBarrier();
    load_v_into_tk(b, g, k0, tid);
    workgroupBarrier();
    // Online softmax: rescale the running sum and accumulator to the new row max.
    var mt = m;
    for (var c = 0u; c < p.bk; c++) { mt = max(mt, ts[r * BK + c]); }
    let corr = exp(m - mt);
    l *= corr;
    for (var t = 0u; t < DPT4; t++) { acc[t] *= corr; }
    for (var c = 0u; c < p.bk; c++) {
      let s = ts[r * BK + c];
      if (s > 0.5 * MASKED) {
        let pj = exp(s - mt);
        l += pj;
        for (var t = 0u; t < DPT4; t++) {
          let d = lane + t * lanes;
          if (d < HD4) { acc[t] += pj * tk[c * HD4 + d]; }
        }
      }
    }
    m = mt;
  }
  let i = q0 + r;
  if (i < p.Tq) {
    let base = out_index(b, i, h);
    for (var t = 0u; t < DPT4; t++) {
      let d = lane + t * lanes;
      if (d < HD4) {
        let o = acc[t] / l;
        for (var c = 0u; c < 4u; c++) { if (4u * d + c < HD) { out[base + 4u * d + c] = o[c]; } }
      }
    }
    if (lane == 0u) { lse[row_index(b, h, i)] = m + log(l); }
  }
}

@compute @workgroup_size(64)
fn attention_backward_delta(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let n = (wg.y * p.row_stride + wg.x) * NT + tid;  // flat row of (B, Tq, n_heads)
  if (n >= p.rows) { return; }
  var s = 0.0;
  for (var d = 0u; d < p.hd; d++) { s += dout[n * HD + d] * out_in[n * HD + d]; }
  let h = n % p.n_heads;
  let bi = n / p.n_heads;
  let at = row_index(bi / p.Tq, h, bi % p.Tq);
  stats_out[at] = vec2<f32>(lse_in[at], s);
}

@compute @workgroup_size(64)
fn attention_backward_dkdv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let b = wg.z;
  let g = wg.y;
  let k0 = wg.x * BK;
  let off = p.Tk - p.Tq;
  // Accumulation: thread tid owns keys kset * KC .. + KC and head-dim vec4s lane, lane + lanes, ...
  let lanes = NT * KC / BK;
  let kset = tid / lanes;
  let lane = tid % lanes;
  load_k_tile(b, g, k0, tid);
  load_v_tile(b, g, k0, tid);

  var dk_acc: array<vec4<f32>, MAXDPT4>;
  var dv_acc: array<vec4<f32>, MAXDPT4>;
  // Query row i sees key k0 only when off + i >= k0.
  let i_start = select(0u, k0 - off, k0 > off);
  for (var hh = 0u; hh < p.group; hh++) {
    let h = g * p.group + hh;
    for (var q0 = i_start; q0 < p.Tq; q0 += BQ) {
      workgroupBarrier();
      load_q_tile(b, h, q0, tid, 1.0);
      load_do_tile(b, h, q0, tid);
      workgroupBarrier();
      backward_pairs(b, h, q0, k0, tid);
      workgroupBarrier();
      for (var r = 0u; r < p.bq; r++) {
        var pj: array<f32, MAXKC>;
        var dsj: array<f32, MAXKC>;
        for (var kk = 0u; kk < KC; kk++) {
          pj[kk] = ts[r * BK + kset * KC + kk];
          dsj[kk] = tds[r * BK + kset * KC + kk];
        }
        for (var t = 0u; t < DPT4; t++) {
          let d = lane + t * lanes;
          if (d < HD4) {
            let o = tdo[r * HD4 + d];
            let qv = tq[r * HD4 + d];
            for (var kk = 0u; kk < KC; kk++) {
              dv_acc[kk * DPT4 + t] += pj[kk] * o;
              dk_acc[kk * DPT4 + t] += dsj[kk] * qv;
            }
          }
        }
      }
    }
  }
  for (var kk = 0u; kk < KC; kk++) {
    let j = k0 + kset * KC + kk;
    if (j < p.Tk) {
      let kb = k_index(b, j, g);
      let vb = v_index(b, j, g);
      for (var t = 0u; t < DPT4; t++) {
        let d = lane + t * lanes;
        if (d < HD4) {
          for (var e = 0u; e < 4u; e++) {
            if (4u * d + e < HD) {
              dk[kb + 4u * d + e] = p.scale * dk_acc[kk * DPT4 + t][e];
              store_dv(vb + 4u * d + e, dv_acc[kk * DPT4 + t][e]);
            }
          }
        }
      }
    }
  }
}

@compute @workgroup_size(64)
fn attention_backward_dq(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let b = wg.z;
  let h = wg.y;
  let g = h / p.group;
  let q0 = wg.x * BQ;
  let off = p.Tk - p.Tq;
  // Accumulation: thread tid owns query rows rset * KC .. + KC and head-dim vec4s lane, lane + lanes, ...
  let lanes = NT * KC / BQ;
  let rset = tid / lanes;
  let lane = tid % lanes;
  load_q_tile(b, h, q0, tid, 1.0);
  load_do_tile(b, h, q0, tid);

  var dq_acc: array<vec4<f32>, MAXDPT4>;
  let k_end = off + min(q0 + BQ, p.Tq);
  for (var k0 = 0u; k0 < k_end; k0 += BK) {
    workgroupBarrier();
    load_k_tile(b, g, k0, tid);
    load_v_tile(b, g, k0, tid);
    workgroupBarrier();
    backward_pairs(b, h, q0, k0, tid);
    workgroupBarrier();
    for (var c = 0u; c < p.bk; c++) {
      var dsj: array<f32, MAXKC>;
      for (var rr = 0u; rr < KC; rr++) { dsj[rr] = tds[(rset * KC + rr) * BK + c]; }
      for (var t = 0u; t < DPT4; t++) {
        let d = lane + t * lanes;
        if (d < HD4) {
          let kv = tk[c * HD4 + d];
          for (var rr = 0u; rr < KC; rr++) { dq_acc[rr * DPT4 + t] += dsj[rr] * kv; }
        }
      }
    }
  }
  for (var rr = 0u; rr < KC; rr++) {
    let i = q0 + rset * KC + rr;
    if (i < p.Tq) {
      let base = q_index(b, i, h);
      for (var t = 0u; t < DPT4; t++) {
        let d = lane + t * lanes;
        if (d < HD4) {
          for (var c = 0u; c < 4u; c++) { if (4u * d + c < HD) { dq[base + 4u * d + c] = p.scale * dq_acc[rr * DPT4 + t][c]; } }
        }
      }
    }
  }
}
