// Float64 references of the shared matmul with an NF4 weight group as B (ops/operands.ts kind
// 'nf4', engine/wgsl/nf4Weight.wgsl): dequantize each member exactly as bitsandbytes does
// (engine/quant), stack the members along out, then the plain matmul in float64.
//   forward  y  = alpha * x W^T + bias (+ y0)     x (M, in), W (sum of outs, in), y (M, out)
//   input    dx = alpha * dy W (+ dx0)            dy (M, out), dx (M, in)
import { dequantizeWeight, type Nf4Weight } from '../quant/nf4Weight.ts';
import { matmulRef } from './matmul.ref.ts';

export interface Nf4RefArgs {
  M: number;
  alpha?: number;
  bias?: Float64Array | null; // (out), forward only
  accumulateInto?: Float64Array | null; // the output's previous contents
}

/** The group's weight (sum of outs, in) as float64: each member dequantized on its own. */
export function nf4GroupF64(members: readonly Nf4Weight[]): Float64Array {
  const out = new Float64Array(members.reduce((s, w) => s + w.numel, 0));
  let at = 0;
  for (const w of members) {
    out.set(dequantizeWeight(w), at);
    at += w.numel;
  }
  return out;
}

function dims(members: readonly Nf4Weight[]): { out: number; inF: number } {
  return { out: members.reduce((s, w) => s + w.shape[0], 0), inF: members[0].shape[1] };
}

export function nf4MatmulForwardRef(x: Float64Array, members: readonly Nf4Weight[], a: Nf4RefArgs): Float64Array {
  const { out, inF } = dims(members);
  return matmulRef(x, nf4GroupF64(members), { M: a.M, N: out, K: inF, transB: true, alpha: a.alpha, bias: a.bias, accumulateInto: a.accumulateInto });
}

export function nf4MatmulBackwardDxRef(dy: Float64Array, members: readonly Nf4Weight[], a: Nf4RefArgs): Float64Array {
  const { out, inF } = dims(members);
  return matmulRef(dy, nf4GroupF64(members), { M: a.M, N: inF, K: out, alpha: a.alpha, accumulateInto: a.accumulateInto });
}
