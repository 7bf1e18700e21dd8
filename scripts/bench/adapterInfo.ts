// `node --import ./cli/register.mjs scripts/bench/adapterInfo.ts`: one JSON line about the adapter
// Dawn gives us here under the current toggles (WHETSTONE_DAWN_TOGGLES, WHETSTONE_NVIDIA_F16):
// features, subgroup sizes, subgroup-matrix configs, what the matmul can use, and the toggles.
import { acquireNodeDevice } from '../../engine/gpu/nodeGpu.ts';

const { adapter, device, caps, dawnToggles } = await acquireNodeDevice();
const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; subgroupMatrixConfigs?: unknown };
console.log(
  JSON.stringify({
    adapter: caps.adapterName,
    vendor: info.vendor,
    architecture: info.architecture,
    dawn_toggles: dawnToggles ?? null,
    adapter_features: [...adapter.features].sort(),
    device_features: [...device.features].sort(),
    subgroup_sizes: [info.subgroupMinSize ?? null, info.subgroupMaxSize ?? null],
    subgroup_matrix_configs: info.subgroupMatrixConfigs ?? null,
    subgroup_matrix_usable: caps.subgroupMatrix ?? null,
    f16: caps.f16,
    timestamp_query: caps.timestampQuery,
    max_storage_binding: caps.maxStorageBufferBindingSize,
  }),
);
device.destroy();
process.exit(0);
