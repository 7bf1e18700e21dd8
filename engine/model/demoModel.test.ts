// The studio's embedded demo model (public/models/demo, built by scripts/reference/make_demo_model.py):
// its manifest lists every file with its size, the TS tokenizer + chat template give the same prompt
// ids as the Python BPE/ChatML, and the engine's greedy tokens equal PyTorch's (float32 forward of
// the BF16 weights; golden in engine/model/fixtures/goldens/demo_greedy.json, top-2 margins >= 0.05).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testContext } from '../gpu/testing.ts';
import { openNodeFolder } from '../io/fileSetNode.ts';
import { generate } from './generate.ts';
import { loadModel } from './loadModel.ts';

interface DemoGolden {
  model: string;
  max_new_tokens: number;
  eos_token_id: number;
  prompts: { messages: { role: string; content: string }[]; text: string; ids: number[]; greedy: number[]; greedy_text: string; top2_margins: number[] }[];
}

interface Manifest {
  name: string;
  files: { path: string; size: number }[];
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const golden: DemoGolden = JSON.parse(readFileSync(`${root}engine/model/fixtures/goldens/demo_greedy.json`, 'utf8'));
const dir = root + golden.model;

describe('demo model (public/models/demo)', () => {
  it('manifest lists every checkpoint file with its size, well under 1 MB in all', () => {
    const manifest: Manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8'));
    const listed = manifest.files.map((f) => f.path).sort();
    expect(listed).toEqual(readdirSync(dir).filter((f) => f !== 'manifest.json').sort());
    for (const f of manifest.files) expect(f.size, f.path).toBe(statSync(`${dir}/${f.path}`).size);
    expect(manifest.files.reduce((s, f) => s + f.size, 0)).toBeLessThan(1_000_000);
    expect(manifest.name).toMatch(/^Whetstone demo \(tiny Llama, \d+K params\)$/);
  });

  it('engine greedy tokens equal PyTorch, from the same prompt ids', { timeout: 300_000 }, async () => {
    const ctx = await testContext();
    const { model, tokenizer, spec, parameters } = await loadModel(ctx, await openNodeFolder(dir), { dtype: 'f32' });
    const manifest: Manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8'));
    expect(manifest.name).toContain(`${Math.round(parameters / 1000)}K params`);
    expect(spec.modelType).toBe('llama');
    expect(spec.numKvHeads).toBeLessThan(spec.numHeads); // GQA
    expect(tokenizer.stopTokenIds).toContain(golden.eos_token_id);
    for (const p of golden.prompts) {
      expect(Math.min(...p.top2_margins), 'golden margin').toBeGreaterThanOrEqual(0.05);
      const text = tokenizer.renderChat(p.messages, { addGenerationPrompt: true });
      expect(text).toBe(p.text);
      expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(p.ids);
      const ids = await generate(model, p.ids, { temperature: 0, maxNewTokens: golden.max_new_tokens, eosTokenIds: tokenizer.stopTokenIds, lora: null });
      expect(ids, `greedy after ${JSON.stringify(p.messages[0].content)}`).toEqual(p.greedy);
      expect(tokenizer.decode(ids)).toBe(p.greedy_text);
    }
    model.destroy();
  });
});
