// The dropout mask as a pure function of (seed, element index), shared by every kernel that
// applies or regenerates a mask (dropout.wgsl, matmul operands of kind "dropout"); prepended to
// those modules by their launchers. Bit-for-bit equal to dropoutMaskRef (ops/dropout.ref.ts).
//   keep(i) = hash(seed, i) >= threshold, threshold = round(p * 2^32), so P(drop) = p
//   dropout_keep_scale = keep ? scale : 0, scale = 1 / (1 - p) (0 when p = 1)
//   dropout_seed(base, z): the seed of item z of a fused group (one LoRA module each)

// PCG-RXS-M-XS 32-bit output permutation (Jarzynski & Olano, "Hash Functions for GPU Rendering").
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn dropout_keep_scale(seed: u32, threshold: u32, scale: f32, i: u32) -> f32 {
  let h = pcg(pcg(i ^ pcg(seed)) + seed);
  return select(0.0, scale, h >= threshold);
}

fn dropout_seed(base: u32, z: u32) -> u32 {
  return base + z * 0x9E3779B9u;
}
