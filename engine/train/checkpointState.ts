// What a checkpoint holds, as files: the PEFT adapter, the optimizer moments (safetensors), and
// JSON for the trainer state (step, epoch, data position, log history), scheduler and RNG seed —
// everything needed so that 5 steps + resume + 5 steps equals 10 straight steps. Decoding checks
// it strictly (checkpointCheck.ts) so a damaged or mismatched checkpoint is refused with the reason.
import { bytesToF32, f32ToBytes } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import { MemorySource } from '../io/byteSource.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { isPlainObject } from '../io/json.ts';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, parsePeftConfig } from '../lora/peft.ts';
import { isMethod, METHODS, type Method } from '../recipe/methods.ts';
import { checkAgainstRecipe, checkMoments, parseStateJson, wholeNumber, type CheckpointExpectation } from './checkpointCheck.ts';
import { OPTIMIZER_STATE, RNG_STATE, SCHEDULER_STATE, TRAINER_STATE, readTextFile, textFile, type FileMap } from './runStore.ts';

export interface TrainerState {
  global_step: number;
  epoch: number; // fractional, like HF
  /** Next micro-batch to run, counted from the start of training (data position). */
  micro_batch: number;
  optimizer_t: number;
  total_steps: number;
  method: Method;
  /** Input tokens of all steps so far (HF's name; TRL logs it as num_tokens). Absent in older checkpoints. */
  num_input_tokens_seen?: number;
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

/**
 * Reads and checks a checkpoint (see checkpointCheck.ts): every file present and well formed,
 * numeric steps, both optimizer moments of every LoRA tensor, and, when `expected` is given, the
 * same method and LoRA shape as the recipe it is resumed with. Any failure is a CheckpointError
 * saying why, before anything is restored.
 */
export async function decodeCheckpoint(files: FileMap, where: string, expected: CheckpointExpectation = {}): Promise<DecodedCheckpoint> {
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS, OPTIMIZER_STATE, TRAINER_STATE, RNG_STATE]) {
    if (!files[f]) throw new CheckpointError(where, `is not a complete checkpoint: ${f} is missing`, 'Resume from a checkpoint-N folder written by whetstone train.');
  }
  const state = parseTrainerState(readTextFile(files[TRAINER_STATE]), where);
  const adapterConfig = readTextFile(files[ADAPTER_CONFIG]);
  const lora = parsePeftConfig(adapterConfig, `${where}/${ADAPTER_CONFIG}`);
  const adapterHeader = await readSafetensorsHeader(new MemorySource(`${where}/${ADAPTER_WEIGHTS}`, files[ADAPTER_WEIGHTS]));

  const src = new MemorySource(`${where}/${OPTIMIZER_STATE}`, files[OPTIMIZER_STATE]);
  const header = await readSafetensorsHeader(src);
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  for (const [name, info] of header.tensors) {
    const which = /\.exp_avg_sq$/.test(name) ? 'v' : /\.exp_avg$/.test(name) ? 'm' : null;
    if (!which || info.dtype !== 'F32') {
      throw new CheckpointError(src.name, `holds an unexpected tensor ${JSON.stringify(name)} (${info.dtype})`, 'Resume from a checkpoint-N folder written by whetstone train, unchanged.');
    }
    const base = name.replace(/\.exp_avg(_sq)?$/, '');
    const entry = moments.get(base) ?? { m: new Float32Array(0), v: new Float32Array(0) };
    entry[which] = bytesToF32(await readTensorBytes(src, info), 'F32');
    moments.set(base, entry);
  }
  checkMoments(moments, adapterHeader.tensors, where, expected.optim);
  const metaStep = header.metadata.step;
  const t = metaStep === undefined ? state.optimizer_t : /^\d+$/.test(metaStep) ? Number(metaStep) : NaN;
  if (t !== state.optimizer_t) {
    throw new CheckpointError(src.name, `records optimizer step ${JSON.stringify(metaStep)}, trainer_state.json says ${state.optimizer_t}`, 'The checkpoint is damaged or mixed from two saves; resume from another checkpoint.');
  }
  checkAgainstRecipe(state.method, lora, expected, where);
  const rng = parseStateJson(readTextFile(files[RNG_STATE]), where, RNG_STATE);
  return {
    state,
    adapterConfig,
    adapterWeights: files[ADAPTER_WEIGHTS],
    optimizer: { t, moments },
    seed: wholeNumber(rng, 'seed', `${where}/${RNG_STATE}`),
  };
}

/** trainer_state.json, every field checked (a garbage or hand-edited file is a clear error). */
export function parseTrainerState(text: string, where: string): TrainerState {
  const file = `${where}/${TRAINER_STATE}`;
  const raw = parseStateJson(text, where, TRAINER_STATE);
  const method = raw.method;
  if (!isMethod(method)) {
    throw new CheckpointError(file, `"method" is ${JSON.stringify(method) ?? 'missing'}; expected ${METHODS.map((m) => JSON.stringify(m)).join(' or ')}`, 'Resume from a checkpoint-N folder written by whetstone train, unchanged.');
  }
  const epoch = raw.epoch;
  if (typeof epoch !== 'number' || !Number.isFinite(epoch) || epoch < 0) {
    throw new CheckpointError(file, `"epoch" is ${JSON.stringify(epoch) ?? 'missing'}; expected a number >= 0`, 'Resume from a checkpoint-N folder written by whetstone train, unchanged.');
  }
  const history = raw.log_history ?? [];
  if (!Array.isArray(history) || !history.every(isPlainObject)) {
    throw new CheckpointError(file, '"log_history" is not a list of objects', 'Resume from a checkpoint-N folder written by whetstone train, unchanged.');
  }
  return {
    global_step: wholeNumber(raw, 'global_step', file),
    epoch,
    micro_batch: wholeNumber(raw, 'micro_batch', file),
    optimizer_t: wholeNumber(raw, 'optimizer_t', file),
    total_steps: wholeNumber(raw, 'total_steps', file),
    method,
    ...(raw.num_input_tokens_seen === undefined ? {} : { num_input_tokens_seen: wholeNumber(raw, 'num_input_tokens_seen', file) }),
    log_history: history as Record<string, number>[],
  };
}

export type { CheckpointExpectation } from './checkpointCheck.ts';
