// EngineApi.exportMerged: the loaded base model + a PEFT adapter -> one Hugging Face checkpoint
// (model.safetensors in the base dtype with W + scale·B·A for every targeted linear, config.json,
// generation config and tokenizer files), as files the page can save or zip. CPU work in float64
// (engine/lora/merge.ts); the base tensors are read from the files the model was loaded from.
import { memoryFileSet } from '../io/fileSet.ts';
import { exportMergedModel, readAdapterForMerge } from '../lora/export.ts';
import { bytesOf } from './chat.ts';
import type { EngineRuntime } from './runtime.ts';
import type { ProgressCallback } from './types.ts';

export async function exportMerged(runtime: EngineRuntime, adapterFiles: Record<string, ArrayBuffer>, onProgress?: ProgressCallback): Promise<Record<string, ArrayBuffer>> {
  const { loaded } = await runtime.model('export');
  const ckpt = loaded.checkpoint;
  const adapter = await readAdapterForMerge(memoryFileSet('the adapter', bytesOf(adapterFiles)), ckpt);
  const plan = exportMergedModel(ckpt, adapter, {
    onProgress: onProgress && ((p) => onProgress({ phase: 'export', done: p.bytesDone, total: p.bytesTotal })),
  });
  const out: Record<string, ArrayBuffer> = {};
  for (const file of plan.files) {
    const bytes = new Uint8Array(file.size);
    let offset = 0;
    for await (const chunk of file.chunks()) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    out[file.name] = bytes.buffer;
  }
  return out;
}
