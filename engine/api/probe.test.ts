// EngineApi.probe on the real adapter Node finds (lavapipe, or SwiftShader with
// WHETSTONE_ADAPTER=swiftshader), and its failure path as a plain ApiError.
import { afterAll, describe, expect, it } from 'vitest';
import { EngineApi } from '../api.ts';
import { acquireDevice, type GpuCaps } from '../gpu/device.ts';
import { acquireNodeDevice } from '../gpu/nodeGpu.ts';
import { deviceReport } from './probe.ts';

describe('EngineApi.probe', () => {
  const engine = new EngineApi(() => acquireNodeDevice());
  afterAll(() => engine.releaseDevice());

  it('reports the adapter, its f16 support and its real limits', async () => {
    const report = await engine.probe();
    console.log('adapter:', JSON.stringify(report));
    expect(report.adapterName.length).toBeGreaterThan(0);
    expect(typeof report.f16).toBe('boolean');
    if (process.env.WHETSTONE_ADAPTER === 'swiftshader') expect(report.f16).toBe(false);
    // The engine asks for the adapter's own limits, at least WebGPU's defaults.
    expect(report.maxBufferSize).toBeGreaterThanOrEqual(256 * 2 ** 20);
    expect(report.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(report.isCpu).toBe(/swiftshader|llvmpipe|lavapipe/i.test(`${report.adapterName} ${report.architecture}`));
    // It crosses postMessage as is.
    expect(structuredClone(report)).toEqual(report);
  });

  it('reuses one device across calls', async () => {
    const a = await engine.probe();
    const b = await engine.probe();
    expect(b).toEqual(a);
  });

  it('rejects with a plain WebGpuUnavailable object when there is no WebGPU', async () => {
    const none = new EngineApi(() => acquireDevice(undefined));
    const thrown = await none.probe().catch((e: unknown) => e);
    expect(thrown).not.toBeInstanceOf(Error);
    expect(thrown).toMatchObject({ name: 'WebGpuUnavailable', message: 'WebGPU is not available: this browser has no navigator.gpu' });
    expect((thrown as { hint: string }).hint).toContain('Chrome');
  });
});

describe('deviceReport names the adapter', () => {
  const base: GpuCaps = {
    adapterName: '',
    vendor: '',
    architecture: '',
    f16: false,
    subgroups: true,
    timestampQuery: true,
    maxBufferSize: 2 ** 30,
    maxStorageBufferBindingSize: 2 ** 30,
    maxStorageBuffersPerShaderStage: 8,
    maxComputeInvocationsPerWorkgroup: 256,
    maxComputeWorkgroupSizeX: 256,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeWorkgroupsPerDimension: 65535,
    isCpu: true,
  };

  it('keeps a described name', () => {
    expect(deviceReport({ ...base, adapterName: 'SwiftShader Device (Subzero) (Google)', vendor: 'google' }).adapterName).toBe('SwiftShader Device (Subzero) (Google)');
  });

  it('uses architecture and vendor when the browser hides the description', () => {
    expect(deviceReport({ ...base, adapterName: '(google)', vendor: 'google', architecture: 'swiftshader' }).adapterName).toBe('swiftshader (google)');
    expect(deviceReport({ ...base, adapterName: 'unknown adapter', architecture: 'ampere' }).adapterName).toBe('ampere');
  });
});
