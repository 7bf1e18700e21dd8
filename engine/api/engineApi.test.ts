// EngineApi's studio contract (engine/api/contract.ts) end to end on the real adapter, with the
// tiny Llama fixture: the demo model over HTTP (a local server answering like public/models/demo),
// a hub repo (local hub server) and a dropped folder; dataset reports with errors by line; memory
// estimates; SFT and DPO runs with checkpoints, samples, stop/pause, resume and a lost device;
// streamed generation with and without an adapter; scoring answers with a reward model; model use
// serialised against a run (a run waits for a generation, refuses one during it); the merged export.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineApi } from '../api.ts';
import { acquireNodeDevice } from '../gpu/nodeGpu.ts';
import { MemorySource } from '../io/byteSource.ts';
import { startLocalHub, type LocalHub } from '../io/testing.ts';
import { readSafetensorsHeader } from '../io/safetensors.ts';
import { parsePeftConfig } from '../lora/peft.ts';
import type { ProgressEvent } from './types.ts';
import { openCheckpoint } from '../io/checkpoint.ts';
import { memoryFileSet } from '../io/fileSet.ts';
import { exportMergedModel, readAdapterForMerge, type ExportFile } from '../lora/export.ts';
import type { RecipeJson, TrainCallbacks, TrainSummary } from './contract.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tinyDir = `${root}engine/model/fixtures/tiny-llama/`;
const tinyFiles: Record<string, Uint8Array> = Object.fromEntries(readdirSync(tinyDir).map((f) => [f, new Uint8Array(readFileSync(tinyDir + f))]));
const enc = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
const dec = (b: ArrayBuffer) => new TextDecoder().decode(b);

const sftLines = readFileSync(`${root}engine/model/fixtures/sft_eval.jsonl`, 'utf8').trim().split('\n').slice(0, 4);
const sftData = { name: 'chat.jsonl', data: enc(sftLines.join('\n') + '\n') };
const badData = {
  name: 'bad.jsonl',
  data: enc(
    [
      sftLines[0],
      '{"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "beep"}]}',
      sftLines[1],
      '{"messages": [oops',
    ].join('\n') + '\n',
  ),
};
const pairs = [
  { prompt: 'What is two plus two?', chosen: 'Four.', rejected: 'Five, I think.' },
  { prompt: 'Name a colour of the sky.', chosen: 'Blue.', rejected: 'Plaid.' },
  { prompt: 'Is ice cold?', chosen: 'Yes, it is.', rejected: 'No.' },
];
const dpoData = { name: 'pairs.jsonl', data: enc(pairs.map((p) => JSON.stringify(p)).join('\n') + '\n') };

const sftRecipe: RecipeJson = { method: 'sft', max_steps: 3, per_device_train_batch_size: 2, max_length: 64, lora_r: 4, lora_alpha: 8, lora_dropout: 0, save_steps: 1, logging_steps: 1, learning_rate: 1e-2 };

interface Recorded {
  progress: ProgressEvent[];
  logs: Record<string, number>[];
  checkpoints: Map<number, Record<string, ArrayBuffer>>;
  samples: { step: number; prompt: string; text: string }[];
  warnings: string[];
}

/** Records every callback; sample generations (24 greedy tokens each) only when `samples`. */
function recorder(extra: Partial<TrainCallbacks> = {}, samples = false): { rec: Recorded; callbacks: TrainCallbacks } {
  const rec: Recorded = { progress: [], logs: [], checkpoints: new Map(), samples: [], warnings: [] };
  const callbacks: TrainCallbacks = {
    onProgress: (p) => {
      rec.progress.push(p);
      extra.onProgress?.(p);
    },
    onLog: (e) => rec.logs.push(e),
    onCheckpoint: async (step, files) => {
      rec.checkpoints.set(step, files);
      await extra.onCheckpoint?.(step, files);
    },
    onWarning: (w) => rec.warnings.push(w),
  };
  if (samples) callbacks.onSample = (step, prompt, text) => rec.samples.push({ step, prompt, text });
  return { rec, callbacks };
}

async function bytesOfFile(f: ExportFile): Promise<Uint8Array> {
  const out = new Uint8Array(f.size);
  let at = 0;
  for await (const c of f.chunks()) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const publicDemo = `${root}public/models/demo/`;
const publicDatasets = `${root}public/datasets/`;
/** What the demo server serves at /models/demo/: the fixture (with a manifest), or the shipped public/models/demo. */
const demoFolder: { files: Record<string, Uint8Array> } = {
  files: { ...tinyFiles, 'manifest.json': new TextEncoder().encode(JSON.stringify({ name: 'Whetstone demo (tiny test Llama)', files: Object.entries(tinyFiles).map(([path, b]) => ({ path, size: b.byteLength })) })) },
};

/** Serves demoFolder like the studio serves public/models/demo/ (manifest.json + files). */
function startDemoServer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '').replace(/^\/models\/demo\//, ''));
    const body = demoFolder.files[name];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': body.byteLength }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

// ~30 s on lavapipe; SwiftShader compiles and runs far slower (about 6 min on a busy 2-core machine).
describe('EngineApi studio contract', { timeout: 600_000 }, () => {
  let demo: { url: string; server: Server };
  let hub: LocalHub;
  let engine: EngineApi;
  let sft: TrainSummary;
  let mergedFiles: Record<string, ArrayBuffer> = {};

  beforeAll(async () => {
    demo = await startDemoServer();
    hub = await startLocalHub({ 'whetstone/tiny-llama': { files: tinyFiles } });
    engine = new EngineApi(() => acquireNodeDevice(), { demoModelUrl: `${demo.url}/models/demo/`, hubUrl: hub.url });
  });
  afterAll(async () => {
    await engine?.releaseDevice();
    await hub?.close();
    demo?.server.close();
  });

  it('inspects datasets without a model: format, counts, errors with line numbers, preview', async () => {
    const good = await engine.inspectDataset(sftData, null);
    expect(good).toMatchObject({ fileName: 'chat.jsonl', method: 'sft', rows: 4, countLabel: '4 rows', errorCount: 0, maskPreview: null, tokenStats: null });
    expect(good.preview).toHaveLength(4);
    const bad = await engine.inspectDataset(badData, 'sft');
    expect(bad.rows).toBe(2);
    expect(bad.countLabel).toBe('2 rows');
    expect(bad.errorCount).toBe(2);
    expect(bad.errors.map((e) => e.line)).toEqual([2, 4]);
    expect(bad.errors[0].message).toContain('bad.jsonl line 2');
    expect(bad.errors[0].message).toContain('robot');
    const one = await engine.inspectDataset({ name: 'one.jsonl', data: enc(JSON.stringify(pairs[0]) + '\n') }, null);
    expect(one).toMatchObject({ method: 'dpo', rows: 1, countLabel: '1 pair' });
    expect(structuredClone(bad)).toEqual(bad);
  });

  it('loads the demo model over HTTP with download and upload progress', async () => {
    const events: ProgressEvent[] = [];
    const info = await engine.loadModel({ kind: 'demo' }, (e) => events.push(e));
    expect(info).toMatchObject({ name: 'Whetstone demo (tiny test Llama)', modelType: 'llama', layers: 3, hiddenSize: 40, heads: 5, kvHeads: 1, vocabSize: 379, hasChatTemplate: true });
    expect(info.parameters).toBeGreaterThan(0);
    expect(info.weightBytes).toBeGreaterThan(0);
    expect(['bf16', 'f16', 'f32']).toContain(info.weightDtype);
    const last = (phase: string) => events.filter((e) => e.phase === phase).at(-1)!;
    expect(last('download').done).toBe(Object.values(tinyFiles).reduce((s, b) => s + b.byteLength, 0));
    expect(last('upload').done).toBe(last('upload').total);
  });

  it('loads from a hub repo and from a dropped folder (replacing the model)', async () => {
    const fromHub = await engine.loadModel({ kind: 'hub', repo: 'whetstone/tiny-llama' }, () => {});
    expect(fromHub).toMatchObject({ name: 'whetstone/tiny-llama', layers: 3 });
    const files = Object.entries(tinyFiles).map(([path, b]) => ({ path: `tiny-llama/${path}`, data: b.slice().buffer as ArrayBuffer }));
    const fromFolder = await engine.loadModel({ kind: 'files', files, name: 'tiny-llama' }, () => {});
    expect(fromFolder).toMatchObject({ name: 'tiny-llama', layers: 3, hiddenSize: 40 });
  });

  it('with a model: the loss mask of one example and token statistics', async () => {
    const report = await engine.inspectDataset(sftData, 'sft', { maxLength: 64 });
    expect(report.maskPreview).not.toBeNull();
    const mask = report.maskPreview!;
    expect(mask.some((t) => t.trained)).toBe(true);
    expect(mask.some((t) => !t.trained)).toBe(true);
    expect(mask.filter((t) => t.trained).map((t) => t.text).join('')).toContain('Paris.');
    expect(report.tokenStats!.trainedTokens).toBeGreaterThan(0);
    expect(report.tokenStats!.max).toBeGreaterThanOrEqual(report.tokenStats!.min);
  });

  it('reports gzip, HH pairs split where they differ, p95, and every row a template refuses', async () => {
    const file = (name: string) => ({ name, data: new Uint8Array(readFileSync(`${root}engine/data/fixtures/${name}`)).buffer as ArrayBuffer });
    const hh = await engine.inspectDataset(file('hh.jsonl.gz'), null);
    expect(hh).toMatchObject({ method: 'dpo', compression: 'gzip', rows: 3 });
    expect(hh.pairPreview![0]).toEqual({ line: 1, prompt: 'Human: What is the capital of France?\n\nAssistant:', chosen: 'Paris.', rejected: "I don't know." });
    expect(hh.tokenStats!.p95).toBeGreaterThanOrEqual(hh.tokenStats!.p50);
    const tools = await engine.inspectDataset(file('openai_tools.jsonl'), null);
    expect(tools.pairPreview).toBeNull();
    expect(tools.errors.map((e) => e.line)).toEqual([1, 2, 3]); // each row named, not one "no usable rows"
    expect(tools.rows).toBe(0);
    expect(tools.tokenStats).toBeNull();
  });

  it('estimates memory: a small recipe fits, an absurd one does not and says what to lower', async () => {
    const ok = await engine.estimateMemory(sftRecipe);
    expect(ok.fits).toBe(true);
    expect(ok.advice).toBeNull();
    expect(ok.totalBytes).toBe(ok.weightsBytes + ok.loraBytes + ok.activationBytes);
    const absurd = { ...sftRecipe, per_device_train_batch_size: 4096, max_length: 65536 };
    const no = await engine.estimateMemory(absurd);
    expect(no.fits).toBe(false);
    expect(no.advice).toMatch(/per_device_train_batch_size|max_length/);
    const withCkpt = await engine.estimateMemory({ ...sftRecipe, gradient_checkpointing: true, per_device_train_batch_size: 16 });
    const without = await engine.estimateMemory({ ...sftRecipe, per_device_train_batch_size: 16 });
    expect(withCkpt.activationBytes).toBeLessThan(without.activationBytes);
    const dpo = await engine.estimateMemory({ ...sftRecipe, method: 'dpo' });
    expect(dpo.activationBytes).toBeGreaterThan(ok.activationBytes);
    const thrown = await engine.train({ recipe: absurd, dataset: sftData }, recorder().callbacks).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ name: 'GpuOutOfMemory', hint: no.advice });
  });

  it('trains SFT for 3 steps: progress, logs, checkpoints, samples and a PEFT adapter', async () => {
    const { rec, callbacks } = recorder({}, true);
    sft = await engine.train({ recipe: sftRecipe, dataset: sftData }, callbacks);
    expect(sft).toMatchObject({ steps: 3, totalSteps: 3, stopped: false });
    expect(Number.isFinite(sft.finalLoss)).toBe(true);
    const train = rec.progress.filter((p) => p.phase === 'train' && p.metrics);
    expect(train.map((p) => p.done)).toEqual([1, 2, 3]);
    for (const p of train) {
      expect(p.total).toBe(3);
      expect(p.metrics!.tokens_per_second).toBeGreaterThan(0);
      expect(p.metrics!.eta_seconds).toBeGreaterThanOrEqual(0);
    }
    expect(rec.logs.map((l) => l.step)).toEqual([1, 2, 3]);
    expect(rec.logs[0]).toHaveProperty('grad_norm');
    expect([...rec.checkpoints.keys()]).toEqual([1, 2]);
    expect(Object.keys(rec.checkpoints.get(2)!).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'rng_state.json', 'scheduler.json', 'trainer_state.json']);
    expect(rec.samples.map((s) => s.step)).toEqual([1, 2, 3]);
    expect(rec.samples[0].prompt).toBe('What is the capital of France?'); // the dataset's first user turn by default
    expect(rec.samples.every((s) => typeof s.text === 'string')).toBe(true);
    const config = parsePeftConfig(dec(sft.adapter['adapter_config.json']));
    expect(config).toMatchObject({ r: 4, loraAlpha: 8 });
    const header = await readSafetensorsHeader(new MemorySource('adapter', new Uint8Array(sft.adapter['adapter_model.safetensors'])));
    expect(header.tensors.has('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight')).toBe(true);
  });

  it('trains DPO for 3 steps; the first loss of a fresh adapter is ln 2', async () => {
    const { rec, callbacks } = recorder();
    const dpo = await engine.train({ recipe: { ...sftRecipe, method: 'dpo', learning_rate: 1e-3 }, dataset: dpoData }, callbacks);
    expect(dpo.steps).toBe(3);
    expect(rec.logs[0].loss).toBeCloseTo(Math.log(2), 3);
    expect(rec.logs[0]).toHaveProperty(['rewards/margins']);
    expect(parsePeftConfig(dec(dpo.adapter['adapter_config.json'])).r).toBe(4);
  });

  let stoppedAt: Record<string, ArrayBuffer>;
  it('pauses, resumes and stops mid-run keeping the adapter and a checkpoint', async () => {
    let pausedAt = 0;
    const { rec, callbacks } = recorder({
      onProgress: (p) => {
        if (p.done === 1 && p.metrics) {
          engine.pauseTraining();
          pausedAt = Date.now();
          setTimeout(() => engine.resumeTraining(), 300);
        }
        if (p.done === 2 && p.metrics) engine.stopTraining();
      },
    });
    const summary = await engine.train({ recipe: { ...sftRecipe, max_steps: 6, save_steps: 50 }, dataset: sftData }, callbacks);
    expect(pausedAt).toBeGreaterThan(0);
    expect(summary).toMatchObject({ steps: 2, totalSteps: 6, stopped: true });
    expect(Object.keys(summary.adapter).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect([...rec.checkpoints.keys()]).toEqual([2]);
    stoppedAt = rec.checkpoints.get(2)!;
  });

  it('resumes from a delivered checkpoint at the right step', async () => {
    const { rec, callbacks } = recorder();
    const summary = await engine.train({ recipe: { ...sftRecipe, max_steps: 4, save_steps: 50 }, dataset: sftData, resumeFrom: stoppedAt }, callbacks);
    expect(summary).toMatchObject({ steps: 4, totalSteps: 4, stopped: false });
    expect(rec.progress[0]).toMatchObject({ phase: 'train', done: 2, total: 4 });
    expect(rec.logs.map((l) => l.step)).toEqual([3, 4]);
  });

  it('streams generation with and without an adapter (the adapter is loaded once)', async () => {
    const seen: string[] = [];
    const base = await engine.generate('What is the capital of France?', { adapter: null, maxNewTokens: 8 }, (t) => seen.push(t));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(base);
    for (let i = 1; i < seen.length; i++) expect(seen[i].startsWith(seen[i - 1].slice(0, -1))).toBe(true);
    const streamed: string[] = [];
    const tuned = await engine.generate('What is the capital of France?', { adapter: sft.adapter, maxNewTokens: 8 }, (t) => streamed.push(t));
    expect(streamed.at(-1)).toBe(tuned);
    const again = await engine.generate('What is the capital of France?', { adapter: sft.adapter, maxNewTokens: 8 }, () => {});
    expect(again).toBe(tuned);
  });

  it('trains a reward model (its scores come back for the histogram); best-of-N samples with the SFT adapter and scores with it', async () => {
    const { callbacks } = recorder();
    const rm = await engine.train({ recipe: { ...sftRecipe, method: 'reward', learning_rate: 1e-2, max_length: 256 }, dataset: dpoData }, callbacks);
    expect(JSON.parse(dec(rm.adapter['adapter_config.json'])).task_type).toBe('SEQ_CLS');
    expect(rm.rewardScores!.chosen.length).toBe(rm.rewardScores!.rejected.length);
    expect(rm.rewardScores!.chosen.length).toBeGreaterThan(0);
    const finished: number[] = [];
    const found = await engine.bestOfN('What is the capital of France?', { adapter: sft.adapter, rewardAdapter: rm.adapter, n: 3, maxNewTokens: 6 }, (i) => finished.push(i));
    expect(finished).toEqual([0, 1, 2]);
    expect(found.candidates.length).toBe(3);
    expect(found.candidates[found.best].reward).toBe(Math.max(...found.candidates.map((c) => c.reward)));
    // Both adapters stay cached: the SFT adapter still generates as before.
    const again = await engine.generate('What is the capital of France?', { adapter: sft.adapter, maxNewTokens: 8 }, () => {});
    expect(again).toBe(await engine.generate('What is the capital of France?', { adapter: sft.adapter, maxNewTokens: 8 }, () => {}));
    // An SFT adapter is no reward model.
    await expect(engine.bestOfN('Hi', { adapter: null, rewardAdapter: sft.adapter, n: 2, maxNewTokens: 2 })).rejects.toMatchObject({ message: expect.stringMatching(/is not a reward model/) });
    // The arena's judge: the same rewards for the same answers, scored with their prompt.
    const prompt = 'What is the capital of France?';
    const scores = await engine.scoreAnswers(found.candidates.map((c) => ({ prompt, answer: c.text })), rm.adapter);
    expect(scores).toEqual(found.candidates.map((c) => c.reward));
    await expect(engine.scoreAnswers([{ prompt, answer: 'Paris.' }], sft.adapter)).rejects.toMatchObject({ message: expect.stringMatching(/is not a reward model/) });
  });

  it('serialises the model: a run waits for the generation asked for before it, and refuses those asked for during it', async () => {
    const order: string[] = [];
    const asked = engine.generate('What is the capital of France?', { adapter: null, maxNewTokens: 16 }, () => order.push('token'));
    const { callbacks } = recorder({ onProgress: () => order.push('step') });
    const run = engine.train({ recipe: { ...sftRecipe, max_steps: 1 }, dataset: sftData }, callbacks);
    await expect(engine.generate('Hi', { adapter: null, maxNewTokens: 2 }, () => {})).rejects.toMatchObject({ name: 'TrainingInProgress' });
    await expect(engine.scoreAnswers([{ prompt: 'Hi', answer: 'Hello.' }], sft.adapter)).rejects.toMatchObject({ name: 'TrainingInProgress' });
    await asked;
    expect((await run).steps).toBe(1);
    expect(order.indexOf('step')).toBeGreaterThan(order.lastIndexOf('token'));
    expect(order.filter((x) => x === 'token').length).toBeGreaterThan(0);
    // After the run, generation is served again.
    expect(typeof (await engine.generate('Hi', { adapter: null, maxNewTokens: 2 }, () => {}))).toBe('string');
  });

  it('exports the merged model as HF checkpoint files', async () => {
    const files = await engine.exportMerged(sft.adapter);
    mergedFiles = files;
    expect(Object.keys(files)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']));
    const header = await readSafetensorsHeader(new MemorySource('model.safetensors', new Uint8Array(files['model.safetensors'])));
    expect(header.tensors.get('model.layers.0.self_attn.q_proj.weight')?.shape).toEqual([40, 40]);
    expect(JSON.parse(dec(files['config.json'])).model_type).toBe('llama');
    // The merged checkpoint loads back as a model.
    const info = await engine.loadModel({ kind: 'files', name: 'merged', files: Object.entries(files).map(([path, data]) => ({ path, data })) }, () => {});
    expect(info.layers).toBe(3);
  });

  it('QLoRA: the estimate shows both bases; load_in_4bit reloads the model in NF4 and trains; the export merges into the 16-bit weights', async () => {
    const qlora = { ...sftRecipe, max_steps: 2, save_steps: 50, load_in_4bit: true, bnb_4bit_use_double_quant: true };
    const planned = await engine.estimateMemory(qlora);
    expect(planned.loadIn4bit).toBe(true);
    expect(planned.bases.sixteenBit!.weightsBytes).toBe((await engine.estimateMemory(sftRecipe)).weightsBytes); // the model is loaded 16-bit: measured
    expect(planned.bases.fourBit.weightsBytes).toBeLessThan(planned.bases.sixteenBit!.weightsBytes);
    expect(planned.weightsBytes).toBe(planned.bases.fourBit.weightsBytes);
    const { rec, callbacks } = recorder();
    const run = await engine.train({ recipe: qlora, dataset: sftData }, callbacks);
    expect(run.steps).toBe(2);
    expect(rec.progress.some((p) => p.phase === 'upload')).toBe(true); // the reload in 4-bit reports its progress
    expect(rec.logs.every((l) => Number.isFinite(l.loss))).toBe(true);
    // Now loaded in NF4: the measured weight buffers are what was planned.
    expect((await engine.estimateMemory(qlora)).weightsBytes).toBe(planned.bases.fourBit.weightsBytes);
    const files = await engine.exportMerged(run.adapter);
    const merged = await openCheckpoint(memoryFileSet('export', Object.fromEntries(Object.entries(files).map(([k, v]) => [k, new Uint8Array(v)]))));
    const base = await openCheckpoint(memoryFileSet('merged', Object.fromEntries(Object.entries(mergedFiles).map(([k, v]) => [k, new Uint8Array(v)]))));
    const want = exportMergedModel(base, await readAdapterForMerge(memoryFileSet('adapter', Object.fromEntries(Object.entries(run.adapter).map(([k, v]) => [k, new Uint8Array(v)]))), base));
    const name = 'model.layers.2.mlp.down_proj.weight';
    expect(want.dequantized).toEqual([]);
    const wantCkpt = await openCheckpoint(memoryFileSet('want', Object.fromEntries(await Promise.all(want.files.map(async (f) => [f.name, await bytesOfFile(f)] as const)))));
    expect(await merged.readTensorBytes(name)).toEqual(await wantCkpt.readTensorBytes(name));
  });

  it('a lost device ends the run with GpuDeviceLost; train again with resumeFrom continues', async () => {
    const { rec, callbacks } = recorder({
      onCheckpoint: async (step) => {
        if (step === 1) await engine.releaseDevice(); // destroys the device, as a driver reset would
      },
    });
    const thrown = await engine.train({ recipe: sftRecipe, dataset: sftData }, callbacks).catch((e: unknown) => e);
    expect(thrown).toMatchObject({ name: 'GpuDeviceLost', details: { lastCheckpointStep: 1 } });
    const again = recorder();
    const summary = await engine.train({ recipe: sftRecipe, dataset: sftData, resumeFrom: rec.checkpoints.get(1)! }, again.callbacks);
    expect(summary).toMatchObject({ steps: 3, stopped: false });
    expect(again.rec.logs.map((l) => l.step)).toEqual([2, 3]);
  });

  it.skipIf(!existsSync(`${publicDemo}manifest.json`))('the shipped demo model (public/models/demo) loads, reads its demo datasets and trains', async () => {
    demoFolder.files = Object.fromEntries(readdirSync(publicDemo).map((f) => [f, new Uint8Array(readFileSync(publicDemo + f))]));
    const manifest = JSON.parse(dec(demoFolder.files['manifest.json'].slice().buffer as ArrayBuffer));
    const info = await engine.loadModel({ kind: 'demo' }, () => {});
    expect(info).toMatchObject({ name: manifest.name, modelType: 'llama', hasChatTemplate: true });
    const read = (f: string) => ({ name: f, data: new Uint8Array(readFileSync(publicDatasets + f)).buffer });
    const sftReport = await engine.inspectDataset(read('demo-sft.jsonl'), null);
    expect(sftReport).toMatchObject({ method: 'sft', errorCount: 0 });
    expect(sftReport.maskPreview!.some((t) => t.trained)).toBe(true);
    const dpoReport = await engine.inspectDataset(read('demo-dpo.jsonl'), null);
    expect(dpoReport).toMatchObject({ method: 'dpo', errorCount: 0 });
    expect(dpoReport.countLabel).toBe(`${dpoReport.rows} pairs`);
    const { rec, callbacks } = recorder();
    const summary = await engine.train({ recipe: { method: 'dpo', max_steps: 1, per_device_train_batch_size: 2, max_length: 128 }, dataset: read('demo-dpo.jsonl') }, callbacks);
    expect(summary.steps).toBe(1);
    expect(rec.logs[0].loss).toBeCloseTo(Math.log(2), 3);
  });
});
