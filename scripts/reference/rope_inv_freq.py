# Golden RoPE inverse frequencies for engine/ops/rope.test.ts, computed by PyTorch in f32 with the
# formulas of transformers' modeling_rope_utils (_compute_default_rope_parameters,
# _compute_linear_scaling_rope_parameters, _compute_llama3_parameters), copied here so no
# transformers install is needed. Writes engine/ops/rope.golden.json.
# Run: /usr/bin/python3 scripts/reference/rope_inv_freq.py
import json
import math
import torch


def default(base, dim):
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def llama3(inv_freq, factor, low_freq_factor, high_freq_factor, old_context_len):
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


golden = {}


def show(name, t):
    golden[name] = [float(v) for v in t]


show('default theta=1e4 d=64', default(10000.0, 64))
show('default theta=1e6 d=128', default(1000000.0, 128))
show('linear factor=4 theta=1e4 d=64', default(10000.0, 64) / 4.0)
# Llama-3.2-1B: head_dim 64, rope_theta 500000, rope_scaling llama3 factor 32, low 1, high 4, 8192.
show('llama3 theta=5e5 d=64 factor=32', llama3(default(500000.0, 64), 32.0, 1.0, 4.0, 8192))
# Llama-3.1-8B: head_dim 128, rope_theta 500000, factor 8, low 1, high 4, 8192.
show('llama3 theta=5e5 d=128 factor=8', llama3(default(500000.0, 128), 8.0, 1.0, 4.0, 8192))

with open('engine/ops/rope.golden.json', 'w') as out:
    json.dump({'generator': 'scripts/reference/rope_inv_freq.py, torch ' + torch.__version__, 'inv_freq': golden}, out, indent=1)
    out.write('\n')
