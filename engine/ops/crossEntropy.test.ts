import { describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { testContext } from '../gpu/testing.ts';
import { lmHeadChunks, lmHeadCrossEntropyBackward, lmHeadCrossEntropyForward, lmHeadScratchBytes, logitsChunkRows, maskedTokenMean, softmaxWeightSplits, weightRowAlign, type LmHeadChunk } from './crossEntropy.ts';
import { backwardFromLogits, backwardFromSoftmaxWeightRef, IGNORE_INDEX, lmHeadCrossEntropyBackwardRef, lmHeadCrossEntropyRef, maskedTokenMeanRef, softmaxWeightRef } from './crossEntropy.ref.ts';
import { roundToBf16, roundToF16, toBf16, toF16 } from './half.ts';
import { expectClose, finiteDifference, randomArray, rng, sampleIndices, toF32, type Tolerance } from './testing.ts';

interface Case {
  N: number;
  H: number;
  V: number;
  hidden: Float64Array; // (N, H), f32-rounded
  weight: Float64Array; // (V, H), rounded to its storage type
  labels: Int32Array; // (N)
  dLoss: Float64Array; // (N), non-zero on ignored rows too (the op must ignore them)
}

function makeCase(N: number, H: number, V: number, seed: number, opts: { ignored?: number[]; weightScale?: number; f16?: boolean } = {}): Case {
  const r = rng(seed);
  const labels = Int32Array.from({ length: N }, () => Math.floor(r() * V));
  if (N > 1) labels[N - 1] = V - 1; // the last vocabulary row, in the last chunk
  for (const i of opts.ignored ?? []) labels[i] = IGNORE_INDEX;
  const w = randomArray(V * H, seed + 1, opts.weightScale ?? 1);
  return {
    N,
    H,
    V,
    labels,
    hidden: Float64Array.from(toF32(randomArray(N * H, seed + 2))),
    weight: opts.f16 ? roundToF16(w) : Float64Array.from(toF32(w)),
    dLoss: Float64Array.from(toF32(randomArray(N, seed + 3))),
  };
}

/** Hand-made chunks of `rows` rows (offsets must come out 256-byte aligned). */
function fixedChunks(weight: GPUBuffer, V: number, rowBytes: number, rows: number): LmHeadChunk[] {
  const chunks: LmHeadChunk[] = [];
  for (let rowStart = 0; rowStart < V; rowStart += rows) {
    const n = Math.min(rows, V - rowStart);
    chunks.push({ weight: { buffer: weight, offset: rowStart * rowBytes, size: Math.ceil((n * rowBytes) / 4) * 4 }, rowStart, rows: n });
  }
  return chunks;
}

interface Result {
  loss: Float32Array;
  lse: Float32Array;
  softmaxWeight: Float32Array; // E = softmax(logits) @ W, after the training forward
  dHidden: Float32Array;
  mean: Float32Array;
}

async function runGpu(ctx: GpuContext, c: Case, chunksOf: (w: GPUBuffer) => LmHeadChunk[], weightType: 'f32' | 'f16' | 'bf16' = 'f32', logitsBudgetBytes?: number, splitK?: number): Promise<Result> {
  const { N, H, V } = c;
  const w = upload(ctx.device, weightType === 'f32' ? toF32(c.weight) : weightType === 'f16' ? toF16(c.weight) : toBf16(c.weight));
  const labels = upload(ctx.device, c.labels);
  const args = { hidden: upload(ctx.device, toF32(c.hidden)), chunks: chunksOf(w), weightType, N, H, V, labels, logitsBudgetBytes };
  const lossPerToken = ctx.pool.acquire(N * 4);
  const lse = ctx.pool.acquire(N * 4);
  const mean = ctx.pool.acquire(8);
  const E = upload(ctx.device, new Float32Array(N * H).fill(7)); // must be overwritten
  lmHeadCrossEntropyForward(ctx, { ...args, lossPerToken, lse, softmaxWeight: E, splitK });
  maskedTokenMean(ctx, { lossPerToken, labels, N, out: mean });
  const softmaxWeight = await ctx.readF32(E, N * H);
  lmHeadCrossEntropyBackward(ctx, { ...args, dLoss: upload(ctx.device, toF32(c.dLoss)), softmaxWeight: E });
  const result = { loss: await ctx.readF32(lossPerToken, N), lse: await ctx.readF32(lse, N), softmaxWeight, dHidden: await ctx.readF32(E, N * H), mean: await ctx.readF32(mean, 2) };
  w.destroy();
  return result;
}

/** Compares a GPU result with the float64 reference; returns the reference dHidden. */
function check(got: Result, c: Case, tol: Tolerance, gradTol: Tolerance, what: string): Float64Array {
  const ref = lmHeadCrossEntropyRef(c.hidden, c.weight, c.labels, c.N, c.H, c.V);
  expectClose(got.lse, ref.lse, tol, `${what}: lse`);
  expectClose(got.loss, ref.loss, tol, `${what}: lossPerToken`);
  expectClose(got.mean, maskedTokenMeanRef(ref.loss, c.labels), tol, `${what}: token mean, count`);
  expectClose(got.softmaxWeight, softmaxWeightRef(ref, c.weight, c.N, c.H, c.V), gradTol, `${what}: softmax(logits) @ W`);
  const dHidden = backwardFromLogits(ref, c.weight, c.labels, c.dLoss, c.N, c.H, c.V);
  expectClose(got.dHidden, dHidden, gradTol, `${what}: dHidden`);
  return dHidden;
}

const TOL = { atol: 2e-5, rtol: 2e-5 };

describe('LM head + cross-entropy on a real adapter', () => {
  it('the reference backward matches finite differences (with ignored rows)', () => {
    const c = makeCase(5, 24, 37, 11, { ignored: [1, 3] });
    const lossOf = (hidden: Float64Array) => {
      const { loss } = lmHeadCrossEntropyRef(hidden, c.weight, c.labels, c.N, c.H, c.V);
      return loss.reduce((s, l, i) => s + l * c.dLoss[i], 0);
    };
    const numeric = finiteDifference(lossOf, c.hidden.slice());
    const analytic = lmHeadCrossEntropyBackwardRef(c.hidden, c.weight, c.labels, c.dLoss, c.N, c.H, c.V);
    expectClose(numeric, analytic, { atol: 1e-7, rtol: 1e-6 }, 'dL/dhidden');
    expect(analytic.slice(1 * 24, 2 * 24).every((v) => v === 0)).toBe(true);
    // The kernels' factoring: dLoss * (softmax(logits) @ W - W[label]) is the same gradient.
    const fwd = lmHeadCrossEntropyRef(c.hidden, c.weight, c.labels, c.N, c.H, c.V);
    const fromE = backwardFromSoftmaxWeightRef(softmaxWeightRef(fwd, c.weight, c.N, c.H, c.V), c.weight, c.labels, c.dLoss, c.N, c.H);
    expectClose(fromE, analytic, { atol: 1e-12, rtol: 1e-12 }, 'dHidden from E');
  });

  it('the softmax-weighted rows split over K (3 slices with a remainder, 1 and 2 binding chunks, logits blocks) agree with float64', async () => {
    const ctx = await testContext();
    const c = makeCase(7, 20, 45, 81, { ignored: [4] });
    const rowBytes = c.H * 4;
    // Slices of ceil(ceil(45 / 3) / 4) * 4 = 16 rows: 16 + 16 + 13.
    const one = await runGpu(ctx, c, (w) => lmHeadChunks(w, c.V, c.H, 'f32', ctx), 'f32', undefined, 3);
    check(one, c, TOL, TOL, 'one chunk, 3 K slices');
    // Two binding chunks (32 + 13 rows), each in blocks of 16 logits rows (the last 13 and 13),
    // two slices per block: a rescale of E per block and a remainder slice in the last ones.
    const blocked = await runGpu(ctx, c, (w) => fixedChunks(w, c.V, rowBytes, 32), 'f32', c.N * 16 * 4, 2);
    check(blocked, c, TOL, TOL, '2 chunks, 16-row blocks, 2 K slices');
    const plain = await runGpu(ctx, c, (w) => fixedChunks(w, c.V, rowBytes, 32), 'f32', c.N * 16 * 4, 1);
    check(plain, c, TOL, TOL, '2 chunks, 16-row blocks, unsplit');
    expectClose(one.dHidden, plain.dHidden, { atol: 1e-6, rtol: 1e-5 }, 'split vs unsplit dHidden');
  });

  it('packed bf16 weight (BF16 checkpoints), chunks of 16 rows, split K', async () => {
    const ctx = await testContext();
    const c = makeCase(5, 24, 37, 91, { ignored: [2] });
    c.weight = roundToBf16(c.weight);
    const got = await runGpu(ctx, c, (w) => fixedChunks(w, c.V, c.H * 2, 16), 'bf16', undefined, 2);
    check(got, c, TOL, TOL, 'bf16 weight');
  });

  it('odd shapes N=5 H=24 V=37: chunks of 16 rows, one chunk and 8-row logits blocks agree with float64', async () => {
    const ctx = await testContext();
    const c = makeCase(5, 24, 37, 21, { ignored: [2] });
    const rowBytes = c.H * 4;
    const chunked = await runGpu(ctx, c, (w) => fixedChunks(w, c.V, rowBytes, 16));
    check(chunked, c, TOL, TOL, '3 chunks of 16');
    const single = await runGpu(ctx, c, (w) => lmHeadChunks(w, c.V, c.H, 'f32', ctx));
    check(single, c, TOL, TOL, 'one chunk');
    // 2 rows of logits budget per token -> rounded up to the 8-row weight alignment: 5 blocks.
    expect(weightRowAlign(c.H, 'f32')).toBe(8);
    expect(logitsChunkRows(ctx, c.N, c.N * 2 * 4, 8)).toBe(8);
    const blocked = await runGpu(ctx, c, (w) => lmHeadChunks(w, c.V, c.H, 'f32', ctx), 'f32', c.N * 2 * 4);
    check(blocked, c, TOL, TOL, '8-row blocks');
    expectClose(chunked.loss, single.loss, { atol: 1e-5, rtol: 1e-6 }, 'chunked vs single loss');
    expectClose(chunked.dHidden, single.dHidden, { atol: 1e-5, rtol: 1e-5 }, 'chunked vs single dHidden');
  });

  it('all labels ignored: zero losses, a zero mean, zero dHidden, lse still computed', async () => {
    const ctx = await testContext();
    const c = makeCase(3, 24, 37, 31, { ignored: [0, 1, 2] });
    const got = await runGpu(ctx, c, (w) => fixedChunks(w, c.V, c.H * 4, 16));
    expect(Array.from(got.loss)).toEqual([0, 0, 0]);
    expect(Array.from(got.mean)).toEqual([0, 0]);
    expect(got.dHidden.every((v) => v === 0)).toBe(true);
    check(got, c, TOL, TOL, 'all ignored');
  });

  it('large logits (|logit| > 88, where a naive f32 exp overflows) stay finite through the online logsumexp', async () => {
    const ctx = await testContext();
    const c = makeCase(5, 24, 37, 61, { ignored: [3], weightScale: 40 });
    const ref = lmHeadCrossEntropyRef(c.hidden, c.weight, c.labels, c.N, c.H, c.V);
    expect(Math.max(...ref.logits.map(Math.abs))).toBeGreaterThan(88);
    const got = await runGpu(ctx, c, (w) => fixedChunks(w, c.V, c.H * 4, 16));
    check(got, c, { atol: 1e-3, rtol: 1e-4 }, { atol: 1e-3, rtol: 1e-4 }, 'large logits');
  });

  it('a label outside [0, V) that is not -100 gives a NaN loss (loud, not silently ignored)', async () => {
    const ctx = await testContext();
    const c = makeCase(3, 24, 37, 71);
    c.labels.set([-1, 37, 5]);
    const got = await runGpu(ctx, c, (w) => lmHeadChunks(w, c.V, c.H, 'f32', ctx));
    expect([Number.isNaN(got.loss[0]), Number.isNaN(got.loss[1]), Number.isFinite(got.loss[2])]).toEqual([true, true, true]);
  });

  it('lmHeadChunks: binding-sized chunks at 256-byte aligned offsets tile the vocabulary', async () => {
    const ctx = await testContext();
    const w = ctx.device.createBuffer({ size: 37 * 24 * 4, usage: GPUBufferUsage.STORAGE });
    const chunks = lmHeadChunks(w, 37, 24, 'f32', ctx, 2000); // 20 rows fit, aligned down to 16
    expect(chunks.map((c) => [c.rowStart, c.rows])).toEqual([[0, 16], [16, 16], [32, 5]]);
    for (const c of chunks) {
      const b = c.weight as { offset: number; size: number };
      expect(b.offset % 256).toBe(0);
      expect(b.size).toBeLessThanOrEqual(2000);
    }
    // Qwen2.5's embedding in f16 (151936 x 896) against lavapipe's 128 MiB binding.
    const qwenRows = Math.floor((128 * 2 ** 20) / (896 * 2) / weightRowAlign(896, 'f16')) * weightRowAlign(896, 'f16');
    const big = { size: 151936 * 896 * 2 } as GPUBuffer; // only .size is read
    const q = lmHeadChunks(big, 151936, 896, 'f16', ctx, 128 * 2 ** 20);
    expect(q.length).toBe(Math.ceil(151936 / qwenRows));
    expect(q.every((c) => (c.weight as { offset: number }).offset % 256 === 0 && (c.weight as { size: number }).size <= 128 * 2 ** 20)).toBe(true);
    expect(q.reduce((s, c) => s + c.rows, 0)).toBe(151936);
    w.destroy();
  });

  it('packed f16 weight (every adapter), chunks of 16 rows', async () => {
    const ctx = await testContext();
    const c = makeCase(5, 24, 37, 41, { ignored: [0], f16: true });
    const got = await runGpu(ctx, c, (w) => fixedChunks(w, c.V, c.H * 2, 16), 'f16');
    check(got, c, TOL, TOL, 'f16 weight');
  });

  // SmolLM2-135M's LM head is 49152 x 576. The full vocabulary costs ~1.4 G multiply-adds on the
  // GPU (the matmul's 16-row tiles) and runs in seconds on lavapipe but minutes on SwiftShader
  // (~0.1 GFLOP/s, shared cores), so SwiftShader gets the real H with the first 6144 rows.
  it('SmolLM2-135M shape (H=576, V=49152), N=4, weight in 4 binding chunks + logits blocks', async () => {
    const ctx = await testContext();
    const V = /swiftshader/i.test(ctx.caps.adapterName) ? 6144 : 49152;
    const weightType = 'f16';
    const c = makeCase(4, 576, V, 51, { ignored: [1], weightScale: 0.1, f16: true });
    const bytes = 2;
    // 4 binding chunks of the weight; scratch logits of 4 x 2048 f32, so several blocks per chunk.
    const maxBinding = Math.ceil(V / 4) * 576 * bytes;
    const got = await runGpu(ctx, c, (w) => lmHeadChunks(w, V, c.H, weightType, ctx, maxBinding), weightType, 4 * 2048 * 4);
    const dHidden = check(got, c, { atol: 1e-4, rtol: 1e-5 }, { atol: 1e-5, rtol: 1e-4 }, `V=${V} ${weightType}`);
    // Finite differences of the float64 forward at this shape, one token row at a time (a row's
    // loss depends only on its own hidden row), against the reference backward.
    const row = 2;
    const idx = sampleIndices(c.H, 3);
    const lossOfRow = (h: Float64Array) => lmHeadCrossEntropyRef(h, c.weight, [c.labels[row]], 1, c.H, V).loss[0] * c.dLoss[row];
    const numeric = finiteDifference(lossOfRow, c.hidden.slice(row * c.H, (row + 1) * c.H), idx);
    expectClose(numeric, idx.map((i) => dHidden[row * c.H + i]), { atol: 1e-6, rtol: 1e-5 }, 'finite differences');
  });
});

describe('splitting the softmax-weighted LM-head product over K', () => {
  const caps = { maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 32, maxComputeWorkgroupsPerDimension: 65535 };
  const gpu = { caps: { ...caps, isCpu: false } } as unknown as GpuContext;
  const cpu = { caps: { ...caps, isCpu: true } } as unknown as GpuContext;

  it('splits a few-token step on a GPU (SmolLM2: 64 tokens x 576 is 9 output tiles over K = 49152), never on a CPU adapter', () => {
    const S = softmaxWeightSplits(gpu, 64, 576, 49152);
    expect(S).toBeGreaterThan(8);
    expect(S * 64 * 576).toBeLessThanOrEqual((64 * 49152) / 4); // partial sums within a quarter of the logits block
    expect(49152 / S).toBeGreaterThanOrEqual(256);
    expect(softmaxWeightSplits(cpu, 64, 576, 49152)).toBe(1);
    expect(softmaxWeightSplits(gpu, 8192, 576, 2048)).toBe(1); // 1152 output tiles already
  });

  it('lmHeadScratchBytes: the logits block, plus the partial sums only where the product is split', () => {
    expect(lmHeadScratchBytes(cpu, 64, 576, 49152, 'bf16')).toBe(64 * 49152 * 4);
    const onGpu = lmHeadScratchBytes(gpu, 64, 576, 49152, 'bf16');
    expect(onGpu).toBeGreaterThan(64 * 49152 * 4);
    expect(onGpu).toBeLessThanOrEqual(64 * 49152 * 4 * 1.25 + 64 * 576 * 4);
  });
});
