// JSON helpers for checkpoint files. JSON.parse silently keeps the last of two equal keys, but a
// safetensors header with a tensor name twice is corrupt (two tensors claim one name), so
// findDuplicateKeys scans the text itself.
import { CheckpointError } from './errors.ts';

/**
 * Keys that appear twice in the same object, as `path.key` (e.g. `"w"` at top level, `"w.dtype"`
 * inside tensor w). `text` must already be valid JSON (call JSON.parse first).
 */
export function findDuplicateKeys(text: string): string[] {
  const dups: string[] = [];
  // One frame per open object/array: for objects, the keys seen and whether a key comes next.
  const stack: { keys: Set<string> | null; expectKey: boolean; path: string }[] = [];
  let lastKey = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) j += 2;
        else if (d === 0x22) break;
        else j++;
      }
      const top = stack[stack.length - 1];
      if (top && top.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) dups.push(top.path ? `${top.path}.${key}` : key);
        top.keys.add(key);
        top.expectKey = false;
        lastKey = key;
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      const path = parent && parent.keys ? (parent.path ? `${parent.path}.${lastKey}` : lastKey) : (parent?.path ?? '');
      stack.push({ keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b, path });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top && top.keys) top.expectKey = true;
    }
    i++;
  }
  return dups;
}

/** JSON.parse with a CheckpointError naming the file and the parse error. */
export function parseJsonFile(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CheckpointError(
      file,
      `is not valid JSON (${(e as Error).message})`,
      `${what} must be a JSON file; download it again, or check it was not saved as an HTML error page or a Git LFS pointer.`,
    );
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
