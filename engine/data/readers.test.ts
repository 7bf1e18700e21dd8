import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { NodeFileSource } from '../io/byteSourceNode.ts';
import { splitCsv } from './csv.ts';
import { jsonErrorOffset } from './jsonLocate.ts';
import { byteLines, readDatasetFile, sniffFormat } from './readers.ts';
import { gzipSync } from 'node:zlib';
import { DatasetError, formatIssue } from './validate.ts';

const enc = new TextEncoder();
const src = (name: string, text: string | Uint8Array) => new MemorySource(name, typeof text === 'string' ? enc.encode(text) : text);
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('JSONL', () => {
  it('keeps the physical line of each row, skipping blank lines, CRLF and a BOM', async () => {
    const r = await readDatasetFile(src('a.jsonl', '\uFEFF{"text": "a"}\r\n\r\n{"text": "b"}\n  \n{"text": "c"}'));
    expect(r.fileFormat).toBe('jsonl');
    expect(r.rows.map((x) => [x.line, x.data['text']])).toEqual([
      [1, 'a'],
      [3, 'b'],
      [5, 'c'],
    ]);
    expect(r.issues).toEqual([]);
  });

  it('names the line of invalid JSON, invalid UTF-8 and non-objects (bad.jsonl)', async () => {
    const r = await readDatasetFile(await NodeFileSource.open(fixture('bad.jsonl')));
    expect(r.rows.map((x) => x.line)).toEqual([1, 3, 6, 7, 8, 9]);
    const lines = r.issues.map((i) => [i.line, i.problem.split(' ').slice(0, 2).join(' ')]);
    expect(lines).toEqual([
      [2, 'invalid JSON:'],
      [4, 'invalid UTF-8'],
      [10, 'expected a'],
    ]);
    expect(formatIssue(r.issues[1])).toMatch(/bad\.jsonl line 4: invalid UTF-8 \(byte 47 of the line\)$/);
    expect(formatIssue(r.issues[2])).toMatch(/line 10: expected a JSON object, got an array$/);
  });

  it('splits lines across read chunks', async () => {
    // A source that hands out at most 7 bytes per read still yields whole lines.
    const bytes = enc.encode('{"a":1}\n{"a":22}\n\n{"a":333}');
    const chunky = { name: 'c.jsonl', size: bytes.length, read: async (o: number, n: number) => bytes.slice(o, o + n) };
    const lines: string[] = [];
    for await (const l of byteLines(chunky)) lines.push(`${l.line}:${new TextDecoder().decode(l.bytes)}`);
    expect(lines).toEqual(['1:{"a":1}', '2:{"a":22}', '3:', '4:{"a":333}']);
  });

  it('refuses an empty file', async () => {
    await expect(readDatasetFile(src('e.jsonl', ''))).rejects.toThrow(/e\.jsonl: the file is empty/);
    await expect(readDatasetFile(src('e.jsonl', '\n \n'))).rejects.toBeInstanceOf(DatasetError);
  });
});

describe('JSON', () => {
  it('reads an array, {"data": [...]} and {"train": [...]} with row numbers', async () => {
    for (const text of ['[{"text": "a"}, 3, {"text": "b"}]', '{"data": [{"text": "a"}, 3, {"text": "b"}]}', '{"train": [{"text": "a"}, 3, {"text": "b"}]}']) {
      const r = await readDatasetFile(src('d.json', text));
      expect(r.unit).toBe('row');
      expect(r.rows.map((x) => x.line)).toEqual([1, 3]);
      expect(formatIssue(r.issues[0])).toBe('d.json row 2: expected a JSON object, got a number');
    }
  });

  it('names the line of a syntax error', async () => {
    const err = await readDatasetFile(src('d.json', '[\n{"text": "a"},\n{"text": }\n]')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).line).toBe(3);
    expect((err as DatasetError).message).toMatch(/^d\.json line 3: invalid JSON/);
  });

  it('locates syntax errors by scanning', () => {
    expect(jsonErrorOffset('[{"a": [1, 2.5e3, true, null, "x\\u00e9"]}]')).toBe(-1);
    expect(jsonErrorOffset('{"a": 1,}')).toBe(8);
    expect(jsonErrorOffset('{"a": "b\n"}')).toBe(8);
    expect(jsonErrorOffset('[1] x')).toBe(4);
    expect(jsonErrorOffset('[1, 2')).toBe(5);
  });

  it('reads JSON lines saved as .json as JSONL', async () => {
    const r = await readDatasetFile(src('d.json', '{"text": "a"}\n{"text": "b"}\n'));
    expect(r.fileFormat).toBe('jsonl');
    expect(r.rows.length).toBe(2);
  });
});

describe('CSV', () => {
  it('handles quotes, embedded commas and newlines, and numbers records by their first line', async () => {
    const text = 'prompt,completion\n"Hello, you","Line one\nline two ""quoted"""\nplain,row\r\n\n"multi\n\nline",x';
    const r = await readDatasetFile(src('d.csv', text));
    expect(r.fileFormat).toBe('csv');
    expect(r.rows).toEqual([
      { line: 2, data: { prompt: 'Hello, you', completion: 'Line one\nline two "quoted"' } },
      { line: 4, data: { prompt: 'plain', completion: 'row' } },
      { line: 6, data: { prompt: 'multi\n\nline', completion: 'x' } },
    ]);
  });

  it('keeps every cell as text, list-looking ones included (csvCells.ts decodes message columns)', async () => {
    const r = await readDatasetFile(await NodeFileSource.open(fixture('alpaca_listy.csv')));
    expect(r.rows.map((x) => x.data['input'])).toEqual(['', '[1,7,9,11,12,14,18,21]', '', '[3, 1, 2]']);
    expect(r.rows[3].data['output']).toBe('[1, 2, 3]');
  });

  it('reports wrong field counts, unclosed quotes and invalid UTF-8 by line', async () => {
    const bytes = new Uint8Array([...enc.encode('a,b\n1,2\n1,2,3\n"ok",\xff\n'), 0xff, ...enc.encode(',x\n5,"never closed\n')]);
    const r = await readDatasetFile(src('bad.csv', bytes));
    expect(r.rows.map((x) => x.line)).toEqual([2, 4]);
    expect(r.issues.map(formatIssue)).toEqual([
      'bad.csv line 3: has 3 fields, the header has 2',
      'bad.csv line 5: invalid UTF-8 (byte 1 of the line)',
      'bad.csv line 6: a quoted field is never closed (an odd number of " characters)',
    ]);
  });

  it('split: end lines', () => {
    expect(splitCsv('a\n"x\ny"\nz').map((r) => [r.line, r.endLine])).toEqual([
      [1, 1],
      [2, 3],
      [4, 4],
    ]);
  });
});

describe('Parquet', () => {
  it('reads list<struct> message columns with row numbers (SNAPPY)', async () => {
    const r = await readDatasetFile(await NodeFileSource.open(fixture('messages.parquet')));
    expect(r.fileFormat).toBe('parquet');
    expect(r.unit).toBe('row');
    expect(r.rows.map((x) => x.line)).toEqual([1, 2, 3]);
    expect(r.rows[1].data).toEqual({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: '2+2?' },
        { role: 'assistant', content: '4' },
      ],
      id: 2,
    });
  });

  it('reads UltraFeedback columns (ZSTD, int64 scores as numbers)', async () => {
    const r = await readDatasetFile(await NodeFileSource.open(fixture('ultrafeedback.parquet')));
    expect(r.rows[0].data['score_rejected']).toBe(2);
    expect(r.rows[1].data['chosen']).toEqual([
      { role: 'user', content: 'Say hi' },
      { role: 'assistant', content: 'Hi there!' },
    ]);
  });

  it('refuses a file that is not Parquet', async () => {
    await expect(readDatasetFile(src('x.parquet', 'PAR1 nope'))).rejects.toThrow(/x\.parquet: not a readable Parquet file/);
  });
});

describe('format sniffing without an extension', () => {
  it('picks parquet, json, jsonl, csv from the content', async () => {
    const pq = readFileSync(fixture('messages.parquet'));
    expect(await sniffFormat(src('blob', new Uint8Array(pq)))).toBe('parquet');
    expect(await sniffFormat(src('blob', ' [{"a": 1}]'))).toBe('json');
    expect(await sniffFormat(src('blob', '{"a": 1}\n{"a": 2}'))).toBe('jsonl');
    expect(await sniffFormat(src('blob', '{\n "data": []}'))).toBe('json');
    expect(await sniffFormat(src('blob', 'text\nhello'))).toBe('csv');
    const r = await readDatasetFile(src('upload', 'text\nhello'));
    expect(r.rows[0]).toEqual({ line: 2, data: { text: 'hello' } });
  });
});

describe('compressed and binary files', () => {
  it('reads gzip by its magic bytes, whatever the name (hh.jsonl.gz; JSON and CSV too)', async () => {
    const r = await readDatasetFile(await NodeFileSource.open(fixture('hh.jsonl.gz')));
    expect([r.fileFormat, r.compression, r.unit]).toEqual(['jsonl', 'gzip', 'line']);
    expect(r.rows.map((x) => x.line)).toEqual([1, 2, 3]);
    expect(String(r.rows[0].data['chosen'])).toMatch(/^\n\nHuman: What is the capital of France\?/);
    const named = await readDatasetFile(src('upload.jsonl', gzipSync(enc.encode('{"text": "a"}\n{oops\n'))));
    expect([named.compression, named.rows.length, formatIssue(named.issues[0])]).toEqual(['gzip', 1, expect.stringMatching(/^upload\.jsonl line 2: invalid JSON/)]);
    const csv = await readDatasetFile(src('d.csv.gz', gzipSync(enc.encode('prompt,completion\nQ,A\n'))));
    expect([csv.fileFormat, csv.rows[0].data]).toEqual(['csv', { prompt: 'Q', completion: 'A' }]);
    const json = await readDatasetFile(src('blob', gzipSync(enc.encode('[{"text": "a"}]'))));
    expect(json.fileFormat).toBe('json');
    const plain = await readDatasetFile(src('d.jsonl', '{"text": "a"}'));
    expect(plain.compression).toBeNull();
  });

  it('refuses a damaged gzip file, other compressors and containers, and binary data, saying what to do', async () => {
    const cut = gzipSync(enc.encode('{"text": "a"}\n'.repeat(100))).subarray(0, 30);
    const cases: [string, Uint8Array, RegExp, RegExp][] = [
      ['d.jsonl.gz', cut, /d\.jsonl\.gz: is not a valid gzip file/, /download it again/],
      ['d.zip', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]), /is a ZIP archive .*not a dataset file Whetstone reads/, /Unzip it/],
      ['d.jsonl.zst', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0]), /is Zstandard-compressed/, /zstd -d/],
      ['d.jsonl.xz', new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0]), /is xz-compressed/, /xz -d/],
      ['d.jsonl.bz2', new Uint8Array([...enc.encode('BZh9'), 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0]), /is bzip2-compressed/, /bunzip2/],
      ['data.arrow', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x78, 0, 0, 0]), /is an Arrow stream/, /Dataset\.from_file/],
      ['d.feather', enc.encode('ARROW1\0\0'), /is an Arrow IPC \/ Feather v2 file/, /to_json/],
      ['d.csv.gz', gzipSync(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 9])), /is gzip-compressed a ZIP archive/, /Unzip/],
      ['d.csv', new Uint8Array([3, 0, 0, 0, 0x9c, 0x88, 0, 1, 2, 3, 250, 251, 0, 0, 7, 8]), /d\.csv: is a binary file, not JSONL, JSON or CSV text/, /Choose the dataset file itself/],
    ];
    for (const [name, bytes, problem, hint] of cases) {
      const err = await readDatasetFile(src(name, bytes)).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DatasetError);
      expect((err as DatasetError).message, name).toMatch(problem);
      expect((err as DatasetError).hint, name).toMatch(hint);
      expect([...(err as DatasetError).message].some((c) => c < ' ' && c !== '\n'), name).toBe(false);
      expect((err as DatasetError).message, name).not.toContain('\uFFFD');
    }
    // A CSV whose header happens to start with "BZh" is still a CSV.
    expect((await readDatasetFile(src('b.csv', 'BZh,text\n1,hi\n'))).rows[0].data).toEqual({ BZh: '1', text: 'hi' });
  });
});

describe('duplicate keys (JSON.parse would keep the last one)', () => {
  it('make the row invalid in JSONL and JSON arrays, naming the object', async () => {
    const l = await readDatasetFile(src('d.jsonl', '{"text": "a"}\n{"messages": [{"role": "user", "content": "a", "content": "b"}]}\n{"text": "x", "text": "y"}\n'));
    expect(l.rows.map((x) => x.line)).toEqual([1]);
    expect(l.issues.map(formatIssue)).toEqual([
      'd.jsonl line 2: messages[0]: the key "content" appears twice in one object (JSON would keep only the last one)',
      'd.jsonl line 3: the key "text" appears twice in one object (JSON would keep only the last one)',
    ]);
    for (const text of ['[{"text": "a"}, {"text": "b", "text": "c"}]', '{"data": [{"text": "a"}, {"text": "b", "text": "c"}], "meta": {"n": 1, "n": 2}}']) {
      const j = await readDatasetFile(src('d.json', text));
      expect(j.rows.map((x) => x.line)).toEqual([1]);
      expect(j.issues.map(formatIssue)).toEqual(['d.json row 2: the key "text" appears twice in one object (JSON would keep only the last one)']);
    }
    await expect(readDatasetFile(src('d.json', '{"data": [{"text": "a"}], "data": [{"text": "b"}]}'))).rejects.toThrow(/d\.json: the key "data" appears twice/);
  });
});
