import { deflateSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  decodeLesson,
  describeLesson,
  encodeLesson,
  lessonDatasetFile,
  lessonFileName,
  lessonFileText,
  lessonFromHash,
  lessonLabelRecords,
  lessonLink,
  LessonError,
  MAX_LESSON_LINK_CHARS,
  parseLessonFile,
  type Lesson,
} from './lesson.ts';

const recipe = { method: 'dpo', learning_rate: 0.005, max_steps: 20, per_device_train_batch_size: 4, lora_target_modules: ['q_proj', 'v_proj'], gradient_checkpointing: false };
const labels = Array.from({ length: 12 }, (_, i) => ({ prompt: `Tell me about thing ${i} — «ünïcode» ✓`, a: `The sky is blue. (${i})`, b: `Frogs like to roll in the mud. (${i})`, verdict: i % 3 === 0 ? ('b' as const) : ('a' as const) }));
const lesson: Lesson = { format: 'whetstone-lesson', version: 1, title: 'Colours, please', model: { kind: 'demo' }, recipe, data: { kind: 'labels', labels } };

describe('lessons as links', () => {
  it('round-trips model, recipe and labels through the fragment', () => {
    const { url, fits } = lessonLink('http://localhost:4173/?x=1#old', lesson);
    expect(fits).toBe(true);
    expect(url.startsWith('http://localhost:4173/?x=1#lesson=')).toBe(true);
    expect(url).toMatch(/^[^#]+#lesson=[A-Za-z0-9_-]+$/);
    expect(lessonFromHash(new URL(url).hash)).toEqual(lesson);
    expect(decodeLesson(encodeLesson(lesson))).toEqual(lesson);
    expect(lessonFromHash('')).toBeNull();
    expect(lessonFromHash('#other=1')).toBeNull();
  });

  it('compresses: a dozen labels fit well inside the link limit', () => {
    const json = JSON.stringify(lesson).length;
    const encoded = encodeLesson(lesson).length;
    expect(encoded).toBeLessThan(json / 2);
  });

  it('refuses a link over the limit (save a file instead), which the file carries whole', () => {
    // Text that deflate cannot shrink: pseudo-random letters.
    let s = 1;
    const noise = () => Array.from({ length: 400 }, () => String.fromCharCode(97 + ((s = (s * 48271) % 2147483647) % 26))).join('');
    const big: Lesson = { ...lesson, data: { kind: 'labels', labels: Array.from({ length: 40 }, () => ({ prompt: noise(), a: noise(), b: noise(), verdict: 'a' as const })) } };
    const { url, fits } = lessonLink('http://localhost/', big);
    expect(fits).toBe(false);
    expect(url.length).toBeGreaterThan(MAX_LESSON_LINK_CHARS);
    expect(parseLessonFile(lessonFileText(big))).toEqual(big);
    expect(lessonFileName(big)).toBe('colours-please.whetstone.json');
  });

  it('says clearly when a link is cut, damaged or not a lesson', () => {
    const encoded = encodeLesson(lesson);
    expect(() => decodeLesson(encoded.slice(0, 40))).toThrow(LessonError);
    expect(() => decodeLesson('not base64!')).toThrow(/characters a lesson never has/);
    const notLesson = btoa(String.fromCharCode(...deflateSync(strToU8('{"format":"something-else"}')))).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    expect(() => decodeLesson(notLesson)).toThrow(/not a Whetstone lesson/);
    const badModel = { ...lesson, model: { kind: 'hub', repo: 'no spaces allowed' } };
    expect(() => parseLessonFile(JSON.stringify(badModel))).toThrow(/model\.repo/);
    expect(() => parseLessonFile('{')).toThrow(/not valid JSON/);
  });

  it('refuses a link that unpacks to more than a lesson may hold', () => {
    // 64 KiB of spaces deflate to a few dozen bytes; with a 32 KiB cap it is refused mid-stream.
    const bomb = deflateSync(new Uint8Array(64 * 1024).fill(32), { level: 9 });
    const encoded = btoa(Array.from(bomb, (b) => String.fromCharCode(b)).join('')).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
    expect(encoded.length).toBeLessThan(200);
    expect(() => decodeLesson(encoded, 32 * 1024)).toThrow(/more than 0.0313 MiB/);
    expect(() => decodeLesson(encodeLesson(lesson), 32 * 1024)).not.toThrow();
  });

  it('turns its labels into the DPO file and label records, with stable ids', () => {
    const file = lessonDatasetFile(lesson);
    expect(file.name).toBe('lesson-labels.jsonl');
    const rows = file.text.trim().split('\n').map((l) => JSON.parse(l) as { chosen: { content: string }[]; rejected: { content: string }[] });
    expect(rows).toHaveLength(12);
    expect(rows[0].chosen[0].content).toBe('Frogs like to roll in the mud. (0)'); // verdict b
    expect(rows[1].chosen[0].content).toBe('The sky is blue. (1)');
    const records = lessonLabelRecords(lesson);
    expect(records.map((r) => r.id)).toEqual(lessonLabelRecords(lesson).map((r) => r.id));
    expect(new Set(records.map((r) => r.id)).size).toBe(12);
    const dataset: Lesson = { ...lesson, data: { kind: 'dataset', name: 'demo-sft.jsonl', text: '{"messages": []}\n' } };
    expect(lessonDatasetFile(dataset)).toEqual({ name: 'demo-sft.jsonl', text: '{"messages": []}\n' });
    expect(lessonLabelRecords(dataset)).toEqual([]);
    expect(describeLesson(lesson)).toBe('the demo model, a DPO recipe, 12 labelled pairs');
  });
});
