import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { attentionBackward, attentionForward, attentionTiles, accumulationRowsPerThread, type AttentionShape } from './attention.ts';
import { attentionBackwardRef, attentionRef } from './attention.ref.ts';
import { dotWith, expectClose, finiteDifference, randomArray, toF32 } from './testing.ts';

const TOL = { atol: 2e-5, rtol: 2e-4 };

function shape(B: number, Tq: number, Tk: number, nHeads: number, nKvHeads: number, headDim: number): AttentionShape {
  return { B, Tq, Tk, nHeads, nKvHeads, headDim, scale: 1 / Math.sqrt(headDim) };
}

interface Inputs {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  dOut: Float64Array;
}

/** f32-representable random inputs (the GPU sees exactly these values). */
function inputs(s: AttentionShape, seed: number): Inputs {
  const rows = s.B * s.Tq * s.nHeads * s.headDim;
  const kv = s.B * s.Tk * s.nKvHeads * s.headDim;
  const f = (n: number, sd: number, scale = 1): Float64Array => Float64Array.from(toF32(randomArray(n, sd, scale)));
  return { q: f(rows, seed, 2), k: f(kv, seed + 1, 2), v: f(kv, seed + 2), dOut: f(rows, seed + 3) };
}

interface GpuResult {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

async function runGpu(ctx: GpuContext, s: AttentionShape, x: Inputs, segments: number[] | null = null): Promise<GpuResult> {
  const rows = s.B * s.Tq * s.nHeads * s.headDim;
  const kvn = s.B * s.Tk * s.nKvHeads * s.headDim;
  const q = upload(ctx.device, toF32(x.q));
  const k = upload(ctx.device, toF32(x.k));
  const v = upload(ctx.device, toF32(x.v));
  const dOut = upload(ctx.device, toF32(x.dOut));
  const seg = segments ? upload(ctx.device, Uint32Array.from(segments)) : null;
  const out = ctx.pool.acquire(rows * 4);
  const lse = ctx.pool.acquire(s.B * s.nHeads * s.Tq * 4);
  const dq = ctx.pool.acquire(rows * 4);
  const dk = ctx.pool.acquire(kvn * 4);
  const dv = ctx.pool.acquire(kvn * 4);
  const args = { ...s, q, k, v, out, lse, segments: seg };
  attentionForward(ctx, args);
  attentionBackward(ctx, { ...args, dOut, dq, dk, dv });
  const result = {
    out: await ctx.readF32(out, rows),
    lse: await ctx.readF32(lse, s.B * s.nHeads * s.Tq),
    dq: await ctx.readF32(dq, rows),
    dk: await ctx.readF32(dk, kvn),
    dv: await ctx.readF32(dv, kvn),
  };
  for (const b of [out, lse, dq, dk, dv]) ctx.pool.release(b);
  for (const b of [q, k, v, dOut, seg]) b?.destroy();
  return result;
}

function checkAgainstRef(got: GpuResult, s: AttentionShape, x: Inputs, segments: number[] | null, what: string): void {
  const ref = attentionRef(s, x.q, x.k, x.v, segments);
  const grads = attentionBackwardRef(s, x.q, x.k, x.v, x.dOut, segments);
  expectClose(got.out, ref.out, TOL, `${what} out`);
  expectClose(got.lse, ref.lse, TOL, `${what} lse`);
  expectClose(got.dq, grads.dq, TOL, `${what} dq`);
  expectClose(got.dk, grads.dk, TOL, `${what} dk`);
  expectClose(got.dv, grads.dv, TOL, `${what} dv`);
}

/** (rows, stride) fused rows holding q | k | v side by side, and the three parts back out. */
function fuse(parts: Float64Array[], widths: number[], rows: number): Float64Array {
  const stride = widths.reduce((a, b) => a + b, 0);
  const out = new Float64Array(rows * stride);
  for (let r = 0; r < rows; r++) {
    let at = 0;
    parts.forEach((p, i) => {
      for (let c = 0; c < widths[i]; c++) out[r * stride + at + c] = p[r * widths[i] + c];
      at += widths[i];
    });
  }
  return out;
}

function unfuse(x: ArrayLike<number>, widths: number[], rows: number): Float64Array[] {
  const stride = widths.reduce((a, b) => a + b, 0);
  let at = 0;
  return widths.map((w) => {
    const part = new Float64Array(rows * w);
    for (let r = 0; r < rows; r++) for (let c = 0; c < w; c++) part[r * w + c] = x[r * stride + at + c];
    at += w;
    return part;
  });
}

describe('attention on a real adapter', () => {
  const cases: [string, AttentionShape][] = [
    ['T=1, 3 heads / 1 kv, hd 20', shape(1, 1, 1, 3, 1, 20)],
    ['T=7, 3 heads / 1 kv, hd 20', shape(1, 7, 7, 3, 1, 20)],
    ['T=33, 3 heads / 1 kv, hd 20, B=2', shape(2, 33, 33, 3, 1, 20)],
    ['T=19, 4 heads / 2 kv, hd 18 (not a multiple of 4)', shape(1, 19, 19, 4, 2, 18)],
    ['decode Tq=1, Tk=17, hd 20', shape(1, 1, 17, 3, 1, 20)],
    ['decode Tq=5, Tk=38, B=2, hd 20', shape(2, 5, 38, 3, 1, 20)],
    ['SmolLM2: 9 heads / 3 kv, hd 64, T=24', shape(1, 24, 24, 9, 3, 64)],
    ['Qwen3-like: 4 heads / 2 kv, hd 128, T=11', shape(1, 11, 11, 4, 2, 128)],
    ['hd 256 (the largest), T=6', shape(1, 6, 6, 2, 1, 256)],
  ];
  cases.forEach(([name, s], n) => {
    it(`forward and backward match float64: ${name}`, async () => {
      const ctx = await testContext();
      const x = inputs(s, 10 * n + 1);
      checkAgainstRef(await runGpu(ctx, s, x), s, x, null, name);
    });
  });

  it('SmolLM2 shapes with B=2 and T=40 (two query tiles and several key tiles)', async () => {
    const ctx = await testContext();
    const s = shape(2, 40, 40, 9, 3, 64);
    const x = inputs(s, 99);
    checkAgainstRef(await runGpu(ctx, s, x), s, x, null, 'smollm2 B=2 T=40');
  });

  it('packing: two rows in one sequence with segments equal the rows run separately', async () => {
    const ctx = await testContext();
    const [t1, t2] = [13, 22];
    const s = shape(1, t1 + t2, t1 + t2, 3, 1, 20);
    const x = inputs(s, 7);
    const segments = [...Array<number>(t1).fill(5), ...Array<number>(t2).fill(9)];
    const packed = await runGpu(ctx, s, x, segments);
    checkAgainstRef(packed, s, x, segments, 'packed');

    // Row by row: slice the packed tensors at the segment boundary.
    const width = s.nHeads * s.headDim;
    const kvWidth = s.nKvHeads * s.headDim;
    const parts: [number, number][] = [
      [0, t1],
      [t1, t2],
    ];
    for (const [start, len] of parts) {
      const sub = shape(1, len, len, 3, 1, 20);
      const xs: Inputs = {
        q: x.q.slice(start * width, (start + len) * width),
        k: x.k.slice(start * kvWidth, (start + len) * kvWidth),
        v: x.v.slice(start * kvWidth, (start + len) * kvWidth),
        dOut: x.dOut.slice(start * width, (start + len) * width),
      };
      const alone = await runGpu(ctx, sub, xs);
      const same = { atol: 1e-6, rtol: 1e-5 };
      expectClose(packed.out.slice(start * width, (start + len) * width), alone.out, same, `row@${start} out`);
      expectClose(packed.dq.slice(start * width, (start + len) * width), alone.dq, same, `row@${start} dq`);
      expectClose(packed.dk.slice(start * kvWidth, (start + len) * kvWidth), alone.dk, same, `row@${start} dk`);
      expectClose(packed.dv.slice(start * kvWidth, (start + len) * kvWidth), alone.dv, same, `row@${start} dv`);
      for (let h = 0; h < s.nHeads; h++) {
        const lsePacked = packed.lse.slice(h * s.Tq + start, h * s.Tq + start + len);
        expectClose(lsePacked, alone.lse.slice(h * len, (h + 1) * len), same, `row@${start} lse head ${h}`);
      }
    }
  });

  it('segments with B=2 and a decode offset (Tq < Tk)', async () => {
    const ctx = await testContext();
    const s = shape(2, 9, 30, 4, 2, 20);
    const x = inputs(s, 21);
    const segments = Array.from({ length: s.B * s.Tk }, (_, n) => {
      const [b, j] = [Math.floor(n / s.Tk), n % s.Tk];
      return b === 0 ? (j < 11 ? 0 : j < 25 ? 1 : 2) : j < 3 ? 7 : 8;
    });
    checkAgainstRef(await runGpu(ctx, s, x, segments), s, x, segments, 'segments decode');
  });

  it('takes buffer slices (Binding with a 256-byte-aligned offset) for every tensor', async () => {
    const ctx = await testContext();
    const s = shape(1, 7, 9, 3, 1, 20);
    const x = inputs(s, 31);
    const rows = s.Tq * s.nHeads * s.headDim;
    const kvn = s.Tk * s.nKvHeads * s.headDim;
    // Each tensor lives at byte offset 256 of a bigger buffer whose other bytes are garbage.
    const slice = (data: Float32Array | null, n: number): { buffer: GPUBuffer; offset: number; size: number } => {
      const host = new Float32Array(64 + n + 64).fill(123.5);
      if (data) host.set(data, 64);
      return { buffer: upload(ctx.device, host), offset: 256, size: n * 4 };
    };
    const t = {
      q: slice(toF32(x.q), rows),
      k: slice(toF32(x.k), kvn),
      v: slice(toF32(x.v), kvn),
      dOut: slice(toF32(x.dOut), rows),
      out: slice(null, rows),
      lse: slice(null, s.nHeads * s.Tq),
      dq: slice(null, rows),
      dk: slice(null, kvn),
      dv: slice(null, kvn),
    };
    attentionForward(ctx, { ...s, ...t });
    attentionBackward(ctx, { ...s, ...t });
    const read = async (b: { buffer: GPUBuffer; size: number }): Promise<Float32Array> => ctx.readF32(b.buffer, b.size / 4, 64);
    const got = { out: await read(t.out), lse: await read(t.lse), dq: await read(t.dq), dk: await read(t.dk), dv: await read(t.dv) };
    checkAgainstRef(got, s, x, null, 'slices');
    expect((await ctx.readF32(t.out.buffer, 64))[63]).toBe(123.5); // bytes before the slice untouched
    for (const b of Object.values(t)) b.buffer.destroy();
  });

  it('the backward is deterministic (bitwise equal on a rerun)', async () => {
    const ctx = await testContext();
    const s = shape(1, 33, 33, 3, 1, 20);
    const x = inputs(s, 3);
    const a = await runGpu(ctx, s, x);
    const b = await runGpu(ctx, s, x);
    for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const) expect(Array.from(b[key])).toEqual(Array.from(a[key]));
  });

  it('rejects shapes it cannot run', async () => {
    const ctx = await testContext();
    const buf = ctx.pool.acquire(4);
    const base = { q: buf, k: buf, v: buf, out: buf, lse: buf };
    expect(() => attentionForward(ctx, { ...shape(1, 4, 3, 2, 1, 8), ...base })).toThrow(/Tk/);
    expect(() => attentionForward(ctx, { ...shape(1, 4, 4, 3, 2, 8), ...base })).toThrow(/multiple/);
    expect(() => attentionForward(ctx, { ...shape(1, 4, 4, 2, 1, 300), ...base })).toThrow(/headDim/);
    ctx.pool.release(buf);
  });
});

describe('attention tiles', () => {
  it('fit a 16 KiB workgroup budget and 8 vec4s of head dims per thread for every head dim up to 256', () => {
    for (let hd = 1; hd <= 256; hd++) {
      const t = attentionTiles(hd, 4096);
      const w = 4 * Math.ceil(hd / 4);
      expect((t.forward.BQ + t.forward.BK) * w + t.forward.BQ * t.forward.BK).toBeLessThanOrEqual(4096);
      for (const b of [t.dkdv, t.dq]) expect(2 * (b.BQ + b.BK) * w + 2 * b.BQ * b.BK).toBeLessThanOrEqual(4096);
      for (const owned of [t.forward.BQ, t.dkdv.BK, t.dq.BQ]) {
        expect(64 % owned).toBe(0);
        expect(Math.ceil(w / 4 / (64 / owned))).toBeLessThanOrEqual(8);
      }
      // The backward's accumulation: KC keys (dkdv) / rows (dq) per thread, KC x DPT4 vec4 accumulators within 8.
      for (const owned of [t.dkdv.BK, t.dq.BQ]) {
        const kc = accumulationRowsPerThread(hd, owned);
        expect(owned % kc).toBe(0);
        expect(kc * Math.ceil(w / 4 / ((64 * kc) / owned))).toBeLessThanOrEqual(8);
      }
    }
    expect(accumulationRowsPerThread(64, attentionTiles(64, 4096).dkdv.BK)).toBe(4); // SmolLM2's head dim
  });
});

describe('attention float64 reference', () => {
  const cases: [string, AttentionShape, number[] | null][] = [
    ['causal GQA', shape(1, 4, 4, 2, 1, 3), null],
    ['decode offset, B=2', shape(2, 2, 5, 2, 2, 3), null],
    ['segments', shape(1, 5, 5, 2, 1, 3), [0, 0, 1, 1, 1]],
  ];
  for (const [name, s, segments] of cases) {
    it(`backward matches finite differences: ${name}`, () => {
      const x = inputs(s, 5);
      const w = randomArray(x.dOut.length, 77);
      const grads = attentionBackwardRef(s, x.q, x.k, x.v, w, segments);
      const loss = (q: Float64Array, k: Float64Array, v: Float64Array): number => dotWith(attentionRef(s, q, k, v, segments).out, w);
      const tol = { atol: 1e-7, rtol: 1e-6 };
      expectClose(finiteDifference((q) => loss(q, x.k, x.v), x.q), grads.dq, tol, 'dq');
      expectClose(finiteDifference((k) => loss(x.q, k, x.v), x.k), grads.dk, tol, 'dk');
      expectClose(finiteDifference((v) => loss(x.q, x.k, v), x.v), grads.dv, tol, 'dv');
    });
  }

  it('lse is the log of the softmax denominator: a uniform row of T equal scores gives scale*score + log T', () => {
    const s = shape(1, 3, 3, 1, 1, 2);
    const q = new Float64Array(6).fill(0);
    const k = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const { lse } = attentionRef(s, q, k, k);
    expectClose(lse, [0, Math.log(2), Math.log(3)], { atol: 1e-12, rtol: 0 }, 'lse');
  });
  it('fused q|k|v rows: q, k, v read from one (N, qd + 2kd) buffer, dq|dk|dv written into one', async () => {
    const ctx = await testContext();
    const s = shape(2, 9, 9, 3, 1, 20);
    const x = inputs(s, 81);
    const rows = s.B * s.Tq;
    const widths = [s.nHeads * s.headDim, s.nKvHeads * s.headDim, s.nKvHeads * s.headDim];
    const stride = widths[0] + widths[1] + widths[2];
    const qkv = upload(ctx.device, toF32(fuse([x.q, x.k, x.v], widths, rows)));
    const out = ctx.pool.acquire(rows * widths[0] * 4);
    const lse = ctx.pool.acquire(s.B * s.nHeads * s.Tq * 4);
    const dqkv = ctx.pool.acquire(rows * stride * 4);
    const layout = { q: { stride, offset: 0 }, kv: { stride, kOffset: widths[0], vOffset: widths[0] + widths[1] } };
    const args = { ...s, q: qkv, k: qkv, v: qkv, layout, out, lse };
    attentionForward(ctx, args);
    attentionBackward(ctx, { ...args, dOut: upload(ctx.device, toF32(x.dOut)), dq: dqkv, dk: dqkv, dv: dqkv });
    const [dq, dk, dv] = unfuse(await ctx.readF32(dqkv, rows * stride), widths, rows);
    checkAgainstRef({ out: await ctx.readF32(out, rows * widths[0]), lse: await ctx.readF32(lse, s.B * s.nHeads * s.Tq), dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) }, s, x, null, 'fused');
    for (const b of [out, lse, dqkv]) ctx.pool.release(b);
  });
});
