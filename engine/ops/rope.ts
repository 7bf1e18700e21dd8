// Rotary position embedding (Hugging Face rotate-half form), in place, and its CPU-side inverse
// frequencies with HF's rope_scaling variants.
//   ropeForward:  x (tokens, nHeads, headDim) f32 <- x*cos + rotate_half(x)*sin,
//                 angle[t, i] = f32(positions[t]) * invFreq[i % (headDim/2)]
//   ropeBackward: the gradient rotated by -angle (same arguments, in place on the gradient)
//   ropeQK:       both of the above for the q and k heads of a fused q|k|v row (one dispatch), and
//                 optionally the KV-cache sink: rotated k and v rows written at the cache position
// positions is (tokens) u32; invFreq is (headDim/2) f32 (upload ropeInvFreq's result).
import type { Binding, GpuContext } from '../gpu/context.ts';
import { WhetstoneError } from '../errors.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/rope.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'rope', code };

export interface RopeArgs {
  x: Binding; // (tokens, nHeads, headDim) f32, rotated in place
  positions: Binding; // (tokens) u32
  invFreq: Binding; // (headDim / 2) f32
  tokens: number;
  nHeads: number;
  headDim: number; // even
}

/** HF config.json `rope_scaling` (null/absent: none). Supported: default, linear, llama3. */
export interface RopeScaling {
  rope_type?: string;
  type?: string; // legacy spelling of rope_type
  factor?: number;
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

/** q and k heads of fused rows: x (tokens, stride) with q heads at qOffset and k heads at kOffset. */
export interface RopeQKArgs {
  x: Binding; // (tokens, stride) f32, rotated in place
  positions: Binding;
  invFreq: Binding;
  tokens: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  stride: number;
  qOffset: number;
  kOffset: number;
  /** Cache sink (forward only): k rows (after RoPE) and v rows (at vOffset) go to rows position.. of the caches. */
  cache?: { k: Binding; v: Binding; vOffset: number; position: number } | null;
}

function launch(ctx: GpuContext, entryPoint: string, a: RopeQKArgs): void {
  if (a.headDim % 2 !== 0) throw new WhetstoneError(`RoPE needs an even head dimension, got ${a.headDim}`, 'Check head_dim in config.json.');
  const half = a.headDim / 2;
  const pairs = a.tokens * (a.nHeads + a.nKvHeads) * half;
  const grid = flatGrid(ctx, Math.ceil(pairs / 256));
  const params = new Params().u32({
    pairs,
    half,
    n_heads: a.nHeads,
    n_kv: a.nKvHeads,
    row_stride: grid.rowStride,
    x_stride: a.stride,
    q_off: a.qOffset,
    k_off: a.kOffset,
    v_off: a.cache?.vOffset ?? 0,
    cache_pos: a.cache?.position ?? 0,
  });
  const buffers = [a.x, a.positions, a.invFreq, a.cache?.k ?? null, a.cache?.v ?? null];
  ctx.dispatch({ source: SOURCE, entryPoint }, buffers, params, grid.workgroups);
}

const single = (a: RopeArgs): RopeQKArgs => ({ ...a, nKvHeads: 0, stride: a.nHeads * a.headDim, qOffset: 0, kOffset: 0 });

/** x <- x*cos + rotate_half(x)*sin, in place. */
export function ropeForward(ctx: GpuContext, a: RopeArgs): void {
  launch(ctx, 'rope_forward', single(a));
}

/** dx <- rotation of dy by -angle, in place (pass the gradient as `x`). */
export function ropeBackward(ctx: GpuContext, a: RopeArgs): void {
  launch(ctx, 'rope_backward', single(a));
}

/** RoPE on the q and k heads of fused q|k|v rows in one dispatch (with the cache sink when given). */
export function ropeQKForward(ctx: GpuContext, a: RopeQKArgs): void {
  launch(ctx, a.cache ? 'rope_forward_cache' : 'rope_forward', a);
}

/** The backward of ropeQKForward on dq|dk (the gradient rows, same layout), in place. */
export function ropeQKBackward(ctx: GpuContext, a: RopeQKArgs): void {
  launch(ctx, 'rope_backward', { ...a, cache: null });
}

/** What ropeInvFreq accepts: the typed form, or config.json's object as parsed (checked here). */
export type RopeScalingInput = RopeScaling | Readonly<Record<string, unknown>>;

function ropeType(scaling: RopeScalingInput | null | undefined): string {
  if (!scaling) return 'default';
  const t = scaling.rope_type ?? scaling.type ?? 'default';
  if (typeof t !== 'string') throw new WhetstoneError(`rope_scaling.rope_type is ${JSON.stringify(t)}, not a string`, 'Fix rope_scaling in config.json.');
  return t;
}

function unsupported(type: string): WhetstoneError {
  return new WhetstoneError(`rope_scaling type "${type}" is not supported`, 'Use a model whose config.json has rope_scaling null, "linear" or "llama3".');
}

function need(scaling: RopeScalingInput, key: keyof RopeScaling): number {
  const v = (scaling as Readonly<Record<string, unknown>>)[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new WhetstoneError(`rope_scaling.${key} is missing or not a number`, 'Fix rope_scaling in config.json.');
  return v;
}

const f = Math.fround;

/**
 * HF inverse frequencies, (headDim / 2) f32: theta^(-2i/d), then rope_scaling. Mirrors the f32
 * arithmetic of transformers' _compute_default_rope_parameters (1 / base ** (arange(0, d, 2) / d)
 * in f32) so the angles match HF's at large positions; llama3/linear scaling follow
 * _compute_llama3_parameters / _compute_linear_scaling_rope_parameters, also step by step in f32.
 */
export function ropeInvFreq(headDim: number, theta: number, scaling?: RopeScalingInput | null): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(f(theta) ** f((2 * i) / headDim)));
  const type = ropeType(scaling);
  if (type === 'default') return inv;
  const s = scaling as RopeScalingInput;
  const factor = f(need(s, 'factor'));
  if (type === 'linear') return inv.map((v) => f(v / factor));
  if (type !== 'llama3') throw unsupported(type);
  const low = need(s, 'low_freq_factor');
  const high = need(s, 'high_freq_factor');
  const oldContext = need(s, 'original_max_position_embeddings');
  const lowFreqWavelen = oldContext / low; // wavelengths longer than this: divided by factor
  const highFreqWavelen = oldContext / high; // shorter than this: kept
  return inv.map((v) => {
    // PyTorch evaluates `scalar / tensor` as reciprocal(tensor) * scalar, in f32.
    const wavelen = f(f(1 / v) * f(2 * Math.PI));
    const scaled = wavelen > lowFreqWavelen ? f(v / factor) : v;
    if (wavelen < highFreqWavelen || wavelen > lowFreqWavelen) return scaled;
    const smooth = f(f(f(f(1 / wavelen) * f(oldContext)) - f(low)) / f(high - low));
    return f(f(f(f(1 - smooth) * scaled) / factor) + f(smooth * scaled));
  });
}

/** HF's attention_factor for the rope type: scales cos and sin. 1.0 for default, linear and llama3. */
export function ropeAttentionScaling(scaling?: RopeScalingInput | null): number {
  const type = ropeType(scaling);
  if (type === 'default' || type === 'linear' || type === 'llama3') return 1.0;
  throw unsupported(type);
}
