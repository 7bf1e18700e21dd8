// Float64 references of the fused NF4 kernels (engine/wgsl/nf4Matmul.wgsl): dequantize the 4-bit
// weight exactly as bitsandbytes does (engine/quant), then the plain matmul in float64.
//   forward  y  = alpha * x W^T + bias (+ y0)     x (M, in), W (out, in), y (M, out)
//   input    dx = alpha * dy W (+ dx0)            dy (M, out), dx (M, in)
import { dequantizeWeight, type Nf4Weight } from '../quant/nf4Weight.ts';

export interface Nf4RefArgs {
  M: number;
  alpha?: number;
  bias?: Float64Array | null; // (out), forward only
  accumulateInto?: Float64Array | null; // the output's previous contents
}

export function nf4WeightF64(w: Nf4Weight): Float64Array {
  return Float64Array.from(dequantizeWeight(w));
}

export function nf4MatmulForwardRef(x: Float64Array, w: Nf4Weight, a: Nf4RefArgs): Float64Array {
  const [out, inF] = w.shape;
  const W = nf4WeightF64(w);
  const y = new Float64Array(a.M * out);
  for (let m = 0; m < a.M; m++) {
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let k = 0; k < inF; k++) s += x[m * inF + k] * W[o * inF + k];
      y[m * out + o] = (a.alpha ?? 1) * s + (a.bias ? a.bias[o] : 0) + (a.accumulateInto ? a.accumulateInto[m * out + o] : 0);
    }
  }
  return y;
}

export function nf4MatmulBackwardDxRef(dy: Float64Array, w: Nf4Weight, a: Nf4RefArgs): Float64Array {
  const [out, inF] = w.shape;
  const W = nf4WeightF64(w);
  const dx = new Float64Array(a.M * inF);
  for (let m = 0; m < a.M; m++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let o = 0; o < out; o++) s += dy[m * out + o] * W[o * inF + i];
      dx[m * inF + i] = (a.alpha ?? 1) * s + (a.accumulateInto ? a.accumulateInto[m * inF + i] : 0);
    }
  }
  return dx;
}
