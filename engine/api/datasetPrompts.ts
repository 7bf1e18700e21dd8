// EngineApi.datasetPrompts: the user prompts of a dataset's first rows, for the classroom's
// Label and Arena panels ("label answers to the prompts of my dataset"). Any format the dataset
// reader knows: each row goes through the canonical record, and its prompt is the last user turn
// before the first answer (the same one training's sample generations use).
import { inspectDataset, samplePrompt } from '../data/dataset.ts';
import { toPreferenceRecord, toSftRecord } from '../data/records.ts';
import { MemorySource } from '../io/byteSource.ts';

/** At most `limit` distinct prompts, in file order, from the rows inspectDataset previews (the first 50). */
export async function datasetPrompts(file: { name: string; data: ArrayBuffer }, limit = 50): Promise<string[]> {
  const inspected = await inspectDataset(new MemorySource(file.name, new Uint8Array(file.data)));
  const prompts: string[] = [];
  for (const row of inspected.preview) {
    if (prompts.length >= limit) break;
    let prompt: string | null;
    try {
      prompt = samplePrompt(inspected.method === 'sft' ? toSftRecord(inspected.formatId, row) : toPreferenceRecord(inspected.formatId, row));
    } catch {
      continue; // an invalid row: the dataset panel reports it
    }
    if (prompt && !prompts.includes(prompt)) prompts.push(prompt);
  }
  return prompts;
}
