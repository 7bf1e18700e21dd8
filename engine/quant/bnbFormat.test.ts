// Pre-quantized transformers + bitsandbytes checkpoints: reading the layout the Python reference
// writes (tiny-llama-bnb-nf4, quantized there), writing it byte for byte, the whole-folder
// round trip, and the validation of damaged files.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCheckpoint, type Checkpoint } from '../io/checkpoint.ts';
import { CheckpointError, ModelFormatError } from '../io/errors.ts';
import { memoryFileSet } from '../io/fileSet.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { writeMergedExport } from '../lora/exportNode.ts';
import { bnbQuantizedWeights, parseQuantizationConfig, readBnbNf4Weight } from './bnbFormat.ts';
import { bnbWeightTensors, pythonFloatRepr, quantStateJson } from './bnbWriter.ts';
import { dequantizeWeight, quantizeWeight } from './nf4Weight.ts';
import { QUANTIZED_WEIGHT, quantizeCheckpoint, quantizeTensor } from './quantizeCheckpoint.ts';
import { NF4_FIXTURES } from './testing.ts';

const TINY = 'engine/model/fixtures/tiny-llama';
const BNB = `${NF4_FIXTURES}/tiny-llama-bnb-nf4`;
let tmp = '';
let bnb: Checkpoint;
let tiny: Checkpoint;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'whetstone-bnb-'));
  bnb = await openCheckpoint(await openNodeFolder(BNB));
  tiny = await openCheckpoint(await openNodeFolder(TINY));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('bitsandbytes 4-bit checkpoints', () => {
  it('reads the reference layout: codes and scales equal our quantization of the 16-bit weights', async () => {
    expect(parseQuantizationConfig(bnb.config)).toEqual({ quantType: 'nf4', doubleQuant: true, computeDtype: 'bfloat16', skipModules: null });
    expect(parseQuantizationConfig(tiny.config)).toBeNull();
    const names = bnbQuantizedWeights(bnb);
    expect(names).toEqual([...tiny.tensors.keys()].filter((n) => QUANTIZED_WEIGHT.test(n)).sort());
    expect(names.length).toBe(21);
    for (const name of names) {
      const ours = await quantizeTensor(tiny, name, true);
      const theirs = await readBnbNf4Weight(bnb, name, tiny.tensor(name).shape);
      expect(theirs.shape).toEqual(tiny.tensor(name).shape);
      expect(theirs.dtype).toBe('BF16');
      expect(theirs.packed).toEqual(ours.packed);
      expect(theirs.nested!.offset).toBe(ours.nested!.offset);
      expect(theirs.nested!.codes).toEqual(ours.nested!.codes);
      expect(theirs.nested!.absmax2).toEqual(ours.nested!.absmax2);
      expect(theirs.nested!.code).toEqual(ours.nested!.code);
      expect(dequantizeWeight(theirs)).toEqual(dequantizeWeight(ours));
    }
  });

  it('writes every tensor of a 4-bit weight byte for byte as save_pretrained does (quant_state JSON included)', async () => {
    for (const name of bnbQuantizedWeights(bnb).slice(0, 7)) {
      for (const t of bnbWeightTensors(name, await quantizeTensor(tiny, name, true))) {
        const info = bnb.tensor(t.name);
        expect([t.name, t.dtype, t.shape]).toEqual([info.name, info.dtype, info.shape]);
        expect(t.data).toEqual(await bnb.readTensorBytes(t.name));
      }
    }
    expect(['1.0', '0.009736222214996815', '1e-05', '1.5e-07', '-0.5', '123.25', '1e+16', '0.0001'].map(Number).map(pythonFloatRepr)).toEqual(['1.0', '0.009736222214996815', '1e-05', '1.5e-07', '-0.5', '123.25', '1e+16', '0.0001']);
  });

  it('quantize -> write -> read round trip of a whole checkpoint (biases, plain and double-quantized scales)', async () => {
    const qwen = await openCheckpoint(await openNodeFolder('engine/model/fixtures/tiny-qwen2'));
    for (const doubleQuant of [false, true]) {
      const out = join(tmp, `qwen-${doubleQuant}`);
      const q = await quantizeCheckpoint(qwen, { doubleQuant });
      await writeMergedExport(q, out, { what: 'quantized model' });
      const back = await openCheckpoint(await openNodeFolder(out));
      expect(parseQuantizationConfig(back.config)!.doubleQuant).toBe(doubleQuant);
      expect(back.config.hidden_size).toBe(qwen.config.hidden_size);
      expect(bnbQuantizedWeights(back)).toEqual(q.quantized);
      for (const name of q.quantized) {
        const w = await readBnbNf4Weight(back, name, qwen.tensor(name).shape);
        expect(w.packed).toEqual((await quantizeTensor(qwen, name, doubleQuant)).packed);
        expect(w.nested === null).toBe(!doubleQuant);
      }
      for (const name of qwen.tensors.keys()) {
        if (QUANTIZED_WEIGHT.test(name)) continue;
        expect(await back.readTensorBytes(name), name).toEqual(await qwen.readTensorBytes(name));
      }
      expect(q.quantizedParams).toBe(q.quantized.reduce((s, n) => s + qwen.tensor(n).shape[0] * qwen.tensor(n).shape[1], 0));
    }
  });

  describe('validation', () => {
    const W = 'model.layers.0.self_attn.k_proj.weight';
    /** A one-weight checkpoint in memory: the reference's tensors for W, edited. */
    async function variant(edit: (tensors: TensorToWrite[]) => TensorToWrite[], config = bnb.config): Promise<Checkpoint> {
      const tensors: TensorToWrite[] = [];
      for (const name of bnb.tensors.keys()) {
        if (name === W || name.startsWith(`${W}.`)) {
          const info = bnb.tensor(name);
          tensors.push({ name, dtype: info.dtype, shape: info.shape, data: (await bnb.readTensorBytes(name)).slice() });
        }
      }
      const enc = new TextEncoder();
      return openCheckpoint(memoryFileSet('edited', { 'config.json': enc.encode(JSON.stringify(config)), 'model.safetensors': writeSafetensors(edit(tensors)) }), { requireTokenizer: false });
    }
    const state = (t: TensorToWrite[], f: (s: Record<string, unknown>) => void): TensorToWrite[] =>
      t.map((x) => {
        if (!x.name.endsWith('bitsandbytes__nf4')) return x;
        const s = JSON.parse(new TextDecoder().decode(x.data)) as Record<string, unknown>;
        f(s);
        const data = new TextEncoder().encode(JSON.stringify(s));
        return { ...x, shape: [data.length], data };
      });
    const fails = async (edit: (t: TensorToWrite[]) => TensorToWrite[], pattern: RegExp, type: typeof CheckpointError | typeof ModelFormatError = CheckpointError) => {
      const ck = await variant(edit);
      const err = await readBnbNf4Weight(ck, W, [8, 40]).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(type);
      expect((err as Error).message).toMatch(pattern);
      expect((err as CheckpointError).hint).toBeTruthy();
    };

    it('accepts the untouched weight', async () => {
      expect((await readBnbNf4Weight(await variant((t) => t), W, [8, 40])).numel).toBe(320);
    });

    it('refuses fp4, other block sizes, wrong shapes and dtypes, missing or extra tensors, bad JSON', async () => {
      await fails((t) => state(t, (s) => (s.quant_type = 'fp4')), /fp4/);
      await fails((t) => t.map((x) => (x.name.endsWith('__nf4') ? { ...x, name: x.name.replace('__nf4', '__fp4') } : x)), /fp4/, ModelFormatError);
      await fails((t) => state(t, (s) => (s.blocksize = 128)), /blocksize 128/);
      await fails((t) => state(t, (s) => (s.shape = [8, 41])), /does not match config\.json/);
      await fails((t) => state(t, (s) => (s.dtype = 'int8')), /dtype "int8"/);
      await fails((t) => state(t, (s) => (s.nested_blocksize = 64)), /nested_blocksize 64/);
      await fails((t) => state(t, (s) => delete s.nested_offset), /not all of nested_blocksize/);
      await fails((t) => state(t, (s) => (s.extra = 1)), /unknown keys extra/);
      await fails((t) => t.filter((x) => !x.name.endsWith('nested_quant_map')), /has no .*nested_quant_map/);
      await fails((t) => t.map((x) => (x.name === `${W}.absmax` ? { ...x, dtype: 'I8' } : x)), /absmax is I8 \[5\], expected U8 \[5\]/);
      await fails((t) => t.map((x) => (x.name === W ? { ...x, shape: [160] } : x)), /is U8 \[160\], expected U8 \[160, 1\]/);
      await fails((t) => [...t, { name: `${W}.SCB`, dtype: 'F32', shape: [1], data: new Uint8Array(4) }], /unexpected tensor .*SCB/);
      await fails((t) => t.map((x) => (x.name === `${W}.quant_map` ? { ...x, data: new Uint8Array(64) } : x)), /quant_map is not the NF4 code/);
      await fails((t) => t.map((x) => (x.name.endsWith('__nf4') ? { ...x, data: new TextEncoder().encode('{"quant_type": "nf4", ') , shape: [22] } : x)), /not valid JSON/);
    });

    it('checks quantization_config: fp4, 8-bit and other methods get a clear refusal', () => {
      const q = bnb.config.quantization_config as Record<string, unknown>;
      const cfg = (over: Record<string, unknown>) => ({ ...bnb.config, quantization_config: { ...q, ...over } });
      expect(() => parseQuantizationConfig(cfg({ bnb_4bit_quant_type: 'fp4' }))).toThrow(/fp4/);
      expect(() => parseQuantizationConfig(cfg({ load_in_8bit: true, load_in_4bit: false }))).toThrow(/8-bit/);
      expect(() => parseQuantizationConfig(cfg({ quant_method: 'gptq' }))).toThrow(ModelFormatError);
      expect(() => parseQuantizationConfig(cfg({ bnb_4bit_quant_storage: 'bfloat16' }))).toThrow(/quant_storage/);
      expect(parseQuantizationConfig(cfg({ bnb_4bit_use_double_quant: false }))!.doubleQuant).toBe(false);
    });
  });

  it('quant_state JSON is what json.dumps writes', () => {
    const w = quantizeWeight(new Float32Array(130).fill(0.5), [10, 13], 'F16', { doubleQuant: true });
    expect(quantStateJson(w)).toBe('{"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [10, 13], "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.5}');
  });
});
