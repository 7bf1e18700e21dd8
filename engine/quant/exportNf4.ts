// The merged export of a pre-quantized (bitsandbytes NF4) base: its 16-bit weights are not in the
// file, so each 4-bit decoder linear is dequantized exactly as bitsandbytes computes with it
// (NF4[q] x absmax, rounded to the quant_state's dtype), merged with the adapter (or written as
// is), and the export says so (MergedExport.dequantized). The packed weight's companions (absmax,
// quant_map, nested_*, quant_state) are left out, and so is config.json's quantization_config:
// the merged checkpoint is an ordinary 16-bit one. For a base quantized on load (load_in_4bit) the
// export reads the original 16-bit weights from the checkpoint and none of this applies.
import type { Checkpoint } from '../io/checkpoint.ts';
import { ModelFormatError } from '../io/errors.ts';
import type { ModelSpec } from '../model/config.ts';
import { LORA_MODULES, moduleShape, type ModuleName } from '../model/modules.ts';
import { bnbQuantizedWeights, parseQuantizationConfig, QUANT_STATE_FP4, QUANT_STATE_NF4, readBnbNf4Weight } from './bnbFormat.ts';
import { dequantizeWeight } from './nf4Weight.ts';

const COMPANIONS = ['absmax', 'quant_map', 'nested_absmax', 'nested_quant_map', QUANT_STATE_NF4, QUANT_STATE_FP4];

export interface Nf4ExportPlan {
  /** Each 4-bit weight's name -> its (out, in) shape from config.json. */
  weights: Map<string, [number, number]>;
  /** The tensors stored beside the 4-bit weights, not exported. */
  companions: Set<string>;
}

/** null for a 16-bit checkpoint. */
export function planNf4Export(ckpt: Checkpoint, spec: ModelSpec): Nf4ExportPlan | null {
  if (!parseQuantizationConfig(ckpt.config)) return null;
  const weights = new Map<string, [number, number]>();
  const companions = new Set<string>();
  for (const name of bnbQuantizedWeights(ckpt)) {
    const m = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.weight$/.exec(name);
    if (!m || !(LORA_MODULES as readonly string[]).includes(m[2]) || Number(m[1]) >= spec.numLayers) {
      throw new ModelFormatError(ckpt.tensor(name).file, `${name} is 4-bit, and only decoder linear layers can be dequantized for the merged export`, 'Export from the 16-bit model instead.');
    }
    const s = moduleShape(spec, m[2] as ModuleName);
    weights.set(name, [s.outFeatures, s.inFeatures]);
    for (const c of COMPANIONS) if (ckpt.tensors.has(`${name}.${c}`)) companions.add(`${name}.${c}`);
  }
  return { weights, companions };
}

/** The dequantized values of 4-bit weight `name` (as bitsandbytes computes with them). */
export async function dequantizedWeight(ckpt: Checkpoint, name: string, shape: [number, number]): Promise<Float32Array> {
  return dequantizeWeight(await readBnbNf4Weight(ckpt, name, shape));
}

/** config.json of the merged export of a pre-quantized base: without quantization_config. */
export function withoutQuantizationConfig(config: Record<string, unknown>): Record<string, unknown> {
  const { quantization_config: _q, ...rest } = config;
  return rest;
}
