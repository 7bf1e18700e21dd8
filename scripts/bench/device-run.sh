#!/usr/bin/env bash
# Issue 9's GPU measurement in ONE device call: PyTorch + PEFT and Whetstone on the same card.
#
# Here, once (after npm ci):   bash ../shared/device/pack.sh          (fills .device-pack/, git-ignored)
# Device tool call:            run(command="bash scripts/bench/device-run.sh", carry=[".device-pack"], timeout_s=600)
#
# Stages, each under its own time limit so that whatever finished comes back (files under $OUT,
# at most 8): the adapter with the default toggles and with WHETSTONE_NVIDIA_F16=1 (adapter*.json),
# torch_peft.py fp32 + bf16 (torch.json), our bench --profile --compare on the default (f32) path
# (bench.json, bench.log), the kernel tests with vulkan_enable_f16_on_nvidia (tests-f16.log: the
# evidence for making that toggle a default), and the scaling section again with f16 weights
# (+ the subgroup-matrix matmul where the adapter has it) (bench-f16.json). Both JSON reports are
# printed at the end too. DEADLINE (seconds after unpacking, default 500: the call also unpacks
# node_modules first, and a device call may run 600 s) bounds the stages; STAGES picks
# stages (default "info torch bench tests f16bench").
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ "${1:-}" != "--inside" ]; then
  [ -f .device-pack/run.sh ] || { echo "no .device-pack/ here: run 'bash ../shared/device/pack.sh' in the project root first and carry .device-pack" >&2; exit 1; }
  exec bash .device-pack/run.sh bash scripts/bench/device-run.sh --inside
fi

OUT=${OUT:-/tmp/whetstone-device-out}
mkdir -p "$OUT"
DEADLINE=${DEADLINE:-500}
STAGES=${STAGES:-info torch bench tests f16bench}
BENCH=(node --import ./cli/register.mjs scripts/bench/index.ts)
export WHETSTONE_AUTOTUNE_CACHE=0 PYTHONUNBUFFERED=1

# run_stage NAME BUDGET_SECONDS COMMAND...: skipped when not in STAGES or out of time.
run_stage() {
  local name=$1 budget=$2
  shift 2
  case " $STAGES " in *" $name "*) ;; *) return 0 ;; esac
  local left=$((DEADLINE - SECONDS - 5))
  [ "$left" -lt "$budget" ] && budget=$left
  if [ "$budget" -lt 20 ]; then echo "== $name: skipped, ${left}s left" >&2; return 0; fi
  echo "== $name (limit ${budget}s, at ${SECONDS}s)" >&2
  timeout --kill-after=5 "$budget" "$@"
  local rc=$?
  echo "== $name: exit $rc at ${SECONDS}s" >&2
}

# The last line of a file that is one JSON object (the reports' last stdout line).
last_json() { grep '^{' "$1" 2>/dev/null | tail -n 1; }

run_stage info 40 bash -c "node --import ./cli/register.mjs scripts/bench/adapterInfo.ts > '$OUT/adapter.json';
  WHETSTONE_NVIDIA_F16=1 node --import ./cli/register.mjs scripts/bench/adapterInfo.ts > '$OUT/adapter-f16.json'; cat '$OUT/adapter.json' '$OUT/adapter-f16.json'"
run_stage torch 150 bash -c "python3 scripts/bench/torch_peft.py > '$OUT/torch.json'"
COMPARE=()
[ -s "$OUT/torch.json" ] && COMPARE=(--compare "$OUT/torch.json")
run_stage bench 240 bash -c "$(printf '%q ' "${BENCH[@]}") --json --profile --section matmul,scaling ${COMPARE[*]:-} > '$OUT/bench.json' 2> '$OUT/bench.log'"
# The kernel tests check the tiled kernels against f32 tolerances: the subgroup-matrix path (f16
# activations) is off for them and tested by its own file.
VITEST=(node node_modules/vitest/vitest.mjs run)
run_stage tests 100 bash -c "export WHETSTONE_NVIDIA_F16=1; WHETSTONE_SUBGROUP_MATMUL=off $(printf '%q ' "${VITEST[@]}") engine/ops engine/gpu > '$OUT/tests-f16.log' 2>&1;
  $(printf '%q ' "${VITEST[@]}") engine/ops/matmulSubgroup.test.ts >> '$OUT/tests-f16.log' 2>&1; grep -E 'Test Files|Tests |FAIL|subgroup-matrix]' '$OUT/tests-f16.log'"
run_stage f16bench 120 bash -c "WHETSTONE_NVIDIA_F16=1 $(printf '%q ' "${BENCH[@]}") --json --section scaling ${COMPARE[*]:-} > '$OUT/bench-f16.json' 2>> '$OUT/bench.log'"

echo "== torch_peft.py"
last_json "$OUT/torch.json"
echo "== whetstone bench (default f32 path)"
last_json "$OUT/bench.json"
echo "== whetstone bench, WHETSTONE_NVIDIA_F16=1 (f16 weights; subgroup-matrix matmul where usable)"
last_json "$OUT/bench-f16.json"
grep -E '^\[bench\] (profile|  )' "$OUT/bench.log" 2>/dev/null | head -n 60
