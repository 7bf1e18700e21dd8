// The bench's torch comparison logic (no GPU): which torch_peft.py line is read, when ratios are
// computed, and that a scaled-down CPU run is never compared with a full-size GPU run.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareWithTorch, readTorchReport } from './scaling.ts';

function torchFile(report: Record<string, unknown>, before = 'log line\n'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'torch-')), 'torch.json');
  writeFileSync(file, `${before}${JSON.stringify(report)}\n`);
  return file;
}

const report = {
  bench: 'torch_peft',
  impl: 'hf',
  device: 'NVIDIA H100 80GB HBM3',
  torch: '2.11.0',
  transformers: '5.17.0',
  peft: '0.18.0',
  layers: 30,
  runs: {
    fp32: [
      { tokens_per_step: 256, step_ms: 200, tokens_per_second: 1280 },
      { tokens_per_step: 8192, step_ms: 230, tokens_per_second: 35617 },
    ],
    bf16: [{ tokens_per_step: 256, step_ms: 210, tokens_per_second: 1219 }],
  },
};
const ours = [
  { tokens_per_step: 256, rows: 1, seq: 256, step_ms: 100, tokens_per_second: 2560, dispatches_per_step: 0, submits_per_step: 0, readbacks_per_step: 1 },
  { tokens_per_step: 1024, rows: 4, seq: 256, step_ms: 200, tokens_per_second: 5120, dispatches_per_step: 0, submits_per_step: 0, readbacks_per_step: 1 },
];

describe('vs_torch', () => {
  it('reads the last torch_peft JSON line and refuses a file without one', () => {
    expect(readTorchReport(torchFile(report, '{"bench":"other"}\nnoise\n')).device).toBe('NVIDIA H100 80GB HBM3');
    const empty = join(mkdtempSync(join(tmpdir(), 'torch-')), 'x.json');
    writeFileSync(empty, 'Traceback...\n');
    expect(() => readTorchReport(empty)).toThrow(/no torch_peft JSON line/);
  });

  it('ratios (ours / torch tokens/s) only for sizes both ran, per precision', () => {
    const v = compareWithTorch(torchFile(report), 30, ours) as { comparable: boolean; sft: Record<string, { tokens_per_step: number; speed_ratio: number }[]> };
    expect(v.comparable).toBe(true);
    expect(v.sft.fp32).toEqual([expect.objectContaining({ tokens_per_step: 256, speed_ratio: 2 })]);
    expect(v.sft.bf16.map((r) => r.tokens_per_step)).toEqual([256]);
  });

  it('a scaled-down run (other layer count) is not compared', () => {
    const v = compareWithTorch(torchFile(report), 1, ours) as { comparable: boolean; reason: string };
    expect(v.comparable).toBe(false);
    expect(v.reason).toContain('30 layers');
  });
});
