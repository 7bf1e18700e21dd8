// LoRA merge and merged-checkpoint export, checked against an independent float64 computation:
// the reference reads A/B straight from adapter_model.safetensors, computes W + scale * B @ A with
// a naive triple loop, and every output element must be THE nearest bf16/f16/f32 to it (ties to
// even), verified by comparing against its neighbours rather than by re-running our rounding.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { openCheckpoint, type Checkpoint } from '../io/checkpoint.ts';
import { bytesToF32, f16BitsToNumber } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import { memoryFileSet, type FileSet } from '../io/fileSet.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from '../io/safetensors.ts';
import { exportMergedModel, readAdapterForMerge, type ExportFile, type MergeAdapter } from './export.ts';
import { writeMergedExport } from './exportNode.ts';
import { encodeF64, f64ToF32RoundOdd, mergeLora } from './merge.ts';

const FIX = 'engine/model/fixtures';

async function collect(f: ExportFile): Promise<Uint8Array> {
  const out = new Uint8Array(f.size);
  let pos = 0;
  for await (const c of f.chunks()) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  expect(pos).toBe(f.size);
  return out;
}

/** Runs the export fully in memory and reopens the result as a checkpoint. */
async function exportToMemory(ckpt: Checkpoint, adapter: MergeAdapter, opts: Parameters<typeof exportMergedModel>[2] = {}) {
  const exp = exportMergedModel(ckpt, adapter, opts);
  const files: Record<string, Uint8Array> = {};
  for (const f of exp.files) files[f.name] = await collect(f);
  return { exp, files, out: await openCheckpoint(memoryFileSet('merged', files)) };
}

const bf16Value = (bits: number) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
const f16Value = (bits: number) => f16BitsToNumber(bits);

/** True when `bits` (a 16-bit sign-magnitude float) is the nearest value to ref, ties to even. */
function isNearest16(ref: number, bits: number, value: (b: number) => number): boolean {
  const v = value(bits);
  if (!Number.isFinite(v)) return false;
  const neg = (bits & 0x8000) !== 0;
  const mag = bits & 0x7fff;
  const up = value(neg ? (mag === 0 ? 0x0001 : bits - 1) : bits + 1);
  const down = value(neg ? bits + 1 : mag === 0 ? 0x8001 : bits - 1);
  const d = Math.abs(ref - v);
  const dUp = Math.abs(ref - up);
  const dDown = Math.abs(ref - down);
  if (d > dUp || d > dDown) return false;
  if (d === dUp || d === dDown) return (bits & 1) === 0 || d === 0;
  return true;
}

/** Naive float64 W + scale * B @ A (out, in). */
function naiveMerge(W: Float32Array, A: Float32Array, B: Float32Array, outF: number, inF: number, r: number, scale: number): Float64Array {
  const ref = new Float64Array(outF * inF);
  for (let o = 0; o < outF; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += B[o * r + k] * A[k * inF + i];
      ref[o * inF + i] = W[o * inF + i] + scale * s;
    }
  }
  return ref;
}

function rand(n: number, seed: number, amp = 1): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return ((a / 4294967296) * 2 - 1) * amp;
  });
}

describe('mergeLora', () => {
  it('equals the naive float64 W + scale * B @ A bit for bit (shapes not multiples of anything)', () => {
    for (const [outF, inF, r] of [[7, 13, 3], [33, 17, 1], [5, 64, 8]]) {
      const W = rand(outF * inF, 1), A = rand(r * inF, 2, 0.3), B = rand(outF * r, 3, 0.2);
      const got = mergeLora(W, A, B, { outFeatures: outF, inFeatures: inF, r }, 1.75);
      expect(got).toEqual(naiveMerge(W, A, B, outF, inF, r, 1.75));
    }
  });

  it('rejects mismatched shapes', () => {
    expect(() => mergeLora(new Float32Array(6), new Float32Array(4), new Float32Array(4), { outFeatures: 2, inFeatures: 3, r: 2 }, 1)).toThrow(/want 2x3/);
  });
});

describe('rounding float64 to the output dtype', () => {
  it('is correctly rounded where f64 -> f32 -> bf16 would double-round', () => {
    // 1 + 2^-8 is exactly halfway between bf16 1 and 1 + 2^-7; a hair above it must round up.
    const x = 1 + 2 ** -8 + 2 ** -40;
    expect(Math.fround(x)).toBe(1 + 2 ** -8); // plain rounding lands on the tie -> even -> 1.0 (wrong)
    const bits = new Uint16Array(encodeF64(Float64Array.of(x, -x, 1 + 2 ** -8, 1 + 3 * 2 ** -8), 'BF16').buffer);
    expect([...bits]).toEqual([0x3f81, 0xbf81, 0x3f80, 0x3f82]);
    const h = new Uint16Array(encodeF64(Float64Array.of(1 + 2 ** -11 + 2 ** -40, 1 + 2 ** -11), 'F16').buffer);
    expect([...h]).toEqual([0x3c01, 0x3c00]);
  });

  it('gives the nearest bf16 and f16 for random values over many magnitudes, and f32 like Math.fround', () => {
    const vals = new Float64Array(20000);
    let s = 7;
    let t = 99;
    for (let i = 0; i < vals.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      t = (Math.imul(t, 1664525) + 1013904223) >>> 0;
      const m = s / 2 ** 32 + t / 2 ** 64; // ~52 random bits: far more than f32 keeps
      vals[i] = (i % 2 ? -1 : 1) * m * 2 ** ((i % 40) - 25);
    }
    const bf = new Uint16Array(encodeF64(vals, 'BF16').buffer);
    const hf = new Uint16Array(encodeF64(vals, 'F16').buffer);
    const f32 = new Float32Array(encodeF64(vals, 'F32').buffer);
    for (let i = 0; i < vals.length; i++) {
      if (!isNearest16(vals[i], bf[i], bf16Value)) throw new Error(`bf16 of ${vals[i]} is ${bf[i].toString(16)}`);
      if (Math.abs(vals[i]) < 60000 && !isNearest16(vals[i], hf[i], f16Value)) throw new Error(`f16 of ${vals[i]} is ${hf[i].toString(16)}`);
      expect(f32[i]).toBe(Math.fround(vals[i]));
    }
  });

  it('round-to-odd keeps exact values, NaN and infinities', () => {
    const r = f64ToF32RoundOdd(Float64Array.of(0.5, -0, NaN, Infinity, 1e300, 2 ** -160));
    expect([r[0], Object.is(r[1], -0), Number.isNaN(r[2]), r[3], r[4]]).toEqual([0.5, true, true, Infinity, Infinity]);
    expect(r[5]).toBe(2 ** -149); // below the smallest subnormal: the odd neighbour, not zero
  });
});

/** A/B straight from the adapter file (not through readPeftWeights), scale from adapter_config.json. */
async function independentAdapter(dir: string) {
  const cfg = JSON.parse(await readFile(`${dir}/adapter_config.json`, 'utf8')) as { r: number; lora_alpha: number; use_rslora: boolean };
  const bytes = new Uint8Array(await readFile(`${dir}/adapter_model.safetensors`));
  const src = new MemorySource('adapter', bytes);
  const h = await readSafetensorsHeader(src);
  const get = async (k: string) => {
    const t = h.tensors.get(k)!;
    return bytesToF32(await readTensorBytes(src, t), t.dtype as 'F32');
  };
  const scale = cfg.use_rslora ? cfg.lora_alpha / Math.sqrt(cfg.r) : cfg.lora_alpha / cfg.r;
  const keys = [...h.tensors.keys()].filter((k) => k.endsWith('lora_A.weight'));
  return { r: cfg.r, scale, keys, get };
}

async function checkMergedAgainstReference(model: string, expectScale: number) {
  const ckpt = await openCheckpoint(await openNodeFolder(`${FIX}/${model}`));
  const adapter = await readAdapterForMerge(await openNodeFolder(`${FIX}/${model}-lora`), ckpt);
  const { exp, files, out } = await exportToMemory(ckpt, adapter);
  const ind = await independentAdapter(`${FIX}/${model}-lora`);
  expect(ind.scale).toBe(expectScale);
  expect(exp.scale).toBe(expectScale);
  expect(out.metadata).toEqual({ format: 'pt' });
  expect([...out.tensors.keys()].sort()).toEqual([...ckpt.tensors.keys()].sort());
  const mergedNames = new Set<string>();
  for (const aKey of ind.keys) {
    const name = aKey.replace('base_model.model.', '').replace('.lora_A.weight', '.weight');
    mergedNames.add(name);
    const info = ckpt.tensor(name);
    const [outF, inF] = info.shape;
    const ref = naiveMerge(await ckpt.readTensorF32(name), await ind.get(aKey), await ind.get(aKey.replace('lora_A', 'lora_B')), outF, inF, ind.r, ind.scale);
    expect(out.tensor(name).dtype).toBe('BF16');
    const raw = (await out.readTensorBytes(name)).slice();
    const bits = new Uint16Array(raw.buffer);
    let changed = 0;
    for (let i = 0; i < ref.length; i++) {
      if (!isNearest16(ref[i], bits[i], bf16Value)) throw new Error(`${name}[${i}]: ${bf16Value(bits[i])} is not the nearest bf16 to ${ref[i]}`);
    }
    const base = new Uint16Array((await ckpt.readTensorBytes(name)).slice().buffer);
    for (let i = 0; i < bits.length; i++) if (bits[i] !== base[i]) changed++;
    expect(changed).toBeGreaterThan(bits.length / 4); // the adapter really changed the weight
  }
  expect(exp.merged).toEqual([...mergedNames].sort());
  expect(exp.copied).toBe(ckpt.tensors.size - mergedNames.size);
  for (const name of ckpt.tensors.keys()) {
    if (mergedNames.has(name)) continue;
    expect(await out.readTensorBytes(name)).toEqual(await ckpt.readTensorBytes(name));
  }
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    expect(files[f]).toEqual(new Uint8Array(await readFile(`${FIX}/${model}/${f}`)));
  }
  expect(Object.keys(files).sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  return { ckpt, adapter, out };
}

describe('exportMergedModel', () => {
  it('tiny-llama + adapter: merged = nearest bf16 of W + (alpha/r) B@A, the rest byte-identical', async () => {
    const { out } = await checkMergedAgainstReference('tiny-llama', 8 / 4);
    expect(out.tensors.has('lm_head.weight')).toBe(false); // tied: still no lm_head
  });

  it('tiny-qwen2 + rsLoRA adapter uses alpha/sqrt(r); biases are copied unchanged', async () => {
    const { out, ckpt } = await checkMergedAgainstReference('tiny-qwen2', 8 / Math.sqrt(4));
    expect(await out.readTensorBytes('model.layers.0.self_attn.q_proj.bias')).toEqual(await ckpt.readTensorBytes('model.layers.0.self_attn.q_proj.bias'));
  });

  it('the untied model keeps lm_head.weight', async () => {
    const { out, ckpt } = await checkMergedAgainstReference('tiny-llama-untied', 2);
    expect(await out.readTensorBytes('lm_head.weight')).toEqual(await ckpt.readTensorBytes('lm_head.weight'));
  });

  it('dtype F32 / F16: merged values rounded once from float64, others converted exactly, torch_dtype set', async () => {
    const ckpt = await openCheckpoint(await openNodeFolder(`${FIX}/tiny-llama`));
    const adapter = await readAdapterForMerge(await openNodeFolder(`${FIX}/tiny-llama-lora`), ckpt);
    const name = 'model.layers.1.mlp.down_proj.weight';
    const [outF, inF] = ckpt.tensor(name).shape;
    const w = adapter.weights.get('1.down_proj')!;
    const ref = naiveMerge(await ckpt.readTensorF32(name), w.A, w.B, outF, inF, 4, 2);
    for (const [dtype, torch] of [['F32', 'float32'], ['F16', 'float16']] as const) {
      const { files, out } = await exportToMemory(ckpt, adapter, { dtype });
      expect(JSON.parse(new TextDecoder().decode(files['config.json'])).torch_dtype).toBe(torch);
      expect(out.tensor(name).dtype).toBe(dtype);
      const raw = (await out.readTensorBytes(name)).slice();
      if (dtype === 'F32') expect(new Float32Array(raw.buffer)).toEqual(Float32Array.from(ref));
      else new Uint16Array(raw.buffer).forEach((b, i) => expect(isNearest16(ref[i], b, f16Value)).toBe(true));
      expect(await out.readTensorF32('model.norm.weight')).toEqual(await ckpt.readTensorF32('model.norm.weight'));
    }
  });

  it('shards above maxShardBytes with an index that openCheckpoint (and transformers) read; same tensors as one file', async () => {
    const ckpt = await openCheckpoint(await openNodeFolder(`${FIX}/tiny-llama`));
    const adapter = await readAdapterForMerge(await openNodeFolder(`${FIX}/tiny-llama-lora`), ckpt);
    const one = await exportToMemory(ckpt, adapter);
    const seen: number[] = [];
    const many = await exportToMemory(ckpt, adapter, { maxShardBytes: 20_000, onProgress: (p) => seen.push(p.bytesDone / p.bytesTotal) });
    const shards = Object.keys(many.files).filter((f) => f.endsWith('.safetensors')).sort();
    expect(shards.length).toBeGreaterThan(2);
    expect(shards[0]).toBe(`model-00001-of-${String(shards.length).padStart(5, '0')}.safetensors`);
    const index = JSON.parse(new TextDecoder().decode(many.files['model.safetensors.index.json']));
    expect(Object.keys(index.weight_map).length).toBe(ckpt.tensors.size);
    for (const name of ckpt.tensors.keys()) expect(await many.out.readTensorBytes(name)).toEqual(await one.out.readTensorBytes(name));
    expect(seen.at(-1)).toBe(1);
    expect(seen.every((x, i) => i === 0 || x >= seen[i - 1])).toBe(true);
  });
});

describe('bad adapters', () => {
  async function tiny(model = 'tiny-llama') {
    return openCheckpoint(await openNodeFolder(`${FIX}/${model}`));
  }

  it('an adapter for a different model fails with a hint (extra layers; wrong shapes)', async () => {
    const more = await readAdapterForMerge(await openNodeFolder(`${FIX}/tiny-llama-lora`), await tiny('tiny-qwen2')).catch((e) => e);
    expect(more).toBeInstanceOf(CheckpointError);
    expect(more.message).toMatch(/has tensor base_model\.model\.model\.layers\.2\..*cannot be merged into .*tiny-qwen2 \(2 layers/);
    expect(more.hint).toMatch(/different model/);
    const shapes = await readAdapterForMerge(await openNodeFolder(`${FIX}/tiny-qwen2-lora`), await tiny('tiny-llama')).catch((e) => e);
    expect(shapes).toBeInstanceOf(CheckpointError);
    expect(shapes.message).toMatch(/has shape \[4,48\], expected \[4,40\]/);
    expect(shapes.hint).toMatch(/different model/);
  });

  it('missing adapter files', async () => {
    const err = await readAdapterForMerge(memoryFileSet('empty adapter', {}), await tiny()).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toBe('empty adapter has no adapter_config.json');
  });

  it('adapter tensors for layers or modules the model does not have, or modules_to_save', async () => {
    const ckpt = await tiny();
    const dir = `${FIX}/tiny-llama-lora`;
    const cfg = await readFile(`${dir}/adapter_config.json`);
    const bytes = new Uint8Array(await readFile(`${dir}/adapter_model.safetensors`));
    const h = await readSafetensorsHeader(new MemorySource('a', bytes));
    const tensors = await Promise.all([...h.tensors.values()].map(async (t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: await readTensorBytes(new MemorySource('a', bytes), t) })));
    for (const extra of ['base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight', 'base_model.model.lm_head.modules_to_save.default.weight']) {
      const files: FileSet = memoryFileSet('bad adapter', {
        'adapter_config.json': cfg,
        'adapter_model.safetensors': writeSafetensors([...tensors, { name: extra, dtype: 'F32', shape: [4, 40], data: new Uint8Array(640) }]),
      });
      const err = await readAdapterForMerge(files, ckpt).catch((e) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err.message).toContain(`has tensor ${extra}, which cannot be merged`);
    }
  });

  it('in-memory adapters: unknown layer, wrong shapes, empty', async () => {
    const ckpt = await tiny();
    const config = { r: 4, loraAlpha: 8, loraDropout: 0, targetModules: ['q_proj' as const], useRslora: false };
    const ok = { A: new Float32Array(4 * 40), B: new Float32Array(40 * 4) };
    const run = (weights: Map<string, typeof ok>) => () => exportMergedModel(ckpt, { config, weights });
    expect(run(new Map([['9.q_proj', ok]]))).toThrow(/model\.layers\.9\.self_attn\.q_proj\.weight, which .* does not have/);
    expect(run(new Map([['0.q_proj', { A: ok.A, B: new Float32Array(8 * 4) }]]))).toThrow(/needs A \[4, 40\] and B \[40, 4\]/);
    expect(run(new Map([['0.lm_head', ok]]))).toThrow(/not "<layer>.<module>"/);
    expect(run(new Map())).toThrow(/no LoRA weights/);
  });
});

describe('writeMergedExport (Node)', () => {
  it('renames into place only when every file is complete; a failure leaves the folder as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'whetstone-merge-'));
    try {
      await writeFile(join(dir, 'config.json'), 'old');
      const file = (name: string, fail: boolean): ExportFile => ({
        name,
        size: 3,
        async *chunks() {
          yield new Uint8Array([1, 2]);
          if (fail) throw new Error('disk on fire');
          yield new Uint8Array([3]);
        },
      });
      const exp = { files: [file('model.safetensors', false), file('config.json', true)], merged: [], copied: 0, scale: 1, totalBytes: 6 };
      await expect(writeMergedExport(exp, dir)).rejects.toThrow('disk on fire');
      expect(await readdir(dir)).toEqual(['config.json']);
      expect(await readFile(join(dir, 'config.json'), 'utf8')).toBe('old');
      await writeMergedExport({ ...exp, files: [file('model.safetensors', false), file('config.json', false)] }, dir);
      expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
      expect([...(await readFile(join(dir, 'config.json')))]).toEqual([1, 2, 3]);
      const wrongSize = { ...exp, files: [{ ...file('model.safetensors', false), size: 4 }] };
      await expect(writeMergedExport(wrongSize, dir)).rejects.toThrow(/produced 3 bytes, planned 4/);
      expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
