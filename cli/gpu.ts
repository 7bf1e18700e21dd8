// One GPU context for a CLI command, with the adapter named on stderr.
import { GpuContext } from '../engine/gpu/context.ts';
import { acquireNodeDevice } from '../engine/gpu/nodeGpu.ts';
import { configureMatmulAutotuneFromEnv } from '../engine/ops/matmulTileCacheNode.ts';

export async function openGpu(quiet = false): Promise<GpuContext> {
  const { device, caps } = await acquireNodeDevice();
  configureMatmulAutotuneFromEnv();
  if (!quiet) process.stderr.write(`adapter: ${caps.adapterName}${caps.isCpu ? ' (CPU adapter: slow, for testing)' : ''}; f16 ${caps.f16 ? 'yes' : 'no'}\n`);
  return new GpuContext(device, caps);
}
