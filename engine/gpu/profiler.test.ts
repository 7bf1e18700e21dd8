// The profiler on a real adapter: a run of two different kernels comes back as two named groups
// with the right counts and non-negative times (never asserting on how long anything took).
import { describe, expect, it } from 'vitest';
import { upload } from './buffers.ts';
import { GpuProfiler, kernelLabel, summarizeProfile, type ProfileRun } from './profiler.ts';
import { testContext } from './testing.ts';
import { matmul } from '../ops/matmul.ts';
import { scale } from '../ops/elementwise.ts';

describe('GpuProfiler', () => {
  it('times every dispatch of a two-kernel run and groups them by kernel', async () => {
    const ctx = await testContext();
    if (!ctx.caps.timestampQuery) throw new Error(`${ctx.caps.adapterName} has no timestamp-query: the profiler cannot run here`);
    const M = 9;
    const K = 13;
    const N = 7;
    const a = upload(ctx.device, Float32Array.from({ length: M * K }, (_, i) => (i % 5) - 2));
    const b = upload(ctx.device, Float32Array.from({ length: K * N }, (_, i) => (i % 3) - 1));
    const out = upload(ctx.device, new Float32Array(M * N));
    const half = upload(ctx.device, new Float32Array(M * N));
    const profiler = new GpuProfiler(ctx.device);
    ctx.profiler = profiler;
    matmul(ctx, { a, b, out, M, N, K });
    scale(ctx, 0.5, out, half, M * N);
    matmul(ctx, { a, b, out: half, M, N, K, accumulate: true });
    ctx.flush();
    matmul(ctx, { a, b, out: half, M, N, K, accumulate: true }); // a second submit
    const result = await ctx.readF32(half, M * N);
    ctx.profiler = null;
    const run = await profiler.collect();
    profiler.destroy();

    // The profiled run still computes the right thing: 0.5 P + P + P = 2.5 P.
    let p00 = 0;
    for (let k = 0; k < K; k++) p00 += ((k % 5) - 2) * (((k * N) % 3) - 1);
    expect(result[0]).toBeCloseTo(2.5 * p00, 5);

    expect(run.dispatches).toHaveLength(4);
    for (const d of run.dispatches) expect(d.endNs).toBeGreaterThanOrEqual(d.beginNs);
    expect(run.submitEncodeMs).toHaveLength(2);
    const summary = summarizeProfile(run);
    expect(summary.kernels.map((k) => k.kernel).sort()).toEqual(['elementwise:scale_forward', 'matmul:matmul_forward'].sort());
    const byName = Object.fromEntries(summary.kernels.map((k) => [k.kernel, k]));
    expect(byName['matmul:matmul_forward'].count).toBe(3);
    expect(byName['elementwise:scale_forward'].count).toBe(1);
    for (const k of summary.kernels) {
      expect(k.total_ms).toBeGreaterThanOrEqual(0);
      expect(k.share).toBeGreaterThanOrEqual(0);
    }
    expect(summary.gpu_span_ms).toBeGreaterThanOrEqual(0);
    expect(summary.cpu_encode_ms).toBeGreaterThanOrEqual(0);
    // Node turns Dawn's timestamp quantization off (dawnToggles.ts).
    expect(summary.timestamps).toBe('unquantized');
  });

  it('summarizes: shares of the busy time, groups sorted by total, quantization reported', () => {
    const run: ProfileRun = {
      dispatches: [
        { kernel: 'a', workgroups: [1, 1, 1], beginNs: 0, endNs: 3 * 65536 },
        { kernel: 'b', workgroups: [2, 1, 1], beginNs: 3 * 65536, endNs: 4 * 65536 },
        { kernel: 'a', workgroups: [3, 1, 1], beginNs: 5 * 65536, endNs: 5 * 65536 },
        { kernel: 'a', workgroups: [4, 1, 1], beginNs: 6 * 65536, endNs: 6 * 65536 },
      ],
      submitEncodeMs: [1.5, 0.5],
      quantized: true,
    };
    const s = summarizeProfile(run);
    expect(s.kernels.map((k) => [k.kernel, k.count, k.share])).toEqual([
      ['a', 3, 0.75],
      ['b', 1, 0.25],
    ]);
    expect(s.gpu_busy_ms).toBeCloseTo((4 * 65536) / 1e6, 3);
    expect(s.gpu_span_ms).toBeCloseTo((6 * 65536) / 1e6, 3);
    expect(s.cpu_encode_ms).toBe(2);
    expect(s.submits).toBe(2);
    expect(s.timestamps).toMatch(/^quantized/);
    expect(s.slowest.map((d) => d.workgroups[0])).toEqual([1, 2, 3, 4]);
  });

  it('labels matmuls with their transposes so forward and gradient products group apart', () => {
    const source = { name: 'matmul', code: '' };
    expect(kernelLabel({ source, entryPoint: 'matmul_forward', constants: { TRANS_A: 0, TRANS_B: 1, RM: 8 } })).toBe('matmul:matmul_forward (trans b)');
    expect(kernelLabel({ source, entryPoint: 'matmul_forward', constants: { TRANS_A: 0, TRANS_B: 0 } })).toBe('matmul:matmul_forward');
  });
});
