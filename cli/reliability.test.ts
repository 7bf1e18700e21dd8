// `whetstone train` as a user's process manager treats it (child processes, cli/bin.js in front):
// SIGTERM and SIGHUP stop after the current step with a checkpoint and the adapter saved and exit
// 128 + n; a kill -9, a SIGTERM and two resumes end with the adapter of an uninterrupted run and
// one metrics row per step; a closed terminal or a killed parent does not lose the work; one run
// per --output_dir, and a folder holding a run is reused only with --overwrite_output_dir; eval
// arguments and absurd recipe values get one clear line before anything is loaded.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileSource } from '../engine/io/byteSourceNode.ts';
import { bytesToF32 } from '../engine/io/dtype.ts';
import { readSafetensorsHeader, readTensorBytes } from '../engine/io/safetensors.ts';
import { DPO_LOSS_TYPES } from '../engine/recipe/fields.ts';
import { METHODS } from '../engine/recipe/methods.ts';
import { LOCK_FILE, processAlive } from '../engine/train/outputLock.ts';
import { ROOT } from './testing.ts';

const MODEL = 'engine/model/fixtures/tiny-llama';
const STEPS = 10;

interface Running {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the output matches. */
  waitFor(re: RegExp): Promise<void>;
  exit: Promise<number | null>;
}

const started: ChildProcess[] = [];

/** `node cli/bin.js ...args` (WHETSTONE_VERBOSE=1: the CLI itself, no parent in front). */
function start(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['cli/bin.js', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.filter((w) => w.re.test(out))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => out,
    exit,
    waitFor: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out)) return resolve();
        waiters.push({ re, resolve });
        void exit.then((code) => reject(new Error(`exited ${code} before ${re}:\n${out}`)));
      }),
  };
}

async function finish(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const r = start(args, env);
  return { code: await r.exit, out: r.output() };
}

async function adapterTensors(dir: string): Promise<Map<string, Float32Array>> {
  const src = await NodeFileSource.open(join(dir, 'adapter_model.safetensors'));
  const out = new Map<string, Float32Array>();
  for (const [name, info] of (await readSafetensorsHeader(src)).tensors) out.set(name, bytesToF32(await readTensorBytes(src, info), info.dtype as 'F32'));
  return out;
}

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let d = 0;
  for (const [k, x] of a) x.forEach((v, i) => (d = Math.max(d, Math.abs(v - b.get(k)![i]))));
  return d;
}

const metricSteps = async (dir: string) => (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).step as number);
const checkpoints = async (dir: string) => (await readdir(dir)).filter((n) => /^checkpoint-\d+$/.test(n)).map((n) => Number(n.slice(11))).sort((a, b) => a - b);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const gone = (path: string) => access(path).then(() => false, () => true);

describe('whetstone train under signals, kills and shared folders', () => {
  let dir = '';
  let data = '';
  const train = (out: string, ...extra: string[]) => ['train', '--model', MODEL, '--data', data, '--output_dir', out, '--save_steps', '2', '--logging_steps', '1', ...extra];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'whetstone-reliab-'));
    data = join(dir, 'train.jsonl');
    const rows = Array.from({ length: 6 }, (_, i) => ({ messages: [{ role: 'user', content: `What is ${i} plus ${i}?` }, { role: 'assistant', content: `It is ${2 * i}.` }] }));
    await writeFile(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });
  afterAll(async () => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9, then a resume stopped by SIGTERM (exit 143, checkpoint + adapter saved), then a resume to the end == an uninterrupted run', { timeout: 600_000 }, async () => {
    const straight = join(dir, 'straight');
    expect((await finish(train(straight, '--max_steps', String(STEPS), '--json'))).code).toBe(0);

    const run = join(dir, 'run');
    // kill -9 of the CLI itself (no parent in front) after checkpoint-2, with rows past it written.
    const killed = start(train(run, '--max_steps', String(STEPS)), { WHETSTONE_VERBOSE: '1' });
    await killed.waitFor(/"step":3,/);
    killed.child.kill('SIGKILL');
    await killed.exit;
    expect(await checkpoints(run)).toContain(2);

    // Resume from the newest checkpoint (the bare flag), SIGTERM to the parent mid-run.
    const stopped = start(train(run, '--max_steps', String(STEPS), '--resume_from_checkpoint'));
    await stopped.waitFor(/"step":3,/);
    stopped.child.kill('SIGTERM');
    expect(await stopped.exit, stopped.output()).toBe(143);
    expect(stopped.output()).toMatch(/SIGTERM: stopping after this step/);
    const at = (await checkpoints(run)).at(-1)!;
    expect(at).toBeGreaterThanOrEqual(3);
    expect(at).toBeLessThan(STEPS);
    expect(stopped.output()).toContain(`stopped by SIGTERM after ${at} of ${STEPS} steps`);
    expect(await readFile(join(run, 'adapter_model.safetensors'))).toEqual(await readFile(join(run, `checkpoint-${at}`, 'adapter_model.safetensors')));
    expect(await metricSteps(run)).toEqual(range(1, at)); // the killed run's rows after checkpoint-2 were dropped
    expect(await gone(join(run, LOCK_FILE))).toBe(true);

    const resumed = await finish(train(run, '--max_steps', String(STEPS), '--resume_from_checkpoint', 'true', '--json'));
    expect(resumed.code, resumed.out).toBe(0);
    expect(await metricSteps(run)).toEqual(range(1, STEPS));
    const diff = maxDiff(await adapterTensors(straight), await adapterTensors(run));
    console.log(`kill -9 + SIGTERM + 2 resumes vs straight: max |diff| = ${diff}`);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it('SIGHUP with the terminal gone (pipes closed) still saves and exits 129', { timeout: 300_000 }, async () => {
    const run = join(dir, 'hup');
    const r = start(train(run, '--max_steps', '500'));
    await r.waitFor(/"step":1,/);
    r.child.stdout!.destroy();
    r.child.stderr!.destroy();
    r.child.kill('SIGHUP');
    expect(await r.exit).toBe(129);
    const at = (await checkpoints(run)).at(-1)!;
    expect(at).toBeGreaterThanOrEqual(1);
    expect(await readFile(join(run, 'adapter_model.safetensors'))).toEqual(await readFile(join(run, `checkpoint-${at}`, 'adapter_model.safetensors')));
    expect(await gone(join(run, LOCK_FILE))).toBe(true);
  });

  it('one run per folder: a second is refused while the first runs; a killed parent still saves; reuse only with --overwrite_output_dir', { timeout: 300_000 }, async () => {
    const run = join(dir, 'shared');
    const first = start(train(run, '--max_steps', '500'));
    await first.waitFor(/"step":1,/);
    const second = await finish(train(run, '--max_steps', '2'));
    expect(second.code).toBe(1);
    expect(second.out).toMatch(new RegExp(`^error: ${run} is in use by another training run \\(process \\d+ on `, 'm'));
    expect(second.out).not.toMatch(/at .*\.ts:\d+/);

    // kill -9 of the parent: the CLI child notices it is alone, stops as for SIGHUP, and saves.
    const owner = JSON.parse(await readFile(join(run, LOCK_FILE), 'utf8')).pid as number;
    first.child.kill('SIGKILL');
    for (let i = 0; i < 600 && processAlive(owner); i++) await new Promise((r) => setTimeout(r, 100));
    expect(processAlive(owner)).toBe(false);
    const at = (await checkpoints(run)).at(-1)!;
    expect(at).toBeGreaterThanOrEqual(1);
    expect(await readFile(join(run, 'adapter_model.safetensors'))).toEqual(await readFile(join(run, `checkpoint-${at}`, 'adapter_model.safetensors')));

    const reuse = await finish(train(run, '--max_steps', '1'));
    expect(reuse.code).toBe(1);
    expect(reuse.out).toContain(`error: ${run} already holds a training run (`);
    expect(reuse.out).toContain(`hint: Pass --overwrite_output_dir to replace it, --resume_from_checkpoint ${join(run, `checkpoint-${at}`)} to continue it`);
    const over = await finish(train(run, '--max_steps', '1', '--overwrite_output_dir', '--json'));
    expect(over.code, over.out).toBe(0);
    expect(await checkpoints(run)).toEqual([]);
    expect(await metricSteps(run)).toEqual([1]);
    expect(JSON.parse(await readFile(join(run, 'training_args.json'), 'utf8')).max_steps).toBe(1);
  });

  it('absurd values warn before training; eval refuses unknown --loss_type and --method in one line', { timeout: 300_000 }, async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"text": 1}\n');
    const r = await finish(['train', '--model', MODEL, '--data', bad, '--output_dir', join(dir, 'absurd'), '--lora_r', '100000', '--max_length', '1e9']);
    expect(r.out).toContain('warning: lora_r=100000 is at least the model\'s hidden_size (40)');
    expect(r.out).toContain("warning: max_length=1000000000 is beyond the model's max_position_embeddings (256)");
    expect(r.code).toBe(1); // the data then fails, naming its line
    expect(r.out).toContain(`${bad} line 1: text: must be text`);

    const loss = await finish(['eval', '--model', MODEL, '--data', bad, '--method', 'dpo', '--loss_type', 'evil']);
    expect(loss.code).toBe(1);
    expect(loss.out.trim()).toBe(`error: option '--loss_type <value>' argument 'evil' is invalid. Allowed choices are ${DPO_LOSS_TYPES.join(', ')}.`);
    const method = await finish(['eval', '--model', MODEL, '--data', bad, '--method', 'ppo']);
    expect(method.code).toBe(1);
    expect(method.out.trim()).toBe(`error: option '--method <method>' argument 'ppo' is invalid. Allowed choices are ${METHODS.join(', ')}.`);
  });
});
