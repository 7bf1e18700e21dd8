// Test-only: the four subgroup-matrix builtins emulated in plain WGSL, honouring the contract of
// engine/gpu/subgroupMatrix.ts's preamble (SMT, SM_M/N/K, SmLeft/SmRight/SmResult, sm_load_left,
// sm_load_right, sm_store_result over the workgroup arrays As, Bs, Cs), so kernels written against
// that preamble run on adapters without the feature. Each invocation computes whole (small)
// matrices; the store writes the same values from every invocation, as a subgroup-wide store would.
import type { SubgroupMatrixConfig } from '../gpu/subgroupMatrix.ts';

/** `transposeStore` plants a layout bug (for checking that a probe catches one). */
export function emulationPreamble(c: SubgroupMatrixConfig, f16Storage: boolean, opts: { opaque?: string; transposeStore?: boolean } = {}): string {
  const t = c.componentType;
  return `${t === 'f16' || f16Storage ? 'enable f16;' : ''}
alias SMT = ${t};
const SM_M = ${c.M}u;
const SM_N = ${c.N}u;
const SM_K = ${c.K}u;
// Loop bounds the compiler cannot see through (by default p.M, never 0xffffffff): without them
// LLVM unrolls every emulated product and compiling takes tens of seconds on a CPU adapter.
fn opaque(n: u32) -> u32 { return ${opts.opaque ?? 'select(n, 0u, p.M == 0xffffffffu)'}; }
alias SmLeft = array<SMT, ${c.M * c.K}>;     // M rows x K columns, row-major
alias SmRight = array<SMT, ${c.K * c.N}>;    // K rows x N columns
alias SmResult = array<f32, ${c.M * c.N}>;   // M rows x N columns
fn sm_load_left(offset: u32, stride: u32) -> SmLeft {
  var r: SmLeft;
  for (var i = 0u; i < opaque(SM_M); i++) { for (var k = 0u; k < opaque(SM_K); k++) { r[i * SM_K + k] = As[offset + i * stride + k]; } }
  return r;
}
fn sm_load_right(offset: u32, stride: u32) -> SmRight {
  var r: SmRight;
  for (var k = 0u; k < opaque(SM_K); k++) { for (var j = 0u; j < opaque(SM_N); j++) { r[k * SM_N + j] = Bs[offset + k * stride + j]; } }
  return r;
}
fn sm_store_result(offset: u32, value: SmResult, stride: u32) {
  // Every invocation writes the same values: the subgroup-wide store, emulated.
  for (var i = 0u; i < opaque(SM_M); i++) { for (var j = 0u; j < opaque(SM_N); j++) { Cs[offset + ${opts.transposeStore ? 'j * stride + i' : 'i * stride + j'}] = value[i * SM_N + j]; } }
}
fn subgroupMatrixMultiplyAccumulate(a: SmLeft, b: SmRight, c: SmResult) -> SmResult {
  var r = c;
  for (var i = 0u; i < opaque(SM_M); i++) {
    for (var j = 0u; j < opaque(SM_N); j++) {
      var s = r[i * SM_N + j];
      for (var k = 0u; k < opaque(SM_K); k++) { s += f32(a[i * SM_K + k]) * f32(b[k * SM_N + j]); }
      r[i * SM_N + j] = s;
    }
  }
  return r;
}`;
}

