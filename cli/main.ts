// The `whetstone` command: thin subcommands over the engine.
import { Command } from 'commander';
import { registerDataCommand } from './commands/data.ts';
import { registerDeviceCommand } from './commands/device.ts';
import { registerEvalCommand } from './commands/eval.ts';
import { registerExportCommand } from './commands/export.ts';
import { registerGenerateCommand } from './commands/generate.ts';
import { registerQuantizeCommand } from './commands/quantize.ts';
import { registerRecipeCommand } from './commands/recipe.ts';
import { registerScoreCommand } from './commands/score.ts';
import { registerTrainCommand } from './commands/train.ts';
import { runCli } from './run.ts';

const program = new Command('whetstone')
  .description('Fine-tune open language models with LoRA (SFT, DPO, ORPO, SimPO, KTO, reward models) on your own GPU through WebGPU.')
  .version('0.1.0')
  // Handled by cli/bin.js (and removed from the arguments there); listed here for --help.
  .option('--verbose', "also show the GPU library's own warnings on stderr (or set WHETSTONE_VERBOSE=1)");

registerDeviceCommand(program);
registerTrainCommand(program);
registerEvalCommand(program);
registerGenerateCommand(program);
registerScoreCommand(program);
registerDataCommand(program);
registerExportCommand(program);
registerQuantizeCommand(program);
registerRecipeCommand(program);

await runCli(program, process.argv);
