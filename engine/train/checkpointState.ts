// What a checkpoint holds, as files: the PEFT adapter, the optimizer moments (safetensors), and
// JSON for the trainer state (step, epoch, data position, log history), scheduler and RNG seed —
// everything needed so that 5 steps + resume + 5 steps equals 10 straight steps.
import { bytesToF32, f32ToBytes } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import { MemorySource } from '../io/byteSource.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../lora/peft.ts';
import type { Method } from '../recipe/methods.ts';
import { OPTIMIZER_STATE, RNG_STATE, SCHEDULER_STATE, TRAINER_STATE, readTextFile, textFile, type FileMap } from './runStore.ts';

export interface TrainerState {
  global_step: number;
  epoch: number; // fractional, like HF
  /** Next micro-batch to run, counted from the start of training (data position). */
  micro_batch: number;
  optimizer_t: number;
  total_steps: number;
  method: Method;
  log_history: Record<string, number>[];
}

export function encodeCheckpoint(
  state: TrainerState,
  adapterConfig: string,
  adapterWeights: Uint8Array,
  optimizer: { t: number; moments: Map<string, { m: Float32Array; v: Float32Array }> },
  scheduler: Record<string, unknown>,
  seed: number,
): FileMap {
  const tensors: TensorToWrite[] = [];
  for (const [name, { m, v }] of optimizer.moments) {
    tensors.push({ name: `${name}.exp_avg`, dtype: 'F32', shape: [m.length], data: f32ToBytes(m, 'F32') });
    tensors.push({ name: `${name}.exp_avg_sq`, dtype: 'F32', shape: [v.length], data: f32ToBytes(v, 'F32') });
  }
  return {
    [ADAPTER_CONFIG]: textFile(adapterConfig),
    [ADAPTER_WEIGHTS]: adapterWeights,
    [OPTIMIZER_STATE]: writeSafetensors(tensors, { step: String(optimizer.t) }),
    [TRAINER_STATE]: textFile(JSON.stringify(state, null, 2)),
    [SCHEDULER_STATE]: textFile(JSON.stringify(scheduler, null, 2)),
    [RNG_STATE]: textFile(JSON.stringify({ seed }, null, 2)),
  };
}

export interface DecodedCheckpoint {
  state: TrainerState;
  adapterConfig: string;
  adapterWeights: Uint8Array;
  optimizer: { t: number; moments: Map<string, { m: Float32Array; v: Float32Array }> };
  seed: number;
}

export async function decodeCheckpoint(files: FileMap, where: string): Promise<DecodedCheckpoint> {
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS, OPTIMIZER_STATE, TRAINER_STATE, RNG_STATE]) {
    if (!files[f]) throw new CheckpointError(where, `is not a complete checkpoint: ${f} is missing`, 'Resume from a checkpoint-N folder written by whetstone train.');
  }
  const state = JSON.parse(readTextFile(files[TRAINER_STATE])) as TrainerState;
  const src = new MemorySource(`${where}/${OPTIMIZER_STATE}`, files[OPTIMIZER_STATE]);
  const header = await readSafetensorsHeader(src);
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  for (const [name, info] of header.tensors) {
    const base = name.replace(/\.exp_avg(_sq)?$/, '');
    const entry = moments.get(base) ?? { m: new Float32Array(0), v: new Float32Array(0) };
    const values = bytesToF32(await readTensorBytes(src, info), 'F32');
    if (name.endsWith('.exp_avg_sq')) entry.v = values;
    else entry.m = values;
    moments.set(base, entry);
  }
  return {
    state,
    adapterConfig: readTextFile(files[ADAPTER_CONFIG]),
    adapterWeights: files[ADAPTER_WEIGHTS],
    optimizer: { t: Number(header.metadata.step ?? state.optimizer_t), moments },
    seed: (JSON.parse(readTextFile(files[RNG_STATE])) as { seed: number }).seed,
  };
}
