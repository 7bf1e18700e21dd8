// `whetstone device`: which WebGPU adapter the engine would use here, and its limits.
import type { Command } from 'commander';
import { acquireNodeDevice } from '../../engine/gpu/nodeGpu.ts';

export function registerDeviceCommand(program: Command): void {
  program
    .command('device')
    .description('Show the WebGPU adapter Whetstone uses on this machine, its features and limits')
    .option('--json', 'print one JSON line')
    .action(async (opts: { json?: boolean }) => {
      const { caps, device } = await acquireNodeDevice();
      if (opts.json) console.log(JSON.stringify(caps));
      else {
        console.log(`adapter: ${caps.adapterName}${caps.isCpu ? ' (CPU, for testing)' : ''}`);
        console.log(`shader-f16: ${caps.f16 ? 'yes' : 'no'}  subgroups: ${caps.subgroups ? 'yes' : 'no'}  timestamp-query: ${caps.timestampQuery ? 'yes' : 'no'}`);
        console.log(`max buffer: ${caps.maxBufferSize} B  max storage binding: ${caps.maxStorageBufferBindingSize} B  invocations/workgroup: ${caps.maxComputeInvocationsPerWorkgroup}`);
      }
      device.destroy();
    });
}
