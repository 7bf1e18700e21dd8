"""Cross-checks a folder written by `whetstone export` against PyTorch (float64), outside the test suite.

    /usr/bin/python3 scripts/reference/check_merge.py BASE_DIR ADAPTER_DIR MERGED_DIR

For every tensor: untouched ones must equal the base exactly (or its one cast with --dtype); merged ones must be the nearest
value of the output dtype to W + scale * B @ A computed by torch in float64. torch's own
f64 -> bf16/f16 cast goes through f32 (double rounding), so where it disagrees with the export the
script checks that the export is the nearer one (or ties to even). Also reports how often PEFT's
merge_and_unload on CPU (delta in f32, cast to the weight dtype, then W += delta) differs.
Needs only torch (Debian's python3-torch); safetensors is parsed here.
"""
import json
import math
import os
import struct
import sys

import torch

DT = {'BF16': torch.bfloat16, 'F16': torch.float16, 'F32': torch.float32, 'F64': torch.float64}


def load(path):
    with open(path, 'rb') as f:
        b = f.read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        raw = bytearray(b[8 + n + s:8 + n + e])
        out[k] = torch.frombuffer(raw, dtype=DT[v['dtype']]).reshape(v['shape']) if e > s else torch.zeros(v['shape'], dtype=DT[v['dtype']])
    return out, h.get('__metadata__')


def load_dir(d):
    if os.path.exists(os.path.join(d, 'model.safetensors')):
        return load(os.path.join(d, 'model.safetensors'))
    with open(os.path.join(d, 'model.safetensors.index.json')) as f:
        shards = sorted(set(json.load(f)['weight_map'].values()))
    out, meta = {}, None
    for s in shards:
        t, meta = load(os.path.join(d, s))
        out.update(t)
    return out, meta


def main(base_dir, adapter_dir, merged_dir):
    base, _ = load_dir(base_dir)
    ad, _ = load(os.path.join(adapter_dir, 'adapter_model.safetensors'))
    with open(os.path.join(adapter_dir, 'adapter_config.json')) as f:
        cfg = json.load(f)
    scale = cfg['lora_alpha'] / (math.sqrt(cfg['r']) if cfg.get('use_rslora') else cfg['r'])
    out, meta = load_dir(merged_dir)
    assert meta and meta.get('format') == 'pt', meta
    assert set(out) == set(base), set(out) ^ set(base)
    merged = values = torch_diff = peft_diff = 0
    for k, w in base.items():
        o = out[k]
        key = 'base_model.model.' + k[:-len('.weight')] + '.lora_A.weight'
        if key not in ad:
            assert torch.equal(o.double(), w.to(o.dtype).double()), f'{k} changed'  # exact, or one cast for --dtype
            continue
        merged += 1
        A, B = ad[key].double(), ad[key.replace('lora_A', 'lora_B')].double()
        exact = w.double() + scale * (B @ A)
        ours = o.double()
        theirs = exact.to(o.dtype).double()
        bad = ours != theirs
        # where torch (double rounding) disagrees, ours must be strictly nearer, or a tie with an even last bit
        d_ours, d_theirs = (ours - exact).abs()[bad], (theirs - exact).abs()[bad]
        assert bool((d_ours <= d_theirs).all()), f'{k}: export is not the nearest value'
        torch_diff += int(bad.sum())
        delta = (B.float() @ A.float()) * scale
        peft = (w.to(o.dtype) + delta.to(o.dtype)).double()
        peft_diff += int((peft != ours).sum())
        values += o.numel()
    print(f'{merged_dir}: {merged} merged tensors ({values} values), {len(base) - merged} unchanged; '
          f'{torch_diff} values where torch\'s f64->{o.dtype} cast (via f32) is farther from the exact value; '
          f'{peft_diff} values differ from a PEFT-style CPU merge')


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
