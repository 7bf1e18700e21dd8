// PEFT adapter files: adapter_config.json + adapter_model.safetensors with keys
//   base_model.model.<module path>.lora_A.weight  (r, in)
//   base_model.model.<module path>.lora_B.weight  (out, r)
// loadable by peft.PeftModel.from_pretrained, and readable back here.
import { bytesToF32, f32ToBytes } from '../io/dtype.ts';
import { CheckpointError } from '../io/errors.ts';
import { readText, type ByteSource } from '../io/byteSource.ts';
import type { FileSet } from '../io/fileSet.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type TensorToWrite } from '../io/safetensors.ts';
import { isPlainObject } from '../io/json.ts';
import { LORA_MODULES, modulePath, type ModuleName } from '../model/modules.ts';
import type { ModelSpec } from '../model/config.ts';
import type { InitialWeights } from './adapter.ts';
import type { LoraConfig } from './types.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export function peftKey(layer: number, m: ModuleName, which: 'A' | 'B'): string {
  return `base_model.model.${modulePath(layer, m)}.lora_${which}.weight`;
}

/** adapter_config.json as PEFT writes it for a LoRA on a causal LM. */
export function peftConfigJson(config: LoraConfig, baseModel: string): string {
  const json = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: config.loraAlpha,
    lora_dropout: config.loraDropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: config.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...config.targetModules],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: config.useRslora,
  };
  return JSON.stringify(json, null, 2) + '\n';
}

/** adapter_model.safetensors bytes from weights read back from the GPU (F32, like PEFT's default save). */
export function peftWeightsBytes(config: LoraConfig, numLayers: number, weights: Map<string, InitialWeights>): Uint8Array {
  return writeSafetensors(peftLoraTensors(config, numLayers, weights), { format: 'pt' });
}

/** The lora_A / lora_B tensors of an adapter file, in PEFT's names and shapes (F32). */
export function peftLoraTensors(config: LoraConfig, numLayers: number, weights: Map<string, InitialWeights>): TensorToWrite[] {
  const tensors: TensorToWrite[] = [];
  for (let l = 0; l < numLayers; l++) {
    for (const m of config.targetModules) {
      const w = weights.get(`${l}.${m}`);
      if (!w) continue;
      const inF = w.A.length / config.r;
      const outF = w.B.length / config.r;
      tensors.push({ name: peftKey(l, m, 'A'), dtype: 'F32', shape: [config.r, inF], data: f32ToBytes(w.A, 'F32') });
      tensors.push({ name: peftKey(l, m, 'B'), dtype: 'F32', shape: [outF, config.r], data: f32ToBytes(w.B, 'F32') });
    }
  }
  return tensors;
}

/** adapter_config.json of a PEFT adapter folder, parsed; throws when either adapter file is missing. */
export async function readAdapterConfig(files: FileSet): Promise<LoraConfig> {
  const have = new Set(files.list());
  for (const f of [ADAPTER_CONFIG, ADAPTER_WEIGHTS]) {
    if (!have.has(f)) throw new CheckpointError('', `${files.name} has no ${f}`, 'A PEFT adapter folder holds adapter_config.json and adapter_model.safetensors.');
  }
  return parsePeftConfig(await readText(files.open(ADAPTER_CONFIG)), `${files.name}/${ADAPTER_CONFIG}`);
}

/** Parses adapter_config.json into our LoraConfig; refuses what we cannot apply faithfully. */
export function parsePeftConfig(text: string, file = ADAPTER_CONFIG): LoraConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `is not valid JSON (${(e as Error).message})`, 'Re-export the adapter, or check the file was copied completely.');
  }
  if (!isPlainObject(raw)) throw new CheckpointError(file, 'is not a JSON object', 'An adapter_config.json holds one JSON object.');
  const c = raw as Record<string, unknown>;
  const bad = (what: string) => new CheckpointError(file, what, 'Whetstone loads PEFT LoRA adapters (peft_type "LORA") for causal LMs.');
  if (c.peft_type !== undefined && c.peft_type !== 'LORA') throw bad(`has peft_type ${JSON.stringify(c.peft_type)}, not "LORA"`);
  if (typeof c.r !== 'number' || !(c.r >= 1) || !Number.isInteger(c.r)) throw bad('has no valid integer "r"');
  const alpha = typeof c.lora_alpha === 'number' ? c.lora_alpha : c.r;
  if (c.use_dora === true) throw bad('uses DoRA (use_dora: true), which Whetstone does not support yet');
  if (c.fan_in_fan_out === true) throw bad('has fan_in_fan_out: true (GPT-2 style Conv1D), which Llama-family models do not use');
  for (const k of ['rank_pattern', 'alpha_pattern'] as const) {
    if (isPlainObject(c[k]) && Object.keys(c[k] as object).length > 0) throw bad(`sets ${k}, which Whetstone does not support yet`);
  }
  let targets: ModuleName[];
  const t = c.target_modules;
  if (t === 'all-linear') targets = [...LORA_MODULES];
  else if (Array.isArray(t)) {
    const unknown = t.filter((x) => !(LORA_MODULES as readonly string[]).includes(String(x)));
    if (unknown.length) throw bad(`targets modules Whetstone cannot apply: ${unknown.join(', ')} (supported: ${LORA_MODULES.join(', ')})`);
    targets = LORA_MODULES.filter((m) => t.includes(m));
  } else if (typeof t === 'string') {
    // PEFT treats a string as a regex over module paths; accept the common "q_proj|v_proj" forms.
    const re = new RegExp(t);
    targets = LORA_MODULES.filter((m) => re.test(m) || re.test(`model.layers.0.self_attn.${m}`) || re.test(`model.layers.0.mlp.${m}`));
  } else throw bad('has no target_modules');
  if (targets.length === 0) throw bad('targets no module Whetstone knows');
  return {
    r: c.r,
    loraAlpha: alpha,
    loraDropout: typeof c.lora_dropout === 'number' ? c.lora_dropout : 0,
    targetModules: targets,
    useRslora: c.use_rslora === true,
  };
}

/**
 * Reads adapter_model.safetensors into per-module A/B arrays, checking that every expected key is
 * present with the right shape (a clear error otherwise, never a silent partial adapter).
 */
export async function readPeftWeights(src: ByteSource, config: LoraConfig, spec: ModelSpec, shapeOf: (m: ModuleName) => { inFeatures: number; outFeatures: number }): Promise<Map<string, InitialWeights>> {
  const header = await readSafetensorsHeader(src);
  const out = new Map<string, InitialWeights>();
  const take = async (name: string, shape: [number, number]): Promise<Float32Array> => {
    // PEFT also writes keys with an adapter name (".lora_A.default.weight") in some versions.
    const info = header.tensors.get(name) ?? header.tensors.get(name.replace(/\.weight$/, '.default.weight'));
    if (!info) throw new CheckpointError(src.name, `has no tensor ${name}`, 'The adapter does not match this model (different layers or target modules).');
    if (info.shape.length !== 2 || info.shape[0] !== shape[0] || info.shape[1] !== shape[1]) {
      throw new CheckpointError(src.name, `tensor ${name} has shape [${info.shape}], expected [${shape}]`, 'The adapter was trained for a different model or rank.');
    }
    if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') {
      throw new CheckpointError(src.name, `tensor ${name} has dtype ${info.dtype}`, 'LoRA weights must be F32, F16 or BF16.');
    }
    return bytesToF32(await readTensorBytes(src, info), info.dtype);
  };
  for (let l = 0; l < spec.numLayers; l++) {
    for (const m of config.targetModules) {
      const { inFeatures, outFeatures } = shapeOf(m);
      out.set(`${l}.${m}`, { A: await take(peftKey(l, m, 'A'), [config.r, inFeatures]), B: await take(peftKey(l, m, 'B'), [outFeatures, config.r]) });
    }
  }
  return out;
}
