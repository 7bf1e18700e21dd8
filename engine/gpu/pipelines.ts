// Compute pipelines cached by (shader, entry point, preamble, override constants) — the tfjs
// `shaderKey` idea without string soup: kernels specialise through WGSL `override` constants and
// a typed preamble (e.g. `alias W = f16;`), never by editing the kernel text.

export interface KernelSource {
  /** Stable name used in cache keys and error messages, e.g. "matmul". */
  name: string;
  /** The WGSL module text (imported with `?raw`). */
  code: string;
}

export interface PipelineSpec {
  source: KernelSource;
  entryPoint: string;
  /** Prepended to the module, e.g. `enable f16;\nalias W = f16;`. Part of the cache key. */
  preamble?: string;
  constants?: Record<string, number>;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  // Launchers that reuse one spec object (e.g. matmul's memoised specs) skip building the key.
  private readonly bySpec = new WeakMap<PipelineSpec, { pipeline: GPUComputePipeline; key: string }>();

  constructor(private readonly device: GPUDevice) {}

  static key(spec: PipelineSpec): string {
    const constants = Object.entries(spec.constants ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return `${spec.source.name}|${spec.entryPoint}|${spec.preamble ?? ''}|${constants}`;
  }

  get(spec: PipelineSpec): GPUComputePipeline {
    return this.entry(spec).pipeline;
  }

  /** The pipeline and its cache key (GpuContext keys its bind-group cache on it). */
  entry(spec: PipelineSpec): { pipeline: GPUComputePipeline; key: string } {
    const known = this.bySpec.get(spec);
    if (known) return known;
    const key = PipelineCache.key(spec);
    let pipeline = this.pipelines.get(key);
    if (pipeline) {
      this.bySpec.set(spec, { pipeline, key });
      return { pipeline, key };
    }
    const moduleKey = `${spec.source.name}|${spec.preamble ?? ''}`;
    let module = this.modules.get(moduleKey);
    if (!module) {
      module = this.device.createShaderModule({ label: spec.source.name, code: (spec.preamble ? spec.preamble + '\n' : '') + spec.source.code });
      this.modules.set(moduleKey, module);
    }
    pipeline = this.device.createComputePipeline({
      label: `${spec.source.name}:${spec.entryPoint}`,
      layout: 'auto',
      compute: { module, entryPoint: spec.entryPoint, constants: spec.constants },
    });
    this.pipelines.set(key, pipeline);
    this.bySpec.set(spec, { pipeline, key });
    return { pipeline, key };
  }

  get size(): number {
    return this.pipelines.size;
  }
}
