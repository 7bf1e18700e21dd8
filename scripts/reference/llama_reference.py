"""Float64 PyTorch reference of the HF Llama / Qwen2 forward with PEFT LoRA, and the golden files
the engine's whole-model tests compare against. Run after make_tiny_models.py:

    /usr/bin/python3 scripts/reference/llama_reference.py

Per model (engine/model/fixtures/<name>/ + <name>-lora/) it writes
engine/model/fixtures/goldens/<name>.json, and once engine/model/fixtures/goldens/sft_eval_tokens.json
(the tokenization of sft_eval.jsonl by the pure-Python BPE + ChatML in tiny_tokenizer.py).

The math (transformers' modeling_llama.py / modeling_qwen2.py, peft/tuners/lora/layer.py):
  rmsnorm(x) = x / sqrt(mean(x^2) + eps) * w
  linear(x)  = x W^T (+ b)  +  (x A^T) B^T * scale,   scale = alpha/r  (rsLoRA: alpha/sqrt(r))
  rope: inv_freq[i] = theta^(-2i/d), angle = pos * inv_freq duplicated over both halves,
        x*cos + rotate_half(x)*sin with rotate_half([x1, x2]) = [-x2, x1]
  attention: softmax(q k^T / sqrt(d) + causal) v, KV heads repeated for GQA (query head h uses
        KV head h // (n_heads / n_kv_heads))
  mlp: down(silu(gate(x)) * up(x));  logits = norm(x) E^T (tied) or lm_head
  loss: mean over rows and positions t of -log softmax(logits[t])[ids[t+1]] where mask[t+1] == 1
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors  # noqa: E402
from tiny_tokenizer import ByteBpe, conversation_ids_and_mask, render_chatml  # noqa: E402
from make_tiny_models import CORPUS, FIXTURES, MODELS, N_MERGES, LORA_TARGETS  # noqa: E402
from tiny_tokenizer import train_bpe  # noqa: E402

torch.set_default_dtype(torch.float64)
GOLDENS = os.path.join(FIXTURES, "goldens")
GEN_PROMPT = [{"role": "user", "content": "What is the capital of Italy?"}]
MAX_NEW_TOKENS = 16
SIG_DIGITS = 12


class Model:
    def __init__(self, folder, adapter_folder=None):
        with open(os.path.join(folder, "config.json")) as f:
            self.cfg = json.load(f)
        self.w = {k: torch.tensor(v) for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
        self.lora = {}
        self.scale = 0.0
        if adapter_folder:
            with open(os.path.join(adapter_folder, "adapter_config.json")) as f:
                acfg = json.load(f)
            r, alpha = acfg["r"], acfg["lora_alpha"]
            self.scale = alpha / math.sqrt(r) if acfg.get("use_rslora") else alpha / r
            ad = read_safetensors(os.path.join(adapter_folder, "adapter_model.safetensors"))
            self.lora = {k: torch.tensor(v, requires_grad=True) for k, v in ad.items()}

    def linear(self, x, path):
        y = x @ self.w[path + ".weight"].T
        if path + ".bias" in self.w:
            y = y + self.w[path + ".bias"]
        key = "base_model.model." + path
        if key + ".lora_A.weight" in self.lora:
            a, b = self.lora[key + ".lora_A.weight"], self.lora[key + ".lora_B.weight"]
            y = y + (x @ a.T) @ b.T * self.scale
        return y

    def rmsnorm(self, x, path):
        eps = self.cfg["rms_norm_eps"]
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * self.w[path + ".weight"]

    def rope(self, x, T):
        # x is (heads, T, d)
        d = x.shape[-1]
        inv_freq = self.cfg["rope_theta"] ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
        emb = torch.cat([ang, ang], dim=-1)
        x1, x2 = x[..., : d // 2], x[..., d // 2 :]
        return x * emb.cos() + torch.cat([-x2, x1], dim=-1) * emb.sin()

    def forward(self, ids):
        """ids: list of T ints -> logits (T, V)."""
        c = self.cfg
        head = self.w["model.embed_tokens.weight"] if c["tie_word_embeddings"] else self.w["lm_head.weight"]
        return self.hidden(ids) @ head.T

    def hidden(self, ids):
        """ids: list of T ints -> final normed hidden states (T, H) (what lm_head and a score head read)."""
        c = self.cfg
        T = len(ids)
        nq, nkv = c["num_attention_heads"], c["num_key_value_heads"]
        d = c.get("head_dim") or c["hidden_size"] // nq
        x = self.w["model.embed_tokens.weight"][torch.tensor(ids)]
        causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}"
            h = self.rmsnorm(x, p + ".input_layernorm")
            q = self.linear(h, p + ".self_attn.q_proj").view(T, nq, d).transpose(0, 1)
            k = self.linear(h, p + ".self_attn.k_proj").view(T, nkv, d).transpose(0, 1)
            v = self.linear(h, p + ".self_attn.v_proj").view(T, nkv, d).transpose(0, 1)
            q, k = self.rope(q, T), self.rope(k, T)
            k = k.repeat_interleave(nq // nkv, dim=0)
            v = v.repeat_interleave(nq // nkv, dim=0)
            att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d) + causal, dim=-1)
            o = (att @ v).transpose(0, 1).reshape(T, nq * d)
            x = x + self.linear(o, p + ".self_attn.o_proj")
            h = self.rmsnorm(x, p + ".post_attention_layernorm")
            g = self.linear(h, p + ".mlp.gate_proj")
            u = self.linear(h, p + ".mlp.up_proj")
            x = x + self.linear(torch.nn.functional.silu(g) * u, p + ".mlp.down_proj")
        return self.rmsnorm(x, "model.norm")

    def sft_loss(self, rows):
        """Token mean over counted tokens of all rows; returns (loss, count)."""
        total = torch.zeros(())
        count = 0
        for ids, mask in rows:
            logp = torch.log_softmax(self.forward(ids), dim=-1)
            for t in range(len(ids) - 1):
                if mask[t + 1]:
                    total = total - logp[t, ids[t + 1]]
                    count += 1
        return total / count, count

    @torch.no_grad()
    def greedy(self, ids, n, eos):
        """Greedy tokens (eos included when hit) and, per step, top1 - top2 logit (how safe argmax is)."""
        out, margins = [], []
        seq = list(ids)
        for _ in range(n):
            last = self.forward(seq)[-1]
            top = torch.topk(last, 2).values
            nxt = int(torch.argmax(last))
            out.append(nxt)
            margins.append(float(top[0] - top[1]))
            seq.append(nxt)
            if nxt == eos:
                break
        return out, margins


def check_grads_by_finite_differences(model, rows, n_checks=6, eps=1e-6):
    """Self-check of autograd: central differences of the loss on a few LoRA entries."""
    rng = np.random.RandomState(0)
    keys = sorted(model.lora)
    with torch.no_grad():
        for _ in range(n_checks):
            k = keys[rng.randint(len(keys))]
            p = model.lora[k]
            j = rng.randint(p.numel())
            g = float(p.grad.reshape(-1)[j])
            flat = p.view(-1)
            old = float(flat[j])
            flat[j] = old + eps
            up = float(model.sft_loss(rows)[0])
            flat[j] = old - eps
            down = float(model.sft_loss(rows)[0])
            flat[j] = old
            fd = (up - down) / (2 * eps)
            assert abs(fd - g) <= 1e-7 + 1e-5 * abs(g), f"finite differences disagree on {k}[{j}]: {fd} vs {g}"


def rnd(x):
    if isinstance(x, (list, tuple)):
        return [rnd(v) for v in x]
    return float(f"{x:.{SIG_DIGITS}g}")


def golden_for(name, rows, prompt_ids, eos):
    folder = os.path.join(FIXTURES, name)
    adapter = os.path.join(FIXTURES, name + "-lora")
    base = Model(folder)
    lora = Model(folder, adapter)
    with torch.no_grad():
        loss_base, count = base.sft_loss(rows)
    loss_lora, _ = lora.sft_loss(rows)
    loss_lora.backward()
    check_grads_by_finite_differences(lora, rows)
    ids0 = rows[0][0]
    T = len(ids0)
    positions = sorted({0, 1, T // 2, T - 1})
    with torch.no_grad():
        lb, ll = base.forward(ids0), lora.forward(ids0)
    gen_base = base.greedy(prompt_ids, MAX_NEW_TOKENS, eos)
    gen_lora = lora.greedy(prompt_ids, MAX_NEW_TOKENS, eos)
    grads = {}
    for k in sorted(lora.lora):
        g = lora.lora[k].grad
        grads[k] = {"shape": list(g.shape), "data": rnd(g.reshape(-1).tolist())}
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        acfg = json.load(f)
    return {
        "model": f"engine/model/fixtures/{name}",
        "adapter": f"engine/model/fixtures/{name}-lora",
        "adapter_scale": lora.scale,
        "use_rslora": bool(acfg.get("use_rslora")),
        "dataset": "engine/model/fixtures/sft_eval.jsonl",
        "rows": [{"ids": ids, "train_mask": mask} for ids, mask in rows],
        "num_loss_tokens": count,
        "loss": {"base": rnd(float(loss_base)), "lora": rnd(float(loss_lora))},
        "logits": {
            "row": 0,
            "positions": positions,
            "base": [rnd(lb[t].tolist()) for t in positions],
            "lora": [rnd(ll[t].tolist()) for t in positions],
        },
        "lora_grads": grads,
        "generation": {
            "prompt_messages": GEN_PROMPT,
            "prompt_ids": prompt_ids,
            "max_new_tokens": MAX_NEW_TOKENS,
            "eos_token_id": eos,
            "base": gen_base[0],
            "lora": gen_lora[0],
            "base_top2_margins": rnd(gen_base[1]),
            "lora_top2_margins": rnd(gen_lora[1]),
        },
    }


def main():
    bpe = ByteBpe(train_bpe(CORPUS, N_MERGES))
    # The tokenizer.json written by make_tiny_models must be this one.
    with open(os.path.join(FIXTURES, "tiny-llama", "tokenizer.json")) as f:
        assert json.load(f)["model"]["vocab"] == bpe.vocab, "fixtures are stale: rerun make_tiny_models.py"
    with open(os.path.join(FIXTURES, "sft_eval.jsonl"), encoding="utf-8") as f:
        data = [json.loads(line) for line in f if line.strip()]
    rows = []
    for row in data:
        ids, mask = conversation_ids_and_mask(bpe, row["messages"])
        assert ids == bpe.encode(render_chatml(row["messages"], False))
        rows.append((ids, mask))
    eos = bpe.special["<|im_end|>"]
    prompt_text = render_chatml(GEN_PROMPT, True)
    prompt_ids = bpe.encode(prompt_text)
    os.makedirs(GOLDENS, exist_ok=True)
    tokens = {
        "tokenizer": "engine/model/fixtures/tiny-llama/tokenizer.json",
        "dataset": "engine/model/fixtures/sft_eval.jsonl",
        "rows": [{"text": render_chatml(r["messages"], False), "ids": ids, "train_mask": mask}
                 for r, (ids, mask) in zip(data, rows)],
        "generation_prompt": {"messages": GEN_PROMPT, "text": prompt_text, "ids": prompt_ids},
        "lora_targets": LORA_TARGETS,
    }
    with open(os.path.join(GOLDENS, "sft_eval_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False)
        f.write("\n")
    for name in MODELS:
        g = golden_for(name, rows, prompt_ids, eos)
        with open(os.path.join(GOLDENS, f"{name}.json"), "w", encoding="utf-8") as f:
            json.dump(g, f, ensure_ascii=False)
            f.write("\n")
        print(f"{name}: loss base {g['loss']['base']:.6f} lora {g['loss']['lora']:.6f} "
              f"({g['num_loss_tokens']} tokens); greedy base {g['generation']['base']} lora {g['generation']['lora']} "
              f"min margin {min(g['generation']['base_top2_margins'] + g['generation']['lora_top2_margins']):.4f}")


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
