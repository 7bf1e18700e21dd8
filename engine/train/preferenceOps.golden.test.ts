// The ORPO, SimPO and KTO loss ops composed with today's model forward/backward on tiny-llama +
// tiny-llama-lora reproduce the PyTorch goldens of scripts/reference/methods_reference.py: loss,
// TRL's metrics and every LoRA gradient. This is the recipe each method's objective records
// (phase 2 moves it into engine/train/objectives/); reward models need the model's hidden-state
// backward and are checked there.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createBuffer, upload } from '../gpu/buffers.ts';
import type { GpuContext } from '../gpu/context.ts';
import { zeroLoraGrads } from '../lora/adapter.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { batchFromRows, uploadBatch, type GpuBatch } from '../model/batch.ts';
import type { LoadedModel } from '../model/loadModel.ts';
import { completionLogprobSums, completionNllBackward } from '../ops/completionLogprobs.ts';
import { maskedTokenMean, sequenceLogprobSumsBackward } from '../ops/lossReduce.ts';
import { ktoKl, ktoLoss, orpoLoss, simpoLoss } from '../ops/preferenceLosses.ts';
import { logsigmoid } from '../ops/preferenceLosses.ref.ts';
import { expectClose } from '../ops/testing.ts';
import { testContext } from '../gpu/testing.ts';
import { loadTinyLlama, loadTinyLora, peftTensors, type Tensor } from './testing.ts';

interface Seq {
  ids: number[];
  completion_start: number;
}
const golden = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}_goldens.json`, import.meta.url), 'utf8'));
const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

function expectGrads(got: Map<string, Float32Array>, want: Record<string, Tensor>, what: string): void {
  expect(new Set(got.keys())).toEqual(new Set(Object.keys(want)));
  for (const [key, t] of Object.entries(want)) {
    const scale = Math.max(...t.data.map(Math.abs));
    expectClose(got.get(key)!, t.data, { atol: 1e-4 * scale, rtol: 1e-3 }, `${what} ${key}`);
  }
}

function expectMetrics(got: Record<string, number>, want: Record<string, number>): void {
  for (const [k, v] of Object.entries(want)) expect(Math.abs(got[k] - v), `${k}: ${got[k]} vs ${v}`).toBeLessThanOrEqual(1e-4 * Math.abs(v) + 1e-5);
}

/** Rows whose labels cover every token (whole: ORPO's chosen NLL) or only the completion. */
function batchOf(ctx: GpuContext, seqs: Seq[], pad: number, whole: boolean): GpuBatch {
  return uploadBatch(ctx, batchFromRows(seqs.map((s) => ({ ids: s.ids, trainMask: s.ids.map((_, i) => (whole || i >= s.completion_start ? 1 : 0)) })), pad));
}

/** The policy pass of ORPO / SimPO: NLL of the chosen rows, completion sums, the loss op, the combined backward. */
async function pairedStep(ctx: GpuContext, loaded: LoadedModel, adapter: LoraAdapter, pairs: { chosen: Seq; rejected: Seq }[], o: { whole: boolean; nllScale: number; loss: (a: Parameters<typeof orpoLoss>[1]) => void }) {
  const P = pairs.length;
  const seqs = [...pairs.map((p) => p.chosen), ...pairs.map((p) => p.rejected)];
  const batch = batchOf(ctx, seqs, loaded.tokenizer.padTokenId ?? 0, o.whole);
  const starts = upload(ctx.device, Uint32Array.from(seqs, (s) => s.completion_start));
  zeroLoraGrads(ctx, adapter);
  const out = loaded.model.forward(batch, { lora: adapter, train: true });
  const nllStats = createBuffer(ctx.device, 8);
  maskedTokenMean(ctx, { lossPerToken: out.lossPerToken, labels: batch.labels, N: P * batch.T, out: nllStats });
  const sums = createBuffer(ctx.device, 2 * P * 4);
  const counts = createBuffer(ctx.device, 2 * P * 4);
  const rows = { labels: batch.labels, starts, S: 2 * P, T: batch.T };
  completionLogprobSums(ctx, { ...rows, lossPerToken: out.lossPerToken, sums, counts });
  const pair = createBuffer(ctx.device, P * 16);
  const logps = createBuffer(ctx.device, 2 * P * 4);
  const dSums = createBuffer(ctx.device, 2 * P * 4);
  o.loss({ sums, counts, pair, logps, dSums, P, beta: 0, dScale: 1 / P });
  const dLoss = createBuffer(ctx.device, batch.B * batch.T * 4);
  completionNllBackward(ctx, { ...rows, dSums, dLoss, nllRows: o.nllScale ? P : 0, nllScale: o.nllScale, nllStats });
  loaded.model.backward(batch, dLoss);
  const result = { nll: await ctx.readF32(nllStats, 2), counts: await ctx.readF32(counts, 2 * P), pair: await ctx.readF32(pair, 4 * P), logps: await ctx.readF32(logps, 2 * P), grads: await peftTensors(ctx, adapter, 'grads') };
  batch.destroy();
  return result;
}

describe('ORPO / SimPO / KTO ops on tiny-llama vs the PyTorch goldens', async () => {
  const ctx = await testContext();
  const loaded = await loadTinyLlama(ctx);
  const col = (a: Float32Array, c: number) => Array.from({ length: a.length / 4 }, (_, i) => a[i * 4 + c]);

  it('ORPO: NLL of the whole chosen sequences, averaged log-probs, log odds, loss, metrics, LoRA gradients', { timeout: 600_000 }, async () => {
    const g = golden('orpo');
    const adapter = await loadTinyLora(ctx, loaded);
    const beta = g.beta;
    const r = await pairedStep(ctx, loaded, adapter, g.pairs, { whole: true, nllScale: 1, loss: (a) => orpoLoss(ctx, { ...a, beta }) });
    const P = g.pairs.length;
    expect(r.nll[1]).toBe(g.nll_tokens);
    expect(Array.from(r.counts)).toEqual([...g.completion_tokens.chosen, ...g.completion_tokens.rejected]);
    expectClose(r.logps, [...g.logps_length_averaged.chosen, ...g.logps_length_averaged.rejected], { atol: 1e-5, rtol: 1e-5 }, 'logps');
    expectClose(col(r.pair, 3), g.log_odds, { atol: 1e-4, rtol: 1e-4 }, 'log odds');
    const rc = col(r.pair, 1);
    const rr = col(r.pair, 2);
    expectMetrics(
      {
        loss: r.nll[0] + mean(col(r.pair, 0)),
        nll_loss: r.nll[0],
        log_odds_ratio: mean(col(r.pair, 3).map(logsigmoid)),
        log_odds_chosen: mean(col(r.pair, 3)),
        'rewards/chosen': mean(rc),
        'rewards/rejected': mean(rr),
        'rewards/accuracies': mean(rc.map((c, i) => (c > rr[i] ? 1 : 0))),
        'rewards/margins': mean(rc.map((c, i) => c - rr[i])),
        'logps/chosen': mean(r.logps.slice(0, P)),
        'logps/rejected': mean(r.logps.slice(P)),
      },
      g.metrics,
    );
    expectGrads(r.grads, g.lora_grads, 'ORPO grad');
  });

  it('SimPO: loss and gradients without and with the chosen NLL and label smoothing', { timeout: 600_000 }, async () => {
    const g = golden('simpo');
    for (const [name, v] of Object.entries(g.variants) as [string, Record<string, never>][]) {
      const adapter = await loadTinyLora(ctx, loaded);
      const h = { beta: v['beta'] as number, simpoGamma: v['simpo_gamma'] as number, labelSmoothing: v['label_smoothing'] as number };
      const alpha = v['cpo_alpha'] as number;
      const r = await pairedStep(ctx, loaded, adapter, g.pairs, { whole: false, nllScale: alpha, loss: (a) => simpoLoss(ctx, { ...a, ...h }) });
      const m = v['metrics'] as Record<string, number>;
      if (alpha) expect(r.nll[1]).toBe(v['nll_tokens']);
      const nll = alpha ? r.nll[0] : 0; // TRL does not compute (and logs 0 for) the NLL when cpo_alpha is 0
      expect(rel(mean(col(r.pair, 0)) + alpha * nll, m['loss']), `${name} loss`).toBeLessThan(1e-4);
      expect(Math.abs(nll - m['nll_loss'])).toBeLessThanOrEqual(1e-4 * m['nll_loss'] + 1e-6);
      expectClose(col(r.pair, 3), v['logits'], { atol: 1e-4, rtol: 1e-4 }, `${name} logits`);
      expectGrads(r.grads, v['lora_grads'], `SimPO ${name} grad`);
    }
  });

  it('KTO: reference and KL passes with the adapter off / no gradient, the clamped KL, weighted loss, metrics, gradients', { timeout: 600_000 }, async () => {
    const g = golden('kto');
    const pad = loaded.tokenizer.padTokenId ?? 0;
    for (const [name, b] of Object.entries(g.batches) as [string, Record<string, never>][]) {
      const adapter = await loadTinyLora(ctx, loaded);
      const rows = b['rows'] as (Seq & { label: boolean })[];
      const n = rows.length;
      const sumsOf = async (seqs: Seq[], lora: LoraAdapter | null, train: boolean): Promise<{ sums: GPUBuffer; batch: GpuBatch }> => {
        const batch = batchOf(ctx, seqs, pad, false);
        loaded.model.forward(batch, { lora, train });
        const sums = createBuffer(ctx.device, n * 4);
        loaded.model.sequenceLogprobs(batch, sums);
        return { sums, batch };
      };
      const ref = await sumsOf(rows, null, false);
      const klRef = await sumsOf(b['kl_rows'], null, false);
      const klPol = await sumsOf(b['kl_rows'], adapter, false);
      zeroLoraGrads(ctx, adapter);
      const pol = await sumsOf(rows, adapter, true);
      const kl = createBuffer(ctx.device, 4);
      ktoKl(ctx, { klPolicy: klPol.sums, klReference: klRef.sums, kl, n });
      const out = createBuffer(ctx.device, n * 16);
      const dPolicy = createBuffer(ctx.device, n * 4);
      const h = { beta: g.beta, desirableWeight: b['desirable_weight'] as number, undesirableWeight: b['undesirable_weight'] as number };
      ktoLoss(ctx, { policy: pol.sums, reference: ref.sums, labels: upload(ctx.device, Uint32Array.from(rows, (x) => (x.label ? 1 : 0))), kl, rows: out, dPolicy, n, ...h, dScale: 1 / n });
      const dLoss = createBuffer(ctx.device, pol.batch.B * pol.batch.T * 4);
      sequenceLogprobSumsBackward(ctx, { dSums: dPolicy, labels: pol.batch.labels, S: n, T: pol.batch.T, dLoss });
      loaded.model.backward(pol.batch, dLoss);
      const tol = { atol: 1e-3, rtol: 1e-5 }; // summed log-probs near -95
      expectClose(await ctx.readF32(ref.sums, n), b['reference_logps'], tol, `${name} reference logps`);
      expectClose(await ctx.readF32(klPol.sums, n), b['kl_policy_logps'], tol, `${name} KL policy logps`);
      expectClose(await ctx.readF32(klRef.sums, n), b['kl_reference_logps'], tol, `${name} KL reference logps`);
      const got = await ctx.readF32(out, 4 * n);
      const terms = col(got, 0);
      const rewards = col(got, 1);
      const policy = col(got, 2);
      expectClose(terms, b['loss_per_row'], { atol: 1e-5, rtol: 1e-4 }, `${name} loss per row`);
      const chosen = rows.flatMap((x, i) => (x.label ? [i] : []));
      const rejected = rows.flatMap((x, i) => (x.label ? [] : [i]));
      const m: Record<string, number> = { loss: mean(terms), kl: (await ctx.readF32(kl, 1))[0] };
      if (chosen.length) Object.assign(m, { 'rewards/chosen': mean(chosen.map((i) => rewards[i])), 'logps/chosen': mean(chosen.map((i) => policy[i])) });
      if (rejected.length) Object.assign(m, { 'rewards/rejected': mean(rejected.map((i) => rewards[i])), 'logps/rejected': mean(rejected.map((i) => policy[i])) });
      if (chosen.length && rejected.length) m['rewards/margins'] = m['rewards/chosen'] - m['rewards/rejected'];
      expect(Object.keys(m).sort()).toEqual(Object.keys(b['metrics']).sort());
      expectMetrics(m, b['metrics']);
      expectGrads(await peftTensors(ctx, adapter, 'grads'), b['lora_grads'], `KTO ${name} grad`);
      for (const x of [ref, klRef, klPol, pol]) x.batch.destroy();
    }
  });
});
