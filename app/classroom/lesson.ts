// Lessons: a model choice, a recipe and a small dataset or label set, packed so a teacher can
// send them to a class. Small lessons travel in a link's #fragment — deflated (fflate) and
// base64url-encoded — which browsers never send to a server: opening the link sends the page's
// address only, and the lesson is unpacked in the page. Larger lessons are a `.whetstone.json`
// file (the same object as plain JSON) that is dropped on the page.
import { Inflate, deflateSync, strFromU8, strToU8 } from 'fflate';
import { z } from 'zod';
import { dpoRows, isPair, oldestFirst, PAIR_VERDICTS, toJsonl, type LabelRecord, type PairLabel } from './labels.ts';

export const LESSON_FORMAT = 'whetstone-lesson';
export const LESSON_FILE_SUFFIX = '.whetstone.json';
/** The fragment that carries a lesson: `https://…/#lesson=<base64url(deflate(JSON))>`. */
export const LESSON_HASH_KEY = 'lesson';
/**
 * Longest link the page offers. Browsers take far longer URLs, but mail and chat apps, QR codes
 * and some servers' logs cut them around a few thousand characters; past this, save a file.
 */
export const MAX_LESSON_LINK_CHARS = 8000;
/** Unpacked size a link or file may claim (a guard against a crafted, hugely compressible link). */
export const MAX_LESSON_BYTES = 16 * 1024 * 1024;

const pairSchema = z.object({ prompt: z.string(), a: z.string(), b: z.string(), verdict: z.enum(PAIR_VERDICTS) });
const lessonSchema = z.object({
  format: z.literal(LESSON_FORMAT),
  version: z.literal(1),
  title: z.string().max(200).default(''),
  model: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('demo') }),
    z.object({ kind: z.literal('hub'), repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'a Hugging Face id owner/name'), revision: z.string().optional() }),
  ]),
  recipe: z.record(z.string(), z.unknown()),
  data: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('labels'), labels: z.array(pairSchema).min(1) }),
    z.object({ kind: z.literal('dataset'), name: z.string().min(1).max(200), text: z.string().min(1) }),
  ]),
});

export type Lesson = z.output<typeof lessonSchema>;
export type LessonPair = z.output<typeof pairSchema>;
export type LessonModel = Lesson['model'];

export class LessonError extends Error {
  readonly hint: string;
  constructor(message: string, hint = 'Ask for the link (or the lesson file) again: this one is cut short or changed.') {
    super(message);
    this.name = 'LessonError';
    this.hint = hint;
  }
}

/** A label set as a lesson carries it: the verdict and both answers of each pair, oldest first. */
export function lessonPairs(labels: readonly LabelRecord[]): LessonPair[] {
  return oldestFirst(labels)
    .filter(isPair)
    .map(({ prompt, a, b, verdict }) => ({ prompt, a, b, verdict }));
}

// --- link ---------------------------------------------------------------------------------

const mib = (bytes: number) => Number((bytes / 2 ** 20).toPrecision(3));

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new LessonError('The lesson link holds characters a lesson never has.');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  let binary: string;
  try {
    binary = atob(b64);
  } catch {
    throw new LessonError('The lesson link is not complete.');
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Inflates at most `maxBytes`; anything larger or not deflate data is refused. */
function inflateBounded(data: Uint8Array, maxBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const inflater = new Inflate((chunk) => {
    size += chunk.length;
    if (size > maxBytes) throw new LessonError(`The lesson unpacks to more than ${mib(maxBytes)} MiB, more than a lesson may hold.`);
    chunks.push(chunk);
  });
  try {
    inflater.push(data, true);
  } catch (e) {
    if (e instanceof LessonError) throw e;
    throw new LessonError('The lesson link is damaged: it does not unpack.');
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The lesson as the text after `#lesson=`. */
export function encodeLesson(lesson: Lesson): string {
  return toBase64Url(deflateSync(strToU8(JSON.stringify(lesson)), { level: 9 }));
}

export function decodeLesson(encoded: string, maxBytes = MAX_LESSON_BYTES): Lesson {
  return validLesson(parseJson(strFromU8(inflateBounded(fromBase64Url(encoded), maxBytes))));
}

/** The link to share: this page's address (without its own fragment) + `#lesson=…`; `fits` says whether it is short enough to offer. */
export function lessonLink(pageUrl: string, lesson: Lesson): { url: string; fits: boolean } {
  const url = `${pageUrl.split('#')[0]}#${LESSON_HASH_KEY}=${encodeLesson(lesson)}`;
  return { url, fits: url.length <= MAX_LESSON_LINK_CHARS };
}

/** The lesson in a page's location.hash, null when it carries none. */
export function lessonFromHash(hash: string): Lesson | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const encoded = params.get(LESSON_HASH_KEY);
  return encoded === null ? null : decodeLesson(encoded);
}

// --- file ---------------------------------------------------------------------------------

export function lessonFileText(lesson: Lesson): string {
  return `${JSON.stringify(lesson, null, 2)}\n`;
}

export function parseLessonFile(text: string): Lesson {
  if (text.length > MAX_LESSON_BYTES) throw new LessonError(`The lesson file is larger than ${mib(MAX_LESSON_BYTES)} MiB.`, 'Share a smaller dataset.');
  return validLesson(parseJson(text));
}

export function lessonFileName(lesson: Lesson): string {
  const slug = lesson.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
  return `${slug || 'lesson'}${LESSON_FILE_SUFFIX}`;
}

// --- reading a lesson back ----------------------------------------------------------------

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new LessonError('The lesson is not valid JSON.');
  }
}

function validLesson(value: unknown): Lesson {
  if (typeof value === 'object' && value !== null && (value as { format?: unknown }).format !== LESSON_FORMAT) {
    throw new LessonError('This is not a Whetstone lesson (its "format" is not "whetstone-lesson").', 'Drop a .whetstone.json file saved with "Save lesson file".');
  }
  const parsed = lessonSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LessonError(`The lesson is not one this page can read: ${issue.path.join('.') || '(lesson)'}: ${issue.message}.`);
  }
  return parsed.data;
}

/** The training file a lesson carries: its labels as DPO JSONL, or its dataset as it was. */
export function lessonDatasetFile(lesson: Lesson): { name: string; text: string } {
  if (lesson.data.kind === 'dataset') return { name: lesson.data.name, text: lesson.data.text };
  return { name: 'lesson-labels.jsonl', text: toJsonl(dpoRows(lessonLabelRecords(lesson))) };
}

/**
 * A lesson's pairs as label records. Ids come from the lesson's content, so opening the same
 * lesson twice does not add its labels twice.
 */
export function lessonLabelRecords(lesson: Lesson, model = 'lesson'): PairLabel[] {
  if (lesson.data.kind !== 'labels') return [];
  const key = fnv1a(JSON.stringify(lesson.data.labels));
  const sampling = { temperature: 0, topP: 1, maxNewTokens: 0, seed: 0 };
  return lesson.data.labels.map((p, i) => ({
    id: `lesson-${key}-${i}`,
    kind: 'pair',
    createdAt: i,
    ...p,
    model,
    adapterRunId: null,
    samplingA: sampling,
    samplingB: sampling,
  }));
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

/** "Demo model · DPO · 12 labelled pairs". */
export function describeLesson(lesson: Lesson): string {
  const model = lesson.model.kind === 'demo' ? 'the demo model' : lesson.model.repo;
  const method = typeof lesson.recipe.method === 'string' ? lesson.recipe.method.toUpperCase() : 'SFT';
  const n = lesson.data.kind === 'labels' ? lesson.data.labels.length : 0;
  const data = lesson.data.kind === 'labels' ? `${n} labelled pair${n === 1 ? '' : 's'}` : `the dataset ${lesson.data.name}`;
  return `${model}, a ${method} recipe, ${data}`;
}
