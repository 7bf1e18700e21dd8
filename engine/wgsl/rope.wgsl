// Rotary position embedding, Hugging Face rotate-half form, in place:
//   x is (tokens, n_heads, head_dim) f32; positions is (tokens) u32; inv_freq is (head_dim / 2) f32
//   angle[t, i] = f32(positions[t]) * inv_freq[i]          (an f32 product, as HF computes it)
//   for i < half:  out[i]        = x[i] cos(angle) - x[i + half] sin(angle)
//                  out[i + half] = x[i + half] cos(angle) + x[i] sin(angle)
// i.e. out = x * cos + rotate_half(x) * sin with cos/sin duplicated over both halves.
// Backward rotates the gradient by -angle (the transpose of a rotation).
// One invocation per (token, head, i < half) pair; flat index = (wg.y * row_stride + wg.x) * 256 + lid.
// sin/cos use an exact Cody-Waite reduction modulo pi/2 and float polynomials, so they stay accurate
// (~1e-7) at angles of 1e5 rad whatever the driver's builtin does outside [-pi, pi].

struct Params {
  pairs: u32,       // tokens * n_heads * half
  half: u32,        // head_dim / 2
  n_heads: u32,
  row_stride: u32,  // workgroups per row of the 2-D dispatch grid
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> inv_freq: array<f32>;

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

fn rotate(wg: vec3<u32>, lid: u32, direction: f32) {
  let idx = (wg.y * p.row_stride + wg.x) * 256u + lid;
  if (idx >= p.pairs) { return; }
  let i = idx % p.half;
  let token_head = idx / p.half;
  let token = token_head / p.n_heads;
  let base = token_head * 2u * p.half;
  let sc = sin_cos(f32(positions[token]) * inv_freq[i]);
  let s = direction * sc.x;
  let c = sc.y;
  let lo = x[base + i];
  let hi = x[base + i + p.half];
  x[base + i] = lo * c - hi * s;
  x[base + i + p.half] = hi * c + lo * s;
}

@compute @workgroup_size(256)
fn rope_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  rotate(wg, lid, 1.0);
}

@compute @workgroup_size(256)
fn rope_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  rotate(wg, lid, -1.0);
}
