import { describe, expect, it } from 'vitest';
import { absurdValueWarnings } from './recipeWarnings.ts';

const smol = { hiddenSize: 576, maxPositionEmbeddings: 8192 };

describe('absurdValueWarnings', () => {
  it('says nothing about a usual recipe', () => {
    expect(absurdValueWarnings({ method: 'sft', learning_rate: 2e-4, lora_r: 16, lora_alpha: 32, max_length: 1024, per_device_train_batch_size: 8, gradient_accumulation_steps: 4, max_steps: 500, warmup_steps: 10 }, smol)).toEqual([]);
  });

  it('warns about --lora_r 100000 and --max_length 1e9, against the model when known', () => {
    expect(absurdValueWarnings({ lora_r: 100000, max_length: 1e9 }, smol)).toEqual([
      "lora_r=100000 is at least the model's hidden_size (576): the adapter is then no smaller than the layers it adapts; ranks of 8-64 are usual",
      "max_length=1000000000 is beyond the model's max_position_embeddings (8192); positions past it were never trained",
      'per_device_train_batch_size x gradient_accumulation_steps x max_length = 1000000000 tokens per step: steps will be extremely slow',
    ]);
    expect(absurdValueWarnings({ lora_r: 100000, max_length: 1e9 })).toEqual([
      'lora_r=100000 is far above usual LoRA ranks (8-64)',
      "max_length=1000000000 tokens is far beyond any model's context; rows are cut to it, and memory is planned for it",
      'per_device_train_batch_size x gradient_accumulation_steps x max_length = 1000000000 tokens per step: steps will be extremely slow',
    ]);
  });

  it('warns about a diverging learning rate, endless runs, warmup past the end and a huge DPO beta', () => {
    const w = absurdValueWarnings({ method: 'dpo', learning_rate: 5, num_train_epochs: 1e6, max_steps: 1e9, warmup_steps: 2e9, beta: 1000 });
    expect(w.map((s) => s.split('=')[0])).toEqual(['learning_rate', 'num_train_epochs', 'max_steps', 'warmup_steps', 'beta']);
  });
});
