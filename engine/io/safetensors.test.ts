import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlobSource, MemorySource } from './byteSource.ts';
import { NodeFileSource } from './byteSourceNode.ts';
import { f32ToBytes } from './dtype.ts';
import { CheckpointError } from './errors.ts';
import { findDuplicateKeys } from './json.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from './safetensors.ts';

/** A safetensors file from raw header text and data bytes; `len` overrides the 8-byte header length. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), len?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, len ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

async function expectCorrupt(bytes: Uint8Array, pattern: RegExp): Promise<CheckpointError> {
  const err = await readSafetensorsHeader(new MemorySource('bad.safetensors', bytes)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CheckpointError);
  const ce = err as CheckpointError;
  expect(ce.message).toMatch(/^bad\.safetensors: /);
  expect(ce.message).toMatch(pattern);
  expect(ce.hint.length).toBeGreaterThan(10);
  return ce;
}

const t = (dtype: string, shape: number[], b: number, e: number) => ({ dtype, shape, data_offsets: [b, e] });

describe('writeSafetensors', () => {
  it('writes the reference layout: sorted names, space-padded 8-aligned header, packed data', () => {
    const bytes = writeSafetensors(
      [
        { name: 'b', dtype: 'F16', shape: [3], data: f32ToBytes(new Float32Array([1, 2, 3]), 'F16') },
        { name: 'a', dtype: 'F32', shape: [1, 2], data: f32ToBytes(new Float32Array([0.5, -1]), 'F32') },
      ],
      { format: 'pt' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[3],"data_offsets":[8,14]}}';
    expect(header).toBe(json + ' '.repeat(n - json.length));
    expect(bytes.byteLength).toBe(8 + n + 14);
    expect(Array.from(new Float32Array(bytes.slice(8 + n, 8 + n + 8).buffer))).toEqual([0.5, -1]);
    expect(Array.from(new Uint16Array(bytes.slice(8 + n + 8).buffer))).toEqual([0x3c00, 0x4000, 0x4200]);
  });

  it('rejects data of the wrong size and duplicate names', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [2], data: new Uint8Array(4) }])).toThrow(/needs 8 bytes/);
    const x = { name: 'x', dtype: 'U8' as const, shape: [1], data: new Uint8Array(1) };
    expect(() => writeSafetensors([x, x])).toThrow(/duplicate/);
  });
});

describe('readSafetensorsHeader', () => {
  const file = writeSafetensors(
    [
      { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [4, 3], data: f32ToBytes(new Float32Array(12).map((_, i) => i), 'BF16') },
      { name: 'model.norm.weight', dtype: 'F32', shape: [3], data: f32ToBytes(new Float32Array([1, 2, 3]), 'F32') },
      { name: 'empty', dtype: 'F32', shape: [0, 5], data: new Uint8Array(0) },
      { name: 'scalar', dtype: 'I64', shape: [], data: new Uint8Array(8).fill(1) },
    ],
    { format: 'pt' },
  );

  it('reads what writeSafetensors wrote, from memory, a Blob and a Node file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'whetstone-st-'));
    const path = join(dir, 'model.safetensors');
    await writeFile(path, file);
    for (const src of [new MemorySource('m', file), new BlobSource('b', new Blob([file])), await NodeFileSource.open(path)]) {
      const h = await readSafetensorsHeader(src);
      expect(h.metadata).toEqual({ format: 'pt' });
      expect([...h.tensors.keys()].sort()).toEqual(['empty', 'model.embed_tokens.weight', 'model.norm.weight', 'scalar']);
      const norm = h.tensors.get('model.norm.weight')!;
      expect(norm).toMatchObject({ dtype: 'F32', shape: [3] });
      expect(norm.begin).toBe(h.dataStart + norm.dataOffsets[0]);
      const bytes = await readTensorBytes(src, norm);
      expect(Array.from(new Float32Array(bytes.slice().buffer))).toEqual([1, 2, 3]);
      const part = await readTensorBytes(src, norm, 4, 4);
      expect(Array.from(new Float32Array(part.slice().buffer))).toEqual([2]);
      expect(h.tensors.get('empty')!.end - h.tensors.get('empty')!.begin).toBe(0);
      expect(h.tensors.get('scalar')!.shape).toEqual([]);
    }
    await rm(dir, { recursive: true });
  });

  it('accepts a file with no metadata and no tensors', async () => {
    const h = await readSafetensorsHeader(new MemorySource('e', rawFile('{}')));
    expect(h.tensors.size).toBe(0);
    expect(h.metadata).toEqual({});
  });

  it('rejects a file smaller than the length prefix', async () => {
    await expectCorrupt(new Uint8Array(5), /too small/);
  });

  it('rejects a header length over the 100 MB limit', async () => {
    await expectCorrupt(rawFile('{}', undefined, 200_000_000n), /larger than the 100000000-byte limit/);
    // A Git LFS pointer file: "version " read as a u64 is enormous.
    await expectCorrupt(new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\n'), /limit/);
  });

  it('rejects a header length past the end of the file', async () => {
    await expectCorrupt(rawFile('{}', undefined, 50n), /header length 50 is larger than the rest of the file \(2 bytes\)/);
  });

  it('rejects a header that is not JSON, not an object, or not UTF-8', async () => {
    await expectCorrupt(rawFile('{"a": '), /not valid JSON/);
    await expectCorrupt(rawFile('[1, 2]'), /does not start with "\{"/);
    const bad = rawFile('{"\u00e9":1}');
    bad[10] = 0xff;
    await expectCorrupt(bad, /UTF-8/);
  });

  it('rejects data_offsets past the end of the file (truncated file)', async () => {
    const cut = file.subarray(0, file.length - 5);
    await expectCorrupt(cut, /past the end of the data region/);
    await expectCorrupt(rawFile(JSON.stringify({ x: t('U8', [4], 0, 4) }), new Uint8Array(2)), /data_offsets \[0, 4\] past the end/);
  });

  it('rejects overlapping tensors', async () => {
    const h = JSON.stringify({ a: t('F32', [2], 0, 8), b: t('F32', [1], 4, 8) });
    await expectCorrupt(rawFile(h, new Uint8Array(8)), /overlaps tensor "a"/);
  });

  it('rejects a gap between tensors and bytes after the last one', async () => {
    const gap = JSON.stringify({ a: t('F32', [1], 0, 4), b: t('F32', [1], 8, 12) });
    await expectCorrupt(rawFile(gap, new Uint8Array(12)), /gap of 4 bytes before tensor "b"/);
    const lead = JSON.stringify({ a: t('F32', [1], 4, 8) });
    await expectCorrupt(rawFile(lead, new Uint8Array(8)), /gap of 4 bytes before tensor "a"/);
    const tail = JSON.stringify({ a: t('F32', [1], 0, 4) });
    await expectCorrupt(rawFile(tail, new Uint8Array(6)), /2 extra bytes at the end/);
  });

  it('rejects duplicate tensor names (that JSON.parse would silently merge)', async () => {
    const h = '{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
    await expectCorrupt(rawFile(h, new Uint8Array(2)), /duplicate keys: "w"/);
  });

  it('rejects a byte size that is not numel * dtype size', async () => {
    const h = JSON.stringify({ a: t('BF16', [2, 3], 0, 10) });
    await expectCorrupt(rawFile(h, new Uint8Array(10)), /should take 12 bytes, but data_offsets \[0, 10\] give 10/);
  });

  it('rejects unknown dtypes, bad shapes, bad offsets and bad metadata', async () => {
    await expectCorrupt(rawFile(JSON.stringify({ a: t('F17', [1], 0, 2) }), new Uint8Array(2)), /unknown dtype "F17"/);
    await expectCorrupt(rawFile(JSON.stringify({ a: t('U8', [-1], 0, 0) })), /shape \[-1\]/);
    await expectCorrupt(rawFile(JSON.stringify({ a: t('U8', [1.5], 0, 0) })), /shape \[1.5\]/);
    await expectCorrupt(rawFile(JSON.stringify({ a: { dtype: 'U8', shape: [1], data_offsets: [1, 0] } }), new Uint8Array(1)), /data_offsets \[1,0\]/);
    await expectCorrupt(rawFile(JSON.stringify({ a: { dtype: 'U8', shape: [1] } }), new Uint8Array(1)), /data_offsets undefined/);
    await expectCorrupt(rawFile(JSON.stringify({ __metadata__: { n: 3 } })), /__metadata__\.n is 3/);
    await expectCorrupt(rawFile(JSON.stringify({ a: 5 })), /tensor "a" is not an object/);
  });

  it('names the file when a Node file shrinks between header and data reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'whetstone-st-'));
    const path = join(dir, 'x.safetensors');
    await writeFile(path, file);
    const src = await NodeFileSource.open(path);
    const h = await readSafetensorsHeader(src);
    await writeFile(path, file.subarray(0, h.dataStart + 2));
    await expect(readTensorBytes(src, h.tensors.get('model.norm.weight')!)).rejects.toThrow(/x\.safetensors: file ended at byte/);
    await expect(NodeFileSource.open(join(dir, 'nope.safetensors'))).rejects.toBeInstanceOf(CheckpointError);
    await rm(dir, { recursive: true });
  });
});

describe('findDuplicateKeys', () => {
  it('finds duplicates at any depth and ignores keys inside strings and arrays', () => {
    expect(findDuplicateKeys('{"a":1,"b":{"c":1,"c":2},"d":["a","a"],"e":"a\\"b","a":3}')).toEqual(['b.c', 'a']);
    expect(findDuplicateKeys('{"x":[{"k":1},{"k":2}],"y":{"k":{"k":1}}}')).toEqual([]);
  });
});

