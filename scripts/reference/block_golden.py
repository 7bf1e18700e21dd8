#!/usr/bin/python3
"""Golden file for one Llama decoder block, computed by PyTorch in float64.

Writes engine/model/fixtures/block_golden.json: random weights and inputs (rounded to float32 so
the GPU sees exactly the same numbers), the block output, and the gradients of
L = sum(y * w_out) with respect to the input and every weight (q/k/v/o/gate/up/down, both norms).

The block follows Hugging Face's LlamaDecoderLayer: RMSNorm, q/k/v projections, rotate-half RoPE
(inv_freq = theta^(-2i/d), frequencies duplicated across the two halves), grouped-query causal
attention, o_proj, residual, RMSNorm, SwiGLU MLP, residual.

Run with Debian's PyTorch:  apt-get install -y python3-torch && /usr/bin/python3 scripts/reference/block_golden.py
"""
import json
import os

import torch

torch.manual_seed(1234)
DT = torch.float64

B, T = 2, 7
H, NH, NKV, HD, I = 48, 6, 2, 8, 88
EPS, THETA = 1e-5, 10000.0


def f32(t):
    """Round to float32 and back: both sides then compute on identical inputs."""
    return t.to(torch.float32).to(DT)


def rand(*shape, scale=1.0):
    return f32((torch.rand(*shape, dtype=DT) * 2 - 1) * scale).requires_grad_(True)


W = {
    "input_layernorm": f32(1 + 0.1 * torch.randn(H, dtype=DT)).requires_grad_(True),
    "post_attention_layernorm": f32(1 + 0.1 * torch.randn(H, dtype=DT)).requires_grad_(True),
    "q_proj": rand(NH * HD, H, scale=H ** -0.5),
    "k_proj": rand(NKV * HD, H, scale=H ** -0.5),
    "v_proj": rand(NKV * HD, H, scale=H ** -0.5),
    "o_proj": rand(H, NH * HD, scale=(NH * HD) ** -0.5),
    "gate_proj": rand(I, H, scale=H ** -0.5),
    "up_proj": rand(I, H, scale=H ** -0.5),
    "down_proj": rand(H, I, scale=I ** -0.5),
}
x = rand(B, T, H)
w_out = f32(torch.randn(B, T, H, dtype=DT))


def rmsnorm(v, w):
    return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + EPS) * w


def rotate_half(v):
    a, b = v[..., : HD // 2], v[..., HD // 2:]
    return torch.cat((-b, a), dim=-1)


inv_freq = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.int64).to(DT) / HD))
inv_freq = f32(inv_freq)  # the GPU receives f32 frequencies
pos = torch.arange(T, dtype=DT)
freqs = torch.outer(pos, inv_freq)
emb = torch.cat((freqs, freqs), dim=-1)
cos, sin = emb.cos()[None, :, None, :], emb.sin()[None, :, None, :]


def block(x):
    n1 = rmsnorm(x, W["input_layernorm"])
    q = (n1 @ W["q_proj"].T).view(B, T, NH, HD)
    k = (n1 @ W["k_proj"].T).view(B, T, NKV, HD)
    v = (n1 @ W["v_proj"].T).view(B, T, NKV, HD)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    rep = NH // NKV
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / HD ** 0.5
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    p = scores.softmax(-1)
    a = torch.einsum("bhqk,bkhd->bqhd", p, v).reshape(B, T, NH * HD)
    x_mid = x + a @ W["o_proj"].T
    n2 = rmsnorm(x_mid, W["post_attention_layernorm"])
    h = torch.nn.functional.silu(n2 @ W["gate_proj"].T) * (n2 @ W["up_proj"].T)
    return x_mid + h @ W["down_proj"].T


y = block(x)
loss = (y * w_out).sum()
loss.backward()


def flat(t):
    return [float(v) for v in t.detach().reshape(-1)]


out = {
    "config": {"B": B, "T": T, "hidden": H, "heads": NH, "kv_heads": NKV, "head_dim": HD, "intermediate": I, "eps": EPS, "rope_theta": THETA},
    "inv_freq": flat(inv_freq),
    "x": flat(x),
    "w_out": flat(w_out),
    "weights": {k: flat(v) for k, v in W.items()},
    "y": flat(y),
    "loss": float(loss),
    "grad_x": flat(x.grad),
    "grad_weights": {k: flat(v.grad) for k, v in W.items()},
    "torch_version": torch.__version__,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "engine", "model", "fixtures", "block_golden.json")
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {os.path.normpath(path)}: loss={float(loss):.6f}")
