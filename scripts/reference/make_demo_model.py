"""Builds the studio's embedded demo model, public/models/demo/: a tiny Llama (HF layout, BF16)
pretrained here on the small English corpus of demo_corpus.py, so that it answers simple questions
in short, plain sentences before any fine-tuning. Deterministic (fixed seeds, one CPU thread);
a few minutes on one core. Run with Debian's interpreter:

    /usr/bin/python3 scripts/reference/make_demo_model.py

Steps: byte-level BPE tokenizer trained on the corpus (tiny_tokenizer.py) -> next-token pretraining
in float32 with AdamW (HF Llama semantics: RMSNorm, rotate-half RoPE, GQA, SwiGLU, tied embeddings)
-> public/models/demo/{config.json, generation_config.json, model.safetensors, tokenizer.json,
tokenizer_config.json, manifest.json} -> greedy samples from the BF16-rounded weights (float32),
cross-checked against llama_reference.py's float64 forward, written with their top-2 logit margins
to engine/model/fixtures/goldens/demo_greedy.json for engine/model/demoModel.test.ts.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_corpus import SYSTEM, corpus_documents  # noqa: E402
from make_tiny_models import dump, hf_config, tokenizer_config, tokenizer_json  # noqa: E402
from safetensors_io import bf16_tensor, read_safetensors, write_safetensors  # noqa: E402
from tiny_tokenizer import SPECIAL_TOKENS, ByteBpe, train_bpe  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "public", "models", "demo")
GOLDEN = os.path.join(ROOT, "engine", "model", "fixtures", "goldens", "demo_greedy.json")

N_MERGES = 420
CFG = dict(
    arch="llama", hidden_size=64, num_attention_heads=4, num_key_value_heads=2, intermediate_size=176,
    num_hidden_layers=4, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True, attention_bias=False,
)
HEAD_DIM = 16
SEED = 1234
STEPS = 1200
BATCH = 8
SEQ = 64
LR = 3e-3
WARMUP = 100
WEIGHT_DECAY = 0.05
MAX_NEW_TOKENS = 12
MIN_MARGIN = 0.05
PROMPTS = ["What colour is the sky?", "What sound does a cat make?", "Hello!", "What is two plus three?"]

CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\n" + SYSTEM + "<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def render(messages, add_generation_prompt):
    """CHATML_TEMPLATE by hand: messages are (role, content) pairs."""
    s = ""
    if messages and messages[0][0] != "system":
        s += "<|im_start|>system\n" + SYSTEM + "<|im_end|>\n"
    for role, content in messages:
        s += "<|im_start|>" + role + "\n" + content + "<|im_end|>\n"
    if add_generation_prompt:
        s += "<|im_start|>assistant\n"
    return s


# ----------------------------------------------------------------------------- model (float32)

def init_params(vocab):
    g = torch.Generator().manual_seed(SEED)
    H, I, L = CFG["hidden_size"], CFG["intermediate_size"], CFG["num_hidden_layers"]
    nq, nkv, D = CFG["num_attention_heads"], CFG["num_key_value_heads"], HEAD_DIM
    p = {}

    def normal(*shape, std=0.02):
        return torch.randn(*shape, generator=g) * std

    p["model.embed_tokens.weight"] = normal(vocab, H)
    for i in range(L):
        k = f"model.layers.{i}."
        p[k + "input_layernorm.weight"] = torch.ones(H)
        p[k + "self_attn.q_proj.weight"] = normal(nq * D, H)
        p[k + "self_attn.k_proj.weight"] = normal(nkv * D, H)
        p[k + "self_attn.v_proj.weight"] = normal(nkv * D, H)
        p[k + "self_attn.o_proj.weight"] = normal(H, nq * D, std=0.02 / math.sqrt(2 * L))
        p[k + "post_attention_layernorm.weight"] = torch.ones(H)
        p[k + "mlp.gate_proj.weight"] = normal(I, H)
        p[k + "mlp.up_proj.weight"] = normal(I, H)
        p[k + "mlp.down_proj.weight"] = normal(H, I, std=0.02 / math.sqrt(2 * L))
    p["model.norm.weight"] = torch.ones(H)
    return {k: v.requires_grad_() for k, v in p.items()}


def forward(p, ids):
    """ids (B, T) int64 -> logits (B, T, V), transformers' LlamaForCausalLM math."""
    B, T = ids.shape
    nq, nkv, D = CFG["num_attention_heads"], CFG["num_key_value_heads"], HEAD_DIM
    eps = CFG["rms_norm_eps"]

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    inv_freq = 1.0 / (CFG["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    ang = torch.arange(T, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos(), emb.sin()

    def rope(x):  # (B, heads, T, D)
        x1, x2 = x[..., : D // 2], x[..., D // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    mask = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
    x = p["model.embed_tokens.weight"][ids]
    for i in range(CFG["num_hidden_layers"]):
        k = f"model.layers.{i}."
        h = rms(x, p[k + "input_layernorm.weight"])
        q = (h @ p[k + "self_attn.q_proj.weight"].T).view(B, T, nq, D).transpose(1, 2)
        kk = (h @ p[k + "self_attn.k_proj.weight"].T).view(B, T, nkv, D).transpose(1, 2)
        v = (h @ p[k + "self_attn.v_proj.weight"].T).view(B, T, nkv, D).transpose(1, 2)
        q, kk = rope(q), rope(kk)
        kk = kk.repeat_interleave(nq // nkv, dim=1)
        v = v.repeat_interleave(nq // nkv, dim=1)
        att = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(D) + mask, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, nq * D)
        x = x + o @ p[k + "self_attn.o_proj.weight"].T
        h = rms(x, p[k + "post_attention_layernorm.weight"])
        a = torch.nn.functional.silu(h @ p[k + "mlp.gate_proj.weight"].T) * (h @ p[k + "mlp.up_proj.weight"].T)
        x = x + a @ p[k + "mlp.down_proj.weight"].T
    x = rms(x, p["model.norm.weight"])
    return x @ p["model.embed_tokens.weight"].T


@torch.no_grad()
def greedy(p, prompt, n, eos):
    """Greedy new tokens (eos included when hit) and the top1 - top2 logit gap at each step."""
    seq, out, margins = list(prompt), [], []
    for _ in range(n):
        last = forward(p, torch.tensor([seq]))[0, -1]
        top = torch.topk(last, 2).values
        nxt = int(torch.argmax(last))
        out.append(nxt)
        margins.append(float(top[0] - top[1]))
        seq.append(nxt)
        if nxt == eos:
            break
    return out, margins


# ----------------------------------------------------------------------------- data + training

def build_tokenizer(texts, convs):
    strip = [render(c, False) for c in convs]
    for s in SPECIAL_TOKENS:
        strip = [t.replace(s, "\n") for t in strip]
    return ByteBpe(train_bpe("\n".join(texts + strip), N_MERGES))


def build_stream(bpe, texts, convs):
    """Documents (plain texts, ChatML conversations), each ending in <|endoftext|>, in 8 seeded
    shuffles; returns the token stream and each document's start (training windows start there)."""
    eot = bpe.special["<|endoftext|>"]
    docs = [bpe.encode(t) + [eot] for t in texts] + [bpe.encode(render(c, False)) + [eot] for c in convs]
    rng = np.random.RandomState(SEED)
    stream, starts = [], []
    for _ in range(8):
        for i in rng.permutation(len(docs)):
            starts.append(len(stream))
            stream += docs[i]
    starts = [s for s in starts if s + SEQ + 1 <= len(stream)]
    return torch.tensor(stream), np.array(starts), sum(len(d) for d in docs)


def train(p, stream, starts):
    decay = [v for k, v in p.items() if v.dim() == 2]
    no_decay = [v for k, v in p.items() if v.dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95), eps=1e-8)
    rng = np.random.RandomState(SEED + 1)
    offs = torch.arange(SEQ + 1)
    t0 = time.time()
    for step in range(STEPS):
        lr = LR * min(1.0, (step + 1) / WARMUP) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / STEPS)))
        for group in opt.param_groups:
            group["lr"] = lr
        rows = stream[torch.tensor(starts[rng.randint(len(starts), size=BATCH)])[:, None] + offs]
        logits = forward(p, rows[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {lr:.2e}  {time.time() - t0:6.1f}s", flush=True)
    return time.time() - t0


# ----------------------------------------------------------------------------- output

def write_checkpoint(p, bpe):
    os.makedirs(OUT, exist_ok=True)
    vocab = len(bpe.vocab)
    cfg = hf_config("demo", CFG, vocab, bpe)
    assert cfg["head_dim"] == HEAD_DIM
    dump(os.path.join(OUT, "config.json"), cfg)
    dump(os.path.join(OUT, "generation_config.json"), {
        "bos_token_id": bpe.special["<|im_start|>"], "eos_token_id": bpe.special["<|im_end|>"],
        "pad_token_id": bpe.special["<|im_end|>"], "do_sample": False, "transformers_version": "4.46.0",
    })
    write_safetensors(os.path.join(OUT, "model.safetensors"),
                      {k: bf16_tensor(v.detach().numpy().astype(np.float32)) for k, v in p.items()}, {"format": "pt"})
    with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(bpe), f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    tc = tokenizer_config(bpe)
    tc["chat_template"] = CHATML_TEMPLATE
    dump(os.path.join(OUT, "tokenizer_config.json"), tc)
    n_params = sum(v.numel() for v in p.values())
    files = ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    dump(os.path.join(OUT, "manifest.json"), {
        "name": f"Whetstone demo (tiny Llama, {round(n_params / 1000)}K params)",
        "files": [{"path": f, "size": os.path.getsize(os.path.join(OUT, f))} for f in files],
    })
    return n_params


def bf16_params():
    """The written weights (BF16, widened exactly) as float32 tensors."""
    return {k: torch.tensor(v, dtype=torch.float32) for k, v in read_safetensors(os.path.join(OUT, "model.safetensors")).items()}


def write_golden(bpe):
    """Greedy samples of the written (BF16) weights in float32, cross-checked in float64."""
    w = bf16_params()
    eos = bpe.special["<|im_end|>"]
    torch.set_default_dtype(torch.float64)
    import llama_reference  # float64 HF-semantics forward, independent of forward() above
    ref = llama_reference.Model(OUT)
    torch.set_default_dtype(torch.float32)
    prompts = []
    for q in PROMPTS:
        text = render([("user", q)], True)
        ids = bpe.encode(text)
        out, margins = greedy(w, ids, MAX_NEW_TOKENS, eos)
        torch.set_default_dtype(torch.float64)
        ref_out, _ = ref.greedy(ids, MAX_NEW_TOKENS, eos)
        torch.set_default_dtype(torch.float32)
        ok = ref_out == out and min(margins) >= MIN_MARGIN
        print(f"sample  user: {q}\n      assistant: {bpe.decode(out)!r}  (top-2 margins {[round(m, 3) for m in margins]})"
              + ("" if ok else "  -- left out of the golden"))
        if ok:
            prompts.append({"messages": [{"role": "user", "content": q}], "text": text, "ids": ids,
                            "greedy": out, "greedy_text": bpe.decode(out), "top2_margins": [round(m, 4) for m in margins]})
    assert prompts and prompts[0]["messages"][0]["content"] == PROMPTS[0], "the main prompt's greedy margin is too thin"
    dump(GOLDEN, {
        "model": "public/models/demo",
        "max_new_tokens": MAX_NEW_TOKENS,
        "eos_token_id": eos,
        "note": "float32 forward of the BF16 weights; float64 (llama_reference.py) gives the same tokens",
        "prompts": prompts,
    })
    print(f"wrote {GOLDEN}")


def main():
    """--golden-only: keep public/models/demo as it is, redo the samples and the golden."""
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    texts, convs = corpus_documents(SEED)
    t0 = time.time()
    bpe = build_tokenizer(texts, convs)
    print(f"tokenizer: vocab {len(bpe.vocab)} ({len(bpe.merges)} merges) in {time.time() - t0:.1f}s")
    if "--golden-only" not in sys.argv:
        stream, starts, n_tokens = build_stream(bpe, texts, convs)
        chars = sum(len(t) for t in texts) + sum(len(render(c, False)) for c in convs)
        print(f"corpus: {len(texts)} texts + {len(convs)} conversations, {chars} chars, {n_tokens} tokens")
        p = init_params(len(bpe.vocab))
        seconds = train(p, stream, starts)
        n_params = write_checkpoint(p, bpe)
        size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
        print(f"trained {STEPS} steps in {seconds:.0f}s; {n_params} params; wrote {OUT} ({size} bytes)")
    write_golden(bpe)


if __name__ == "__main__":
    main()
