// DPO loss over P pairs on the GPU, with its gradient w.r.t. the policy's summed log-probs, so a
// DPO step needs no readback between forward and backward. See wgsl/dpoLoss.wgsl for the formulas.
import type { Binding, GpuContext } from '../gpu/context.ts';
import { Params } from '../gpu/params.ts';
import type { KernelSource } from '../gpu/pipelines.ts';
import { DPO_LOSS_TYPES, type DpoLossType } from '../recipe/fields.ts';
import code from '../wgsl/dpoLoss.wgsl?raw';

export { DPO_LOSS_TYPES, type DpoLossType };

const SOURCE: KernelSource = { name: 'dpoLoss', code };

export interface DpoLossArgs {
  policy: Binding; // (2P) f32: chosen rows then rejected rows
  reference: Binding; // (2P) f32, same layout, adapter off
  pair: Binding; // (P, 4) f32 out: [loss, rewards/chosen, rewards/rejected, z]
  dPolicy: Binding; // (2P) f32 out: dScale · dL/dpolicy
  P: number;
  beta: number;
  lossType: DpoLossType;
  labelSmoothing: number;
  dScale: number;
}

export function dpoLoss(ctx: GpuContext, a: DpoLossArgs): void {
  const params = new Params().u32({ P: a.P, loss_type: DPO_LOSS_TYPES.indexOf(a.lossType) }).f32({ beta: a.beta, label_smoothing: a.labelSmoothing, d_scale: a.dScale });
  ctx.dispatch({ source: SOURCE, entryPoint: 'dpo_loss_forward' }, [a.policy, a.reference, a.pair, a.dPolicy], params, [Math.ceil(a.P / 64)]);
}
