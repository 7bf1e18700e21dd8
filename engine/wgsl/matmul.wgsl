// Batched matmul with an optional second operand pair ("dual-K") in the same accumulator:
//   out[z] <- (alpha * op(A[z]) @ op(B[z]) + bias) + alpha2 * A2 @ op(B2)    (f32 accumulation)
//   op(A) is (M, K) (A stored (K, M) when TRANS_A), op(B) is (K, N) (B stored (N, K) when TRANS_B),
//   A2 is (M, K2), op(B2) is (K2, N) (B2 stored (N, K2) when TRANS_B2); bias is (N).
// Naive equivalent: matmulRef (ops/matmul.ref.ts) on the operands the fetch functions describe.
//
// The preamble (ops/matmul.ts + ops/operands.ts) supplies everything about storage:
//   a_load / a_load4, b_load / b_load4, a2_load, b2_load   element (z, row, col) of an operand's
//       storage matrix (f32, packed f16/bf16, dropout-masked, virtual LoRA block-diagonal, split);
//   bias_at(n)                   the bias, or 0;
//   out_store(z, m, n, v)        the epilogue: store, accumulate, add a residual, split the columns
//                                over two buffers, or keep only a LoRA block diagonal.
// So a new weight format (NF4 for QLoRA) is a new fetch in operands.ts, not a new kernel.
// Uses of the second pair: y = x W^T + s * t B^T (LoRA in the base GEMM), dx = dy W + g A.
//
// Each workgroup of WG_X x WG_Y invocations computes a TM x TN tile of out (TM = WG_Y * RM,
// TN = 4 * WG_X); each invocation RM rows x 4 columns, held in vec4 registers. K is walked in blocks
// of TK through workgroup memory: As holds op(A)[m0 .. m0+TM, k0 .. k0+TK] as [k][m], Bs holds
// op(B)[k0 .. k0+TK, n0 .. n0+TN] as [k][n], so the inner loop reads a vec4 of each per k and row
// quad. Dispatch: (ceil(N / TN), ceil(M / TM), batch).
//
// Two entry points differ only in how the main pair's tiles are fetched: matmul_forward with scalar
// loads (any shape), matmul_forward_vec4 with a_load4 / b_load4: runs of 4 along each operand's contiguous dimension (the launcher checks that
// offsets, strides and that dimension allow it). The second pair (K2 is a few LoRA ranks) always
// uses scalar loads.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  K2: u32,            // columns of A2 (0: no second pair)
  a_off: u32,         // element offset, row stride and batch stride of A's storage
  a_ld: u32,
  a_batch: u32,
  b_off: u32,
  b_ld: u32,
  b_batch: u32,
  a2_off: u32,
  a2_ld: u32,
  b2_off: u32,
  b2_ld: u32,
  o_off: u32,
  o_ld: u32,
  o_batch: u32,
  split: u32,         // split2 operands: columns held by the first buffer
  seg_r: u32,         // lora_bd: the LoRA rank r, and up to 3 row segments (ends, LoRA block or
  seg_end0: u32,      // 0xffffffff for none, first row in the stacked B rows)
  seg_end1: u32,
  seg_end2: u32,
  seg_blk0: u32,
  seg_blk1: u32,
  seg_blk2: u32,
  seg_base0: u32,
  seg_base1: u32,
  seg_base2: u32,
  drop_seed: u32,     // dropout operands: base seed and threshold (dropoutHash.wgsl)
  drop_threshold: u32,
  b_aux0: u32,        // free for B's fetch kind (e.g. a quantised format's block size)
  b_aux1: u32,
  alpha: f32,
  alpha2: f32,
  drop_scale: f32,
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override TRANS_B2: bool = false;
override DUAL: bool = false;
override K_SEGMENTS: bool = false; // sum K member by member (see run_segments)
// Tile shape (the launcher picks one per M): invocations along n and m, rows per invocation
// (1, 2, 4 or 8), and the K block (a multiple of 4).
override WG_X: u32 = 16u;
override WG_Y: u32 = 8u;
override RM: u32 = 8u;
override TK: u32 = 32u;

const MAX_RM = 8u;

@group(0) @binding(0) var<uniform> p: Params;

// [k][m / 4] and [k][n / 4].
var<workgroup> As: array<vec4<f32>, TK * WG_Y * RM / 4u>;
var<workgroup> Bs: array<vec4<f32>, TK * WG_X>;

fn tm() -> u32 { return WG_Y * RM; }
fn tn() -> u32 { return WG_X * 4u; }
fn threads() -> u32 { return WG_X * WG_Y; }

// op(A)[m, k] of batch item z, 0 outside the matrix (k >= kend: past the current K range).
fn fetch_a(z: u32, m: u32, k: u32, kend: u32) -> f32 {
  if (m >= p.M || k >= kend) { return 0.0; }
  if (TRANS_A) { return a_load(z, k, m); }
  return a_load(z, m, k);
}

// op(B)[k, n], 0 outside the matrix.
fn fetch_b(z: u32, k: u32, n: u32, kend: u32) -> f32 {
  if (k >= kend || n >= p.N) { return 0.0; }
  if (TRANS_B) { return b_load(z, n, k); }
  return b_load(z, k, n);
}

fn fetch_a2(m: u32, k: u32, kend: u32) -> f32 {
  if (m >= p.M || k >= kend) { return 0.0; }
  return a2_load(0u, m, k);
}

fn fetch_b2(k: u32, n: u32, kend: u32) -> f32 {
  if (k >= kend || n >= p.N) { return 0.0; }
  if (TRANS_B2) { return b2_load(0u, n, k); }
  return b2_load(0u, k, n);
}

fn set_as(k: u32, m: u32, v: f32) {
  As[k * (tm() / 4u) + m / 4u][m % 4u] = v;
}

fn set_bs(k: u32, n: u32, v: f32) {
  Bs[k * WG_X + n / 4u][n % 4u] = v;
}

// Fills As and Bs for the K block starting at k0 with scalar loads, walking the contiguous
// dimension of each operand in storage.
fn load_tiles_scalar(t: u32, z: u32, m0: u32, n0: u32, k0: u32, kend: u32) {
  for (var e = t; e < TK * tm(); e += threads()) {
    if (TRANS_A) {
      let k = e / tm();
      let m = e % tm();
      set_as(k, m, fetch_a(z, m0 + m, k0 + k, kend));
    } else {
      let m = e / TK;
      let k = e % TK;
      set_as(k, m, fetch_a(z, m0 + m, k0 + k, kend));
    }
  }
  for (var e = t; e < TK * tn(); e += threads()) {
    if (TRANS_B) {
      let n = e / TK;
      let k = e % TK;
      set_bs(k, n, fetch_b(z, k0 + k, n0 + n, kend));
    } else {
      let k = e / tn();
      let n = e % tn();
      set_bs(k, n, fetch_b(z, k0 + k, n0 + n, kend));
    }
  }
}

// The second pair's tiles.
fn load_tiles_second(t: u32, m0: u32, n0: u32, k0: u32, kend: u32) {
  for (var e = t; e < TK * tm(); e += threads()) {
    let m = e / TK;
    let k = e % TK;
    set_as(k, m, fetch_a2(m0 + m, k0 + k, kend));
  }
  for (var e = t; e < TK * tn(); e += threads()) {
    let n = e / TK;
    let k = e % TK;
    set_bs(k, n, fetch_b2(k0 + k, n0 + n, kend));
  }
}

// Four consecutive storage elements, zero when the run starts outside the matrix (it then lies
// wholly outside: the launcher only picks vec4 loads when runs never straddle an edge).
fn fetch_a4(z: u32, r: u32, c: u32, inside: bool) -> vec4<f32> {
  if (!inside) { return vec4<f32>(0.0); }
  return a_load4(z, r, c);
}

fn fetch_b4(z: u32, r: u32, c: u32, inside: bool) -> vec4<f32> {
  if (!inside) { return vec4<f32>(0.0); }
  return b_load4(z, r, c);
}

// Same as load_tiles_scalar with vec4 loads: TK * TM / 4 runs of A and TK * TN / 4 runs of B.
fn load_tiles_vec4(t: u32, z: u32, m0: u32, n0: u32, k0: u32, kend: u32) {
  let mq = tm() / 4u;
  for (var r = t; r < TK * mq; r += threads()) {
    if (TRANS_A) {
      // Run r covers op(A)[m0 + 4j .. +4, k0 + k] = storage row k0 + k, columns m0 + 4j ..
      let k = r / mq;
      let j = r % mq;
      let m = m0 + 4u * j;
      As[k * mq + j] = fetch_a4(z, k0 + k, m, m < p.M && k0 + k < kend);
    } else {
      // Run r covers op(A)[m0 + m, k0 + 4q .. +4].
      let m = r / (TK / 4u);
      let q = r % (TK / 4u);
      let v = fetch_a4(z, m0 + m, k0 + 4u * q, m0 + m < p.M && k0 + 4u * q < kend);
      for (var c = 0u; c < 4u; c++) { set_as(4u * q + c, m, v[c]); }
    }
  }
  for (var r = t; r < TK * WG_X; r += threads()) {
    if (TRANS_B) {
      // Run r covers op(B)[k0 + 4q .. +4, n0 + n] = storage row n0 + n, columns k0 + 4q ..
      let n = r / (TK / 4u);
      let q = r % (TK / 4u);
      let v = fetch_b4(z, n0 + n, k0 + 4u * q, n0 + n < p.N && k0 + 4u * q < kend);
      for (var c = 0u; c < 4u; c++) { set_bs(4u * q + c, n, v[c]); }
    } else {
      // Run r covers op(B)[k0 + k, n0 + 4j .. +4].
      let k = r / WG_X;
      let j = r % WG_X;
      let n = n0 + 4u * j;
      Bs[k * WG_X + j] = fetch_b4(z, k0 + k, n, n < p.N && k0 + k < kend);
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

// acc (+)= the main pair over k in [k0_start, kend), with scalar or vec4 loads.
fn main_pair(t: u32, tx: u32, ty: u32, z: u32, m0: u32, n0: u32, k_start: u32, kend: u32, wide: bool, acc: ptr<function, array<vec4<f32>, MAX_RM>>) {
  for (var k0 = k_start; k0 < kend; k0 += TK) {
    if (wide) { load_tiles_vec4(t, z, m0, n0, k0, kend); } else { load_tiles_scalar(t, z, m0, n0, k0, kend); }
    workgroupBarrier();
    multiply_block(tx, ty, acc);
    workgroupBarrier();
  }
}

// acc2 (+)= the second pair over k in [k_start, kend).
fn second_pair(t: u32, tx: u32, ty: u32, m0: u32, n0: u32, k_start: u32, kend: u32, acc2: ptr<function, array<vec4<f32>, MAX_RM>>) {
  for (var k0 = k_start; k0 < kend; k0 += TK) {
    load_tiles_second(t, m0, n0, k0, kend);
    workgroupBarrier();
    multiply_block(tx, ty, acc2);
    workgroupBarrier();
  }
}

// Every element of the tile to out_store.
fn store_tile(tx: u32, ty: u32, z: u32, m0: u32, n0: u32, v4: ptr<function, array<vec4<f32>, MAX_RM>>) {
  let n = n0 + tx * 4u;
  for (var i = 0u; i < RM; i++) {
    let m = m0 + ty * RM + i;
    if (m >= p.M) { break; }
    for (var c = 0u; c < 4u; c++) {
      if (n + c < p.N) { out_store(z, m, n + c, (*v4)[i][c]); }
    }
  }
}

fn bias_tile(tx: u32, n0: u32) -> vec4<f32> {
  let n = n0 + tx * 4u;
  var bias4 = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (n + c < p.N) { bias4[c] = bias_at(n + c); }
  }
  return bias4;
}

// The whole K range, then the second pair into its own accumulator:
//   v = (alpha * acc + bias) + alpha2 * acc2
// the rounding of a separate product added afterwards (y = x W^T + b, then y += s t B^T), so a
// fused call gives what the unfused sequence gave.
fn run_whole(t: u32, tx: u32, ty: u32, z: u32, m0: u32, n0: u32, wide: bool) {
  var acc: array<vec4<f32>, MAX_RM>;
  var acc2: array<vec4<f32>, MAX_RM>;
  main_pair(t, tx, ty, z, m0, n0, 0u, p.K, wide, &acc);
  if (DUAL) { second_pair(t, tx, ty, m0, n0, 0u, p.K2, &acc2); }
  let bias4 = bias_tile(tx, n0);
  for (var i = 0u; i < RM; i++) {
    acc[i] = p.alpha * acc[i] + bias4;
    if (DUAL) { acc[i] += p.alpha2 * acc2[i]; }
  }
  store_tile(tx, ty, z, m0, n0, &acc);
}

// K_SEGMENTS: K is the outputs of a fused group (seg_end0/1/2: q | k | v, or gate | up) and the
// result is summed member by member, each member's LoRA part right after it:
//   v = alpha * A_q B_q + alpha2 * A2_q B2_q + alpha * A_k B_k + ...   (left to right)
// the order in which one product per member, accumulated into the output, would round it.
fn run_segments(t: u32, tx: u32, ty: u32, z: u32, m0: u32, n0: u32, wide: bool) {
  var total: array<vec4<f32>, MAX_RM>;
  var k_start = 0u;
  for (var s = 0u; s < 3u; s++) {
    let kend = min(seg_end(s), p.K);
    if (k_start >= kend) { break; }
    // Zeroed explicitly: some compilers hoist a loop-local var's declaration out of the loop.
    var acc: array<vec4<f32>, MAX_RM>;
    for (var i = 0u; i < MAX_RM; i++) { acc[i] = vec4<f32>(0.0); }
    main_pair(t, tx, ty, z, m0, n0, k_start, kend, wide, &acc);
    if (s == 0u) {
      let bias4 = bias_tile(tx, n0);
      for (var i = 0u; i < RM; i++) { total[i] = p.alpha * acc[i] + bias4; }
    } else {
      for (var i = 0u; i < RM; i++) { total[i] = total[i] + p.alpha * acc[i]; }
    }
    let blk = seg_blk(s);
    if (DUAL && blk != NO_BLOCK) {
      var acc2: array<vec4<f32>, MAX_RM>;
      for (var i = 0u; i < MAX_RM; i++) { acc2[i] = vec4<f32>(0.0); }
      second_pair(t, tx, ty, m0, n0, blk * p.seg_r, (blk + 1u) * p.seg_r, &acc2);
      for (var i = 0u; i < RM; i++) { total[i] = total[i] + p.alpha2 * acc2[i]; }
    }
    k_start = kend;
  }
  store_tile(tx, ty, z, m0, n0, &total);
}

fn run(wg: vec3<u32>, lid: vec3<u32>, wide: bool) {
  let t = lid.y * WG_X + lid.x;
  if (K_SEGMENTS) {
    run_segments(t, lid.x, lid.y, wg.z, wg.y * tm(), wg.x * tn(), wide);
  } else {
    run_whole(t, lid.x, lid.y, wg.z, wg.y * tm(), wg.x * tn(), wide);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  run(wg, lid, false);
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul_forward_vec4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  run(wg, lid, true);
}
