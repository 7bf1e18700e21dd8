// The named activations one decoder layer saves in its forward pass for the backward pass
// (llm.c's ActivationTensors, per layer). N = B·T tokens. q, k and v are the columns of one fused
// projection output qkv (N, qd + 2·kd): q at 0, k at qd, v at qd + kd (model/weights.ts).
import { createBuffer } from '../gpu/buffers.ts';

export interface BlockDims {
  B: number; // sequences
  T: number; // tokens per sequence (padded)
  H: number; // hidden size
  I: number; // MLP intermediate size
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  eps: number;
  qkNorm: boolean; // Qwen3: RMSNorm over each head of q and k before RoPE
}

export interface LayerActivations {
  xIn: GPUBuffer; // (N, H) residual stream entering the layer
  n1: GPUBuffer; // (N, H) input_layernorm(xIn)
  rstd1: GPUBuffer; // (N)
  qkvPre: GPUBuffer | null; // (N, qd + 2kd) projection output before q_norm / k_norm (Qwen3 only); v is read from here
  qRstd: GPUBuffer | null; // (N·nHeads)
  kRstd: GPUBuffer | null; // (N·nKv)
  qkv: GPUBuffer; // (N, qd + 2kd): q, k after RoPE (and q/k norm), v
  attn: GPUBuffer; // (N, nHeads·hd) attention output before o_proj
  lse: GPUBuffer; // (B, nHeads, T)
  xMid: GPUBuffer; // (N, H) xIn + o_proj(attn)
  n2: GPUBuffer; // (N, H) post_attention_layernorm(xMid)
  rstd2: GPUBuffer; // (N)
  gate: GPUBuffer; // (N, I)
  up: GPUBuffer; // (N, I)
  h: GPUBuffer; // (N, I) silu(gate)·up
}

/** Width of the fused q|k|v rows and where k and v start in them. */
export function qkvLayout(d: BlockDims): { width: number; k: number; v: number } {
  const qd = d.nHeads * d.headDim;
  const kd = d.nKvHeads * d.headDim;
  return { width: qd + 2 * kd, k: qd, v: qd + kd };
}

export function allocateActivations(device: GPUDevice, d: BlockDims, xIn?: GPUBuffer): LayerActivations {
  const N = d.B * d.T;
  const f = (n: number, label: string) => createBuffer(device, n * 4, undefined, label);
  const qd = d.nHeads * d.headDim;
  const { width } = qkvLayout(d);
  return {
    xIn: xIn ?? f(N * d.H, 'xIn'),
    n1: f(N * d.H, 'n1'),
    rstd1: f(N, 'rstd1'),
    qkvPre: d.qkNorm ? f(N * width, 'qkvPre') : null,
    qRstd: d.qkNorm ? f(N * d.nHeads, 'qRstd') : null,
    kRstd: d.qkNorm ? f(N * d.nKvHeads, 'kRstd') : null,
    qkv: f(N * width, 'qkv'),
    attn: f(N * qd, 'attn'),
    lse: f(d.B * d.nHeads * d.T, 'lse'),
    xMid: f(N * d.H, 'xMid'),
    n2: f(N * d.H, 'n2'),
    rstd2: f(N, 'rstd2'),
    gate: f(N * d.I, 'gate'),
    up: f(N * d.I, 'up'),
    h: f(N * d.I, 'h'),
  };
}

/** Bytes one layer's saved activations take for N tokens (for memory estimates). */
export function activationBytes(d: BlockDims): number {
  const N = d.B * d.T;
  const qd = d.nHeads * d.headDim;
  const { width } = qkvLayout(d);
  const qk = d.qkNorm ? N * (width + d.nHeads + d.nKvHeads) : 0;
  return 4 * (N * d.H * 4 + N * 2 + N * width + N * qd + d.B * d.nHeads * d.T + N * d.I * 3 + qk);
}

export function destroyActivations(a: LayerActivations, keepXIn = false): void {
  for (const [name, buf] of Object.entries(a)) {
    if (!buf || (keepXIn && name === 'xIn')) continue;
    (buf as GPUBuffer).destroy();
  }
}
