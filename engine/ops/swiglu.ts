// SwiGLU of the Llama MLP: h = silu(gate) * up, elementwise over (tokens, intermediate) = n.
//   backward: dGate = dh * up * sig(g) * (1 + g (1 - sig(g))),  dUp = dh * silu(g)
// All buffers f32 (n), distinct (WebGPU forbids binding one range as both read and read_write).
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/swiglu.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'swiglu', code };

export interface SwigluForwardArgs {
  gate: Binding; // (n) f32
  up: Binding; // (n) f32
  h: Binding; // (n) f32, written
  n: number;
}

export interface SwigluBackwardArgs {
  gate: Binding; // (n) f32, the forward's input
  up: Binding; // (n) f32, the forward's input
  dh: Binding; // (n) f32
  dGate: Binding; // (n) f32, written
  dUp: Binding; // (n) f32, written
  n: number;
}

/** h = silu(gate) * up. */
export function swigluForward(ctx: GpuContext, a: SwigluForwardArgs): void {
  const grid = flatGrid(ctx, Math.ceil(a.n / 256));
  ctx.dispatch({ source: SOURCE, entryPoint: 'swiglu_forward' }, [a.gate, a.up, a.h], new Params().u32({ n: a.n, row_stride: grid.rowStride }), grid.workgroups);
}

/** dGate, dUp (overwritten) for h = silu(gate) * up. */
export function swigluBackward(ctx: GpuContext, a: SwigluBackwardArgs): void {
  const grid = flatGrid(ctx, Math.ceil(a.n / 256));
  ctx.dispatch({ source: SOURCE, entryPoint: 'swiglu_backward' }, [a.gate, a.up, null, a.dh, a.dGate, a.dUp], new Params().u32({ n: a.n, row_stride: grid.rowStride }), grid.workgroups);
}
