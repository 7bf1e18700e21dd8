// Subgroup matrices (`chromium-experimental-subgroup-matrix`: tensor-core / XMX / simdgroup matrix
// ops from WGSL): which adapter config we can use, and which WGSL spelling the runtime accepts.
//
// The spelling changed while the proposal evolved (gpuweb proposals/subgroup-matrix.md):
//   'bool-arg'   subgroupMatrixLoad<T>(p, offset, col_major: bool, stride)              (Dawn 2025)
//   'majorness'  subgroupMatrixLoad<T, row_major>(p, offset, stride)                     (2026 draft)
// and the `enable` name may lose its chromium_experimental_ prefix. At device creation we compile a
// tiny probe shader for each spelling inside a validation error scope, keep the first that
// compiles, and run it once to check its product; the matmul kernel then gets load/store wrappers
// in that spelling from `subgroupMatrixPreamble`, so its own text never changes.
import { MapMode, Usage } from './usage.ts';

/** One entry of adapter.info.subgroupMatrixConfigs (Dawn). M x K times K x N -> M x N. */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

export type SubgroupMatrixSyntax = 'bool-arg' | 'majorness';

/**
 * Which matmuls take the subgroup-matrix path (inputs are rounded to the config's type, f16):
 *   'f16-weights'  forward products x W^T over 16-bit weights (the weights are exact in f16, the
 *                  activations are rounded to it, as PyTorch autocast does); gradients (dY W, LoRA,
 *                  weight gradients) stay f32: per-token gradients of a mean loss are ~1e-6, where
 *                  f16 keeps only a few bits. The default.
 *   'all'          every matmul (speed experiments; small gradients lose precision).
 * Node: WHETSTONE_SUBGROUP_MATMUL=off|f16-weights|all (nodeGpu.ts).
 */
export type SubgroupMatmulUse = 'f16-weights' | 'all';

export interface SubgroupMatrixSupport {
  config: SubgroupMatrixConfig;
  syntax: SubgroupMatrixSyntax;
  /** The `enable` directive's extension name the runtime accepted. */
  extension: string;
  /** adapter.info.subgroupMaxSize: the workgroup of the kernel is one subgroup of this size. */
  subgroupSize: number;
  use: SubgroupMatmulUse;
}

export const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix';
const EXTENSIONS = ['chromium_experimental_subgroup_matrix', 'subgroup_matrix'];
const SYNTAXES: SubgroupMatrixSyntax[] = ['bool-arg', 'majorness'];

/**
 * The config the matmul kernel can use: f16 inputs with f32 results when the device has
 * shader-f16 (preferred), else f32 inputs with f32 results; the largest K among equals.
 */
export function pickSubgroupMatrixConfig(configs: readonly SubgroupMatrixConfig[], f16: boolean): SubgroupMatrixConfig | null {
  const usable = configs.filter((c) => c.resultComponentType === 'f32' && (c.componentType === 'f32' || (f16 && c.componentType === 'f16')));
  usable.sort((a, b) => (a.componentType === b.componentType ? b.K - a.K : a.componentType === 'f16' ? -1 : 1));
  return usable[0] ?? null;
}

/**
 * Declarations for a kernel that stages its operands in workgroup arrays `As` (left, row-major),
 * `Bs` (right, row-major) and stores results to `Cs` (row-major f32), all declared by the kernel:
 *   SMT (input component type), SM_M / SM_N / SM_K, SmLeft / SmRight / SmResult, and
 *   sm_load_left(offset, stride), sm_load_right(offset, stride), sm_store_result(offset, value, stride)
 * with offsets and strides in elements of those arrays. `enableF16` adds `enable f16;` for
 * storage types even when the matrices are f32.
 */
export function subgroupMatrixPreamble(s: Pick<SubgroupMatrixSupport, 'config' | 'syntax' | 'extension'>, enableF16 = false): string {
  const { M, N, K, componentType: t } = s.config;
  const load = (type: string, array: string) =>
    s.syntax === 'bool-arg' ? `subgroupMatrixLoad<${type}>(&${array}, offset, false, stride)` : `subgroupMatrixLoad<${type}, row_major>(&${array}, offset, stride)`;
  const store = s.syntax === 'bool-arg' ? 'subgroupMatrixStore(&Cs, offset, value, false, stride)' : 'subgroupMatrixStore<row_major>(&Cs, offset, value, stride)';
  return [
    t === 'f16' || enableF16 ? 'enable f16;' : '',
    `enable ${s.extension};`,
    `alias SMT = ${t};`,
    `const SM_M = ${M}u;`,
    `const SM_N = ${N}u;`,
    `const SM_K = ${K}u;`,
    `alias SmLeft = subgroup_matrix_left<${t}, ${K}, ${M}>;`,
    `alias SmRight = subgroup_matrix_right<${t}, ${N}, ${K}>;`,
    `alias SmResult = subgroup_matrix_result<f32, ${N}, ${M}>;`,
    `fn sm_load_left(offset: u32, stride: u32) -> SmLeft { return ${load('SmLeft', 'As')}; }`,
    `fn sm_load_right(offset: u32, stride: u32) -> SmRight { return ${load('SmRight', 'Bs')}; }`,
    `fn sm_store_result(offset: u32, value: SmResult, stride: u32) { ${store}; }`,
  ]
    .filter(Boolean)
    .join('\n');
}

// The probe's operands: small integers (exact in f16), different per element, so that a wrong
// layout, stride or operand order in the spelling gives a wrong product, not just a compile.
const probeA = (e: number) => ((e * 7) % 5) - 2; // left, M x K row-major
const probeB = (e: number) => ((e * 3) % 7) - 3; // right, K x N row-major

/** The product the probe must produce, M x N row-major. */
export function probeExpected(c: SubgroupMatrixConfig): Float32Array {
  const out = new Float32Array(c.M * c.N);
  for (let m = 0; m < c.M; m++) for (let n = 0; n < c.N; n++) for (let k = 0; k < c.K; k++) out[m * c.N + n] += probeA(m * c.K + k) * probeB(k * c.N + n);
  return out;
}

/**
 * A one-subgroup multiply-accumulate through workgroup memory, in the given spelling (or with
 * `matrixPreamble` replacing the generated declarations, for tests). Writes the M x N product of
 * the probe operands to `out`.
 */
export function subgroupMatrixProbeShader(s: Pick<SubgroupMatrixSupport, 'config' | 'syntax' | 'extension'>, subgroupSize: number, matrixPreamble?: string): string {
  const { M, N, K } = s.config;
  return `${matrixPreamble ?? subgroupMatrixPreamble(s)}
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
var<workgroup> As: array<SMT, ${M * K}>;
var<workgroup> Bs: array<SMT, ${K * N}>;
var<workgroup> Cs: array<f32, ${M * N}>;
@compute @workgroup_size(${subgroupSize})
fn main(@builtin(local_invocation_index) i: u32) {
  for (var e = i; e < ${M * K}u; e += ${subgroupSize}u) { As[e] = SMT(f32((e * 7u) % 5u) - 2.0); }
  for (var e = i; e < ${K * N}u; e += ${subgroupSize}u) { Bs[e] = SMT(f32((e * 3u) % 7u) - 3.0); }
  workgroupBarrier();
  var c = SmResult();
  c = subgroupMatrixMultiplyAccumulate(sm_load_left(0u, SM_K), sm_load_right(0u, SM_N), c);
  sm_store_result(0u, c, SM_N);
  workgroupBarrier();
  for (var e = i; e < ${M * N}u; e += ${subgroupSize}u) { out[e] = Cs[e]; }
}`;
}

/** Compiles `code` in a validation error scope; the pipeline, or null when the runtime rejects it. */
async function compile(device: GPUDevice, code: string): Promise<GPUComputePipeline | null> {
  device.pushErrorScope('validation');
  let pipeline: GPUComputePipeline | null;
  try {
    const module = device.createShaderModule({ label: 'subgroup-matrix probe', code });
    pipeline = device.createComputePipeline({ label: 'subgroup-matrix probe', layout: 'auto', compute: { module, entryPoint: 'main' } });
  } catch {
    pipeline = null;
  }
  return (await device.popErrorScope()) === null ? pipeline : null;
}

/** Runs a compiled probe once and checks its product exactly (small integers: no rounding). */
export async function probeComputesRight(device: GPUDevice, pipeline: GPUComputePipeline, config: SubgroupMatrixConfig): Promise<boolean> {
  const want = probeExpected(config);
  const bytes = want.length * 4;
  const out = device.createBuffer({ size: bytes, usage: Usage.STORAGE | Usage.COPY_SRC, label: 'subgroup-matrix probe' });
  const staging = device.createBuffer({ size: bytes, usage: Usage.MAP_READ | Usage.COPY_DST, label: 'subgroup-matrix probe readback' });
  try {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MapMode.READ);
    const got = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    return got.every((v, i) => v === want[i]);
  } catch {
    return false;
  } finally {
    out.destroy();
    staging.destroy();
  }
}

/**
 * What the matmul can use on this device, or null (feature not enabled on the device, no f32-result
 * config, no spelling compiles, or the one that compiles computes a wrong product). Cheap: at most
 * four tiny shader compilations and one tiny dispatch, only on adapters that expose the feature.
 */
export async function probeSubgroupMatrix(device: GPUDevice, adapterInfo: GPUAdapterInfo | undefined, f16: boolean): Promise<SubgroupMatrixSupport | null> {
  if (!device.features.has(SUBGROUP_MATRIX_FEATURE)) return null;
  const info = adapterInfo as (GPUAdapterInfo & { subgroupMatrixConfigs?: SubgroupMatrixConfig[]; subgroupMaxSize?: number }) | undefined;
  const config = pickSubgroupMatrixConfig(info?.subgroupMatrixConfigs ?? [], f16);
  const subgroupSize = info?.subgroupMaxSize ?? 0;
  if (!config || !subgroupSize) return null;
  for (const extension of EXTENSIONS) {
    for (const syntax of SYNTAXES) {
      const s = { config, syntax, extension };
      const pipeline = await compile(device, subgroupMatrixProbeShader(s, subgroupSize));
      if (!pipeline) continue;
      // The spelling the runtime accepts; if it computes a wrong product, the tiled matmul stays.
      return (await probeComputesRight(device, pipeline, config)) ? { ...s, subgroupSize, use: 'f16-weights' } : null;
    }
  }
  return null;
}
