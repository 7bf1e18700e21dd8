import { describe, expect, it } from 'vitest';
import golden from '../../scripts/reference/goldens/optimizer.json';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { GRAD_STATS_FLOATS, gradStatsAccumulate, gradStatsCheckValues, gradStatsFinalize, gradStatsReset } from './gradStats.ts';
import { gradStatsRef } from './gradStats.ref.ts';
import { adamwStep, sgdStep } from './optimizer.ts';
import { adamwRef, sgdRef, type AdamWHyper, type AdamWState } from './optimizer.ref.ts';
import { expectClose, randomArray, toF32, toF64 } from './testing.ts';

// f32 state: a step moves p by ~lr, so errors are a few f32 ulps of p plus ulps of the update.
const TOL = { atol: 1e-6, rtol: 2e-5 };
const HYPER: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

// scripts/reference/optimizer_golden.py: torch.optim.AdamW / SGD after clip_grad_norm_, float64.
interface GoldenCase {
  optimizer: 'adamw' | 'sgd';
  maxNorm: number;
  hyper: AdamWHyper;
  init: number[][];
  steps: { grads: number[][]; norm: number; params: number[][]; m?: number[][]; v?: number[][] }[];
}
const CASES = golden.cases as GoldenCase[];

interface GpuTensor {
  n: number;
  param: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  grad: GPUBuffer;
}

function gpuTensor(ctx: GpuContext, param: ArrayLike<number>): GpuTensor {
  const n = param.length;
  return {
    n,
    param: upload(ctx.device, toF32(param)),
    m: upload(ctx.device, new Float32Array(n)),
    v: upload(ctx.device, new Float32Array(n)),
    grad: upload(ctx.device, new Float32Array(n)),
  };
}

/** One training step as the trainer records it: stats, finalize, then each tensor's update. */
function recordStep(ctx: GpuContext, tensors: GpuTensor[], stats: GPUBuffer, maxNorm: number, opt: { kind: 'adamw'; h: AdamWHyper; t: number } | { kind: 'sgd'; lr: number }, loss?: GPUBuffer): void {
  gradStatsReset(ctx, stats);
  for (const x of tensors) gradStatsAccumulate(ctx, { grad: x.grad, n: x.n, stats });
  if (loss) gradStatsCheckValues(ctx, { values: loss, n: 1, stats });
  gradStatsFinalize(ctx, { stats, maxNorm });
  for (const x of tensors) {
    if (opt.kind === 'adamw') adamwStep(ctx, { ...x, stats, ...opt.h, step: opt.t });
    else sgdStep(ctx, { param: x.param, grad: x.grad, n: x.n, stats, lr: opt.lr });
  }
}

async function readAll(ctx: GpuContext, x: GpuTensor): Promise<{ param: Float32Array; m: Float32Array; v: Float32Array }> {
  return { param: await ctx.readF32(x.param, x.n), m: await ctx.readF32(x.m, x.n), v: await ctx.readF32(x.v, x.n) };
}

function write(ctx: GpuContext, buffer: GPUBuffer, data: ArrayLike<number>): void {
  ctx.device.queue.writeBuffer(buffer, 0, Float32Array.from(data));
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

describe('optimizer references against PyTorch goldens (float64)', () => {
  for (const c of CASES) {
    it(`${c.optimizer} maxNorm=${c.maxNorm} wd=${c.hyper.weightDecay}: the reference reproduces torch for 5 steps`, () => {
      let states: AdamWState[] = c.init.map((p) => ({ param: toF64(p), m: new Float64Array(p.length), v: new Float64Array(p.length) }));
      c.steps.forEach((s, k) => {
        const ref = gradStatsRef(s.grads, c.maxNorm);
        expectClose([ref.norm], [s.norm], { atol: 0, rtol: 1e-12 }, 'norm');
        states = states.map((st, i) =>
          c.optimizer === 'adamw'
            ? adamwRef(st, s.grads[i], c.hyper, k + 1, ref.clip)
            : { ...st, param: sgdRef(st.param, s.grads[i], c.hyper.lr, ref.clip) },
        );
        states.forEach((st, i) => {
          expectClose(st.param, s.params[i], { atol: 1e-14, rtol: 1e-12 }, `step ${k + 1} param ${i}`);
          if (s.m && s.v) {
            expectClose(st.m, s.m[i], { atol: 1e-14, rtol: 1e-12 }, `step ${k + 1} m ${i}`);
            expectClose(st.v, s.v[i], { atol: 1e-14, rtol: 1e-12 }, `step ${k + 1} v ${i}`);
          }
        });
      });
    });
  }
});

describe('optimizer on a real adapter', () => {
  for (const c of CASES) {
    it(`${c.optimizer} maxNorm=${c.maxNorm} wd=${c.hyper.weightDecay}: GPU matches torch over steps t = 1..5`, async () => {
      const ctx = await testContext();
      const stats = upload(ctx.device, new Float32Array(GRAD_STATS_FLOATS));
      const tensors = c.init.map((p) => gpuTensor(ctx, p));
      for (const [k, s] of c.steps.entries()) {
        tensors.forEach((x, i) => write(ctx, x.grad, toF32(s.grads[i])));
        const opt = c.optimizer === 'adamw' ? { kind: 'adamw' as const, h: c.hyper, t: k + 1 } : { kind: 'sgd' as const, lr: c.hyper.lr };
        recordStep(ctx, tensors, stats, c.maxNorm, opt);
        const st = await ctx.readF32(stats, GRAD_STATS_FLOATS); // the trainer's one readback per step
        expectClose([st[1]], [s.norm], { atol: 0, rtol: 1e-5 }, `step ${k + 1} norm`);
        expect(st[3]).toBe(0);
        for (const [i, x] of tensors.entries()) {
          const got = await readAll(ctx, x);
          expectClose(got.param, s.params[i], TOL, `step ${k + 1} param ${i}`);
          if (s.m && s.v) {
            expectClose(got.m, s.m[i], TOL, `step ${k + 1} m ${i}`);
            expectClose(got.v, s.v[i], { atol: 1e-9, rtol: 2e-5 }, `step ${k + 1} v ${i}`);
          }
        }
      }
    });
  }

  // Sizes not multiple of 256, with weight decay and clipping each on and off, t = 1..5.
  for (const [maxNorm, wd] of [[0, 0], [0.5, 0.1], [1e4, 0.01]]) {
    it(`adamw n=(1000, 70001) maxNorm=${maxNorm} wd=${wd} matches the float64 reference for t = 1..5`, async () => {
      const ctx = await testContext();
      const h = { ...HYPER, weightDecay: wd };
      const init = [toF32(randomArray(1000, 1)), toF32(randomArray(70001, 2, 0.1))];
      const tensors = init.map((p) => gpuTensor(ctx, p));
      let states: AdamWState[] = init.map((p) => ({ param: toF64(p), m: new Float64Array(p.length), v: new Float64Array(p.length) }));
      const stats = upload(ctx.device, new Float32Array(GRAD_STATS_FLOATS));
      for (let t = 1; t <= 5; t++) {
        const grads = init.map((p, i) => toF32(randomArray(p.length, 100 * t + i, 0.01 * (i + 1))));
        tensors.forEach((x, i) => write(ctx, x.grad, grads[i]));
        recordStep(ctx, tensors, stats, maxNorm, { kind: 'adamw', h, t });
        const ref = gradStatsRef(grads, maxNorm);
        if (maxNorm === 0.5) expect(ref.clip).toBeLessThan(0.5); // clipping really active
        const st = await ctx.readF32(stats, GRAD_STATS_FLOATS);
        expectClose([st[2]], [ref.clip], { atol: 0, rtol: 2e-5 }, 'clip');
        states = states.map((s, i) => adamwRef(s, grads[i], h, t, ref.clip));
        for (const [i, x] of tensors.entries()) {
          const got = await readAll(ctx, x);
          expectClose(got.param, states[i].param, TOL, `t=${t} param ${i}`);
          expectClose(got.m, states[i].m, { atol: 1e-9, rtol: 2e-5 }, `t=${t} m ${i}`);
          expectClose(got.v, states[i].v, { atol: 1e-12, rtol: 2e-5 }, `t=${t} v ${i}`);
        }
      }
    });
  }

  it('sgd n=70001 with clipping, and SmolLM2 LoRA shapes (q_proj A 8x576, B 576x8; down A 8x1536)', async () => {
    const ctx = await testContext();
    const init = [70001, 8 * 576, 576 * 8, 8 * 1536].map((n, i) => toF32(randomArray(n, 20 + i)));
    const tensors = init.map((p) => gpuTensor(ctx, p));
    const grads = init.map((p, i) => toF32(randomArray(p.length, 30 + i, 0.1)));
    tensors.forEach((x, i) => write(ctx, x.grad, grads[i]));
    const stats = upload(ctx.device, new Float32Array(GRAD_STATS_FLOATS));
    recordStep(ctx, tensors, stats, 1, { kind: 'sgd', lr: 0.3 });
    const ref = gradStatsRef(grads, 1);
    for (const [i, x] of tensors.entries()) {
      expectClose(await ctx.readF32(x.param, x.n), sgdRef(toF64(init[i]), grads[i], 0.3, ref.clip), TOL, `sgd param ${i}`);
    }
  });

  it('adamw on slices of larger buffers (offset 256 bytes) leaves the bytes around them alone', async () => {
    const ctx = await testContext();
    const n = 777;
    const whole = (seed: number) => toF32(randomArray(64 + n + 50, seed));
    const p0 = whole(1), g0 = whole(2), m0 = whole(3).map(Math.abs), v0 = whole(4).map(Math.abs);
    const [pb, gb, mb, vb] = [p0, g0, m0, v0].map((a) => upload(ctx.device, a));
    const slice = (buffer: GPUBuffer) => ({ buffer, offset: 256, size: n * 4 });
    const stats = upload(ctx.device, new Float32Array(GRAD_STATS_FLOATS));
    gradStatsReset(ctx, stats);
    gradStatsAccumulate(ctx, { grad: slice(gb), n, stats });
    gradStatsFinalize(ctx, { stats, maxNorm: 2 });
    const h = { ...HYPER, weightDecay: 0.05 };
    adamwStep(ctx, { param: slice(pb), grad: slice(gb), m: slice(mb), v: slice(vb), n, stats, ...h, step: 3 });
    const part = (a: Float32Array) => toF64(a.subarray(64, 64 + n));
    const ref = gradStatsRef([part(g0)], 2);
    const want = adamwRef({ param: part(p0), m: part(m0), v: part(v0) }, part(g0), h, 3, ref.clip);
    const [p1, m1, v1] = [await ctx.readF32(pb), await ctx.readF32(mb), await ctx.readF32(vb)];
    expectClose(p1.subarray(64, 64 + n), want.param, TOL, 'param');
    expectClose(m1.subarray(64, 64 + n), want.m, TOL, 'm');
    expectClose(v1.subarray(64, 64 + n), want.v, TOL, 'v');
    for (const [got, was] of [[p1, p0], [m1, m0], [v1, v0]]) {
      expect(bits(got.subarray(0, 64))).toEqual(bits(was.subarray(0, 64)));
      expect(bits(got.subarray(64 + n))).toEqual(bits(was.subarray(64 + n)));
    }
  });

  for (const [name, bad] of [['NaN', Number.NaN], ['+Inf', Number.POSITIVE_INFINITY]] as const) {
    for (const where of ['gradient', 'loss'] as const) {
      it(`a ${name} in the ${where} skips adamw and sgd: params and moments stay bit-identical`, async () => {
        const ctx = await testContext();
        const init = [toF32(randomArray(5, 1)), toF32(randomArray(70000, 2))];
        const tensors = init.map((p) => gpuTensor(ctx, p));
        const stats = upload(ctx.device, new Float32Array(GRAD_STATS_FLOATS));
        const loss = upload(ctx.device, Float32Array.of(1.25));
        // Step 1 is finite so m and v hold non-zero values worth protecting.
        tensors.forEach((x, i) => write(ctx, x.grad, toF32(randomArray(x.n, 40 + i))));
        recordStep(ctx, tensors, stats, 1, { kind: 'adamw', h: { ...HYPER, weightDecay: 0.1 }, t: 1 }, loss);
        expect((await ctx.readF32(stats, GRAD_STATS_FLOATS))[3]).toBe(0);
        const before = await Promise.all(tensors.map((x) => readAll(ctx, x)));

        const grad = toF32(randomArray(70000, 50));
        if (where === 'gradient') grad[54321] = bad;
        else write(ctx, loss, Float32Array.of(bad));
        write(ctx, tensors[1].grad, grad);
        recordStep(ctx, tensors, stats, 1, { kind: 'adamw', h: { ...HYPER, weightDecay: 0.1 }, t: 2 }, loss);
        recordStep(ctx, tensors, stats, 0, { kind: 'sgd', lr: 0.5 }, loss);
        expect((await ctx.readF32(stats, GRAD_STATS_FLOATS))[3]).toBe(1);
        for (const [i, x] of tensors.entries()) {
          const after = await readAll(ctx, x);
          expect(bits(after.param), `param ${i}`).toEqual(bits(before[i].param));
          expect(bits(after.m), `m ${i}`).toEqual(bits(before[i].m));
          expect(bits(after.v), `v ${i}`).toEqual(bits(before[i].v));
        }
      });
    }
  }

  it('sgd covers every element of a grid wider than the per-dimension workgroup limit', async () => {
    const ctx = await testContext();
    const n = (ctx.caps.maxComputeWorkgroupsPerDimension + 3) * 256 + 7;
    const param = upload(ctx.device, new Float32Array(n).fill(1));
    const grad = upload(ctx.device, new Float32Array(n).fill(0.5));
    const stats = upload(ctx.device, Float32Array.of(0, 0, 1, 0)); // clip 1, flag 0, as finalize leaves it
    sgdStep(ctx, { param, grad, n, stats, lr: 2 });
    const got = await ctx.readF32(param, n);
    expectClose([got[0], got[n - 1], got.reduce((s, v) => s + v, 0)], [0, 0, 0], { atol: 0, rtol: 0 }, 'p = 1 - 2 * 0.5');
    param.destroy();
    grad.destroy();
  });
});
