// Sanity checks at model load, each one clear line: a tokenizer of another model (ids >= the
// model's vocab_size), NaN/Inf base weights (naming the tensor), a tokenizer.json that is not a
// tokenizer; and generation that never prints NUL bytes or runs on NaN logits.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { testContext } from '../gpu/testing.ts';
import { CheckpointError, ModelFormatError } from '../io/errors.ts';
import { assertFiniteWeights } from '../io/finiteCheck.ts';
import { memoryFileSet } from '../io/fileSet.ts';
import { fixtureTokenizer } from '../data/testing.ts';
import { printableText } from '../data/tokenizer.ts';
import { loadModel } from './loadModel.ts';
import { Sampler } from './sampling.ts';

const DIR = new URL('./fixtures/tiny-llama/', import.meta.url);
/** tiny-llama's files, with edits. Tensors: model.embed_tokens.weight (379, 40) BF16 first, then the layer-0 norms. */
function tinyLlama(edit: (files: Record<string, Uint8Array>) => void = () => {}) {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(DIR)) files[name] = new Uint8Array(readFileSync(new URL(name, DIR)));
  edit(files);
  return memoryFileSet('tiny-llama', files);
}
const editJson = (files: Record<string, Uint8Array>, name: string, f: (j: Record<string, unknown>) => void) => {
  const j = JSON.parse(new TextDecoder().decode(files[name]));
  f(j);
  files[name] = new TextEncoder().encode(JSON.stringify(j));
};
/** Writes a BF16 value (upper half of the f32 bits) at element `index` of the tensor at data offset `begin`. */
function setBf16(files: Record<string, Uint8Array>, begin: number, index: number, value: number) {
  const st = files['model.safetensors'];
  const headerLen = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0] >>> 16;
  new DataView(st.buffer, st.byteOffset).setUint16(8 + headerLen + begin + index * 2, bits, true);
}

describe('model load sanity checks', async () => {
  const ctx = await testContext();

  it('refuses a tokenizer with ids >= vocab_size (a tokenizer of another model), saying which', async () => {
    const files = tinyLlama((f) => editJson(f, 'config.json', (c) => (c.vocab_size = 300)));
    const err = await loadModel(ctx, files).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as Error).message).toMatch(/^tokenizer\.json: has 79 token ids the model cannot embed: ids up to 378 \(".*"\), but config\.json vocab_size is 300$/);
  });

  it('refuses NaN/Inf base weights, naming the tensor and element', async () => {
    const nanEmbed = tinyLlama((f) => setBf16(f, 0, 1234, NaN));
    await expect(loadModel(ctx, nanEmbed)).rejects.toThrow('model.safetensors: tensor model.embed_tokens.weight holds NaN at element 1234: the weights are damaged (NaN/Inf)');
    const infNorm = tinyLlama((f) => setBf16(f, 30320, 7, -Infinity));
    await expect(loadModel(ctx, infNorm)).rejects.toThrow('tensor model.layers.0.input_layernorm.weight holds -Infinity at element 7');
  });

  it('refuses a tokenizer.json without a model as one line', async () => {
    const files = tinyLlama((f) => editJson(f, 'tokenizer.json', (t) => delete t.model));
    await expect(loadModel(ctx, files)).rejects.toThrow(/^tokenizer\.json: cannot be loaded as a tokenizer: Tokenizer must contain a "model" property$/);
  });
});

describe('finite and printable output', () => {
  it('assertFiniteWeights passes finite chunks and names the first bad element with its offset', () => {
    assertFiniteWeights(new Float32Array([1, -2, 3e38, 0]), 't', 'f');
    expect(() => assertFiniteWeights(new Float32Array([1, 2, Infinity, NaN]), 'w', 'f.safetensors', 100)).toThrow(CheckpointError);
    expect(() => assertFiniteWeights(new Float32Array([1, 2, Infinity, NaN]), 'w', 'f.safetensors', 100)).toThrow('f.safetensors: tensor w holds Infinity at element 102');
  });

  it('decoded text for people never holds NUL or terminal escapes (id 0 is byte 0x00 here)', () => {
    const tok = fixtureTokenizer();
    expect(tok.decode([0])).toBe('\u0000');
    expect(tok.decode([0], { skipSpecialTokens: true })).toBe('\ufffd');
    expect(printableText('a\u0000b\u001b[31mc\td\ne\r\u009b')).toBe('a\ufffdb\ufffd[31mc\td\ne\r\ufffd');
  });

  it('the sampler refuses NaN logits instead of emitting token 0 for ever', () => {
    expect(new Sampler({ temperature: 0 }).next(new Float32Array([0.5, 2, 1]))).toBe(1);
    expect(() => new Sampler({ temperature: 0 }).next(new Float32Array([NaN, NaN]))).toThrow(/NaN logits/);
    expect(() => new Sampler({ temperature: 0.7 }).next(new Float32Array([1, NaN]))).toThrow(/NaN logits/);
  });
});
