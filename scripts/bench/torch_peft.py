#!/usr/bin/env python3
"""The PyTorch + PEFT side of the speed comparison (issue 9): the same recipe as
`npm run bench` (scripts/bench/scaling.ts) on the same GPU, printed as ONE JSON line on stdout.

Recipe: a randomly initialised LlamaForCausalLM with SmolLM2-135M's config (30 layers, hidden 576,
9 heads / 3 KV heads, intermediate 1536, vocab 49152, tied embeddings), LoRA r=8 lora_alpha=16
dropout 0 on q/k/v/o/gate/up/down (PEFT's init: A Kaiming-uniform, B zero), AdamW (lr 2e-4,
weight decay 0, as Whetstone's recipe default), gradient clipping at 1.0 (max_grad_norm), causal-LM
(SFT) loss over every token, at 1x256, 4x256, 8x512 and 16x512 tokens per step (batch x seq).
Precisions:
  fp32  everything fp32, TF32 off (torch.backends.*.allow_tf32 = False, matmul precision "highest")
  bf16  base weights bf16, LoRA weights fp32 (PEFT's autocast_adapter_dtype), torch.autocast bf16
        (what TRL's SFTTrainer does with torch_dtype=bfloat16, bf16=True)
Each size: `--warmup` untimed steps, then `--steps` steps each timed between torch.cuda.synchronize()
calls; the median is reported.

  python3 scripts/bench/torch_peft.py                       # on the GPU machine (torch, transformers, peft)
  python3 scripts/bench/torch_peft.py --device cpu --quick  # smoke test: 2 layers, tiny sizes
  python3 scripts/bench/torch_peft.py --impl manual ...     # no transformers/peft: hand-written Llama + LoRA

`--impl manual` is the same architecture and LoRA math written in plain PyTorch (for machines without
transformers/peft, e.g. Debian's python3-torch 1.13); its JSON says impl "manual" and it is not the
PEFT baseline the issue asks for. With `--impl hf` and transformers/peft missing the script stops with
exit status 2 and a message: it never reports numbers it did not measure.
"""
import argparse
import contextlib
import datetime
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    print("torch_peft.py: PyTorch is not installed (pip install torch)", file=sys.stderr)
    sys.exit(2)

SMOLLM2_135M = dict(
    vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
    num_key_value_heads=3, rms_norm_eps=1e-5, rope_theta=100000.0, max_position_embeddings=8192,
    tie_word_embeddings=True, hidden_act="silu", bos_token_id=1, eos_token_id=2,
)
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SIZES = [(1, 256), (4, 256), (8, 512), (16, 512)]
QUICK_SIZES = [(1, 16), (2, 16)]


def log(msg):
    print(f"[torch_peft] {msg}", file=sys.stderr, flush=True)


# ---- hand-written Llama + LoRA (same math as transformers' LlamaForCausalLM + PEFT LoRA) ----------

class LoraLinear(nn.Module):
    """y = x W^T + (x A^T) B^T * alpha / r, A Kaiming-uniform(a=sqrt 5), B zero, W frozen."""

    def __init__(self, inf, outf, r, alpha, base_dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(outf, inf, dtype=base_dtype), requires_grad=False)
        nn.init.normal_(self.weight, std=0.02)
        self.lora_A = nn.Parameter(torch.empty(r, inf))
        self.lora_B = nn.Parameter(torch.zeros(outf, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / r

    def forward(self, x):
        y = F.linear(x, self.weight)
        return y + F.linear(F.linear(x.to(self.lora_A.dtype), self.lora_A), self.lora_B).to(y.dtype) * self.scale


class RMSNorm(nn.Module):
    def __init__(self, n, eps, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n, dtype=dtype), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rot * sin


class Block(nn.Module):
    def __init__(self, c, r, alpha, dtype):
        super().__init__()
        h, kv = c["hidden_size"], c["num_key_value_heads"]
        self.nh, self.nkv, self.hd = c["num_attention_heads"], kv, h // c["num_attention_heads"]
        lin = lambda i, o: LoraLinear(i, o, r, alpha, dtype)  # noqa: E731
        self.q_proj, self.k_proj, self.v_proj = lin(h, h), lin(h, kv * self.hd), lin(h, kv * self.hd)
        self.o_proj = lin(h, h)
        self.gate_proj, self.up_proj = lin(h, c["intermediate_size"]), lin(h, c["intermediate_size"])
        self.down_proj = lin(c["intermediate_size"], h)
        self.input_layernorm = RMSNorm(h, c["rms_norm_eps"], dtype)
        self.post_attention_layernorm = RMSNorm(h, c["rms_norm_eps"], dtype)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.nkv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.nh // self.nkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch < 2.0
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
            a = torch.softmax(s.float(), dim=-1).to(q.dtype) @ v
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, -1))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class ManualLlama(nn.Module):
    def __init__(self, c, r, alpha, dtype):
        super().__init__()
        self.c = c
        self.embed = nn.Parameter(torch.empty(c["vocab_size"], c["hidden_size"], dtype=dtype), requires_grad=False)
        nn.init.normal_(self.embed, std=0.02)
        self.layers = nn.ModuleList(Block(c, r, alpha, dtype) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"], dtype)

    def forward(self, ids):
        b, t = ids.shape
        hd = self.c["hidden_size"] // self.c["num_attention_heads"]
        inv = 1.0 / (self.c["rope_theta"] ** (torch.arange(0, hd, 2, device=ids.device).float() / hd))
        ang = torch.outer(torch.arange(t, device=ids.device).float(), inv)
        emb = torch.cat((ang, ang), dim=-1)
        x = F.embedding(ids, self.embed)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        mask = torch.full((t, t), float("-inf"), device=ids.device).triu(1)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = F.linear(self.norm(x), self.embed).float()
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


# ---- transformers + PEFT ----------------------------------------------------------------------------

def hf_model(c, r, alpha, dtype, device):
    import transformers
    import peft
    from transformers import LlamaConfig, LlamaForCausalLM
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    # Initialise on the device where torch can (>= 2.0): seconds saved per precision.
    with (device if hasattr(device, "__enter__") else contextlib.nullcontext()):
        model = LlamaForCausalLM(LlamaConfig(**c))
    model = model.to(device=device, dtype=dtype)
    model.config.use_cache = False
    lora = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=TARGETS, bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)  # LoRA weights stay fp32 (autocast_adapter_dtype)
    versions = dict(transformers=transformers.__version__, peft=peft.__version__,
                    attn_implementation=getattr(model.config, "_attn_implementation", None))
    return model, (lambda ids: model(input_ids=ids, labels=ids).loss), versions


def manual_model(c, r, alpha, dtype, device):
    torch.manual_seed(0)
    model = ManualLlama(c, r, alpha, dtype).to(device)
    return model, model, dict(transformers=None, peft=None, attn_implementation="sdpa" if hasattr(F, "scaled_dot_product_attention") else "eager")


def run_size(args, loss_fn, params, device, precision, batch, seq):
    opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.0)
    g = torch.Generator(device="cpu").manual_seed(batch * 1000 + seq)
    ids = torch.randint(0, args.config["vocab_size"], (batch, seq), generator=g).to(device)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast:
            loss = loss_fn(ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for _ in range(args.warmup):
        loss = step()
    sync()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        sync()
        times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    tokens = batch * seq
    out = dict(tokens_per_step=tokens, batch=batch, seq=seq, step_ms=round(ms, 3),
               tokens_per_second=round(tokens / ms * 1000, 1), min_step_ms=round(min(times) * 1000, 3),
               loss=round(float(loss), 4))
    if cuda:
        out["peak_gpu_bytes"] = torch.cuda.max_memory_allocated()
    del opt
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--impl", choices=["hf", "manual"], default="hf")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--sizes", default=None, help="e.g. 1x256,4x256 (batch x seq)")
    p.add_argument("--layers", type=int, default=None, help="default 30 (2 with --quick)")
    p.add_argument("--warmup", type=int, default=None, help="default 3 (1 with --quick)")
    p.add_argument("--steps", type=int, default=None, help="timed steps, default 10 (2 with --quick)")
    p.add_argument("--quick", action="store_true", help="smoke test: 2 layers, tiny sizes, few steps")
    args = p.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("torch_peft.py: CUDA is not available here; use --device cpu (with --quick for a smoke test)", file=sys.stderr)
        sys.exit(2)
    args.config = dict(SMOLLM2_135M, num_hidden_layers=args.layers or (2 if args.quick else 30))
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    args.steps = args.steps if args.steps is not None else (2 if args.quick else 10)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")] if args.sizes else (QUICK_SIZES if args.quick else SIZES)

    # fp32 means fp32: no TF32 tensor-core shortcuts in matmuls or convolutions.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision("highest")

    build = hf_model if args.impl == "hf" else manual_model
    if args.impl == "hf":
        try:
            import transformers  # noqa: F401
            import peft  # noqa: F401
        except ImportError as e:
            print(f"torch_peft.py: {e.name} is not installed, so the transformers + PEFT baseline cannot run here. "
                  "Install transformers and peft, or pass --impl manual for the hand-written Llama + LoRA "
                  "(same math, reported as impl \"manual\").", file=sys.stderr)
            sys.exit(2)

    runs, versions = {}, {}
    for precision in args.precisions.split(","):
        if precision not in ("fp32", "bf16"):
            p.error(f"unknown precision {precision}")
        dtype = torch.float32 if precision == "fp32" else torch.bfloat16
        model, loss_fn, versions = build(args.config, 8, 16, dtype, device)
        params = [q for q in model.parameters() if q.requires_grad]
        log(f"{precision}: {args.impl} model, {sum(q.numel() for q in model.parameters()) / 1e6:.1f}M params, "
            f"{sum(q.numel() for q in params)} trainable, on {device}")
        runs[precision] = []
        for batch, seq in sizes:
            r = run_size(args, loss_fn, params, device, precision, batch, seq)
            log(f"{precision} {batch}x{seq}: {r['step_ms']:.1f} ms/step, {r['tokens_per_second']:.0f} tokens/s")
            runs[precision].append(r)
        del model, loss_fn, params
        if device.type == "cuda":
            torch.cuda.empty_cache()

    card = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(json.dumps(dict(
        bench="torch_peft", impl=args.impl, date=datetime.datetime.now(datetime.timezone.utc).isoformat(),
        device=card, torch=torch.__version__, cuda=torch.version.cuda, **versions,
        layers=args.config["num_hidden_layers"], quick=args.quick, warmup=args.warmup, timed_steps=args.steps,
        tf32=False, recipe="LoRA r=8 alpha=16 dropout 0 on q/k/v/o/gate/up/down, AdamW lr 2e-4 wd 0, clip 1.0, causal-LM loss",
        bf16_means="base weights bf16, LoRA fp32, torch.autocast bf16",
        runs=runs,
    )))


if __name__ == "__main__":
    main()
