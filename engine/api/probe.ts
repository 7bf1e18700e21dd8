// EngineApi.probe: which adapter the engine got and what it can do.
import type { GpuCaps } from '../gpu/device.ts';
import type { DeviceSession } from './deviceSession.ts';
import type { DeviceReport } from './types.ts';

/**
 * A name a person recognises. Browsers often leave `adapter.info.description` empty (privacy),
 * so the device name comes out as just "(vendor)"; then "architecture (vendor)" says more,
 * e.g. "swiftshader (google)" or "ampere (nvidia)".
 */
function displayName(caps: GpuCaps): string {
  const bare = caps.adapterName.trim();
  const onlyVendor = bare === '' || bare === `(${caps.vendor})` || bare === 'unknown adapter';
  if (!onlyVendor || !caps.architecture) return bare || 'unknown adapter';
  return caps.vendor ? `${caps.architecture} (${caps.vendor})` : caps.architecture;
}

export function deviceReport(caps: GpuCaps): DeviceReport {
  return {
    adapterName: displayName(caps),
    vendor: caps.vendor,
    architecture: caps.architecture,
    f16: caps.f16,
    subgroups: caps.subgroups,
    timestampQuery: caps.timestampQuery,
    maxBufferSize: caps.maxBufferSize,
    maxStorageBufferBindingSize: caps.maxStorageBufferBindingSize,
    maxComputeInvocationsPerWorkgroup: caps.maxComputeInvocationsPerWorkgroup,
    isCpu: caps.isCpu,
  };
}

export async function probe(session: DeviceSession): Promise<DeviceReport> {
  const { caps } = await session.acquire();
  return deviceReport(caps);
}
