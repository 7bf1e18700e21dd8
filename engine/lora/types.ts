// LoRA adapters the PEFT way (peft/tuners/lora/layer.py): A (r, in) Kaiming-uniform, B (out, r)
// zero; only A and B are trained. The shapes the model runs are in model/loraTypes.ts.
import type { LoraAdapter, LoraChunk, LoraConfig, LoraModule, ScoreHead } from '../model/loraTypes.ts';

export type { LoraAdapter, LoraChunk, LoraConfig, LoraModule, ScoreHead };

export function loraScale(config: Pick<LoraConfig, 'r' | 'loraAlpha' | 'useRslora'>): number {
  return config.useRslora ? config.loraAlpha / Math.sqrt(config.r) : config.loraAlpha / config.r;
}

/** Every trainable tensor with its PEFT-relative name, in a stable order (layer, module, A then B). */
export function loraParameters(adapter: LoraAdapter): { name: string; module: LoraModule; which: 'A' | 'B' }[] {
  const out: { name: string; module: LoraModule; which: 'A' | 'B' }[] = [];
  adapter.layers.forEach((mods, i) => {
    for (const m of adapter.config.targetModules) {
      const mod = mods[m];
      if (!mod) continue;
      out.push({ name: `${i}.${m}.A`, module: mod, which: 'A' });
      out.push({ name: `${i}.${m}.B`, module: mod, which: 'B' });
    }
  });
  return out;
}
