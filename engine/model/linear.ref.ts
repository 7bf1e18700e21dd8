// Float64 reference for model/linear.ts: a fused group computed member by member the PEFT way
// (peft/tuners/lora/layer.py), which is what the fused dispatches must equal:
//   y_z  = x W_z^T + b_z + s · (drop_z(x) A_z^T) B_z^T            (members without LoRA: no last term)
//   dx   = sum_z dy_z W_z + sum_z drop_z'(s · dy_z B_z A_z)
//   dA_z = (s · dy_z B_z)^T drop_z(x),  dB_z = s · dy_z^T (drop_z(x) A_z^T)
// drop_z is member z's dropout mask (the z-th member with LoRA, ops/matmulFused.ref.ts dropoutRows).
import { matmulRef } from '../ops/matmul.ref.ts';
import { dropoutRows } from '../ops/matmulFused.ref.ts';

export interface MemberRef {
  W: Float64Array; // (out, in)
  bias: Float64Array | null; // (out)
  out: number;
  lora: { A: Float64Array; B: Float64Array } | null; // (r, in), (out, r)
}

export interface GroupRefArgs {
  N: number;
  inFeatures: number;
  r: number;
  scale: number;
  dropout: { p: number; seed: number } | null;
}

function dropped(x: Float64Array, a: GroupRefArgs, z: number): Float64Array {
  return a.dropout ? dropoutRows(x, a.N, a.inFeatures, a.inFeatures, a.dropout.p, a.dropout.seed, z) : x;
}

/** y (N, sum of outs), members side by side. */
export function groupForwardRef(x: Float64Array, members: MemberRef[], a: GroupRefArgs): Float64Array {
  const total = members.reduce((s, m) => s + m.out, 0);
  const y = new Float64Array(a.N * total);
  let col = 0;
  let z = 0;
  for (const m of members) {
    let part = matmulRef(x, m.W, { M: a.N, N: m.out, K: a.inFeatures, transB: true, bias: m.bias });
    if (m.lora) {
      const t = matmulRef(dropped(x, a, z++), m.lora.A, { M: a.N, N: a.r, K: a.inFeatures, transB: true });
      const l = matmulRef(t, m.lora.B, { M: a.N, N: m.out, K: a.r, transB: true, alpha: a.scale });
      part = part.map((v, i) => v + l[i]);
    }
    for (let n = 0; n < a.N; n++) for (let c = 0; c < m.out; c++) y[n * total + col + c] = part[n * m.out + c];
    col += m.out;
  }
  return y;
}

/** dx (N, in) and each LoRA member's dA (r, in), dB (out, r), for dL/dy = dy (N, sum of outs). */
export function groupBackwardRef(x: Float64Array, dy: Float64Array, members: MemberRef[], a: GroupRefArgs): { dx: Float64Array; dA: Float64Array[]; dB: Float64Array[] } {
  const total = members.reduce((s, m) => s + m.out, 0);
  const dx = new Float64Array(a.N * a.inFeatures);
  const dA: Float64Array[] = [];
  const dB: Float64Array[] = [];
  let col = 0;
  let z = 0;
  for (const m of members) {
    const dyz = new Float64Array(a.N * m.out);
    for (let n = 0; n < a.N; n++) for (let c = 0; c < m.out; c++) dyz[n * m.out + c] = dy[n * total + col + c];
    col += m.out;
    matmulRef(dyz, m.W, { M: a.N, N: a.inFeatures, K: m.out }).forEach((v, i) => (dx[i] += v));
    if (!m.lora) continue;
    const xd = dropped(x, a, z);
    const t = matmulRef(xd, m.lora.A, { M: a.N, N: a.r, K: a.inFeatures, transB: true });
    const g = matmulRef(dyz, m.lora.B, { M: a.N, N: a.r, K: m.out, alpha: a.scale });
    dA.push(matmulRef(g, xd, { M: a.r, N: a.inFeatures, K: a.N, transA: true }));
    dB.push(matmulRef(dyz, t, { M: m.out, N: a.r, K: a.N, transA: true, alpha: a.scale }));
    // The input gradient of the LoRA branch goes back through member z's own mask.
    const gA = matmulRef(g, m.lora.A, { M: a.N, N: a.inFeatures, K: a.r });
    const back = a.dropout ? dropoutRows(gA, a.N, a.inFeatures, a.inFeatures, a.dropout.p, a.dropout.seed, z) : gA;
    back.forEach((v, i) => (dx[i] += v));
    z++;
  }
  return { dx, dA, dB };
}
