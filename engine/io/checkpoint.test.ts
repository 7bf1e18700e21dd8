import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from './checkpoint.ts';
import { bf16ToF32, f32ToBf16, f32ToBytes } from './dtype.ts';
import { CheckpointError } from './errors.ts';
import { browserFileSet, memoryFileSet } from './fileSet.ts';
import { openNodeFolder } from './fileSetNode.ts';
import { writeSafetensors, type TensorToWrite } from './safetensors.ts';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const config = { model_type: 'llama', hidden_size: 4, num_hidden_layers: 1, vocab_size: 6, tie_word_embeddings: true };

function f32(name: string, shape: number[], fill: (i: number) => number, dtype: 'F32' | 'BF16' = 'F32'): TensorToWrite {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype, shape, data: f32ToBytes(new Float32Array(n).map((_, i) => fill(i)), dtype) };
}

const embed = f32('model.embed_tokens.weight', [6, 4], (i) => i / 8, 'BF16');
const norm = f32('model.norm.weight', [4], (i) => 1 + i);
const q = f32('model.layers.0.self_attn.q_proj.weight', [4, 4], (i) => -i);

function baseFiles(): Record<string, Uint8Array> {
  return {
    'config.json': enc(config),
    'tokenizer.json': enc({ version: '1.0', model: { type: 'BPE' } }),
    'tokenizer_config.json': enc({ chat_template: '{{ messages }}', eos_token: '</s>' }),
    'generation_config.json': enc({ eos_token_id: [2, 3] }),
    'README.md': enc('# tiny'),
  };
}

function sharded(): Record<string, Uint8Array> {
  const files = baseFiles();
  files['model-00001-of-00002.safetensors'] = writeSafetensors([embed, norm], { format: 'pt' });
  files['model-00002-of-00002.safetensors'] = writeSafetensors([q]);
  files['model.safetensors.index.json'] = enc({
    metadata: { total_size: 100 },
    weight_map: {
      [embed.name]: 'model-00001-of-00002.safetensors',
      [norm.name]: 'model-00001-of-00002.safetensors',
      [q.name]: 'model-00002-of-00002.safetensors',
    },
  });
  return files;
}

async function expectError(p: Promise<unknown>, pattern: RegExp, type: typeof CheckpointError = CheckpointError): Promise<CheckpointError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(type);
  expect((err as Error).message).toMatch(pattern);
  return err as CheckpointError;
}

describe('openCheckpoint', () => {
  it('opens a single-file checkpoint and reads tensors as bytes and f32', async () => {
    const ck = await openCheckpoint(memoryFileSet('tiny', { ...baseFiles(), 'model.safetensors': writeSafetensors([embed, norm, q], { format: 'pt' }) }));
    expect(ck.config).toEqual(config);
    expect(ck.tokenizerJson).toEqual({ version: '1.0', model: { type: 'BPE' } });
    expect(ck.tokenizerConfig?.chat_template).toBe('{{ messages }}');
    expect(ck.generationConfig).toEqual({ eos_token_id: [2, 3] });
    expect(ck.specialTokensMap).toBeNull();
    expect(ck.shards).toEqual(['model.safetensors']);
    expect(ck.metadata).toEqual({ format: 'pt' });
    expect(ck.tensors.size).toBe(3);
    expect(ck.tensor(embed.name)).toMatchObject({ dtype: 'BF16', shape: [6, 4], file: 'model.safetensors' });
    expect(Array.from(await ck.readTensorF32(norm.name))).toEqual([1, 2, 3, 4]);
    const e = await ck.readTensorF32(embed.name);
    expect(e[9]).toBe(9 / 8);
    expect((await ck.readTensorBytes(q.name)).byteLength).toBe(64);
    await expectError(ck.readTensorF32('lm_head.weight'), /no tensor "lm_head.weight" \(it has 3 tensors/);
  });

  it('opens a sharded checkpoint from a Node folder via the index weight_map', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'whetstone-ck-'));
    for (const [name, bytes] of Object.entries(sharded())) await writeFile(join(dir, name), bytes);
    const ck = await openCheckpoint(await openNodeFolder(dir));
    expect(ck.shards).toEqual(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    expect(ck.tensor(q.name).file).toBe('model-00002-of-00002.safetensors');
    expect(Array.from(await ck.readTensorF32(q.name))).toEqual(Array.from({ length: 16 }, (_, i) => -i));
    expect(Array.from(await ck.readTensorF32(norm.name))).toEqual([1, 2, 3, 4]);
    await rm(dir, { recursive: true });
  });

  it('opens the File objects of a dropped folder (top folder stripped)', async () => {
    const files = Object.entries(sharded()).map(([name, bytes]) => {
      const f = new File([bytes as Uint8Array<ArrayBuffer>], name);
      Object.defineProperty(f, 'webkitRelativePath', { value: `SmolLM2-tiny/${name}` });
      return f;
    });
    const set = browserFileSet(files);
    expect(set.name).toBe('folder SmolLM2-tiny');
    const ck = await openCheckpoint(set);
    expect(ck.tensors.size).toBe(3);
    expect(Array.from(await ck.readTensorF32(norm.name))).toEqual([1, 2, 3, 4]);
  });

  it('streams a tensor in several read chunks into f32 (chunk not a multiple of the element size)', async () => {
    const n = 10_007;
    const big = new Float32Array(n).map((_, i) => (i % 1000) - 500);
    const t: TensorToWrite = { name: 'big', dtype: 'BF16', shape: [n], data: new Uint8Array(f32ToBf16(big).buffer) };
    const ck = await openCheckpoint(memoryFileSet('big', { ...baseFiles(), 'model.safetensors': writeSafetensors([norm, t]) }));
    const out = new Float32Array(n);
    expect(await ck.readTensorF32('big', out, 1001)).toBe(out);
    expect(out).toEqual(bf16ToF32(f32ToBf16(big)));
    await expect(ck.readTensorF32('big', new Float32Array(3))).rejects.toThrow(/out has 3 elements, tensor has 10007/);
  });

  it('says which file is missing and what the folder should contain', async () => {
    const files = { ...baseFiles(), 'model.safetensors': writeSafetensors([norm]) };
    const noConfig: Record<string, Uint8Array> = { ...files };
    delete noConfig['config.json'];
    const e1 = await expectError(openCheckpoint(memoryFileSet('folder X', noConfig)), /folder X has no config\.json/);
    expect(e1.hint).toMatch(/config\.json, tokenizer\.json, tokenizer_config\.json and model\.safetensors/);

    const noTok: Record<string, Uint8Array> = { ...files };
    delete noTok['tokenizer.json'];
    await expectError(openCheckpoint(memoryFileSet('folder X', noTok)), /has no tokenizer\.json/);
    const ck = await openCheckpoint(memoryFileSet('folder X', noTok), { requireTokenizer: false });
    expect(ck.tokenizerJson).toBeNull();

    const noWeights = baseFiles();
    const e2 = await expectError(openCheckpoint(memoryFileSet('folder X', noWeights)), /has no model\.safetensors/);
    expect(e2.hint).toMatch(/shards/);
    const bin = await expectError(openCheckpoint(memoryFileSet('folder X', { ...noWeights, 'pytorch_model.bin': enc('x') })), /model\.safetensors/);
    expect(bin.hint).toMatch(/only safetensors.*pytorch_model\.bin/);

    const shards = sharded();
    delete shards['model-00002-of-00002.safetensors'];
    const e3 = await expectError(openCheckpoint(memoryFileSet('folder X', shards)), /has no model-00002-of-00002\.safetensors/);
    expect(e3.hint).toMatch(/lists 2 shards/);
  });

  it('reports bad JSON naming the file', async () => {
    const files = { ...baseFiles(), 'model.safetensors': writeSafetensors([norm]), 'config.json': enc('{"model_type": "llama",') };
    const e = await expectError(openCheckpoint(memoryFileSet('f', files)), /^config\.json: is not valid JSON/);
    expect(e.file).toBe('config.json');
    await expectError(openCheckpoint(memoryFileSet('f', { ...files, 'config.json': enc('[1]') })), /config\.json: is not a JSON object/);
    await expectError(
      openCheckpoint(memoryFileSet('f', { ...files, 'config.json': enc(config), 'tokenizer.json': enc('<html>502</html>') })),
      /tokenizer\.json: is not valid JSON/,
    );
  });

  it('reports a truncated shard naming it', async () => {
    const files = sharded();
    const s2 = files['model-00002-of-00002.safetensors'];
    files['model-00002-of-00002.safetensors'] = s2.subarray(0, s2.length - 3);
    const e = await expectError(openCheckpoint(memoryFileSet('f', files)), /^model-00002-of-00002\.safetensors: .*past the end/);
    expect(e.hint).toMatch(/truncated or corrupt/);
  });

  it('reports an index that disagrees with the shards, and a tensor in two shards', async () => {
    const files = sharded();
    files['model.safetensors.index.json'] = enc({ weight_map: { [q.name]: 'model-00001-of-00002.safetensors', [embed.name]: 'model-00002-of-00002.safetensors' } });
    await expectError(openCheckpoint(memoryFileSet('f', files)), /model\.safetensors\.index\.json: says tensor "model\.layers\.0\.self_attn\.q_proj\.weight" is in model-00001/);
    files['model.safetensors.index.json'] = enc({ weight_map: 5 });
    await expectError(openCheckpoint(memoryFileSet('f', files)), /no "weight_map"/);
    const dup = sharded();
    dup['model-00002-of-00002.safetensors'] = writeSafetensors([q, norm]);
    await expectError(openCheckpoint(memoryFileSet('f', dup)), /"model\.norm\.weight" is also in model-00001/);
  });
});
