// The merged export of a pre-quantized base (tiny-llama-bnb-nf4, saved by bitsandbytes with double
// quantization) + the tiny-llama-lora adapter: an ordinary 16-bit checkpoint with the 16-bit base's
// tensor names and shapes and no quantization_config, every decoder linear dequantized (as our
// quantizer dequantizes the 16-bit tiny-llama: the same NF4 codes) and merged; the export says which
// weights were dequantized. A 16-bit base dequantizes nothing.
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../io/checkpoint.ts';
import { memoryFileSet } from '../io/fileSet.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { exportMergedModel, readAdapterForMerge, type MergedExport } from '../lora/export.ts';
import { mergeLoraToBytes } from '../lora/merge.ts';
import { dequantizeWeight, quantizeWeight } from './nf4Weight.ts';
import { NF4_FIXTURES } from './testing.ts';

async function collect(exp: MergedExport): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const f of exp.files) {
    const parts: Uint8Array[] = [];
    for await (const c of f.chunks()) parts.push(c);
    const bytes = new Uint8Array(f.size);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    out[f.name] = bytes;
  }
  return out;
}

describe('merged export of a pre-quantized NF4 base', () => {
  it('dequantizes, merges, drops the 4-bit companions and quantization_config, and says so', { timeout: 120_000 }, async () => {
    const sixteen = await openCheckpoint(await openNodeFolder('engine/model/fixtures/tiny-llama'));
    const bnb = await openCheckpoint(await openNodeFolder(`${NF4_FIXTURES}/tiny-llama-bnb-nf4`));
    const adapterFiles = await openNodeFolder('engine/model/fixtures/tiny-llama-lora');
    const adapter = await readAdapterForMerge(adapterFiles, bnb);
    const exp = exportMergedModel(bnb, adapter);
    expect(exp.dequantized.length).toBe(3 * 7); // 3 layers x q, k, v, o, gate, up, down
    expect(exp.merged).toEqual(exp.dequantized); // the adapter targets every linear
    const merged = await openCheckpoint(memoryFileSet('merged', await collect(exp)));
    expect(merged.config.quantization_config).toBeUndefined();
    expect([...merged.tensors.keys()].sort()).toEqual([...sixteen.tensors.keys()].sort());
    for (const [name, t] of sixteen.tensors) {
      expect(merged.tensor(name).shape, name).toEqual(t.shape);
      expect(merged.tensor(name).dtype, name).toBe(t.dtype);
    }
    // A merged weight: the 16-bit base quantized as bitsandbytes does, dequantized, + scale * B @ A.
    const name = 'model.layers.1.mlp.down_proj.weight';
    const [outF, inF] = sixteen.tensor(name).shape;
    const base = dequantizeWeight(quantizeWeight(await sixteen.readTensorF32(name), [outF, inF], 'BF16', { doubleQuant: true }));
    const lora = adapter.weights.get('1.down_proj')!;
    const want = mergeLoraToBytes(base, lora.A, lora.B, { outFeatures: outF, inFeatures: inF, r: adapter.config.r }, exp.scale, 'BF16');
    expect(await merged.readTensorBytes(name)).toEqual(want);
    // Norms and embeddings are copied as saved.
    expect(await merged.readTensorBytes('model.norm.weight')).toEqual(await sixteen.readTensorBytes('model.norm.weight'));

    const plain = exportMergedModel(sixteen, await readAdapterForMerge(adapterFiles, sixteen));
    expect(plain.dequantized).toEqual([]);
  });
});
