// Reward-model adapters in PEFT's SEQ_CLS layout: written here and read back, and the one
// methods_reference.py wrote with Python (tiny-llama-reward-lora) read here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../io/byteSource.ts';
import { modelSpecFromConfig } from '../model/config.ts';
import { moduleShape } from '../model/modules.ts';
import { parsePeftConfig, peftConfigJson, readPeftWeights } from './peft.ts';
import { freshScoreWeight, parsePeftTask, peftSeqClsConfigJson, peftSeqClsWeightsBytes, readScoreWeight, SCORE_KEY } from './seqCls.ts';
import { writeSafetensors } from '../io/safetensors.ts';
import { f32ToBytes } from '../io/dtype.ts';

const fixture = (path: string) => new URL(`../model/fixtures/${path}`, import.meta.url);
const spec = modelSpecFromConfig(JSON.parse(readFileSync(fixture('tiny-llama/config.json'), 'utf8')));
const H = spec.hiddenSize;
const shapeOf = (m: Parameters<typeof moduleShape>[1]) => moduleShape(spec, m);
const source = (name: string, bytes: Uint8Array) => new MemorySource(name, bytes);

describe('PEFT SEQ_CLS (reward model) adapters', () => {
  it('reads the adapter Python wrote: task SEQ_CLS, LoRA tensors of tiny-llama-lora, score.weight (1, H)', async () => {
    const text = readFileSync(fixture('tiny-llama-reward-lora/adapter_config.json'), 'utf8');
    const { taskType, lora } = parsePeftTask(text);
    expect(taskType).toBe('SEQ_CLS');
    const weights = source('adapter_model.safetensors', readFileSync(fixture('tiny-llama-reward-lora/adapter_model.safetensors')));
    const score = await readScoreWeight(weights, H);
    expect(score.length).toBe(H);
    expect(score.some((x) => x !== 0)).toBe(true);
    const got = await readPeftWeights(weights, lora, spec, shapeOf);
    const plain = await readPeftWeights(source('plain', readFileSync(fixture('tiny-llama-lora/adapter_model.safetensors'))), lora, spec, shapeOf);
    for (const [k, w] of plain) {
      expect(Array.from(got.get(k)!.A)).toEqual(Array.from(w.A));
      expect(Array.from(got.get(k)!.B)).toEqual(Array.from(w.B));
    }
  });

  it('writes what PEFT writes and reads it back: config fields, LoRA tensors, the score head', async () => {
    const text = readFileSync(fixture('tiny-llama-reward-lora/adapter_config.json'), 'utf8');
    const lora = parsePeftConfig(text);
    const weights = await readPeftWeights(source('w', readFileSync(fixture('tiny-llama-lora/adapter_model.safetensors'))), lora, spec, shapeOf);
    const score = freshScoreWeight(H, 0.02, 7);
    const json = JSON.parse(peftSeqClsConfigJson(lora, 'whetstone/tiny-llama'));
    const python = JSON.parse(text);
    for (const k of ['peft_type', 'task_type', 'modules_to_save', 'r', 'lora_alpha', 'target_modules', 'bias', 'use_rslora']) expect(json[k], k).toEqual(python[k]);
    // Everything but the task fields is the causal-LM config.
    const causal = JSON.parse(peftConfigJson(lora, 'whetstone/tiny-llama'));
    expect({ ...json, task_type: causal.task_type, modules_to_save: causal.modules_to_save }).toEqual(causal);
    const bytes = peftSeqClsWeightsBytes(lora, spec.numLayers, weights, score);
    const back = source('back', bytes);
    expect(Array.from(await readScoreWeight(back, H))).toEqual(Array.from(score));
    const lw = await readPeftWeights(back, lora, spec, shapeOf);
    for (const [k, w] of weights) expect(Array.from(lw.get(k)!.B)).toEqual(Array.from(w.B));
    expect(parsePeftTask(JSON.stringify(json)).taskType).toBe('SEQ_CLS');
    expect(parsePeftTask(JSON.stringify(causal)).taskType).toBe('CAUSAL_LM');
  });

  it('refuses what is not a one-output reward model, naming the problem', async () => {
    const base = JSON.parse(readFileSync(fixture('tiny-llama-reward-lora/adapter_config.json'), 'utf8'));
    expect(() => parsePeftTask(JSON.stringify({ ...base, modules_to_save: null }))).toThrow(/modules_to_save does not list "score"/);
    expect(() => parsePeftTask(JSON.stringify({ ...base, task_type: 'TOKEN_CLS' }))).toThrow(/task_type "TOKEN_CLS"/);
    const twoLabels = writeSafetensors([{ name: SCORE_KEY, dtype: 'F32', shape: [2, H], data: f32ToBytes(new Float32Array(2 * H), 'F32') }]);
    await expect(readScoreWeight(source('two', twoLabels), H)).rejects.toThrow(/num_labels 2/);
    const otherHidden = writeSafetensors([{ name: SCORE_KEY, dtype: 'F32', shape: [1, H + 1], data: f32ToBytes(new Float32Array(H + 1), 'F32') }]);
    await expect(readScoreWeight(source('wide', otherHidden), H)).rejects.toThrow(/expected \[1, 40\]/);
    await expect(readScoreWeight(source('none', readFileSync(fixture('tiny-llama-lora/adapter_model.safetensors'))), H)).rejects.toThrow(/has no tensor base_model.model.score.weight/);
  });

  it('a fresh head is normal(0, initializer_range), the same for the same seed', () => {
    const a = freshScoreWeight(4001, 0.02, 3);
    expect(Array.from(a)).toEqual(Array.from(freshScoreWeight(4001, 0.02, 3)));
    expect(Array.from(a)).not.toEqual(Array.from(freshScoreWeight(4001, 0.02, 4)));
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.001);
  });
});
