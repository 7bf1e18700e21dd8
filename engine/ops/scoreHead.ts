// The reward model's score head: transformers' *ForSequenceClassification (num_labels 1) applies
// score = Linear(hidden, 1, bias=False) to the final normed hidden states and keeps the value at the
// rightmost token that is not the pad token. Forward gathers those rows and dots them with the head;
// backward scatters into dHidden and accumulates the head's gradient. Kernels: wgsl/scoreHead.wgsl.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import code from '../wgsl/scoreHead.wgsl?raw';
import { flatGrid } from './grid.ts';

const SOURCE: KernelSource = { name: 'scoreHead', code };

/**
 * (B) the token each row is scored at: the rightmost position whose id is not padId (transformers:
 * `(arange(T) * (input_ids != pad_token_id)).argmax(-1)`; 0 for a row of padding only). A row that
 * ends in its own pad-valued token (EOS when pad == eos) is scored at the token before it, as there.
 */
export function scorePositions(ids: ArrayLike<number>, B: number, T: number, padId: number): Uint32Array {
  const out = new Uint32Array(B);
  for (let b = 0; b < B; b++) {
    for (let t = T - 1; t >= 0; t--) {
      if (ids[b * T + t] !== padId) {
        out[b] = t;
        break;
      }
    }
  }
  return out;
}

export interface ScoreHeadArgs {
  hidden: Binding; // (B·T, H) f32 final normed hidden states
  weight: Binding; // (H) f32 score.weight
  positions: Binding; // (B) u32 from scorePositions
  B: number;
  T: number;
  H: number;
}

/** rewards (B) f32 = hidden[b·T + positions[b]] · weight. */
export function scoreHeadForward(ctx: GpuContext, a: ScoreHeadArgs & { rewards: Binding }): void {
  const params = new Params().u32({ B: a.B, T: a.T, H: a.H, accumulate: 0, row_stride: 0 });
  ctx.dispatch({ source: SOURCE, entryPoint: 'score_forward' }, [a.hidden, a.weight, a.positions, a.rewards], params, [a.B]);
}

/**
 * dHidden (B·T, H) f32, overwritten: dRewards[b]·weight at each row's scored token, 0 elsewhere;
 * dWeight (H) f32 (+)= sum_b dRewards[b]·hidden[b·T + positions[b]] (accumulate for micro-batches).
 */
export function scoreHeadBackward(ctx: GpuContext, a: ScoreHeadArgs & { dRewards: Binding; dHidden: Binding; dWeight: Binding; accumulate: boolean }): void {
  const grid = flatGrid(ctx, Math.ceil((a.B * a.T * a.H) / 256));
  ctx.dispatch(
    { source: SOURCE, entryPoint: 'score_backward_dhidden' },
    [null, a.weight, a.positions, null, a.dRewards, a.dHidden],
    new Params().u32({ B: a.B, T: a.T, H: a.H, accumulate: 0, row_stride: grid.rowStride }),
    grid.workgroups,
  );
  ctx.dispatch(
    { source: SOURCE, entryPoint: 'score_backward_dweight' },
    [a.hidden, null, a.positions, null, a.dRewards, null, a.dWeight],
    new Params().u32({ B: a.B, T: a.T, H: a.H, accumulate: a.accumulate ? 1 : 0, row_stride: 0 }),
    [Math.ceil(a.H / 64)],
  );
}
