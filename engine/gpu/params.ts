// Uniform parameters of one dispatch, packed in declaration order. Every field is 4 bytes, so a
// WGSL struct of u32/i32/f32 scalars matches when fields are pushed in the same order.
export class Params {
  private readonly words: number[] = [];
  private readonly kinds: ('u' | 'i' | 'f')[] = [];

  u32(...values: number[]): this {
    for (const v of values) this.push(v, 'u');
    return this;
  }
  i32(...values: number[]): this {
    for (const v of values) this.push(v, 'i');
    return this;
  }
  f32(...values: number[]): this {
    for (const v of values) this.push(v, 'f');
    return this;
  }

  private push(v: number, kind: 'u' | 'i' | 'f'): void {
    this.words.push(v);
    this.kinds.push(kind);
  }

  get byteLength(): number {
    return Math.max(16, Math.ceil(this.words.length / 4) * 16);
  }

  /** Writes the packed fields into `view` at `offset`. */
  writeTo(view: DataView, offset: number): void {
    this.words.forEach((v, i) => {
      const at = offset + i * 4;
      if (this.kinds[i] === 'f') view.setFloat32(at, v, true);
      else if (this.kinds[i] === 'i') view.setInt32(at, v, true);
      else view.setUint32(at, v >>> 0, true);
    });
  }
}
