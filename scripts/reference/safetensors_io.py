"""Minimal safetensors writer/reader (no `safetensors` package needed) and f32 -> bf16 rounding.

Format: u64 little-endian header length N, N bytes of JSON header (padded with spaces to a
multiple of 8), then the raw little-endian tensor bytes. The header maps each name to
{"dtype", "shape", "data_offsets": [begin, end]} relative to the start of the data;
"__metadata__" holds string -> string.
"""
import json
import struct

import numpy as np

DTYPE_SIZE = {"F32": 4, "BF16": 2, "F16": 2, "F64": 8, "U8": 1}


def f32_to_bf16_bits(x):
    """Round float32 values to bfloat16 (round-to-nearest-even); returns uint16 bit patterns."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    assert np.all((u & 0x7F800000) != 0x7F800000), "no inf/nan expected in fixtures"
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def bf16_bits_to_f64(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: (dtype, shape, raw_bytes)}; written in name order."""
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        n = int(np.prod(shape)) if len(shape) else 1
        assert len(raw) == n * DTYPE_SIZE[dtype], name
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def bf16_tensor(x):
    bits = f32_to_bf16_bits(x)
    return ("BF16", list(x.shape), bits.tobytes())


def f32_tensor(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    return ("F32", list(x.shape), x.astype("<f4").tobytes())


def read_safetensors(path):
    """Returns {name: float64 ndarray} (bf16 and f32 widened exactly)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b : base + e]
        shape = info["shape"]
        if info["dtype"] == "BF16":
            arr = bf16_bits_to_f64(np.frombuffer(raw, dtype="<u2"))
        elif info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        else:
            raise ValueError(f"unsupported dtype {info['dtype']}")
        out[name] = arr.reshape(shape)
    return out
