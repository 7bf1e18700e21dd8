// One GPU context for a CLI command, with the adapter named on stderr.
import { GpuContext } from '../engine/gpu/context.ts';
import type { GpuDeviceLost } from '../engine/gpu/errors.ts';
import { acquireNodeDevice } from '../engine/gpu/nodeGpu.ts';
import { configureMatmulAutotuneFromEnv } from '../engine/ops/matmulTileCacheNode.ts';

export async function openGpu(quiet = false): Promise<{ ctx: GpuContext; lost: Promise<GpuDeviceLost> }> {
  const { device, caps, lost } = await acquireNodeDevice();
  configureMatmulAutotuneFromEnv();
  if (!quiet) process.stderr.write(`adapter: ${caps.adapterName}${caps.isCpu ? ' (CPU adapter: slow, for testing)' : ''}; f16 ${caps.f16 ? 'yes' : 'no'}\n`);
  return { ctx: new GpuContext(device, caps), lost };
}
