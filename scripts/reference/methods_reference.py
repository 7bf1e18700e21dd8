"""Float64 PyTorch goldens for ORPO, SimPO (CPO loss_type "simpo"), KTO and Bradley-Terry reward
models, on the tiny-llama fixture with its non-zero tiny-llama-lora adapter (same style as
trainer_reference.py; reuses llama_reference.Model).

    /usr/bin/python3 scripts/reference/methods_reference.py

TRL behaviour reproduced (read from huggingface/trl, 2025 sources):
  ORPO   trl/trainer/orpo_trainer.py @ 4795c7d2610c16ea18b74b70456ae825aa64b026
         (tokenize_row, concatenated_forward, odds_ratio_loss, get_batch_loss_metrics)
  CPO    trl/trainer/cpo_trainer.py  @ 0d72aa3ddbab139180d3cdd1f888afb00051ebb4
         (cpo_loss "simpo", concatenated_forward: nll over the chosen completion labels only)
  KTO    trl/trainer/kto_trainer.py  @ b12c2cf006effb32a3408d0ad61dbc8ef7d75119
         (_get_kl_dataset, _process_tokens, forward, kto_loss, get_batch_loss_metrics, log)
  Reward trl/trainer/reward_trainer.py, the 2025 rewrite (_prepare_dataset, compute_loss with
         _metrics min/mean/max_reward, accuracy, margin); transformers LlamaForSequenceClassification
         pooling (rightmost token that is not pad_token_id); PEFT PeftModelForSequenceClassification
         (modules_to_save gets ["classifier", "score"], saved as base_model.model.score.weight).
  data   trl/data_utils.py _unpair_row (a batch of pairs -> all chosen rows (True), then all rejected
         rows (False); datasets' map batches 1000 rows).

Quirks that change numbers, all reproduced here:
  - ORPO and CPO/SimPO append EOS to a completion that does not end with it (add_eos_token_if_needed)
    and prepend BOS to the prompt when the tokenizer has one and the prompt lacks it
    (add_bos_token_if_needed). ChatML completions end in "<|im_end|>\\n", so they get a second
    <|im_end|>. KTO's _process_tokens does the same.
  - ORPO's NLL is CrossEntropyLoss (token mean) over the WHOLE chosen sequence, prompt included
    (every token after the first), over all chosen rows of the batch.
  - CPO/SimPO's NLL is the token mean over the chosen COMPLETION tokens; with cpo_alpha == 0 TRL
    does not compute it and logs nll_loss = 0.
  - ORPO and SimPO use log-probs averaged over each completion's tokens (average_log_prob=True);
    KTO uses summed log-probs.
  - KTO's KL term: completions rotated by one inside each batch (row i gets the completion of row
    i-1, row 0 that of the last row), KL = clamp(mean(policy_KL - reference_KL), min=0), detached.
    Loss = mean over all rows of desirable_weight*(1 - sigmoid(beta*(r - KL))) for desirable rows
    and undesirable_weight*(1 - sigmoid(beta*(KL - r))) for undesirable rows, r = policy - reference
    summed completion log-probs. rewards/chosen = mean beta*r over desirable rows; rewards/margins
    only when both kinds are present. (TRL samples KTO batches sequentially and builds the KL
    completions over batches of per_device_train_batch_size of the dataset order.)
  - Reward: score = final normed hidden state of the rightmost token that is not the pad token,
    dot the score head (hidden -> 1, no bias); loss = -logsigmoid(r_c - r_r).mean()
    + center_rewards_coefficient * mean((r_c + r_r)^2); metrics over the 2P rewards.

Writes engine/train/fixtures/{orpo,simpo,kto,reward}_goldens.json and the SEQ_CLS adapter
engine/model/fixtures/tiny-llama-reward-lora/ (tiny-llama-lora + a score head).
Every golden: the token ids it was computed on, per-row values, TRL's metrics by name, the loss,
and d(loss)/d(every lora_A, lora_B) (reward: and d(loss)/d(score.weight)).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import Model, rnd  # noqa: E402
from make_tiny_models import FIXTURES  # noqa: E402
from safetensors_io import f32_tensor, read_safetensors, write_safetensors  # noqa: E402

torch.set_default_dtype(torch.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "engine", "train", "fixtures")
NAME = "tiny-llama"
REWARD_ADAPTER = os.path.join(FIXTURES, NAME + "-reward-lora")
SCORE_KEY = "base_model.model.score.weight"

ORPO = {"beta": 0.1}
SIMPO_VARIANTS = {
    "plain": {"beta": 2.0, "simpo_gamma": 0.5, "cpo_alpha": 0.0, "label_smoothing": 0.0},
    "nll_smoothed": {"beta": 2.0, "simpo_gamma": 0.5, "cpo_alpha": 0.5, "label_smoothing": 0.1},
}
KTO = {"beta": 0.1}
KTO_BATCHES = {
    "mixed": {"desirable_weight": 0.8, "undesirable_weight": 1.3},
    "all_desirable": {"desirable_weight": 1.0, "undesirable_weight": 1.0},
}
REWARD = {"center_rewards_coefficient": 0.01, "score_seed": 1234, "score_std": 0.5}


def tensor_dict(params):
    return {k: {"shape": list(v.grad.shape), "data": rnd(v.grad.reshape(-1).tolist())} for k, v in sorted(params.items())}


def zero_grads(params):
    for p in params.values():
        p.grad = None


def token_logps(model, ids):
    """(T-1) log p(ids[t+1] | ids[:t+1])."""
    logp = torch.log_softmax(model.forward(ids), dim=-1)
    return logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]


def completion_logp(model, prompt, completion):
    """Summed log-prob of the completion tokens after the prompt, and their count."""
    lp = token_logps(model, prompt + completion)
    return lp[len(prompt) - 1 :].sum(), len(completion)


def add_bos(prompt, bos):
    return [bos] + prompt if bos is not None and (len(prompt) == 0 or prompt[0] != bos) else prompt


def add_eos(completion, eos):
    return completion if len(completion) > 0 and completion[-1] == eos else completion + [eos]


def fd_check(loss_fn, params, n_checks=4, eps=1e-6):
    """Central differences of loss_fn() on a few entries of params against their .grad."""
    rng = np.random.RandomState(1)
    keys = sorted(params)
    with torch.no_grad():
        for _ in range(n_checks):
            k = keys[rng.randint(len(keys))]
            flat = params[k].view(-1)
            j = rng.randint(flat.numel())
            g = float(params[k].grad.reshape(-1)[j])
            old = float(flat[j])
            flat[j] = old + eps
            up = float(loss_fn())
            flat[j] = old - eps
            down = float(loss_fn())
            flat[j] = old
            fd = (up - down) / (2 * eps)
            assert abs(fd - g) <= 1e-7 + 1e-5 * abs(g), f"finite differences disagree on {k}[{j}]: {fd} vs {g}"


def seq(prompt, completion):
    return {"ids": prompt + completion, "completion_start": len(prompt)}


# --------------------------------------------------------------------------------------------- ORPO
def orpo(folder, adapter, parts, bos, eos):
    beta = ORPO["beta"]
    pol = Model(folder, adapter)
    pairs = []
    for (prompt, comp), (_, other) in zip(parts, parts[1:] + parts[:1]):
        p = add_bos(prompt, bos)
        pairs.append((p, add_eos(comp, eos), add_eos(other, eos)))

    def forward():
        lc, lr, nc, nr = [], [], [], []
        nll_sum, nll_n = torch.zeros(()), 0
        for p, c, r in pairs:
            lp = token_logps(pol, p + c)
            nll_sum = nll_sum - lp.sum()  # the whole chosen sequence, prompt included
            nll_n += len(lp)
            lc.append(lp[len(p) - 1 :].sum() / len(c))
            nc.append(len(c))
            s, n = completion_logp(pol, p, r)
            lr.append(s / n)
            nr.append(n)
        lc, lr = torch.stack(lc), torch.stack(lr)
        nll = nll_sum / nll_n
        log_odds = (lc - lr) - (torch.log1p(-torch.exp(lc)) - torch.log1p(-torch.exp(lr)))
        ratio = F.logsigmoid(log_odds)
        loss = nll - (beta * ratio).mean()
        return loss, dict(lc=lc, lr=lr, nc=nc, nr=nr, nll=nll, nll_n=nll_n, log_odds=log_odds, ratio=ratio)

    loss, v = forward()
    zero_grads(pol.lora)
    loss.backward()
    fd_check(lambda: forward()[0], pol.lora)
    with torch.no_grad():
        rc, rr = beta * v["lc"], beta * v["lr"]
        metrics = {
            "loss": float(loss),
            "nll_loss": float(v["nll"]),
            "log_odds_ratio": float(v["ratio"].mean()),
            "log_odds_chosen": float(v["log_odds"].mean()),
            "rewards/chosen": float(rc.mean()),
            "rewards/rejected": float(rr.mean()),
            "rewards/accuracies": float((rc > rr).double().mean()),
            "rewards/margins": float((rc - rr).mean()),
            "logps/chosen": float(v["lc"].mean()),
            "logps/rejected": float(v["lr"].mean()),
        }
    return {
        "beta": beta,
        "pairs": [{"chosen": seq(p, c), "rejected": seq(p, r)} for p, c, r in pairs],
        "completion_tokens": {"chosen": v["nc"], "rejected": v["nr"]},
        "nll_tokens": v["nll_n"],
        "logps_length_averaged": {"chosen": rnd(v["lc"].tolist()), "rejected": rnd(v["lr"].tolist())},
        "log_odds": rnd(v["log_odds"].tolist()),
        "metrics": {k: rnd(x) for k, x in metrics.items()},
        "lora_grads": tensor_dict(pol.lora),
    }


# -------------------------------------------------------------------------------------------- SimPO
def simpo(folder, adapter, parts, bos, eos):
    pairs = []
    for (prompt, comp), (_, other) in zip(parts, parts[1:] + parts[:1]):
        pairs.append((add_bos(prompt, bos), add_eos(comp, eos), add_eos(other, eos)))
    out = {"pairs": [{"chosen": seq(p, c), "rejected": seq(p, r)} for p, c, r in pairs], "variants": {}}
    for name, hp in SIMPO_VARIANTS.items():
        pol = Model(folder, adapter)
        beta, gamma, alpha, eps = hp["beta"], hp["simpo_gamma"], hp["cpo_alpha"], hp["label_smoothing"]

        def forward():
            lc, lr = [], []
            nll_sum, nll_n = torch.zeros(()), 0
            for p, c, r in pairs:
                s, n = completion_logp(pol, p, c)
                lc.append(s / n)
                nll_sum, nll_n = nll_sum - s, nll_n + n  # the chosen completion tokens only
                s, n = completion_logp(pol, p, r)
                lr.append(s / n)
            lc, lr = torch.stack(lc), torch.stack(lr)
            logits = (lc - lr) - gamma / beta
            losses = -F.logsigmoid(beta * logits) * (1 - eps) - F.logsigmoid(-beta * logits) * eps
            nll = nll_sum / nll_n if alpha != 0 else torch.zeros(())
            return losses.mean() + alpha * nll, dict(lc=lc, lr=lr, logits=logits, losses=losses, nll=nll, nll_n=nll_n)

        loss, v = forward()
        zero_grads(pol.lora)
        loss.backward()
        fd_check(lambda: forward()[0], pol.lora)
        with torch.no_grad():
            rc, rr = beta * v["lc"], beta * v["lr"]
            metrics = {
                "loss": float(loss),
                "nll_loss": float(v["nll"]),
                "rewards/chosen": float(rc.mean()),
                "rewards/rejected": float(rr.mean()),
                "rewards/accuracies": float((rc > rr).double().mean()),
                "rewards/margins": float((rc - rr).mean()),
                "logps/chosen": float(v["lc"].mean()),
                "logps/rejected": float(v["lr"].mean()),
            }
        out["variants"][name] = {
            **hp,
            "nll_tokens": v["nll_n"],
            "logps_length_averaged": {"chosen": rnd(v["lc"].tolist()), "rejected": rnd(v["lr"].tolist())},
            "logits": rnd(v["logits"].tolist()),
            "loss_per_pair": rnd(v["losses"].tolist()),
            "metrics": {k: rnd(x) for k, x in metrics.items()},
            "lora_grads": tensor_dict(pol.lora),
        }
    return out


# ---------------------------------------------------------------------------------------------- KTO
def unpair(pairs):
    """trl data_utils._unpair_row over one map batch: all chosen (True), then all rejected (False)."""
    rows = [{"prompt": p, "completion": c, "label": True} for p, c, _ in pairs]
    rows += [{"prompt": p, "completion": r, "label": False} for p, _, r in pairs]
    return rows


def kto_batch(folder, adapter, rows, bos, eos, hp):
    beta, wd, wu = KTO["beta"], hp["desirable_weight"], hp["undesirable_weight"]
    pol = Model(folder, adapter)
    base = Model(folder)
    toks = [(add_bos(r["prompt"], bos), add_eos(r["completion"], eos), r["label"]) for r in rows]
    # _get_kl_dataset: completions rotated by one inside the batch (row i <- completion of row i-1).
    kl_toks = [(toks[i][0], toks[i - 1][1]) for i in range(len(toks))]
    with torch.no_grad():
        ref = torch.stack([completion_logp(base, p, c)[0] for p, c, _ in toks])
        kl_ref = torch.stack([completion_logp(base, p, c)[0] for p, c in kl_toks])
        kl_pol = torch.stack([completion_logp(pol, p, c)[0] for p, c in kl_toks])
    kl_raw = float((kl_pol - kl_ref).mean())
    kl = (kl_pol - kl_ref).mean().clamp(min=0)  # no gradient: computed under no_grad, as TRL
    pol_logps = torch.stack([completion_logp(pol, p, c)[0] for p, c, _ in toks])
    labels = [l for _, _, l in toks]
    ci = [i for i, l in enumerate(labels) if l]
    ri = [i for i, l in enumerate(labels) if not l]
    logratios = pol_logps - ref
    chosen_losses = 1 - torch.sigmoid(beta * (logratios[ci] - kl))
    rejected_losses = 1 - torch.sigmoid(beta * (kl - logratios[ri]))
    losses = torch.cat((wd * chosen_losses, wu * rejected_losses), 0)
    loss = losses.mean()
    zero_grads(pol.lora)
    loss.backward()
    with torch.no_grad():
        rewards = beta * logratios
        metrics = {"loss": float(loss), "kl": float(kl)}
        if ci:
            metrics["rewards/chosen"] = float(rewards[ci].mean())
            metrics["logps/chosen"] = float(pol_logps[ci].mean())
        if ri:
            metrics["rewards/rejected"] = float(rewards[ri].mean())
            metrics["logps/rejected"] = float(pol_logps[ri].mean())
        if ci and ri:
            metrics["rewards/margins"] = metrics["rewards/chosen"] - metrics["rewards/rejected"]
        per_row = torch.zeros(len(toks))
        per_row[ci] = wd * chosen_losses
        per_row[ri] = wu * rejected_losses
    return {
        **hp,
        "rows": [{"ids": p + c, "completion_start": len(p), "label": l} for p, c, l in toks],
        "kl_rows": [{"ids": p + c, "completion_start": len(p)} for p, c in kl_toks],
        "policy_logps": rnd(pol_logps.tolist()),
        "reference_logps": rnd(ref.tolist()),
        "kl_policy_logps": rnd(kl_pol.tolist()),
        "kl_reference_logps": rnd(kl_ref.tolist()),
        "kl_before_clamp": rnd(kl_raw),
        "loss_per_row": rnd(per_row.tolist()),
        "metrics": {k: rnd(x) for k, x in metrics.items()},
        "lora_grads": tensor_dict(pol.lora),
    }


def kto(folder, adapter, parts, bos, eos):
    pairs = [(prompt, comp, other) for (prompt, comp), (_, other) in zip(parts, parts[1:] + parts[:1])]
    rows = unpair(pairs)
    out = {"beta": KTO["beta"], "batches": {}}
    for name, hp in KTO_BATCHES.items():
        batch = rows if name == "mixed" else [r for r in rows if r["label"]]
        out["batches"][name] = kto_batch(folder, adapter, batch, bos, eos, hp)
    return out


# ------------------------------------------------------------------------------------------- Reward
def score_position(ids, pad):
    """transformers *ForSequenceClassification: the rightmost token that is not pad_token_id."""
    return max(t for t, i in enumerate(ids) if i != pad)


def write_reward_adapter(adapter, score):
    """tiny-llama-lora + a score head, saved as PEFT saves a SEQ_CLS LoRA."""
    os.makedirs(REWARD_ADAPTER, exist_ok=True)
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        cfg = json.load(f)
    cfg["task_type"] = "SEQ_CLS"
    cfg["modules_to_save"] = ["classifier", "score"]  # PeftModelForSequenceClassification adds both
    with open(os.path.join(REWARD_ADAPTER, "adapter_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")
    tensors = {k: f32_tensor(v) for k, v in read_safetensors(os.path.join(adapter, "adapter_model.safetensors")).items()}
    tensors[SCORE_KEY] = f32_tensor(score)
    write_safetensors(os.path.join(REWARD_ADAPTER, "adapter_model.safetensors"), tensors, {"format": "pt"})


def reward(folder, adapter, parts, pad):
    coef = REWARD["center_rewards_coefficient"]
    gen = torch.Generator().manual_seed(REWARD["score_seed"])
    H = Model(folder).cfg["hidden_size"]
    score0 = (torch.randn((1, H), generator=gen) * REWARD["score_std"]).to(torch.float32).numpy()
    write_reward_adapter(adapter, score0)
    pol = Model(folder, REWARD_ADAPTER)  # reads the LoRA tensors; the score head is taken below
    score = torch.tensor(read_safetensors(os.path.join(REWARD_ADAPTER, "adapter_model.safetensors"))[SCORE_KEY], requires_grad=True)
    pol.lora.pop(SCORE_KEY, None)
    pairs = []
    for (prompt, comp), (_, other) in zip(parts, parts[1:] + parts[:1]):
        pairs.append([prompt + comp, prompt + other])
    # The last pair's rejected row ends in <|im_end|>, the pad token here: it is scored at the token
    # before it (what a text row with EOS appended and pad == eos gets in transformers).
    pairs[-1][1] = pairs[-1][1][:-1]
    assert pairs[-1][1][-1] == pad
    pos = [[score_position(c, pad), score_position(r, pad)] for c, r in pairs]
    params = {**pol.lora, SCORE_KEY: score}

    def forward():
        rc = torch.stack([pol.hidden(c)[pc] @ score[0] for (c, _), (pc, _) in zip(pairs, pos)])
        rr = torch.stack([pol.hidden(r)[pr] @ score[0] for (_, r), (_, pr) in zip(pairs, pos)])
        bt = -F.logsigmoid(rc - rr).mean()
        return bt + coef * torch.mean((rc + rr) ** 2), rc, rr, bt

    loss, rc, rr, bt = forward()
    zero_grads(params)
    loss.backward()
    fd_check(lambda: forward()[0], params)
    with torch.no_grad():
        allr = torch.cat([rc, rr])
        metrics = {
            "loss": float(loss),
            "accuracy": float((rc > rr).double().mean()),
            "margin": float((rc - rr).mean()),
            "min_reward": float(allr.min()),
            "mean_reward": float(allr.mean()),
            "max_reward": float(allr.max()),
        }
    return {
        "adapter": f"engine/model/fixtures/{NAME}-reward-lora",
        "center_rewards_coefficient": coef,
        "pad_token_id": pad,
        "pairs": [{"chosen": {"ids": c, "score_position": pc}, "rejected": {"ids": r, "score_position": pr}} for (c, r), (pc, pr) in zip(pairs, pos)],
        "rewards": {"chosen": rnd(rc.tolist()), "rejected": rnd(rr.tolist())},
        "loss_without_centering": rnd(float(bt)),
        "metrics": {k: rnd(x) for k, x in metrics.items()},
        "lora_grads": tensor_dict(pol.lora),
        "score_grad": {"shape": list(score.grad.shape), "data": rnd(score.grad.reshape(-1).tolist())},
    }


def main():
    folder = os.path.join(FIXTURES, NAME)
    adapter = os.path.join(FIXTURES, NAME + "-lora")
    with open(os.path.join(FIXTURES, "goldens", NAME + ".json")) as f:
        rows = [(r["ids"], r["train_mask"]) for r in json.load(f)["rows"]]
    with open(os.path.join(folder, "tokenizer_config.json")) as f:
        tcfg = json.load(f)
    with open(os.path.join(folder, "tokenizer.json")) as f:
        vocab = {t["content"]: t["id"] for t in json.load(f)["added_tokens"]}
    BOS_ID, EOS_ID, PAD_ID = vocab[tcfg["bos_token"]], vocab[tcfg["eos_token"]], vocab[tcfg["pad_token"]]

    def split(r):
        ids, mask = r
        k = mask.index(1)
        return ids[:k], ids[k:]

    # The DPO goldens' pairs: prompt of row i, chosen = its completion, rejected = the next one's.
    parts = [split(rows[i]) for i in (0, 1, 3)]
    common = {"model": f"engine/model/fixtures/{NAME}", "adapter": f"engine/model/fixtures/{NAME}-lora",
              "bos_token_id": BOS_ID, "eos_token_id": EOS_ID}
    results = {
        "orpo": orpo(folder, adapter, parts, BOS_ID, EOS_ID),
        "simpo": simpo(folder, adapter, parts, BOS_ID, EOS_ID),
        "kto": kto(folder, adapter, parts, BOS_ID, EOS_ID),
        "reward": reward(folder, adapter, parts, PAD_ID),
    }
    for name, body in results.items():
        with open(os.path.join(OUT_DIR, f"{name}_goldens.json"), "w") as f:
            json.dump({**common, **body}, f)
            f.write("\n")
    print("orpo", results["orpo"]["metrics"])
    for k, v in results["simpo"]["variants"].items():
        print("simpo", k, v["metrics"])
    for k, v in results["kto"]["batches"].items():
        print("kto", k, "kl before clamp", v["kl_before_clamp"], v["metrics"])
    print("reward", results["reward"]["metrics"], "rewards", results["reward"]["rewards"])


if __name__ == "__main__":
    main()
