// Uniform parameters of one dispatch, packed in declaration order. Fields are named exactly as in
// the kernel's WGSL `struct Params` (every field is a 4-byte u32/i32/f32 scalar), so the layout can
// be checked against the shader: GpuContext compares them the first time a pipeline is used
// (structFields below), and engine/ops/params.test.ts runs every launcher once to prove it.
//   new Params().u32({ n, row_stride: grid.rowStride }).f32({ alpha })

export type ParamType = 'u32' | 'i32' | 'f32';

export interface ParamField {
  name: string;
  type: ParamType;
  value: number;
}

export class Params {
  readonly fields: ParamField[] = [];

  u32(values: Record<string, number>): this {
    return this.push(values, 'u32');
  }
  i32(values: Record<string, number>): this {
    return this.push(values, 'i32');
  }
  f32(values: Record<string, number>): this {
    return this.push(values, 'f32');
  }

  private push(values: Record<string, number>, type: ParamType): this {
    for (const [name, value] of Object.entries(values)) this.fields.push({ name, type, value });
    return this;
  }

  get byteLength(): number {
    return Math.max(16, Math.ceil(this.fields.length / 4) * 16);
  }

  /** The packed bytes as a content key (equal keys = identical uniform data). */
  get key(): string {
    let s = '';
    for (const f of this.fields) s += `${f.type[0]}${f.value},`;
    return s;
  }

  /** Writes the packed fields into `view` at `offset`. */
  writeTo(view: DataView, offset: number): void {
    this.fields.forEach((f, i) => {
      const at = offset + i * 4;
      if (f.type === 'f32') view.setFloat32(at, f.value, true);
      else if (f.type === 'i32') view.setInt32(at, f.value, true);
      else view.setUint32(at, f.value >>> 0, true);
    });
  }
}

/** The fields of `struct Params { ... }` in WGSL source, in order; null when there is none. */
export function structFields(code: string): { name: string; type: string }[] | null {
  const m = /struct\s+Params\s*\{([^}]*)\}/.exec(code);
  if (!m) return null;
  const body = m[1].replace(/\/\/[^\n]*/g, '');
  return body
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean)
    .map((f) => {
      const [name, type] = f.split(':').map((s) => s.trim());
      return { name, type };
    });
}

/** Null when `params` matches the struct field for field, else what differs (for an error). */
export function paramsMismatch(params: Params, fields: { name: string; type: string }[]): string | null {
  const got = params.fields.map((f) => `${f.name}: ${f.type}`);
  const want = fields.map((f) => `${f.name}: ${f.type}`);
  if (got.length === want.length && got.every((g, i) => g === want[i])) return null;
  return `Params {${got.join(', ')}} does not match WGSL struct Params {${want.join(', ')}}`;
}
