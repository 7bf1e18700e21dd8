"""Builds the tiny random HF-format test checkpoints, their tokenizer, PEFT adapters and the SFT
eval set, deterministically (fixed seeds, numpy's legacy RandomState which is stable across
versions). Run with Debian's interpreter:

    /usr/bin/python3 scripts/reference/make_tiny_models.py
    /usr/bin/python3 scripts/reference/llama_reference.py    # then the goldens

Writes engine/model/fixtures/{tiny-llama,tiny-llama-untied,tiny-qwen2}/ (config.json,
generation_config.json, model.safetensors in BF16, tokenizer.json, tokenizer_config.json),
engine/model/fixtures/{name}-lora/ (adapter_config.json, adapter_model.safetensors in F32) and
engine/model/fixtures/sft_eval.jsonl.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import bf16_tensor, f32_tensor, write_safetensors  # noqa: E402
from tiny_tokenizer import CHATML_TEMPLATE, DEFAULT_SYSTEM, SPECIAL_TOKENS, ByteBpe, train_bpe  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "engine", "model", "fixtures")
N_MERGES = 120
EMBED_STD = 0.2
LORA_R = 4
LORA_ALPHA = 8
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

CORPUS = (
    DEFAULT_SYSTEM + "\n"
    "system\nuser\nassistant\n"
    "The user asks a question and the assistant gives a helpful answer. "
    "What is the capital of France? The capital of France is Paris. "
    "What is the capital of Italy? The capital of Italy is Rome. "
    "Please write a short poem about the sea. The sea is blue and the waves are loud. "
    "How many legs does a spider have? A spider has eight legs. "
    "Thank you for the help! You are welcome. Can you tell me more about the weather? "
    "The weather today is sunny with a light wind. Tomorrow it will rain in the morning. "
    "Translate hello into French: bonjour. Translate thank you: merci. "
    "Count from one to five: one, two, three, four, five. 1 2 3 4 5 10 20 100. "
    "It's a nice day, isn't it? I'm sure they'll say we've done well. "
    "def add(a, b):\n    return a + b\n\n"
    "A helpful assistant answers clearly and briefly. The model is small and trained by people. "
) * 3

# Seeds were picked (out of 1..24) so that greedy generation has clear argmax gaps (>= 0.02
# between the top two logits at every step; see base/lora_top2_margins in the goldens).
MODELS = {
    # GQA with one KV head, odd-ish sizes, tied embeddings (SmolLM2-like).
    "tiny-llama": dict(
        arch="llama", seed=6, hidden_size=40, num_attention_heads=5, num_key_value_heads=1,
        intermediate_size=72, num_hidden_layers=3, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=True, attention_bias=False,
    ),
    # Untied LM head, full multi-head attention.
    "tiny-llama-untied": dict(
        arch="llama", seed=7, hidden_size=40, num_attention_heads=5, num_key_value_heads=5,
        intermediate_size=56, num_hidden_layers=2, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False, attention_bias=False,
    ),
    # Qwen2.5-like: q/k/v bias, theta 1e6, eps 1e-6, tied, GQA 6 heads / 2 KV heads.
    "tiny-qwen2": dict(
        arch="qwen2", seed=14, hidden_size=48, num_attention_heads=6, num_key_value_heads=2,
        intermediate_size=80, num_hidden_layers=2, rms_norm_eps=1e-6, rope_theta=1000000.0,
        tie_word_embeddings=True, attention_bias=True,
    ),
}
# The qwen2 adapter uses rsLoRA (scale alpha/sqrt(r)) so both scalings have a golden.
RSLORA = {"tiny-llama": False, "tiny-llama-untied": False, "tiny-qwen2": True}

SFT_EVAL = [
    {"messages": [
        {"role": "system", "content": "You are a terse assistant."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]},
    {"messages": [
        {"role": "user", "content": "How many legs does a spider have?"},
        {"role": "assistant", "content": "A spider has eight legs."},
    ]},
    {"messages": [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Translate hello into French."},
        {"role": "assistant", "content": "Bonjour!"},
        {"role": "user", "content": "And thank you?"},
        {"role": "assistant", "content": "Merci, it's easy."},
    ]},
    {"messages": [
        {"role": "system", "content": "Be exact."},
        {"role": "user", "content": "Count to 3, café style \u2615"},
        {"role": "assistant", "content": "1, 2, 3 \u00e9t\u00e9!\n  Done."},
    ]},
]


def head_dim(cfg):
    return cfg["hidden_size"] // cfg["num_attention_heads"]


def hf_config(name, cfg, vocab_size, bpe):
    arch = cfg["arch"]
    c = {
        "architectures": ["LlamaForCausalLM" if arch == "llama" else "Qwen2ForCausalLM"],
        "model_type": arch,
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "head_dim": head_dim(cfg),
        "hidden_act": "silu",
        "max_position_embeddings": 256,
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "rope_scaling": None,
        "tie_word_embeddings": cfg["tie_word_embeddings"],
        "vocab_size": vocab_size,
        "bos_token_id": bpe.special["<|im_start|>"],
        "eos_token_id": bpe.special["<|im_end|>"],
        "torch_dtype": "bfloat16",
        "transformers_version": "4.46.0",
        "use_cache": True,
        "initializer_range": 0.02,
    }
    if arch == "llama":
        c.update(attention_bias=False, mlp_bias=False, attention_dropout=0.0, pretraining_tp=1)
    else:
        c.update(attention_dropout=0.0, use_sliding_window=False, sliding_window=None, max_window_layers=0)
    c["_name_or_path"] = f"whetstone/{name}"
    return c


def make_weights(cfg, vocab_size):
    rng = np.random.RandomState(cfg["seed"])
    H, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    D = head_dim(cfg)
    nq, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    w = {}

    def lin(out_f, in_f):
        return (rng.randn(out_f, in_f) / np.sqrt(in_f)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.randn(n)).astype(np.float32)

    w["model.embed_tokens.weight"] = (EMBED_STD * rng.randn(vocab_size, H)).astype(np.float32)
    for i in range(L):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = lin(nq * D, H)
        w[p + "self_attn.k_proj.weight"] = lin(nkv * D, H)
        w[p + "self_attn.v_proj.weight"] = lin(nkv * D, H)
        w[p + "self_attn.o_proj.weight"] = lin(H, nq * D)
        if cfg["attention_bias"]:
            w[p + "self_attn.q_proj.bias"] = (0.2 * rng.randn(nq * D)).astype(np.float32)
            w[p + "self_attn.k_proj.bias"] = (0.2 * rng.randn(nkv * D)).astype(np.float32)
            w[p + "self_attn.v_proj.bias"] = (0.2 * rng.randn(nkv * D)).astype(np.float32)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "mlp.gate_proj.weight"] = lin(I, H)
        w[p + "mlp.up_proj.weight"] = lin(I, H)
        w[p + "mlp.down_proj.weight"] = lin(H, I)
    w["model.norm.weight"] = norm(H)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = lin(vocab_size, H)
    return w


def lora_shapes(cfg):
    """(module path, in_features, out_features) of every LoRA target, layer by layer."""
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    D = head_dim(cfg)
    q, kv = cfg["num_attention_heads"] * D, cfg["num_key_value_heads"] * D
    dims = {"q_proj": ("self_attn", H, q), "k_proj": ("self_attn", H, kv), "v_proj": ("self_attn", H, kv),
            "o_proj": ("self_attn", q, H), "gate_proj": ("mlp", H, I), "up_proj": ("mlp", H, I),
            "down_proj": ("mlp", I, H)}
    out = []
    for i in range(cfg["num_hidden_layers"]):
        for t in LORA_TARGETS:
            block, fin, fout = dims[t]
            out.append((f"model.layers.{i}.{block}.{t}", fin, fout))
    return out


def make_adapter(name, cfg):
    """A NON-zero adapter: A Kaiming-uniform-like, B random (a fresh PEFT adapter has B = 0)."""
    rng = np.random.RandomState(100 + cfg["seed"])
    tensors = {}
    for path, fin, fout in lora_shapes(cfg):
        bound = 1.0 / np.sqrt(fin)
        a = rng.uniform(-bound, bound, size=(LORA_R, fin)).astype(np.float32)
        b = (0.3 * rng.randn(fout, LORA_R)).astype(np.float32)
        tensors[f"base_model.model.{path}.lora_A.weight"] = f32_tensor(a)
        tensors[f"base_model.model.{path}.lora_B.weight"] = f32_tensor(b)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": LORA_R, "lora_alpha": LORA_ALPHA,
        "lora_dropout": 0.0, "target_modules": LORA_TARGETS, "bias": "none",
        "use_rslora": RSLORA[name], "fan_in_fan_out": False, "inference_mode": True,
        "init_lora_weights": True, "modules_to_save": None, "use_dora": False,
        "base_model_name_or_path": f"whetstone/{name}", "revision": None,
    }
    return config, tensors


def tokenizer_json(bpe):
    added = [
        {"id": bpe.special[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for s in SPECIAL_TOKENS
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": bpe.vocab,
            "merges": [f"{a} {b}" for a, b in bpe.merges],
        },
    }


def tokenizer_config(bpe):
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(bpe.special[s]): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                  "single_word": False, "special": True}
            for s in SPECIAL_TOKENS
        },
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": "<|im_start|>",
        "chat_template": CHATML_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "model_max_length": 256,
        "pad_token": "<|im_end|>",
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": "<|endoftext|>",
        "vocab_size": len(bpe.vocab),
    }


def dump(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    merges = train_bpe(CORPUS, N_MERGES)
    bpe = ByteBpe(merges)
    vocab_size = len(bpe.vocab)
    os.makedirs(FIXTURES, exist_ok=True)
    for name, cfg in MODELS.items():
        d = os.path.join(FIXTURES, name)
        os.makedirs(d, exist_ok=True)
        dump(os.path.join(d, "config.json"), hf_config(name, cfg, vocab_size, bpe))
        dump(os.path.join(d, "generation_config.json"), {
            "bos_token_id": bpe.special["<|im_start|>"], "eos_token_id": bpe.special["<|im_end|>"],
            "pad_token_id": bpe.special["<|im_end|>"], "do_sample": False, "transformers_version": "4.46.0",
        })
        w = make_weights(cfg, vocab_size)
        write_safetensors(os.path.join(d, "model.safetensors"), {k: bf16_tensor(v) for k, v in w.items()},
                          {"format": "pt"})
        dump(os.path.join(d, "tokenizer.json"), tokenizer_json(bpe))
        dump(os.path.join(d, "tokenizer_config.json"), tokenizer_config(bpe))
        ad = os.path.join(FIXTURES, f"{name}-lora")
        os.makedirs(ad, exist_ok=True)
        acfg, at = make_adapter(name, cfg)
        dump(os.path.join(ad, "adapter_config.json"), acfg)
        write_safetensors(os.path.join(ad, "adapter_model.safetensors"), at, {"format": "pt"})
        print(f"wrote {d} ({sum(v.size for v in w.values())} params) and {ad}")
    with open(os.path.join(FIXTURES, "sft_eval.jsonl"), "w", encoding="utf-8") as f:
        for row in SFT_EVAL:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"vocab {vocab_size} ({len(merges)} merges), sft_eval.jsonl {len(SFT_EVAL)} rows")


if __name__ == "__main__":
    main()
