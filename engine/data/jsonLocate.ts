// Where a JSON text goes wrong: JSON.parse's messages differ between engines and often give no
// position (V8 in Node 20 quotes the text around the error), so a whole-file JSON dataset with a
// syntax error is scanned here to find the character offset of the first error. And what
// JSON.parse hides: a key given twice in one object (it keeps the last one without a word).

/** Offset of the first syntax error in `text`, or -1 when it is valid JSON. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  class Bad extends Error {}
  const fail = (): never => {
    throw new Bad();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (c === '"') string();
    else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) fail();
      i += m![0].length;
    } else {
      for (const lit of ['true', 'false', 'null']) {
        if (text.startsWith(lit, i)) {
          i += lit.length;
          return;
        }
      }
      fail();
    }
  };
  const string = (): void => {
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '"') return void i++;
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail();
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail();
      } else if (c < ' ') fail();
      else i++;
    }
    fail();
  };
  try {
    value();
    ws();
    return i < n ? i : -1;
  } catch (e) {
    if (e instanceof Bad) return Math.min(i, n);
    throw e;
  }
}

/** 1-based line of a character offset. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

/**
 * Keys that appear twice in one object of a VALID JSON text (JSON.parse keeps the last one
 * silently), as paths: ["messages", 1, "content"]. Iterative (deep nesting cannot overflow the
 * stack); stops after `limit` findings.
 */
export function duplicateKeys(text: string, limit = 100): (string | number)[][] {
  const found: (string | number)[][] = [];
  const path: (string | number)[] = [];
  const frames: { keys: Set<string> | null; index: number }[] = [];
  const n = text.length;
  let i = 0;
  const ws = () => {
    for (let c = text.charCodeAt(i); c === 32 || c === 10 || c === 13 || c === 9; c = text.charCodeAt(++i));
  };
  /** At an opening quote: moves past the string, returns its value when `decode`. */
  const string = (decode: boolean): string => {
    const start = ++i;
    for (;;) {
      const q = text.indexOf('"', i);
      let b = q - 1;
      while (b >= start && text.charCodeAt(b) === 92) b--;
      i = q + 1;
      if ((q - 1 - b) % 2 === 0) break; // an even run of backslashes: the quote closes the string
    }
    if (!decode) return '';
    const raw = text.slice(start, i - 1);
    return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
  };
  const key = (frame: { keys: Set<string> | null }): void => {
    ws();
    const k = string(true);
    ws();
    i++; // ':'
    if (frame.keys!.has(k) && found.length < limit) found.push([...path, k]);
    frame.keys!.add(k);
    path.push(k);
  };
  for (;;) {
    // A value starts at i.
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      ws();
      const frame = { keys: c === '{' ? new Set<string>() : null, index: 0 };
      if (text[i] !== (c === '{' ? '}' : ']')) {
        frames.push(frame);
        if (frame.keys) key(frame);
        else path.push(0);
        continue;
      }
      i++; // an empty container is a finished value
    } else if (c === '"') string(false);
    else while (i < n && !',]} \n\r\t'.includes(text[i])) i++;
    // After a value: close containers until a comma starts the next value.
    for (;;) {
      ws();
      const frame = frames.at(-1);
      if (!frame || i >= n || found.length >= limit) return found;
      path.pop();
      if (text[i++] === ',') {
        if (frame.keys) key(frame);
        else path.push(++frame.index);
        break;
      }
      frames.pop(); // '}' or ']'
    }
  }
}

/** A duplicateKeys path as a field name: messages[1].content. */
export function fieldPath(path: (string | number)[]): string {
  return path.map((p, k) => (typeof p === 'number' ? `[${p}]` : k === 0 ? p : `.${p}`)).join('');
}
