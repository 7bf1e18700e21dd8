// `whetstone generate`: text from a model (optionally with a PEFT adapter), streamed to stdout,
// through the engine's chat module (engine/session/chat.ts), the same as the studio's chat; with
// --best_of N --reward_adapter D, N sampled answers scored by a reward model and the best printed
// (engine/session/reward.ts, as the studio's Compare panel does it).
import type { Command } from 'commander';
import { openNodeFolder } from '../../engine/io/fileSetNode.ts';
import { loadAdapter } from '../../engine/lora/load.ts';
import { loadModel } from '../../engine/model/loadModel.ts';
import { fourBitOptions } from '../../engine/quant/loadNf4.ts';
import { resolveRecipe } from '../../engine/recipe/schema.ts';
import { WhetstoneError } from '../../engine/errors.ts';
import { chatPrompt, generateText } from '../../engine/session/chat.ts';
import { BEST_OF_N_TEMPERATURE, bestOfN, requireScoreHead } from '../../engine/session/reward.ts';
import { openGpu } from '../gpu.ts';
import { offlineOption, openModelFiles } from '../modelSource.ts';
import { num } from '../parse.ts';
import { addRecipeFlags, FOUR_BIT_KEYS, recipeFromFlags } from '../recipeFlags.ts';

interface GenerateFlags extends Record<string, unknown> {
  model: string;
  adapter?: string;
  prompt: string;
  raw?: boolean;
  max_new_tokens: number;
  temperature?: number;
  best_of?: number;
  reward_adapter?: string;
  top_p: number;
  top_k: number;
  seed: number;
  json?: boolean;
  revision?: string;
  token?: string;
}

export function registerGenerateCommand(program: Command): void {
  const cmd = program
    .command('generate')
    .description('Generate text from a model (and optionally a PEFT adapter)')
    .requiredOption('--model <dir|hub_id>', 'model folder or Hugging Face id')
    .option('--adapter <dir>', 'PEFT adapter folder (adapter_config.json + adapter_model.safetensors)')
    .requiredOption('--prompt <text>', 'the user message (or raw text with --raw)')
    .option('--raw', 'tokenize the prompt as is, without the chat template (the default for a model without one)')
    .option('--max_new_tokens <n>', 'tokens to generate at most', num('max_new_tokens', { integer: true, min: 1 }), 64)
    .option('--temperature <t>', `0 = greedy (the default; ${BEST_OF_N_TEMPERATURE} with --best_of)`, num('temperature', { min: 0 }))
    .option('--top_p <p>', 'nucleus sampling mass', num('top_p', { min: 0, max: 1 }), 1)
    .option('--top_k <k>', 'sample among the k most likely tokens (0 = off)', num('top_k', { integer: true, min: 0 }), 0)
    .option('--seed <s>', 'sampling seed', num('seed', { integer: true }), 0)
    .option('--best_of <n>', 'best-of-N (rejection sampling): sample N answers, score each with --reward_adapter, print the best', num('best_of', { integer: true, min: 1 }))
    .option('--reward_adapter <dir>', 'the reward model for --best_of: a PEFT SEQ_CLS adapter trained with --method reward on the same base model')
    .option('--revision <rev>', 'hub revision', 'main')
    .option('--token <token>', 'hub access token for gated models (or set HF_TOKEN)')
    .addOption(offlineOption())
    .option('--json', 'print {"ids": [...], "text": "..."} as the last line (--best_of: {"text", "reward", "best", "candidates": [{"text", "reward"}]})');
  addRecipeFlags(cmd, FOUR_BIT_KEYS).action(async (flags: GenerateFlags) => {
    if (flags.best_of !== undefined && !flags.reward_adapter) throw new WhetstoneError('--best_of needs --reward_adapter: the reward model that picks the best answer', 'Pass --reward_adapter DIR (an adapter trained with --method reward).');
    if (flags.reward_adapter && flags.best_of === undefined) throw new WhetstoneError('--reward_adapter is for --best_of N', 'Add --best_of N (e.g. 4) to sample N answers and keep the one the reward model scores highest.');
    const { ctx } = await openGpu(flags.json);
    const fourBit = fourBitOptions(resolveRecipe(recipeFromFlags(flags, FOUR_BIT_KEYS)));
    const { model, tokenizer, spec } = await loadModel(ctx, await openModelFiles(flags.model, { revision: flags.revision, token: flags.token, quiet: flags.json }), fourBit);
    const adapter = flags.adapter ? await loadAdapter(ctx, spec, await openNodeFolder(flags.adapter)) : null;
    const prompt = chatPrompt(tokenizer, flags.prompt, { raw: flags.raw });
    if (!prompt.templated && !flags.raw && !flags.json) process.stderr.write('note: this model has no chat template, so the prompt is used as plain text (as with --raw)\n');
    let printed = '';
    const settings = { maxNewTokens: flags.max_new_tokens, temperature: flags.temperature ?? (flags.best_of ? BEST_OF_N_TEMPERATURE : 0), topP: flags.top_p, topK: flags.top_k, seed: flags.seed };
    if (flags.best_of !== undefined) {
      if (flags.raw) throw new WhetstoneError('--best_of scores prompt + answer through the chat template; it cannot take --raw', 'Leave out --raw.');
      const reward = await loadAdapter(ctx, spec, await openNodeFolder(flags.reward_adapter!));
      requireScoreHead(reward, flags.reward_adapter!);
      if (!flags.json) process.stderr.write(`sampling ${flags.best_of} answers at temperature ${settings.temperature}...\n`);
      const r = await bestOfN(model, tokenizer, flags.prompt, adapter, reward, { ...settings, n: flags.best_of });
      const best = r.candidates[r.best];
      if (flags.json) console.log(JSON.stringify({ text: best.text, reward: best.reward, best: r.best, candidates: r.candidates }));
      else {
        r.candidates.forEach((c, i) => process.stderr.write(`${i === r.best ? '*' : ' '} ${i + 1}. reward ${c.reward.toFixed(4)}: ${JSON.stringify(c.text)}\n`));
        process.stdout.write(`${best.text}\n`);
      }
      return;
    }
    const stream = (text: string) => {
      process.stdout.write(text.slice(printed.length));
      printed = text;
    };
    const { ids, text } = await generateText(model, tokenizer, prompt.ids, adapter, settings, flags.json ? undefined : stream);
    if (flags.json) console.log(JSON.stringify({ ids, text }));
    else process.stdout.write('\n');
  });
}
