// NF4 weight-element fetch: the dequantized value of element e of a frozen 4-bit weight (the
// flattened row-major (out, in) matrix), exactly as bitsandbytes' dequantize_4bit returns it:
//   scale = nested ? f32(f32(map[absmax_code[e / 64]] * absmax2[e / 16384]) + offset) : absmax[e / 64]
//   w     = round_to_dtype(f32(NF4[code_e] * scale))            (then used in f32 arithmetic)
// The weight is one u32 buffer bound as `b` (declared by the kernel that includes this file), laid
// out as engine/quant/gpuLayout.ts describes (a 24-word header with the 16 NF4 values, then codes, scales, nested data).
// u32 loads only, so it works with and without shader-f16. A matmul plugs this in as its weight
// fetch: nf4_weight(e) for one element, nf4_weight8(e) for elements e .. e + 7 (e a multiple of 8:
// one code word, one 64-block).

// The 16 NF4 values (quant_map) sit in header words 8 .. 23: a load, where a dynamically indexed
// constant array costs a private copy per invocation (and seconds of shader compilation on CPUs).
fn nf4_value(code: u32) -> f32 { return bitcast<f32>(b[8u + code]); }

fn nf4_numel() -> u32 { return b[0]; }

// The f32 scale of 64-element block `block`.
fn nf4_block_scale(block: u32) -> f32 {
  if ((b[6] & 1u) == 0u) { return bitcast<f32>(b[b[2] + block]); }
  let q = (b[b[2] + (block >> 2u)] >> ((block & 3u) * 8u)) & 0xffu;
  let product = bitcast<f32>(b[b[4] + q]) * bitcast<f32>(b[b[3] + (block >> 8u)]);
  // Header word 7 is 0 but unknown to the compiler: the product is rounded before the add, as in
  // bitsandbytes (dequantize_blockwise, then `absmax += offset`), never fused into an fma.
  return bitcast<f32>(bitcast<u32>(product) | b[7]) + bitcast<f32>(b[5]);
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

// The 4-bit code of element e: byte e / 2 of the packed codes, high nibble for even e.
fn nf4_code(e: u32) -> u32 {
  let word = b[b[1] + (e >> 3u)];
  let shift = ((e >> 1u) & 3u) * 8u + select(0u, 4u, (e & 1u) == 0u);
  return (word >> shift) & 0xfu;
}

fn nf4_weight(e: u32) -> f32 {
  return nf4_round(nf4_value(nf4_code(e)) * nf4_block_scale(e >> 6u), (b[6] >> 1u) & 3u);
}

struct Nf4Run8 {
  lo: vec4<f32>, // elements e .. e + 3
  hi: vec4<f32>, // elements e + 4 .. e + 7
}

// Elements e .. e + 7, e a multiple of 8: one code word, one block scale.
fn nf4_weight8(e: u32) -> Nf4Run8 {
  let word = b[b[1] + (e >> 3u)];
  let scale = nf4_block_scale(e >> 6u);
  let mode = (b[6] >> 1u) & 3u;
  var v: array<f32, 8>;
  for (var i = 0u; i < 4u; i++) {
    let byte = (word >> (8u * i)) & 0xffu;
    v[2u * i] = nf4_round(nf4_value(byte >> 4u) * scale, mode);
    v[2u * i + 1u] = nf4_round(nf4_value(byte & 0xfu) * scale, mode);
  }
  return Nf4Run8(vec4<f32>(v[0], v[1], v[2], v[3]), vec4<f32>(v[4], v[5], v[6], v[7]));
}
