// One way to get a device from any `GPU` object: `navigator.gpu` in a browser or worker, or the
// object that npm `webgpu` (Dawn) creates in Node (see nodeGpu.ts). We ask for the adapter's own
// limits, not WebGPU's defaults (128 MiB bindings are far too small for LM heads), and enable the
// optional features the kernels can use.
import type { DawnToggles } from './dawnToggles.ts';
import { GpuDeviceLost, WebGpuUnavailable } from './errors.ts';
import { probeSubgroupMatrix, SUBGROUP_MATRIX_FEATURE, type SubgroupMatrixSupport } from './subgroupMatrix.ts';

export interface GpuCaps {
  /** Human-readable adapter name, e.g. "SwiftShader Device (Subzero) (Google)" or "llvmpipe (Mesa)". */
  adapterName: string;
  vendor: string;
  architecture: string;
  /** `shader-f16`: f16 storage/arithmetic in WGSL. Without it every tensor is f32. */
  f16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeWorkgroupsPerDimension: number;
  /** True for software adapters (SwiftShader, lavapipe/llvmpipe): slow, for tests only. */
  isCpu: boolean;
  /** Subgroup-matrix config and WGSL spelling the matmul can use (subgroupMatrix.ts); absent = none. */
  subgroupMatrix?: SubgroupMatrixSupport | null;
}

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  caps: GpuCaps;
  /** Resolves when the device is lost, with a typed error (never rejects). */
  lost: Promise<GpuDeviceLost>;
  /** The Dawn toggles the instance was created with (Node only; dawnToggles.ts). */
  dawnToggles?: DawnToggles;
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Disable f16 even if the adapter has it (to exercise the f32 path). */
  disableF16?: boolean;
}

const LIMITS_TO_REQUEST = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxBindGroups',
  'maxUniformBufferBindingSize',
] as const;

export async function acquireDevice(gpu: GPU | undefined | null, options: AcquireOptions = {}): Promise<AcquiredDevice> {
  if (!gpu) {
    throw new WebGpuUnavailable(
      'this browser has no navigator.gpu',
      'Use a recent Chrome or Edge (113+), or Firefox/Safari with WebGPU enabled, on a machine with a GPU driver.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailable(
      'no GPU adapter was found',
      'Update the GPU driver, or enable WebGPU (chrome://flags/#enable-unsafe-webgpu) and hardware acceleration.',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS_TO_REQUEST) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const wanted: GPUFeatureName[] = [];
  const f16 = adapter.features.has('shader-f16') && !options.disableF16;
  if (f16) wanted.push('shader-f16');
  if (adapter.features.has('subgroups')) wanted.push('subgroups' as GPUFeatureName);
  if (adapter.features.has('timestamp-query')) wanted.push('timestamp-query');
  if (adapter.features.has(SUBGROUP_MATRIX_FEATURE)) wanted.push(SUBGROUP_MATRIX_FEATURE as GPUFeatureName);

  let device: GPUDevice;
  try {
    // An experimental feature must never cost the device: retry without it if it was refused.
    device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits }).catch(() =>
      adapter.requestDevice({ requiredFeatures: wanted.filter((f) => (f as string) !== SUBGROUP_MATRIX_FEATURE), requiredLimits }),
    );
  } catch (e) {
    throw new WebGpuUnavailable(`the adapter refused a device (${(e as Error).message})`, 'Close other GPU-heavy tabs or apps and try again.');
  }
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  // Chrome leaves `description` empty for privacy; fall back to "architecture (vendor)".
  const label = info.description || info.architecture || info.device || '';
  const name = [label, info.vendor && `(${info.vendor})`].filter(Boolean).join(' ') || 'unknown adapter';
  const caps: GpuCaps = {
    adapterName: name,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    f16,
    subgroups: device.features.has('subgroups'),
    timestampQuery: device.features.has('timestamp-query'),
    maxBufferSize: device.limits.maxBufferSize,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    maxStorageBuffersPerShaderStage: device.limits.maxStorageBuffersPerShaderStage,
    maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: device.limits.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    isCpu: /swiftshader|llvmpipe|lavapipe|software/i.test(`${name} ${info.architecture ?? ''} ${info.device ?? ''}`),
    subgroupMatrix: await probeSubgroupMatrix(device, adapter.info, f16),
  };
  const lost = device.lost.then((l) => new GpuDeviceLost(l.reason, l.message));
  return { device, adapter, caps, lost };
}
