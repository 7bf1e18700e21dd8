// `whetstone generate`: text from a model (optionally with a PEFT adapter), streamed to stdout,
// through the engine's chat module (engine/session/chat.ts), the same as the studio's chat.
import type { Command } from 'commander';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadAdapter } from '../../engine/lora/load.ts';
import { loadModel } from '../../engine/model/loadModel.ts';
import { chatPrompt, generateText } from '../../engine/session/chat.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { num } from '../parse.ts';

interface GenerateFlags {
  model: string;
  adapter?: string;
  prompt: string;
  raw?: boolean;
  max_new_tokens: number;
  temperature: number;
  top_p: number;
  top_k: number;
  seed: number;
  json?: boolean;
  revision?: string;
  token?: string;
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('Generate text from a model (and optionally a PEFT adapter)')
    .requiredOption('--model <dir|hub_id>', 'model folder or Hugging Face id')
    .option('--adapter <dir>', 'PEFT adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--prompt <text>', 'the user message (or raw text with --raw)')
    .option('--raw', 'tokenize the prompt as is, without the chat template (the default for a model without one)')
    .option('--max_new_tokens <n>', 'tokens to generate at most', num('max_new_tokens', { integer: true, min: 1 }), 64)
    .option('--temperature <t>', '0 = greedy', num('temperature', { min: 0 }), 0)
    .option('--top_p <p>', 'nucleus sampling mass', num('top_p', { min: 0, max: 1 }), 1)
    .option('--top_k <k>', 'sample among the k most likely tokens (0 = off)', num('top_k', { integer: true, min: 0 }), 0)
    .option('--seed <s>', 'sampling seed', num('seed', { integer: true }), 0)
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token for gated models (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print {"ids": [...], "text": "..."} as the last line')
    .action(async (flags: GenerateFlags) => {
      const { ctx } = await openGpu(flags.json);
      const { model, tokenizer, spec } = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }));
      const adapter = flags.adapter ? await loadAdapter(ctx, spec, await openNodeFolder(flags.adapter)) : null;
      const prompt = chatPrompt(tokenizer, flags.prompt, { raw: flags.raw });
      if (!prompt.templated && !flags.raw && !flags.json) process.stderr.write('note: this model has no chat template, so the prompt is used as plain text (as with --raw)\n');
      let printed = '';
      const settings = { maxNewTokens: flags.max_new_tokens, temperature: flags.temperature, topP: flags.top_p, topK: flags.top_k, seed: flags.seed };
      const stream = (text: string) => {
        process.stdout.write(text.slice(printed.length));
        printed = text;
      };
      const { ids, text } = await generateText(model, tokenizer, prompt.ids, adapter, settings, flags.json ? undefined : stream);
      if (flags.json) console.log(JSON.stringify({ ids, text }));
      else process.stdout.write('\n');
    });
}
