// decodeCheckpoint refuses what cannot be resumed faithfully, with the reason: garbage or
// non-numeric trainer state, missing optimizer moments, a checkpoint of another method or LoRA
// shape than the recipe it is resumed with. (The resume guarantee itself: trainer.resume.test.ts.)
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../io/errors.ts';
import { writeSafetensors } from '../io/safetensors.ts';
import { f32ToBytes } from '../io/dtype.ts';
import { peftConfigJson, peftWeightsBytes } from '../lora/peft.ts';
import type { LoraConfig } from '../lora/types.ts';
import { decodeCheckpoint, encodeCheckpoint, type TrainerState } from './checkpointState.ts';
import { OPTIMIZER_STATE, RNG_STATE, TRAINER_STATE, textFile, type FileMap } from './runStore.ts';

// One layer, LoRA r=2 on q_proj (in 4, out 3): A (2, 4), B (3, 2).
const LORA: LoraConfig = { r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj'], useRslora: false };
const state: TrainerState = { global_step: 5, epoch: 2.5, micro_batch: 10, optimizer_t: 5, total_steps: 10, method: 'sft', log_history: [{ step: 5, loss: 1.5 }] };
const fill = (n: number, v: number) => new Float32Array(n).fill(v);
const moments = () =>
  new Map([
    ['0.q_proj.A', { m: fill(8, 0.1), v: fill(8, 0.2) }],
    ['0.q_proj.B', { m: fill(6, 0.3), v: fill(6, 0.4) }],
  ]);

function checkpoint(over: { state?: unknown; moments?: Map<string, { m: Float32Array; v: Float32Array }> } = {}): FileMap {
  const weights = peftWeightsBytes(LORA, 1, new Map([['0.q_proj', { A: fill(8, 1), B: fill(6, 2) }]]));
  const files = encodeCheckpoint(state, peftConfigJson(LORA, 'tiny'), weights, { t: 5, moments: over.moments ?? moments() }, { lr_scheduler_type: 'linear' }, 42);
  if (over.state !== undefined) files[TRAINER_STATE] = textFile(typeof over.state === 'string' ? over.state : JSON.stringify(over.state));
  return files;
}

async function reason(files: FileMap, expected = {}): Promise<string> {
  const e = await decodeCheckpoint(files, 'run/checkpoint-5', expected).then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(CheckpointError);
  return (e as Error).message;
}

describe('decodeCheckpoint: strict validation with the reason', () => {
  it('decodes a complete checkpoint that matches the recipe', async () => {
    const d = await decodeCheckpoint(checkpoint(), 'run/checkpoint-5', { method: 'sft', optim: 'adamw_torch', lora_r: 2, lora_alpha: 4, lora_target_modules: ['q_proj'], use_rslora: false });
    expect(d.state).toEqual(state);
    expect(d.optimizer.t).toBe(5);
    expect(d.optimizer.moments.get('0.q_proj.B')!.v).toEqual(fill(6, 0.4));
    expect(d.seed).toBe(42);
  });

  it('refuses a missing optimizer moment (training would silently diverge)', async () => {
    const m = moments();
    m.set('0.q_proj.B', { m: fill(6, 0.3), v: new Float32Array(0) });
    const files = checkpoint();
    // Re-encode the optimizer file without that one tensor.
    files[OPTIMIZER_STATE] = writeSafetensors(
      [...m].flatMap(([n, { m: mm, v }]) => [
        { name: `${n}.exp_avg`, dtype: 'F32' as const, shape: [mm.length], data: f32ToBytes(mm, 'F32') },
        ...(v.length ? [{ name: `${n}.exp_avg_sq`, dtype: 'F32' as const, shape: [v.length], data: f32ToBytes(v, 'F32') }] : []),
      ]),
      { step: '5' },
    );
    expect(await reason(files)).toBe('run/checkpoint-5/optimizer.safetensors: has no exp_avg_sq for LoRA tensor 0.q_proj.B (of 2); resuming would silently change the training');
    const noB = moments();
    noB.delete('0.q_proj.B');
    expect(await reason(checkpoint({ moments: noB }))).toContain('has no exp_avg for LoRA tensor 0.q_proj.B');
    expect(await reason(checkpoint({ moments: new Map() }), { optim: 'adamw_torch' })).toContain('holds no AdamW moments');
  });

  it('refuses garbage and non-numeric trainer state', async () => {
    expect(await reason(checkpoint({ state: '\u0000\u0001garbage' }))).toMatch(/^run\/checkpoint-5\/trainer_state.json: is not valid JSON/);
    expect(await reason(checkpoint({ state: '[1, 2]' }))).toBe('run/checkpoint-5/trainer_state.json: is not a JSON object');
    expect(await reason(checkpoint({ state: { ...state, global_step: 'five' } }))).toBe('run/checkpoint-5/trainer_state.json: "global_step" is "five"; expected a whole number >= 0');
    expect(await reason(checkpoint({ state: { ...state, micro_batch: 2.5 } }))).toContain('"micro_batch" is 2.5');
    expect(await reason(checkpoint({ state: { ...state, method: 'ppo' } }))).toContain('"method" is "ppo"');
    expect(await reason(checkpoint({ state: { ...state, optimizer_t: 4 } }))).toContain('records optimizer step "5", trainer_state.json says 4');
  });

  it('refuses a checkpoint of another method or LoRA shape than the recipe', async () => {
    expect(await reason(checkpoint(), { method: 'dpo' })).toBe('run/checkpoint-5: is an SFT checkpoint; it cannot be resumed as DPO');
    expect(await reason(checkpoint(), { lora_r: 16 })).toBe('run/checkpoint-5: was trained with lora_r=2, the recipe asks lora_r=16');
    expect(await reason(checkpoint(), { lora_alpha: 32 })).toContain('lora_alpha=4, the recipe asks lora_alpha=32');
    expect(await reason(checkpoint(), { lora_dropout: 0.1 })).toContain('lora_dropout=0, the recipe asks lora_dropout=0.1');
    expect(await reason(checkpoint(), { lora_target_modules: ['q_proj', 'v_proj'] })).toContain('lora_target_modules="q_proj"');
  });

  it('names a missing file', async () => {
    const files = checkpoint();
    delete files[RNG_STATE];
    expect(await reason(files)).toBe('run/checkpoint-5: is not a complete checkpoint: rng_state.json is missing');
  });
});
