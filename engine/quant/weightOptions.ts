// GPU bytes of a loaded model's weights with a 16-bit base and with a 4-bit (NF4) base, from what
// is loaded now: the memory estimate's two options (the studio's "4-bit base (QLoRA)" switch).
// Tables, norms and biases are the same either way; the decoder linear groups are
//   16-bit   out x in x (2 or 4 bytes: the tables' storage type)
//   NF4      nf4GroupBytes of the group's members (codes, scales, nested scales, header, map)
// A pre-quantized checkpoint has no 16-bit option (its 16-bit weights are not in the file).
import type { LoadedModel } from '../model/loadModel.ts';
import { GROUP_NAMES } from '../model/weights.ts';
import { elementBytes } from '../ops/operands.ts';
import { nf4GroupBytes } from './gpuLayout.ts';

export interface WeightBytesByBase {
  /** null: a pre-quantized checkpoint (4-bit only). */
  sixteenBit: number | null;
  fourBit: number;
}

const align4 = (n: number) => Math.max(4, Math.ceil(n / 4) * 4);

/** Weight bytes of `loaded` as loaded 16-bit and as loaded 4-bit (double quantization as given; a pre-quantized file's own). */
export function weightBytesByBase(loaded: LoadedModel, doubleQuant: boolean): WeightBytesByBase {
  const w = loaded.model.weights;
  const all = w.buffers.reduce((s, b) => s + b.size, 0);
  const dq = w.quantization?.preQuantized ? w.quantization.doubleQuant : doubleQuant;
  let linearNow = 0;
  let sixteen = 0;
  let four = 0;
  for (const layer of w.layers) {
    for (const g of GROUP_NAMES) {
      const group = layer.groups[g];
      linearNow += group.weight.size;
      const numels = group.starts.slice(1).map((end, i) => (end - group.starts[i]) * group.inFeatures);
      sixteen += align4(group.outFeatures * group.inFeatures * elementBytes(w.embedDtype));
      four += nf4GroupBytes(numels, dq);
    }
  }
  const rest = all - linearNow;
  return { sixteenBit: w.quantization?.preQuantized ? null : rest + sixteen, fourBit: rest + four };
}
