// Does "Train on my labels" work? A measurement on the demo model, the way a class would do it:
// sample two answers per prompt (temperature 1, top-p 0.95, as the Label panel does), label them
// by one consistent rule, train DPO on the labels with the CLI and the classroom recipe
// (app/classroom/labelRecipe.ts), then compare the model's answers before and after.
//
//   node --import ./cli/register.mjs scripts/classroom/measureLabelTraining.ts [--rule animal|colour|short] [--labels 16] [--steps 20] [--lr 5e-3] [--beta 0.1]
//
// Rules: "colour" (or "animal") prefers the answer that names a colour (an animal) when the other
// does not; "short" prefers
// the answer with fewer words. Pairs the rule cannot split are ties (kept out of the DPO file).
// Prints a table and a JSON line: the rule's hit rate over sampled answers and the greedy answers,
// before and after, on the labelled prompts and on held-out prompts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineApi } from '../../engine/api.ts';
import { acquireNodeDevice } from '../../engine/gpu/nodeGpu.ts';
import { LABEL_TRAINING_RECIPE } from '../../app/classroom/labelRecipe.ts';
import { dpoRows, toJsonl, type PairLabel, type PairVerdict } from '../../app/classroom/labels.ts';
import { DEMO_PROMPTS } from '../../app/classroom/prompts.ts';

const { values: args } = parseArgs({
  options: { rule: { type: 'string', default: 'animal' }, labels: { type: 'string', default: '16' }, steps: { type: 'string', default: '20' }, lr: { type: 'string', default: String(LABEL_TRAINING_RECIPE.learning_rate) }, beta: { type: 'string', default: String(LABEL_TRAINING_RECIPE.beta) }, samples: { type: 'string', default: '8' } },
});
const WANTED = Number(args.labels);
const STEPS = Number(args.steps);
const SAMPLES = Number(args.samples);
const root = new URL('../../', import.meta.url).pathname;
const modelDir = join(root, 'public/models/demo');
const SAMPLING = { temperature: 1, topP: 0.95, maxNewTokens: 24 };

const COLOURS = /\b(blue|green|red|yellow|white|black|orange|brown|dark|grey|colou?r)\b/i;
const ANIMALS = /\b(dogs?|cats?|cows?|ducks?|sheep|lions?|birds?|horses?|pigs?|owls?|bees?|frogs?|spiders?|fish|crows?|animals?)\b/i;
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
const RULES: Record<string, { hit: (s: string) => boolean; judge: (a: string, b: string) => PairVerdict; what: string }> = {
  colour: {
    what: 'answers that name a colour',
    hit: (s) => COLOURS.test(s),
    judge: (a, b) => (COLOURS.test(a) === COLOURS.test(b) ? 'tie' : COLOURS.test(a) ? 'a' : 'b'),
  },
  animal: {
    what: 'answers that name an animal',
    hit: (s) => ANIMALS.test(s),
    judge: (a, b) => (ANIMALS.test(a) === ANIMALS.test(b) ? 'tie' : ANIMALS.test(a) ? 'a' : 'b'),
  },
  short: {
    what: 'answers of at most 5 words',
    hit: (s) => words(s) <= 5,
    judge: (a, b) => (words(a) === words(b) ? 'tie' : words(a) < words(b) ? 'a' : 'b'),
  },
};
const rule = RULES[args.rule!];
if (!rule) throw new Error(`--rule must be one of ${Object.keys(RULES).join(', ')}`);

// The first 12 demo prompts are labelled; the other 8 are held out (never labelled).
const TRAIN_PROMPTS = DEMO_PROMPTS.slice(0, 12);
const HELD_OUT = DEMO_PROMPTS.slice(12);

const api = new EngineApi(() => acquireNodeDevice());
const files = readdirSync(modelDir).map((f) => ({ path: f, data: new Uint8Array(readFileSync(join(modelDir, f))).buffer as ArrayBuffer }));
await api.loadModel({ kind: 'files', name: 'demo', files }, () => {});
const answer = (prompt: string, adapter: Record<string, ArrayBuffer> | null, seed: number, temperature = SAMPLING.temperature) =>
  api.generate(prompt, { adapter, maxNewTokens: SAMPLING.maxNewTokens, temperature, topP: SAMPLING.topP, seed }, () => {});

// 1. Label: two samples per prompt, the rule picks one; go round the prompts until enough.
const labels: PairLabel[] = [];
let shown = 0;
for (let round = 0; labels.filter((l) => l.verdict !== 'tie').length < WANTED && round < 20; round++) {
  for (const prompt of TRAIN_PROMPTS) {
    if (labels.filter((l) => l.verdict !== 'tie').length >= WANTED) break;
    const seedA = 1000 + 2 * shown;
    const [a, b] = [await answer(prompt, null, seedA), await answer(prompt, null, seedA + 1)];
    shown++;
    const sampling = { ...SAMPLING, seed: seedA };
    labels.push({ id: `m${shown}`, kind: 'pair', createdAt: shown, prompt, a, b, verdict: a === b ? 'tie' : rule.judge(a, b), model: 'demo', adapterRunId: null, samplingA: sampling, samplingB: { ...sampling, seed: seedA + 1 } });
  }
}
const rows = dpoRows(labels);
const dir = mkdtempSync(join(tmpdir(), 'whetstone-labels-'));
writeFileSync(join(dir, 'labels.jsonl'), toJsonl(rows));
console.log(`labelled ${shown} pairs shown, ${rows.length} preferences (${labels.length - rows.length} ties) -> ${join(dir, 'labels.jsonl')}`);

// 2. Train with the CLI, as `Download labels` + `whetstone train --method dpo` would.
const recipe = { ...LABEL_TRAINING_RECIPE, learning_rate: Number(args.lr), beta: Number(args.beta) };
const flags = Object.entries(recipe).flatMap(([k, v]) => [`--${k}`, String(v)]);
const cli = ['--import', './cli/register.mjs', 'cli/main.ts', 'train', '--model', modelDir, '--data', join(dir, 'labels.jsonl'), '--method', 'dpo', '--output_dir', join(dir, 'out'), '--max_steps', String(STEPS), ...flags];
const t0 = performance.now();
const trained = spawnSync(process.execPath, cli, { cwd: root, encoding: 'utf8' });
const trainSeconds = (performance.now() - t0) / 1000;
if (trained.status !== 0) throw new Error(`whetstone train failed:\n${trained.stderr}`);
const metrics = readFileSync(join(dir, 'out/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const first = metrics[0];
const last = metrics.at(-1)!;
console.log(`whetstone train --method dpo ${STEPS} steps: ${trainSeconds.toFixed(1)} s (process included); loss ${first.loss.toFixed(4)} -> ${last.loss.toFixed(4)}, rewards/accuracies ${last['rewards/accuracies']}, rewards/margins ${last['rewards/margins'].toFixed(3)}`);
const adapter = Object.fromEntries(['adapter_config.json', 'adapter_model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(join(dir, 'out', f))).buffer as ArrayBuffer]));

// 3. Before and after: greedy answers, and the rule's hit rate over sampled answers.
async function measure(prompts: readonly string[], adapterFiles: Record<string, ArrayBuffer> | null) {
  let hits = 0;
  let n = 0;
  const greedy: string[] = [];
  for (const p of prompts) {
    greedy.push(await answer(p, adapterFiles, 0, 0));
    for (let s = 0; s < SAMPLES; s++) {
      hits += rule.hit(await answer(p, adapterFiles, 50_000 + s)) ? 1 : 0;
      n++;
    }
  }
  return { sampledHitRate: hits / n, greedyHitRate: greedy.filter(rule.hit).length / greedy.length, greedy };
}
const result: Record<string, unknown> = { rule: args.rule, preferences: rows.length, pairsShown: shown, steps: STEPS, learning_rate: recipe.learning_rate, beta: recipe.beta, trainSeconds: Number(trainSeconds.toFixed(1)), firstLoss: first.loss, lastLoss: last.loss };
for (const [name, prompts] of [['labelled', TRAIN_PROMPTS], ['heldOut', HELD_OUT]] as const) {
  const before = await measure(prompts, null);
  const after = await measure(prompts, adapter);
  console.log(`\n${name} prompts — ${rule.what}: sampled ${(before.sampledHitRate * 100).toFixed(0)}% -> ${(after.sampledHitRate * 100).toFixed(0)}%, greedy ${(before.greedyHitRate * 100).toFixed(0)}% -> ${(after.greedyHitRate * 100).toFixed(0)}%`);
  prompts.forEach((p, i) => console.log(`  ${JSON.stringify(p)}: ${JSON.stringify(before.greedy[i])} -> ${JSON.stringify(after.greedy[i])}`));
  result[name] = { sampledBefore: before.sampledHitRate, sampledAfter: after.sampledHitRate, greedyBefore: before.greedyHitRate, greedyAfter: after.greedyHitRate };
}
console.log(JSON.stringify(result));
process.exit(0);
