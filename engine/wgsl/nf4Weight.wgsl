// NF4 weight-element fetch: the dequantized value of element e of a frozen 4-bit weight group (the
// members' (out_i, in) weights concatenated along out, flattened row-major), exactly as
// bitsandbytes' dequantize_4bit returns each member's element l = e - (member start):
//   scale = nested ? f32(f32(map[absmax_code[l / 64]] * absmax2[l / 16384]) + offset) : absmax[l / 64]
//   w     = round_to_dtype(f32(NF4[code_l] * scale))            (then used in f32 arithmetic)
// The group is one u32 buffer bound as `nf4_buf` (declared by the operand preamble, ops/operands.ts),
// laid out as engine/quant/gpuLayout.ts describes (a 40-word header: flags, the 16 NF4 values, and
// per member its end and section offsets). u32 loads only, so it works with and without shader-f16.
//   nf4_load(e)    element e
//   nf4_load4(e)   elements e .. e + 3, e a multiple of 4 and the four in one member (the matmul's
//                  vec4 path: the row width is a multiple of 4): two bytes of one code word, one scale

// The 16 NF4 values (quant_map) sit in header words 4 .. 19: a load, where a dynamically indexed
// constant array costs a private copy per invocation (and seconds of shader compilation on CPUs).
fn nf4_value(code: u32) -> f32 { return bitcast<f32>(nf4_buf[4u + code]); }

// Header word of member s (0, 1 or 2): 20 + 6s; its end is at +0, the previous member's end at -6.
fn nf4_member_header(e: u32) -> u32 {
  return 20u + 6u * (select(0u, 1u, e >= nf4_buf[20u]) + select(0u, 1u, e >= nf4_buf[26u]));
}

fn nf4_member_start(h: u32) -> u32 {
  if (h == 20u) { return 0u; }
  return nf4_buf[h - 6u];
}

// The f32 scale of 64-element block `block` of the member whose header starts at h.
fn nf4_block_scale(h: u32, block: u32) -> f32 {
  let scales = nf4_buf[h + 2u];
  if ((nf4_buf[1] & 1u) == 0u) { return bitcast<f32>(nf4_buf[scales + block]); }
  let q = (nf4_buf[scales + (block >> 2u)] >> ((block & 3u) * 8u)) & 0xffu;
  let product = bitcast<f32>(nf4_buf[nf4_buf[h + 4u] + q]) * bitcast<f32>(nf4_buf[nf4_buf[h + 3u] + (block >> 8u)]);
  // Header word 3 is 0 but unknown to the compiler: the product is rounded before the add, as in
  // bitsandbytes (dequantize_blockwise, then `absmax += offset`), never fused into an fma.
  return bitcast<f32>(bitcast<u32>(product) | nf4_buf[3]) + bitcast<f32>(nf4_buf[h + 5u]);
}

// f32 -> the checkpoint dtype (round to nearest even) -> f32. mode: 0 f32, 1 bf16, 2 f16.
fn nf4_round(v: f32, mode: u32) -> f32 {
  if (mode == 1u) {
    let u = bitcast<u32>(v);
    return bitcast<f32>((u + 0x7fffu + ((u >> 16u) & 1u)) & 0xffff0000u);
  }
  if (mode == 2u) {
    let a = abs(v);
    if (a < 6.103515625e-05) {
      // f16 subnormals are multiples of 2^-24; round() breaks ties to even. Keep the sign of -0.
      let m = round(a * 16777216.0) * 5.9604644775390625e-08;
      return bitcast<f32>(bitcast<u32>(m) | (bitcast<u32>(v) & 0x80000000u));
    }
    let u = bitcast<u32>(v);
    return bitcast<f32>((u + 0xfffu + ((u >> 13u) & 1u)) & 0xffffe000u);
  }
  return v;
}

fn nf4_load(e: u32) -> f32 {
  let h = nf4_member_header(e);
  let l = e - nf4_member_start(h);
  // Byte l / 2 of the member's codes, the high nibble for even l.
  let word = nf4_buf[nf4_buf[h + 1u] + (l >> 3u)];
  let shift = ((l >> 1u) & 3u) * 8u + select(0u, 4u, (l & 1u) == 0u);
  return nf4_round(nf4_value((word >> shift) & 0xfu) * nf4_block_scale(h, l >> 6u), (nf4_buf[1] >> 1u) & 3u);
}

fn nf4_load4(e: u32) -> vec4<f32> {
  let h = nf4_member_header(e);
  let l = e - nf4_member_start(h);
  // Bytes l / 2 and l / 2 + 1 (l a multiple of 4): the low or high half of one word.
  let half = (nf4_buf[nf4_buf[h + 1u] + (l >> 3u)] >> ((l & 4u) * 4u)) & 0xffffu;
  let scale = nf4_block_scale(h, l >> 6u);
  let mode = (nf4_buf[1] >> 1u) & 3u;
  return vec4<f32>(
    nf4_round(nf4_value((half >> 4u) & 0xfu) * scale, mode),
    nf4_round(nf4_value(half & 0xfu) * scale, mode),
    nf4_round(nf4_value((half >> 12u) & 0xfu) * scale, mode),
    nf4_round(nf4_value((half >> 8u) & 0xfu) * scale, mode),
  );
}
