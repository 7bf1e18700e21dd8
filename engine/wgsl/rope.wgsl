// Rotary position embedding, Hugging Face rotate-half form, in place, over the q heads and the k
// heads of a token's row in one dispatch:
//   row t holds x_stride elements; q head h at q_off + h * head_dim (h < n_heads), k head g at
//   k_off + g * head_dim (g < n_kv): the fused q|k|v projection output, or one separate tensor
//   (n_kv = 0). positions is (tokens) u32; inv_freq is (head_dim / 2) f32.
//   angle[t, i] = f32(positions[t]) * inv_freq[i]          (an f32 product, as HF computes it)
//   for i < half:  out[i]        = x[i] cos(angle) - x[i + half] sin(angle)
//                  out[i + half] = x[i + half] cos(angle) + x[i] sin(angle)
// i.e. out = x * cos + rotate_half(x) * sin with cos/sin duplicated over both halves.
// Backward rotates the gradient by -angle (the transpose of a rotation).
// rope_forward_cache also writes each token's rotated k and its v (at v_off) to a KV cache, rows
// cache_pos + t of kv_width = n_kv * head_dim elements: generation's cache sink.
// One invocation per (token, head, i < half) pair; flat index = (wg.y * row_stride + wg.x) * 256 + lid.
// sin/cos use an exact Cody-Waite reduction modulo pi/2 and float polynomials, so they stay accurate
// (~1e-7) at angles of 1e5 rad whatever the driver's builtin does outside [-pi, pi].

struct Params {
  pairs: u32,       // tokens * (n_heads + n_kv) * half
  half: u32,        // head_dim / 2
  n_heads: u32,     // q heads
  n_kv: u32,        // k heads (0: rotate one tensor of n_heads heads)
  row_stride: u32,  // workgroups per row of the 2-D dispatch grid
  x_stride: u32,    // elements per token row of x
  q_off: u32,
  k_off: u32,
  v_off: u32,       // cache entry point: where v starts in a row
  cache_pos: u32,   // cache entry point: cache row of token 0
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(4) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read_write> v_cache: array<f32>;

// pi/2 = P1 + P2 + P3 + P4: P1..P3 have at most 7 significant bits, so k * Pi is exact for
// |k| < 2^17 (angles up to ~2e5 rad) and each subtraction below is exact.
const P1: f32 = 1.5625;
const P2: f32 = 0.0081787109375;
const P3: f32 = 0.00011730194091796875;
const P4: f32 = 3.1391647326017846e-07;
const TWO_OVER_PI: f32 = 0.6366197723675814;

// (sin(a), cos(a)) for an f32 angle a.
fn sin_cos(a: f32) -> vec2<f32> {
  let k = round(a * TWO_OVER_PI);
  let r = (((a - k * P1) - k * P2) - k * P3) - k * P4;  // |r| <= pi/4 (+ rounding)
  let r2 = r * r;
  // Cephes sinf/cosf minimax polynomials on [-pi/4, pi/4].
  let s = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4));
  let c = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5));
  let q = bitcast<u32>(i32(k)) & 3u;
  if (q == 0u) { return vec2<f32>(s, c); }
  if (q == 1u) { return vec2<f32>(c, -s); }
  if (q == 2u) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

// Rotates pair i of one head of one token; returns (token, head, i, base) for the cache writer.
fn rotate(wg: vec3<u32>, lid: u32, direction: f32) -> vec4<u32> {
  let idx = (wg.y * p.row_stride + wg.x) * 256u + lid;
  if (idx >= p.pairs) { return vec4<u32>(0xffffffffu); }
  let i = idx % p.half;
  let token_head = idx / p.half;
  let heads = p.n_heads + p.n_kv;
  let token = token_head / heads;
  let h = token_head % heads;
  let hd = 2u * p.half;
  var base = token * p.x_stride + p.q_off + h * hd;
  if (h >= p.n_heads) { base = token * p.x_stride + p.k_off + (h - p.n_heads) * hd; }
  let sc = sin_cos(f32(positions[token]) * inv_freq[i]);
  let s = direction * sc.x;
  let c = sc.y;
  let lo = x[base + i];
  let hi = x[base + i + p.half];
  x[base + i] = lo * c - hi * s;
  x[base + i + p.half] = hi * c + lo * s;
  return vec4<u32>(token, h, i, base);
}

@compute @workgroup_size(256)
fn rope_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = rotate(wg, lid, 1.0);
}

@compute @workgroup_size(256)
fn rope_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  _ = rotate(wg, lid, -1.0);
}

@compute @workgroup_size(256)
fn rope_forward_cache(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = rotate(wg, lid, 1.0);
  if (r.x == 0xffffffffu || r.y < p.n_heads) { return; }
  // A k head: copy the rotated pair and the same elements of v into the cache row.
  let token = r.x;
  let g = r.y - p.n_heads;
  let i = r.z;
  let hd = 2u * p.half;
  let dst = (p.cache_pos + token) * (p.n_kv * hd) + g * hd;
  k_cache[dst + i] = x[r.w + i];
  k_cache[dst + i + p.half] = x[r.w + i + p.half];
  let vb = token * p.x_stride + p.v_off + g * hd;
  v_cache[dst + i] = x[vb + i];
  v_cache[dst + i + p.half] = x[vb + i + p.half];
}
