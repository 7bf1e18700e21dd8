// Where a JSON text goes wrong: JSON.parse's messages differ between engines and often give no
// position (V8 in Node 20 quotes the text around the error), so a whole-file JSON dataset with a
// syntax error is scanned here to find the character offset of the first error. And what
// JSON.parse hides: a key given twice in one object (it keeps the last one without a word).

/**
 * Offset of the first syntax error in `text`, or -1 when it is valid JSON. Iterative (an explicit
 * stack of open containers), so any nesting depth is fine: malformed JSON nested 10,000 deep is
 * located, not a stack overflow.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  /** Skips one string starting at text[i] === '"'; false on an error (i left at it). */
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '"') {
        i++;
        return true;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return false;
      } else if (c < ' ') return false;
      else i++;
    }
    return false;
  };
  /** Skips one scalar (number, string, literal) at i; false on an error. */
  const scalar = (): boolean => {
    const c = text[i];
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) return false;
      i += m[0].length;
      return true;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return true;
      }
    }
    return false;
  };
  // Open containers: '{' or '['. After a value inside one, a ',' or its closer must follow.
  const stack: string[] = [];
  const bad = () => Math.min(i, n);
  for (;;) {
    // Expect a value at i.
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else {
        stack.push('{');
        if (text[i] !== '"' || !string()) return bad();
        ws();
        if (text[i] !== ':') return bad();
        i++;
        continue;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else {
        stack.push('[');
        continue;
      }
    } else if (!scalar()) return bad();
    // A value ended: close containers or move to the next member.
    for (;;) {
      if (stack.length === 0) {
        ws();
        return i < n ? i : -1;
      }
      ws();
      const top = stack[stack.length - 1];
      if (text[i] === ',') {
        i++;
        if (top === '{') {
          ws();
          if (text[i] !== '"' || !string()) return bad();
          ws();
          if (text[i] !== ':') return bad();
          i++;
        }
        break;
      }
      if (text[i] === (top === '{' ? '}' : ']')) {
        i++;
        stack.pop();
        continue;
      }
      return bad();
    }
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
