"""Reference for bitsandbytes NF4 quantization (QLoRA's 4-bit base) and its goldens.

bitsandbytes cannot be installed here, so this re-implements, in torch float32, the steps its CUDA
path takes for `quantize_4bit(W, blocksize=64, quant_type="nf4", compress_statistics=dq)` and
`dequantize_4bit` (bitsandbytes/functional.py, csrc/kernels.cu), independently of the TypeScript:

  blocks of 64 over the flattened weight (last block short, padded with zeros)
  absmax = max |x| (f32), inv = 1 / absmax (f32), scaled = x * inv (f32)
  code = dQuantizeNF4(scaled) = number of the 15 f32 midpoints strictly below scaled (NaN -> 0)
  packed = code[2i] << 4 | code[2i + 1]     ((n + 1) // 2 bytes)
  double quant: offset = mean(absmax) (float64 mean rounded to f32), absmax - offset (f32) in
  blocks of 256 with the signed dynamic map (create_dynamic_map, built with torch.linspace as
  bitsandbytes does) and dQuantize's binary search; absmax' = f32(f32(map[q] * absmax2) + offset)
  weight = (NF4[code] * absmax).to(dtype)

    /usr/bin/python3 scripts/reference/nf4_reference.py

Writes engine/quant/fixtures/nf4_golden.json (codes, absmax, nested values and dequantized
weights of a few odd-sized tensors, the dynamic map, and the eval losses of the tiny models with
every decoder linear quantized) and engine/quant/fixtures/tiny-llama-bnb-nf4/ (tiny-llama saved in
the transformers + bitsandbytes 4-bit layout, as save_pretrained writes it).
"""
import json
import math
import os
import shutil
import struct
import sys
from fractions import Fraction

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import Model  # noqa: E402
from make_tiny_models import FIXTURES  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "engine", "quant", "fixtures")
F32 = torch.float32

NF4 = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
       -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
       0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
       0.7229568362236023, 1.0]
# csrc/kernels.cu dQuantizeNF4, as C++ float literals (decimal -> nearest f32).
THRESHOLDS = ["-0.8480964004993439", "-0.6106329262256622", "-0.4599952697753906", "-0.33967943489551544",
              "-0.23460740596055984", "-0.13791173323988914", "-0.045525018125772476", "0.03979014977812767",
              "0.1202552504837513", "0.2035212516784668", "0.2920137718319893", "0.3893125355243683",
              "0.5016634166240692", "0.6427869200706482", "0.8614784181118011"]


def nearest_f32_exact(decimal):
    """The f32 nearest to a decimal string, computed with exact rationals (what a C++ `f` literal is)."""
    q = Fraction(decimal)
    lo = np.float32(float(q))
    cands = [np.nextafter(lo, np.float32(-np.inf)), lo, np.nextafter(lo, np.float32(np.inf))]
    return min(cands, key=lambda c: (abs(Fraction(float(c)) - q), int(np.float32(c).view(np.uint32)) & 1))


# Most of these decimals are 17-digit prints of a midpoint that lies exactly halfway between two
# f32 values, so decimal -> double -> f32 (ties to even) can pick the other neighbour than the
# compiler's decimal -> f32: use the exact rounding, as nvcc does for the literal.
THR = torch.tensor([float(nearest_f32_exact(t)) for t in THRESHOLDS], dtype=F32)
NF4_T = torch.tensor(NF4, dtype=F32)
for i in range(15):  # the thresholds are the midpoints of adjacent NF4 values (to f32 precision)
    assert abs(float(THR[i]) - (NF4[i] + NF4[i + 1]) / 2) < 1e-7


# ----- NF4 ------------------------------------------------------------------------------------

def quantize_nf4(x):
    """x: 1-D f32 tensor (n). Returns (packed uint8 ndarray ((n+1)//2), absmax f32 tensor (blocks))."""
    n = x.numel()
    blocks = -(-n // 64)
    padded = torch.zeros(blocks * 64, dtype=F32)
    padded[:n] = x
    xb = padded.view(blocks, 64)
    absmax = xb.abs().max(dim=1).values
    inv = torch.ones((), dtype=F32) / absmax                       # f32 division; 1/0 = inf
    with np.errstate(all="ignore"):
        scaled = xb * inv[:, None]                                 # 0 * inf = nan for an all-zero block
    codes = (scaled[..., None] > THR).sum(-1).reshape(-1)          # nan compares false -> code 0
    codes = codes[: 2 * ((n + 1) // 2)].to(torch.int64)            # keep the padding nibble of an odd n
    packed = (codes[0::2] << 4) | codes[1::2]
    return packed.to(torch.uint8).numpy(), absmax


def unpack(packed, n):
    p = torch.from_numpy(packed.astype(np.int64))
    codes = torch.stack([p >> 4, p & 15], dim=1).reshape(-1)
    return codes[:n]


def dequantize_nf4(packed, absmax, n, dtype):
    codes = unpack(packed, n)
    block = torch.arange(n) // 64
    vals = NF4_T[codes] * absmax[block]                             # f32 product
    return vals.to(dtype)


# ----- dynamic map and 8-bit blockwise quantization -----------------------------------------------

def create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8):
    """bitsandbytes/functional.py create_dynamic_map, as written there (torch.linspace in f32 on the CPU)."""
    data = []
    non_sign_bits = total_bits - 1
    additional_items = 2 ** (non_sign_bits - max_exponent_bits) - 1
    for i in range(max_exponent_bits):
        fraction_items = int(2 ** (i + non_sign_bits - max_exponent_bits) + 1 if signed
                             else 2 ** (i + non_sign_bits - max_exponent_bits + 1) + 1)
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    if additional_items > 0:
        boundaries = torch.linspace(0.1, 1, additional_items + 1, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
        if signed:
            data += (-(10 ** (-(max_exponent_bits - 1) + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    assert len(data) == 2 ** total_bits
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


def d_quantize(code, x):
    """csrc/kernels.cu dQuantize<0>: binary search from pivot 127, then the nearer neighbour (f32)."""
    f = np.float32
    pivot, upper_pivot, lower_pivot = 127, 255, 0
    lower, upper = f(-1.0), f(1.0)
    val = code[pivot]
    i = 64
    while i > 0:
        if x > val:
            lower_pivot, lower, pivot = pivot, val, pivot + i
        else:
            upper_pivot, upper, pivot = pivot, val, pivot - i
        val = code[pivot]
        i >>= 1
    if upper_pivot == 255:
        upper = code[upper_pivot]
    if lower_pivot == 0:
        lower = code[lower_pivot]
    if x > val:
        return upper_pivot if x > f(f(upper + val) * f(0.5)) else pivot
    return lower_pivot if x < f(f(lower + val) * f(0.5)) else pivot


def quantize_blockwise8(x, code, blocksize=256):
    """x: f32 ndarray. Returns (uint8 codes, f32 absmax per block)."""
    code = code.numpy().astype(np.float32)
    n = len(x)
    codes = np.zeros(n, dtype=np.uint8)
    absmax = np.zeros(-(-n // blocksize), dtype=np.float32)
    with np.errstate(all="ignore"):
        for b in range(len(absmax)):
            seg = x[b * blocksize:(b + 1) * blocksize]
            m = np.float32(np.max(np.abs(seg)))
            absmax[b] = m
            inv = np.float32(1.0) / m
            for j, v in enumerate(seg):
                codes[b * blocksize + j] = d_quantize(code, np.float32(v * inv))
    return codes, absmax


def double_quantize(absmax, code):
    offset = np.float32(absmax.double().mean().item())
    centered = (absmax - torch.tensor(offset, dtype=F32)).numpy()   # f32 subtraction
    codes, absmax2 = quantize_blockwise8(centered, code)
    return offset, codes, absmax2


def dequantize_nested(offset, codes, absmax2, code):
    block = np.arange(len(codes)) // 256
    vals = code.numpy()[codes] * absmax2[block]                      # f32 product
    return torch.from_numpy((vals + np.float32(offset)).astype(np.float32))  # f32 sum, second rounding


# ----- inputs -----------------------------------------------------------------------------------

def synth(n, seed, scale_exp):
    """Deterministic test values shared with the TypeScript tests (engine/quant/testing.ts):
    an LCG (x = x * 1664525 + 1013904223 mod 2^32), u = (x >> 8) / 2^24, and
    v = (u - 0.5) * (1 + (i * 7 mod 13) / 16) * 2^-((i // 64) mod 5) * 2^scale_exp, rounded to f32."""
    out = np.zeros(n, dtype=np.float32)
    s = seed & 0xFFFFFFFF
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        u = (s >> 8) / 2 ** 24
        out[i] = np.float32((u - 0.5) * (1 + (i * 7 % 13) / 16) * 2.0 ** (-((i // 64) % 5)) * 2.0 ** scale_exp)
    return torch.from_numpy(out)


def tie_tensor():
    """F32 values that hit the quantizer's edge cases: scaled values exactly on each NF4 midpoint
    (block absmax 1, so inv = 1 and scaled = x), an all-zero block (NaN path, code 0), and a block
    whose absmax is a power of two."""
    vals = np.zeros(3 * 64 + 10, dtype=np.float32)
    vals[0] = 1.0
    vals[1:16] = THR.numpy()
    vals[16:31] = np.nextafter(THR.numpy(), np.float32(np.inf))
    vals[31:46] = np.nextafter(THR.numpy(), np.float32(-np.inf))
    # block 1 (64..127) all zero
    vals[128:192] = np.linspace(-0.5, 0.5, 64, dtype=np.float32) * np.float32(0.25)
    vals[192:] = np.float32(3.0) * np.arange(1, 11, dtype=np.float32) / np.float32(10.0)
    return torch.from_numpy(vals)


TORCH_DTYPE = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
BITS_DTYPE = {"BF16": np.uint16, "F16": np.uint16, "F32": np.uint32}


def to_dtype_values(x, dtype):
    """The weight as stored in a checkpoint of `dtype`, widened back to f32."""
    return x.to(TORCH_DTYPE[dtype]).to(F32)


def hex_of(t, dtype):
    """Little-endian bit patterns of a bf16/f16/f32 tensor, as hex."""
    bits = t.contiguous().view(torch.int16 if dtype != "F32" else torch.int32).numpy().view(BITS_DTYPE[dtype])
    return bits.astype("<u2" if dtype != "F32" else "<u4").tobytes().hex()


def floats(t):
    return [float(v) for v in (t.tolist() if isinstance(t, torch.Tensor) else t)]


def golden_tensor(name, shape, dtype, x, code, source):
    n = int(np.prod(shape))
    assert x.numel() == n
    packed, absmax = quantize_nf4(x)
    offset, qcodes, absmax2 = double_quantize(absmax, code)
    absmax_nested = dequantize_nested(offset, qcodes, absmax2, code)
    deq = dequantize_nf4(packed, absmax_nested, n, TORCH_DTYPE[dtype])
    deq_plain = dequantize_nf4(packed, absmax, n, TORCH_DTYPE[dtype])
    return {
        "name": name, "shape": list(shape), "dtype": dtype, "input": source,
        "packed_hex": packed.tobytes().hex(),
        "absmax": floats(absmax),
        "nested": {"offset": float(offset), "codes_hex": qcodes.tobytes().hex(), "absmax2": floats(absmax2),
                   "absmax_dequantized": floats(absmax_nested)},
        "dequantized_hex": hex_of(deq, dtype),
        # (kept short: the per-element formula is the same with or without double quantization)
        "dequantized_no_double_quant_hex": hex_of(deq_plain, dtype) if n <= 4096 else None,
    }


# ----- whole tiny models --------------------------------------------------------------------------

LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def quantized_model_weights(folder, code, double_quant):
    """{name: (packed, absmax, nested)} for every decoder linear weight, and the float64 state dict with
    those weights replaced by their dequantized bf16 values."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["torch_dtype"] == "bfloat16"
    w = {k: torch.tensor(v) for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    quant = {}
    for i in range(cfg["num_hidden_layers"]):
        for lin in LINEARS:
            name = f"model.layers.{i}.{lin}.weight"
            x = w[name].to(F32).reshape(-1)                         # exact: bf16 values
            packed, absmax = quantize_nf4(x)
            nested = double_quantize(absmax, code) if double_quant else None
            scales = dequantize_nested(*nested, code) if nested else absmax
            deq = dequantize_nf4(packed, scales, x.numel(), torch.bfloat16)
            quant[name] = (packed, absmax, nested, list(w[name].shape))
            w[name] = deq.to(torch.float64).reshape(w[name].shape)
    return cfg, w, quant


def losses(name, code, rows):
    folder = os.path.join(FIXTURES, name)
    out = {}
    for dq in (True, False):
        _, w, _ = quantized_model_weights(folder, code, dq)
        base = Model(folder)
        base.w = w
        lora = Model(folder, os.path.join(FIXTURES, name + "-lora"))
        lora.w = w
        with torch.no_grad():
            lb, count = base.sft_loss(rows)
            ll, _ = lora.sft_loss(rows)
        out["double_quant" if dq else "no_double_quant"] = {"base": float(lb), "lora": float(ll), "num_loss_tokens": count}
    return out


def write_bnb_checkpoint(src_name, dst, code):
    """The model as transformers + bitsandbytes save it after from_pretrained(load_in_4bit=True,
    bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True): each decoder linear's `weight` is the
    packed uint8 [(n+1)//2, 1] with weight.absmax (uint8 codes), weight.quant_map (16 f32),
    weight.nested_absmax, weight.nested_quant_map and weight.quant_state.bitsandbytes__nf4 (the JSON
    of the non-tensor fields as uint8); everything else is copied in its dtype."""
    folder = os.path.join(FIXTURES, src_name)
    cfg, _, quant = quantized_model_weights(folder, code, True)
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        data = f.read()
    (hn,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hn])
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or name in quant:
            continue
        b, e = info["data_offsets"]
        tensors[name] = (info["dtype"], info["shape"], data[8 + hn + b:8 + hn + e])
    for name, (packed, _absmax, nested, shape) in quant.items():
        offset, qcodes, absmax2 = nested
        tensors[name] = ("U8", [len(packed), 1], packed.tobytes())
        tensors[name + ".absmax"] = ("U8", [len(qcodes)], qcodes.tobytes())
        tensors[name + ".quant_map"] = ("F32", [16], NF4_T.numpy().astype("<f4").tobytes())
        tensors[name + ".nested_absmax"] = ("F32", [len(absmax2)], absmax2.astype("<f4").tobytes())
        tensors[name + ".nested_quant_map"] = ("F32", [256], code.numpy().astype("<f4").tobytes())
        state = {"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": shape,
                 "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": float(offset)}
        js = json.dumps(state).encode("utf-8")
        tensors[name + ".quant_state.bitsandbytes__nf4"] = ("U8", [len(js)], js)
    os.makedirs(dst, exist_ok=True)
    write_safetensors(os.path.join(dst, "model.safetensors"), tensors, {"format": "pt"})
    cfg = dict(cfg)
    cfg["quantization_config"] = {
        "_load_in_4bit": True, "_load_in_8bit": False, "bnb_4bit_compute_dtype": "bfloat16",
        "bnb_4bit_quant_storage": "uint8", "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True,
        "llm_int8_enable_fp32_cpu_offload": False, "llm_int8_has_fp16_weight": False,
        "llm_int8_skip_modules": None, "llm_int8_threshold": 6.0, "load_in_4bit": True, "load_in_8bit": False,
        "quant_method": "bitsandbytes"}
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    for fname in ("generation_config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(folder, fname), os.path.join(dst, fname))


def main():
    torch.set_default_dtype(torch.float64)  # llama_reference's forward runs in float64
    code = create_dynamic_map()
    cases = [
        ("rows_3x50_bf16", (3, 50), "BF16", {"synth": [1, 0]}),      # 150: not a multiple of 64
        ("rows_7x37_f16", (7, 37), "F16", {"synth": [2, -3]}),       # 259: odd, padding nibble
        ("rows_130x131_bf16", (130, 131), "BF16", {"synth": [3, -5]}),  # 17030: 267 blocks, 2 nested blocks (256 + 11)
        ("rows_1x10_bf16", (1, 10), "BF16", {"synth": [4, 0]}),      # one block: nested absmax2 = 0 (NaN path)
    ]
    tensors = []
    for name, shape, dtype, src in cases:
        seed, e = src["synth"]
        x = to_dtype_values(synth(int(np.prod(shape)), seed, e), dtype)
        tensors.append(golden_tensor(name, shape, dtype, x, code, src))
    tie = tie_tensor()
    tensors.append(golden_tensor("ties_202_f32", (202,), "F32", tie, code, {"f32_hex": tie.numpy().astype("<f4").tobytes().hex()}))

    with open(os.path.join(FIXTURES, "goldens", "tiny-llama.json")) as f:
        rows = [(r["ids"], r["train_mask"]) for r in json.load(f)["rows"]]
    golden = {
        "about": "scripts/reference/nf4_reference.py: bitsandbytes NF4 (blocksize 64) and double quantization (256, dynamic map)",
        "dynamic_map": floats(code),
        "nf4_thresholds_f32": floats(THR),
        "tensors": tensors,
        "eval_loss": {name: losses(name, code, rows) for name in ("tiny-llama", "tiny-qwen2")},
        "eval_rows": "engine/model/fixtures/goldens/tiny-llama.json rows (sft_eval.jsonl)",
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "nf4_golden.json"), "w") as f:
        json.dump(golden, f)
        f.write("\n")
    write_bnb_checkpoint("tiny-llama", os.path.join(OUT, "tiny-llama-bnb-nf4"), code)
    for name, v in golden["eval_loss"].items():
        print(name, json.dumps(v))
    for t in tensors:
        print(t["name"], "blocks", len(t["absmax"]), "nested offset", t["nested"]["offset"])


if __name__ == "__main__":
    main()
