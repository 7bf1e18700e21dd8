// Benchmark section "matmul": our matmul against tfjs-backend-webgpu's on the same device, at the
// shapes of a SmolLM2 / Qwen2.5 training step (tokens M x in K x out N, nn.Linear layout y = x W^T):
//   512x576x1536 (gate/up), 512x1536x576 (down), 512x576x49152 (LM head), 512x896x4864 (Qwen MLP).
// On a CPU adapter M is scaled down to 64 (16 with --quick; the result says which M) so a run takes
// a minute or two; --m sets it.
import { upload } from '../../engine/gpu/buffers.ts';
import { matmul, matmulPlan, type MatmulArgs } from '../../engine/ops/matmul.ts';
import { toF16 } from '../../engine/ops/half.ts';
import type { BenchEnv } from './env.ts';
import { tfjsPeer } from './peer.ts';
import { median, PassTimer, recordDispatch, wallTime } from './timing.ts';

const SHAPES: [number, number][] = [
  [576, 1536],
  [1536, 576],
  [576, 49152],
  [896, 4864],
];

function randomF32(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

interface ShapeResult {
  shape: string;
  M: number;
  K: number;
  N: number;
  ours_ms: number;
  peer_ms: number;
  ours_gflops: number;
  peer_gflops: number;
  /** ours GFLOP/s over peer GFLOP/s: above 1 means ours is faster. */
  speed_ratio: number;
  ours_f16_ms?: number;
  ours_f16_gflops?: number;
  f16_speed_ratio?: number;
  max_abs_diff: number;
  /** Largest |value| of the product, to read max_abs_diff against. */
  max_abs_value: number;
  peer_agrees: boolean;
  kernel: string;
}

export async function benchMatmul(env: BenchEnv): Promise<Record<string, unknown>> {
  const { ctx, acquired, options } = env;
  const cpu = ctx.caps.isCpu;
  const M = options.m ?? (cpu ? (options.quick ? 16 : 64) : 512);
  const repeats = options.repeats ?? (cpu ? (options.quick ? 2 : 3) : options.quick ? 5 : 15);
  const withF16 = options.f16 ?? !cpu; // packed 16-bit weights work on every adapter
  const timestamps = ctx.caps.timestampQuery;
  const peer = await tfjsPeer(acquired);
  const { tf } = peer;
  const timer = timestamps ? new PassTimer(ctx.device) : null;
  const results: ShapeResult[] = [];

  for (const [K, N] of SHAPES) {
    const name = `${M}x${K}x${N}`;
    env.log(`matmul ${name}: preparing`);
    const x = randomF32(M * K, 1, 1);
    const w = randomF32(N * K, 2, 1 / Math.sqrt(K));
    const out = ctx.pool.acquire(M * N * 4);
    const args: MatmulArgs = { a: upload(ctx.device, x), b: upload(ctx.device, w), out, M, N, K, transB: true };
    const f16Args: MatmulArgs | null = withF16 ? { ...args, b: upload(ctx.device, toF16(w)), bType: 'f16' } : null;
    const xt = tf.tensor2d(x, [M, K]);
    const wt = tf.tensor2d(w, [N, K]);
    const peerRun = () => tf.matMul(xt, wt, false, true);

    // Warm-up (pipeline compilation, uploads) and the fairness check: both compute x W^T.
    matmul(ctx, args);
    const ours = await ctx.readF32(out, M * N);
    const theirsT = peerRun();
    const theirs = (await theirsT.data()) as Float32Array;
    theirsT.dispose();
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < ours.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
      maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
    }
    if (f16Args) {
      matmul(ctx, f16Args);
      await ctx.sync();
    }

    const timeOurs = async (a: MatmulArgs): Promise<number> => {
      if (timer) {
        const plan = matmulPlan(ctx, a)!;
        return timer.time((pass) => recordDispatch(ctx, pass, plan.spec, plan.buffers, plan.params, plan.workgroups));
      }
      return wallTime(ctx.device, () => matmul(ctx, a), () => ctx.flush());
    };
    const timePeer = async (): Promise<number> => {
      if (timestamps && peer.backend.supportTimestampQuery) {
        const info = await tf.time(() => peerRun().dispose());
        return info.kernelMs as number;
      }
      let r: ReturnType<typeof peerRun> | null = null;
      const ms = await wallTime(ctx.device, () => (r = peerRun()), () => peer.backend.submitQueue());
      r!.dispose();
      return ms;
    };

    const oursMs: number[] = [];
    const peerMs: number[] = [];
    const f16Ms: number[] = [];
    for (let r = 0; r < repeats; r++) {
      env.log(`matmul ${name}: repeat ${r + 1}/${repeats}`);
      oursMs.push(await timeOurs(args));
      peerMs.push(await timePeer());
      if (f16Args) f16Ms.push(await timeOurs(f16Args));
    }
    const flop = 2 * M * N * K;
    const gflops = (ms: number) => flop / ms / 1e6;
    const oursMed = median(oursMs);
    const peerMed = median(peerMs);
    const plan = matmulPlan(ctx, args)!;
    const result: ShapeResult = {
      shape: name,
      M,
      K,
      N,
      ours_ms: oursMed,
      peer_ms: peerMed,
      ours_gflops: gflops(oursMed),
      peer_gflops: gflops(peerMed),
      speed_ratio: peerMed / oursMed,
      max_abs_diff: maxDiff,
      max_abs_value: maxAbs,
      peer_agrees: maxDiff <= 1e-4 * Math.max(1, maxAbs),
      kernel: `${plan.spec.entryPoint} ${JSON.stringify(plan.spec.constants)}`,
    };
    if (f16Args) {
      const f16Med = median(f16Ms);
      Object.assign(result, { ours_f16_ms: f16Med, ours_f16_gflops: gflops(f16Med), f16_speed_ratio: peerMed / f16Med });
    }
    env.log(`matmul ${name}: ours ${oursMed.toFixed(2)} ms (${result.ours_gflops.toFixed(1)} GFLOP/s), tfjs ${peerMed.toFixed(2)} ms, ratio ${result.speed_ratio.toFixed(2)}`);
    results.push(result);
    xt.dispose();
    wt.dispose();
    for (const b of [args.a, args.b, f16Args?.b]) if (b && 'destroy' in b) b.destroy();
    ctx.pool.release(out);
  }
  const ratios = results.map((r) => r.speed_ratio);
  return {
    M,
    repeats,
    timing: timestamps ? 'timestamp-query (GPU time of one pass)' : 'wall time to onSubmittedWorkDone',
    peer: `@tensorflow/tfjs-backend-webgpu ${peer.version}`,
    shapes: results,
    min_speed_ratio: Math.min(...ratios),
    geomean_speed_ratio: Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length),
    peer_agrees: results.every((r) => r.peer_agrees),
  };
}
