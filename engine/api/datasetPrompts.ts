// EngineApi.datasetPrompts: the user prompts of a dataset's first rows, for the classroom's
// Label and Arena panels ("label answers to the prompts of my dataset"). Any format the dataset
// reader knows: each row goes through the canonical record, and its prompt is the last user turn
// before the first answer (the same one training's sample generations use).
import { samplePrompt } from '../data/dataset.ts';
import { inspectMethodData } from '../data/methodData.ts';
import { toPreferenceRecord, toSftRecord } from '../data/records.ts';
import { toUnpairedRecord } from '../data/unpaired.ts';
import { MemorySource } from '../io/byteSource.ts';

/** At most `limit` distinct prompts, in file order, from the rows the inspection previews (the first 50; KTO's unpaired rows too). */
export async function datasetPrompts(file: { name: string; data: ArrayBuffer }, limit = 50): Promise<string[]> {
  const inspected = await inspectMethodData(new MemorySource(file.name, new Uint8Array(file.data)));
  const formatId = inspected.formatId;
  const prompts: string[] = [];
  for (const row of inspected.preview) {
    if (prompts.length >= limit) break;
    let prompt: string | null;
    try {
      prompt = samplePrompt(formatId === 'unpaired' ? toUnpairedRecord(row) : inspected.method === 'sft' ? toSftRecord(formatId, row) : toPreferenceRecord(formatId, row));
    } catch {
      continue; // an invalid row: the dataset panel reports it
    }
    if (prompt && !prompts.includes(prompt)) prompts.push(prompt);
  }
  return prompts;
}
