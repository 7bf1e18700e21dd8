// Every kernel's uniform parameters against its WGSL: each launcher runs once on the real adapter,
// and every Params it dispatched must list the fields of the shader's `struct Params` (names,
// order, types). GpuContext also checks this the first time a pipeline is used; this test makes
// sure every kernel file is exercised, so a renamed or reordered field fails here and not in a run.
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { upload } from '../gpu/buffers.ts';
import { GpuContext, type Binding } from '../gpu/context.ts';
import { paramsMismatch, structFields, type Params } from '../gpu/params.ts';
import type { PipelineSpec } from '../gpu/pipelines.ts';
import { testContext } from '../gpu/testing.ts';
import { attentionBackward, attentionForward } from './attention.ts';
import { lmHeadCrossEntropyBackward, lmHeadCrossEntropyForward } from './crossEntropy.ts';
import { dpoLoss } from './dpoLoss.ts';
import { dropoutBackwardSum, dropoutForward } from './dropout.ts';
import { add, axpy, scale } from './elementwise.ts';
import { embeddingBackward, embeddingForward } from './embedding.ts';
import { GRAD_STATS_FLOATS, gradStatsAccumulate, gradStatsCheckValues, gradStatsFinalize, gradStatsReset } from './gradStats.ts';
import { maskedTokenMean, maskedTokenMeanBackward, sequenceLogprobSums, sequenceLogprobSumsBackward } from './lossReduce.ts';
import { matmul } from './matmul.ts';
import { adamwStep, sgdStep } from './optimizer.ts';
import { rmsnormBackward, rmsnormForward } from './rmsnorm.ts';
import { ropeBackward, ropeForward, ropeQKForward } from './rope.ts';
import { swigluBackward, swigluForward } from './swiglu.ts';
import { completionLogprobSums, completionNllBackward } from './completionLogprobs.ts';
import { ktoKl, ktoLoss, orpoLoss, rewardLoss, simpoLoss } from './preferenceLosses.ts';
import { scoreHeadBackward, scoreHeadForward } from './scoreHead.ts';
import { quantizeWeight } from '../quant/nf4Weight.ts';
import { packNf4Group } from '../quant/gpuLayout.ts';

/** Records every dispatch it makes (then makes it for real). */
class RecordingContext extends GpuContext {
  readonly seen: { spec: PipelineSpec; params: Params }[] = [];
  override dispatch(spec: PipelineSpec, buffers: (Binding | null)[], params: Params | null, workgroups: [number, number?, number?]): void {
    if (params) this.seen.push({ spec, params });
    super.dispatch(spec, buffers, params, workgroups);
  }
}

const wgslDir = new URL('../wgsl/', import.meta.url);
/**
 * Kernel files with a `struct Params` (dropoutHash.wgsl and nf4Weight.wgsl are snippets other
 * kernels include). matmulSubgroup runs only where the adapter has subgroup matrices (never a CPU
 * adapter); GpuContext checks its Params the first time it runs there.
 */
const NEEDS_SUBGROUP_MATRICES = ['matmulSubgroup'];
const kernels = readdirSync(wgslDir)
  .filter((f) => f.endsWith('.wgsl') && structFields(readFileSync(new URL(f, wgslDir), 'utf8')) !== null)
  .map((f) => f.replace(/\.wgsl$/, ''))
  .filter((k) => !NEEDS_SUBGROUP_MATRICES.includes(k));

let ctx: RecordingContext;

/** Runs every launcher once on tiny shapes. */
async function runEveryLauncher(c: GpuContext): Promise<void> {
  const f = (n: number) => upload(c.device, new Float32Array(Math.max(n, 4)).fill(0.5));
  const u = (values: number[]) => upload(c.device, Uint32Array.from(values));
  const i32 = (values: number[]) => upload(c.device, Int32Array.from(values));
  const [N, H, V, hd] = [3, 8, 11, 4];
  matmul(c, { a: f(N * H), b: f(H * V), out: f(N * V), M: N, N: V, K: H });
  embeddingForward(c, { ids: u([0, 2, 1]), table: f(V * H), out: f(N * H), T: N, H, rowStart: 0, rows: V });
  embeddingBackward(c, { idsCpu: Uint32Array.from([0, 2, 1]), dOut: f(N * H), dTable: f(V * H), T: N, H, rowStart: 0, rows: V });
  rmsnormForward(c, { x: f(N * H), weight: f(H), y: f(N * H), rstd: f(N), rows: N, dim: H, eps: 1e-5 });
  rmsnormBackward(c, { x: f(N * H), weight: f(H), rstd: f(N), dy: f(N * H), dx: f(N * H), rows: N, dim: H, dWeight: f(H) });
  const positions = u([0, 1, 2]);
  ropeForward(c, { x: f(N * 2 * hd), positions, invFreq: f(hd / 2), tokens: N, nHeads: 2, headDim: hd });
  ropeBackward(c, { x: f(N * 2 * hd), positions, invFreq: f(hd / 2), tokens: N, nHeads: 2, headDim: hd });
  ropeQKForward(c, { x: f(N * 4 * hd), positions, invFreq: f(hd / 2), tokens: N, nHeads: 2, nKvHeads: 1, headDim: hd, stride: 4 * hd, qOffset: 0, kOffset: 2 * hd, cache: { k: f(N * hd), v: f(N * hd), vOffset: 3 * hd, position: 0 } });
  const shape = { B: 1, Tq: N, Tk: N, nHeads: 2, nKvHeads: 1, headDim: hd, scale: 0.5 };
  attentionForward(c, { ...shape, q: f(N * 2 * hd), k: f(N * hd), v: f(N * hd), out: f(N * 2 * hd), lse: f(2 * N) });
  attentionBackward(c, { ...shape, q: f(N * 2 * hd), k: f(N * hd), v: f(N * hd), out: f(N * 2 * hd), lse: f(2 * N), dOut: f(N * 2 * hd), dq: f(N * 2 * hd), dk: f(N * hd), dv: f(N * hd) });
  swigluForward(c, { gate: f(N * H), up: f(N * H), h: f(N * H), n: N * H });
  swigluBackward(c, { gate: f(N * H), up: f(N * H), dh: f(N * H), dGate: f(N * H), dUp: f(N * H), n: N * H });
  add(c, f(H), f(H), f(H), H);
  axpy(c, 2, f(H), f(H), H);
  scale(c, 2, f(H), f(H), H);
  dropoutForward(c, { x: f(H), y: f(H), n: H, p: 0.1, seed: 1 });
  dropoutBackwardSum(c, { parts: f(2 * H), dx: f(H), n: H, items: 2, p: 0.1, seed: 1 });
  const labels = i32([1, -100, 3]);
  const chunks = [{ weight: f(V * H), rowStart: 0, rows: V }];
  lmHeadCrossEntropyForward(c, { hidden: f(N * H), chunks, N, H, V, labels, lossPerToken: f(N), lse: f(N), softmaxWeight: f(N * H) });
  lmHeadCrossEntropyForward(c, { hidden: f(N * H), chunks, N, H, V, labels, lossPerToken: f(N), lse: f(N), softmaxWeight: f(N * H), splitK: 2 });
  lmHeadCrossEntropyBackward(c, { chunks, N, H, V, labels, dLoss: f(N), softmaxWeight: f(N * H) });
  maskedTokenMean(c, { lossPerToken: f(N), labels, N, out: f(2) });
  maskedTokenMeanBackward(c, { labels, N, dMean: 1, dLoss: f(N) });
  sequenceLogprobSums(c, { lossPerToken: f(N), labels, S: 1, T: N, out: f(1) });
  sequenceLogprobSumsBackward(c, { dSums: f(1), labels, S: 1, T: N, dLoss: f(N) });
  dpoLoss(c, { policy: f(2), reference: f(2), pair: f(4), dPolicy: f(2), P: 1, beta: 0.1, lossType: 'sigmoid', labelSmoothing: 0, dScale: 1 });
  const stats = f(GRAD_STATS_FLOATS);
  gradStatsReset(c, stats);
  gradStatsAccumulate(c, { grad: f(H), n: H, stats });
  gradStatsCheckValues(c, { values: f(2), n: 2, stats });
  gradStatsFinalize(c, { stats, maxNorm: 1 });
  adamwStep(c, { param: f(H), grad: f(H), m: f(H), v: f(H), n: H, stats, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
  sgdStep(c, { param: f(H), grad: f(H), n: H, stats, lr: 1e-3 });
  const rows = { labels, starts: u([0]), S: 1, T: N };
  completionLogprobSums(c, { ...rows, lossPerToken: f(N), sums: f(1), counts: f(1) });
  completionNllBackward(c, { ...rows, dSums: f(1), dLoss: f(N), nllRows: 1, nllScale: 1, nllStats: f(2) });
  const paired = { sums: f(2), counts: f(2), pair: f(4), logps: f(2), dSums: f(2), P: 1, beta: 0.1, dScale: 1 };
  orpoLoss(c, paired);
  simpoLoss(c, { ...paired, simpoGamma: 0.5, labelSmoothing: 0 });
  ktoKl(c, { klPolicy: f(2), klReference: f(2), kl: f(1), n: 2 });
  ktoLoss(c, { policy: f(2), reference: f(2), labels: u([1, 0]), kl: f(1), rows: f(8), dPolicy: f(2), n: 2, beta: 0.1, desirableWeight: 1, undesirableWeight: 1, dScale: 1 });
  rewardLoss(c, { rewards: f(2), pair: f(4), dRewards: f(2), P: 1, centerRewardsCoefficient: 0, dScale: 1 });
  const score = { hidden: f(N * H), weight: f(H), positions: u([2]), B: 1, T: N, H };
  scoreHeadForward(c, { ...score, rewards: f(1) });
  scoreHeadBackward(c, { ...score, dRewards: f(1), dHidden: f(N * H), dWeight: f(H), accumulate: false });
  const nf4 = { data: upload(c.device, packNf4Group([quantizeWeight(new Float32Array(4 * 64).fill(0.25), [4, 64], 'BF16', { doubleQuant: true })])), kind: 'nf4' as const };
  matmul(c, { a: f(N * 64), b: nf4, out: f(N * 4), M: N, N: 4, K: 64, transB: true });
  matmul(c, { a: f(N * 4), b: nf4, out: f(N * 64), M: N, N: 64, K: 4 });
  await c.sync();
}

describe('kernel Params match their WGSL struct Params', () => {
  beforeAll(async () => {
    const real = await testContext();
    ctx = new RecordingContext(real.device, real.caps);
    await runEveryLauncher(ctx);
  }, 300_000);

  it('finds the kernels', () => {
    expect(kernels).toEqual(expect.arrayContaining(['matmul', 'attention', 'rope', 'optimizer', 'embedding']));
  });

  for (const kernel of kernels) {
    it(kernel, () => {
      const uses = ctx.seen.filter((s) => s.spec.source.name === kernel);
      expect(uses.length, `no launcher dispatched ${kernel}`).toBeGreaterThan(0);
      for (const { spec, params } of uses) {
        const fields = structFields(`${spec.preamble ?? ''}\n${spec.source.code}`)!;
        expect(fields.length, `${kernel}: struct Params`).toBeGreaterThan(0);
        expect(paramsMismatch(params, fields), `${kernel}:${spec.entryPoint}`).toBeNull();
      }
    });
  }
});
