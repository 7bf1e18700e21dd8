// `npm run bench [-- --json] [--quick] [--m N] [--repeats N] [--f16|--no-f16] [--section name,...]
//                 [--profile] [--compare torch.json]`
// Runs the benchmark sections on the adapter Whetstone would use here (WHETSTONE_ADAPTER picks one)
// and prints the report as indented JSON; with --json the very last stdout line is ONE JSON object a machine can
// compare: { adapter, ..., sections: { <name>: <section results> } }. Progress goes to stderr.
// --profile adds the per-kernel GPU profile (profile.ts); --compare adds vs_torch to the scaling
// section (scripts/bench/torch_peft.py's output). Dawn toggles: WHETSTONE_DAWN_TOGGLES (README).
// To add a section, export an async BenchSection from its own file and list it in SECTIONS.
import { existsSync } from 'node:fs';
import { GpuContext } from '../../engine/gpu/context.ts';
import { acquireNodeDevice } from '../../engine/gpu/nodeGpu.ts';
import { matmulAutotuneEnabled, tunedMatmulTiles } from '../../engine/ops/matmulAutotune.ts';
import { configureMatmulAutotuneFromEnv } from '../../engine/ops/matmulTileCacheNode.ts';
import type { BenchOptions, BenchSection } from './env.ts';
import { benchMatmul } from './matmul.ts';
import { benchModelStep } from './model.ts';
import { benchProfile } from './profile.ts';
import { benchQlora } from './qlora.ts';
import { benchScaling } from './scaling.ts';
import { benchTraining } from './training.ts';

const SECTIONS: Record<string, BenchSection> = {
  matmul: benchMatmul,
  model: benchModelStep,
  training: benchTraining,
  scaling: benchScaling,
  qlora: benchQlora,
  profile: benchProfile,
};
/** Run unless --section names them: everything but the profile (--profile adds it). */
const DEFAULT_SECTIONS = ['matmul', 'model', 'training', 'scaling', 'qlora'];

interface Cli extends BenchOptions {
  json: boolean;
  sections: string[];
}

function parseArgs(argv: string[]): Cli {
  const cli: Cli = { json: false, quick: false, sections: [...DEFAULT_SECTIONS] };
  let profile = false;
  const num = (i: number, flag: string): number => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${flag} needs a positive integer, got ${argv[i]}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') cli.json = true;
    else if (a === '--quick') cli.quick = true;
    else if (a === '--f16') cli.f16 = true;
    else if (a === '--no-f16') cli.f16 = false;
    else if (a === '--m') cli.m = num(++i, a);
    else if (a === '--repeats') cli.repeats = num(++i, a);
    else if (a === '--section') cli.sections = argv[++i].split(',');
    else if (a === '--profile') profile = true;
    else if (a === '--compare') cli.compare = argv[++i];
    else throw new Error(`unknown option ${a} (known: --json --quick --m N --repeats N --f16 --no-f16 --profile --compare FILE --section ${Object.keys(SECTIONS).join(',')})`);
  }
  if (profile && !cli.sections.includes('profile')) cli.sections.push('profile');
  if (cli.compare && !existsSync(cli.compare)) throw new Error(`--compare ${cli.compare}: no such file`);
  for (const s of cli.sections) if (!SECTIONS[s]) throw new Error(`unknown section ${s}`);
  if (process.env.WHETSTONE_BENCH_QUICK === '1') cli.quick = true;
  return cli;
}

async function main(): Promise<void> {
  const cli = parseArgs(process.argv.slice(2));
  const acquired = await acquireNodeDevice();
  configureMatmulAutotuneFromEnv();
  const { device, caps } = acquired;
  device.addEventListener('uncapturederror', (e) => console.error(`[webgpu] uncaptured error: ${(e as GPUUncapturedErrorEvent).error.message}`));
  const ctx = new GpuContext(device, caps);
  const log = (line: string) => console.error(`[bench] ${line}`);
  log(`adapter: ${caps.adapterName}${caps.isCpu ? ' (CPU adapter: numbers mean something only as ratios)' : ''}`);
  const sm = caps.subgroupMatrix;
  const matmulPath = sm
    ? { path: 'subgroup-matrix', use: sm.use, config: sm.config, wgsl_syntax: sm.syntax, extension: sm.extension, subgroup_size: sm.subgroupSize, other_calls: 'tiled' }
    : { path: 'tiled', why: acquired.adapter.features.has('chromium-experimental-subgroup-matrix') ? 'no usable f32-result config or no WGSL spelling compiled' : 'the adapter does not expose chromium-experimental-subgroup-matrix' };
  log(`matmul path: ${JSON.stringify(matmulPath)}`);

  const sections: Record<string, unknown> = {};
  for (const name of cli.sections) {
    const t0 = performance.now();
    sections[name] = { ...(await SECTIONS[name]({ acquired, ctx, options: cli, log })), seconds: (performance.now() - t0) / 1000 };
  }
  const report = {
    bench: 'whetstone',
    date: new Date().toISOString(),
    adapter: caps.adapterName,
    vendor: caps.vendor,
    architecture: caps.architecture,
    is_cpu_adapter: caps.isCpu,
    f16: caps.f16,
    timestamp_query: caps.timestampQuery,
    subgroups: caps.subgroups,
    adapter_features: [...acquired.adapter.features].sort(),
    subgroup_matrix_configs: (acquired.adapter.info as unknown as { subgroupMatrixConfigs?: unknown }).subgroupMatrixConfigs ?? null,
    dawn_toggles: acquired.dawnToggles ?? null,
    matmul_path: matmulPath,
    matmul_autotune: { enabled: matmulAutotuneEnabled(ctx), tiles: tunedMatmulTiles(ctx) },
    quick: cli.quick,
    node: process.version,
    sections,
  };
  if (!cli.json) console.log(JSON.stringify(report, null, 2));
  else console.log(JSON.stringify(report));
  device.destroy();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
