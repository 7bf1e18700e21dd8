"""Float64 PyTorch goldens for the SFT and DPO trainers (engine/train/trainer*.test.ts), on the
tiny-llama fixture with its non-zero tiny-llama-lora adapter. Reuses llama_reference.Model.

    /usr/bin/python3 scripts/reference/trainer_reference.py

Writes engine/train/fixtures/goldens.json:
  sft:    the token-mean loss of a batch of rows (HF label shift: logits at t predict ids[t+1],
          counted where mask[t+1] == 1), and the adapter after ONE plain SGD step (lr 0.5, no
          clipping) on a single row;
  dpo:    (prompt, chosen, rejected) pairs, completion mask = every token after the prompt;
          reference = base model (adapter off), policy = base + adapter. Per pair the summed
          completion log-probs, TRL dpo_trainer.py losses (logits = (pc - pr) - (rc - rr)) for
          sigmoid / ipo / hinge / robust, TRL's metrics, and the LoRA gradients of the mean
          sigmoid loss. IPO is given both on summed log-probs and on TRL's length-averaged ones
          (TRL divides all_logps by the completion length when loss_type == "ipo");
  adamw:  the adapter after 2 torch.optim.AdamW steps (lr 1e-2, weight_decay 0.01) with
          clip_grad_norm_(1.0) on a 2-row SFT batch, and each step's loss and pre-clip grad norm;
  schedules: transformers' get_scheduler multipliers (linear, cosine, constant_with_warmup).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import Model, rnd  # noqa: E402
from make_tiny_models import FIXTURES  # noqa: E402

torch.set_default_dtype(torch.float64)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "engine", "train", "fixtures", "goldens.json")
NAME = "tiny-llama"
BETA = 0.1
ROBUST_SMOOTHING = 0.1
SGD_LR = 0.5
ADAM = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
ADAM_MAX_NORM = 1.0


def adapter_state(m):
    return {k: {"shape": list(v.shape), "data": rnd(v.detach().reshape(-1).tolist())} for k, v in sorted(m.lora.items())}


def zero_grads(m):
    for p in m.lora.values():
        p.grad = None


def seq_logp(model, ids, mask):
    """Summed log p(ids[t+1]) over t with mask[t+1] == 1, and that count."""
    logp = torch.log_softmax(model.forward(ids), dim=-1)
    total = torch.zeros(())
    n = 0
    for t in range(len(ids) - 1):
        if mask[t + 1]:
            total = total + logp[t, ids[t + 1]]
            n += 1
    return total, n


def logsig(x):
    return F.logsigmoid(x)


def dpo_losses(pc, pr, rc, rr):
    """TRL dpo_trainer.py dpo_loss, per pair (tensors of shape (P,))."""
    z = (pc - pr) - (rc - rr)
    e = ROBUST_SMOOTHING
    return {
        "sigmoid": -logsig(BETA * z),
        "ipo": (z - 1 / (2 * BETA)) ** 2,
        "hinge": torch.relu(1 - BETA * z),
        "robust": (-logsig(BETA * z) * (1 - e) + logsig(-BETA * z) * e) / (1 - 2 * e),
    }


def schedule(kind, step, total, warmup):
    # transformers/optimization.py: _get_linear_schedule_with_warmup_lr_lambda etc.
    if kind == "constant_with_warmup":
        return step / max(1.0, warmup) if step < warmup else 1.0
    if step < warmup:
        return step / max(1, warmup)
    if kind == "linear":
        return max(0.0, (total - step) / max(1, total - warmup))
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


def main():
    folder = os.path.join(FIXTURES, NAME)
    adapter = os.path.join(FIXTURES, NAME + "-lora")
    with open(os.path.join(FIXTURES, "goldens", NAME + ".json")) as f:
        model_golden = json.load(f)
    rows = [(r["ids"], r["train_mask"]) for r in model_golden["rows"]]
    out = {"model": f"engine/model/fixtures/{NAME}", "adapter": f"engine/model/fixtures/{NAME}-lora"}

    # --- SFT: batch loss, one SGD step on row 0 ---
    base = Model(folder)
    pol = Model(folder, adapter)
    loss_all, count_all = pol.sft_loss(rows)
    with torch.no_grad():
        base_all, _ = base.sft_loss(rows)
    zero_grads(pol)
    loss0, count0 = pol.sft_loss(rows[:1])
    loss0.backward()
    with torch.no_grad():
        for p in pol.lora.values():
            p -= SGD_LR * p.grad
    out["sft"] = {
        "rows": [{"ids": i, "train_mask": m} for i, m in rows],
        "batch_loss": {"lora": rnd(float(loss_all)), "base": rnd(float(base_all)), "tokens": count_all},
        "sgd": {"row": 0, "lr": SGD_LR, "loss": rnd(float(loss0)), "tokens": count0, "adapter_after": adapter_state(pol)},
    }

    # --- DPO: prompt of row i + chosen = completion of row i, rejected = completion of row j ---
    def split(r):
        ids, mask = r
        k = mask.index(1)
        return ids[:k], ids[k:]

    parts = [split(rows[i]) for i in (0, 1, 3)]
    pairs = []
    for (prompt, comp), (_, other) in zip(parts, parts[1:] + parts[:1]):
        pairs.append({
            "chosen": {"ids": prompt + comp, "train_mask": [0] * len(prompt) + [1] * len(comp)},
            "rejected": {"ids": prompt + other, "train_mask": [0] * len(prompt) + [1] * len(other)},
        })
    pol = Model(folder, adapter)
    sums = {"pc": [], "pr": [], "rc": [], "rr": []}
    counts = {"chosen": [], "rejected": []}
    for p in pairs:
        c, nc = seq_logp(pol, p["chosen"]["ids"], p["chosen"]["train_mask"])
        r, nr = seq_logp(pol, p["rejected"]["ids"], p["rejected"]["train_mask"])
        with torch.no_grad():
            rc, _ = seq_logp(base, p["chosen"]["ids"], p["chosen"]["train_mask"])
            rr, _ = seq_logp(base, p["rejected"]["ids"], p["rejected"]["train_mask"])
        sums["pc"].append(c)
        sums["pr"].append(r)
        sums["rc"].append(rc)
        sums["rr"].append(rr)
        counts["chosen"].append(nc)
        counts["rejected"].append(nr)
    pc, pr, rc, rr = (torch.stack(sums[k]) for k in ("pc", "pr", "rc", "rr"))
    losses = dpo_losses(pc, pr, rc, rr)
    nc_t = torch.tensor(counts["chosen"], dtype=torch.float64)
    nr_t = torch.tensor(counts["rejected"], dtype=torch.float64)
    ipo_avg = dpo_losses(pc / nc_t, pr / nr_t, rc / nc_t, rr / nr_t)["ipo"]
    zero_grads(pol)
    losses["sigmoid"].mean().backward(retain_graph=True)
    grads = {k: {"shape": list(v.grad.shape), "data": rnd(v.grad.reshape(-1).tolist())} for k, v in sorted(pol.lora.items())}
    # IPO the TRL way: every log-prob divided by its completion length, then the same formulas.
    zero_grads(pol)
    apc, apr, arc, arr = pc / nc_t, pr / nr_t, rc / nc_t, rr / nr_t
    ipo_avg.mean().backward(retain_graph=True)
    ipo_grads = {k: {"shape": list(v.grad.shape), "data": rnd(v.grad.reshape(-1).tolist())} for k, v in sorted(pol.lora.items())}
    with torch.no_grad():
        ipo_metrics = {
            "rewards/chosen": float((BETA * (apc - arc)).mean()),
            "rewards/rejected": float((BETA * (apr - arr)).mean()),
            "rewards/margins": float((BETA * (apc - arc) - BETA * (apr - arr)).mean()),
            "logps/chosen": float(apc.mean()),
            "logps/rejected": float(apr.mean()),
        }
    zero_grads(pol)
    with torch.no_grad():
        chosen_rewards = BETA * (pc - rc)
        rejected_rewards = BETA * (pr - rr)
        metrics = {
            "rewards/chosen": float(chosen_rewards.mean()),
            "rewards/rejected": float(rejected_rewards.mean()),
            "rewards/accuracies": float((chosen_rewards > rejected_rewards).double().mean()),
            "rewards/margins": float((chosen_rewards - rejected_rewards).mean()),
            "logps/chosen": float(pc.mean()),
            "logps/rejected": float(pr.mean()),
        }
    out["dpo"] = {
        "beta": BETA,
        "robust_label_smoothing": ROBUST_SMOOTHING,
        "pairs": pairs,
        "completion_tokens": counts,
        "policy_logps": {"chosen": rnd(pc.tolist()), "rejected": rnd(pr.tolist())},
        "reference_logps": {"chosen": rnd(rc.tolist()), "rejected": rnd(rr.tolist())},
        "loss_per_pair": {k: rnd(v.tolist()) for k, v in losses.items()},
        "loss": {k: rnd(float(v.mean())) for k, v in losses.items()},
        "loss_ipo_length_averaged": rnd(float(ipo_avg.mean())),
        "metrics": {k: rnd(v) for k, v in metrics.items()},
        "sigmoid_lora_grads": grads,
        "ipo_length_averaged": {"metrics": {k: rnd(v) for k, v in ipo_metrics.items()}, "lora_grads": ipo_grads},
    }

    # --- AdamW: 2 steps on rows 0 and 1 together ---
    pol = Model(folder, adapter)
    params = [pol.lora[k] for k in sorted(pol.lora)]
    opt = torch.optim.AdamW(params, **ADAM)
    steps = []
    for _ in range(2):
        opt.zero_grad()
        loss, _ = pol.sft_loss(rows[:2])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, ADAM_MAX_NORM)
        opt.step()
        steps.append({"loss": rnd(float(loss)), "grad_norm": rnd(float(norm))})
    out["adamw"] = {"rows": [0, 1], **{k: v for k, v in ADAM.items() if k != "betas"}, "betas": list(ADAM["betas"]),
                    "max_grad_norm": ADAM_MAX_NORM, "steps": steps, "adapter_after": adapter_state(pol)}

    # --- schedules ---
    out["schedules"] = {
        kind: {"total": 10, "warmup": 3, "multipliers": [rnd(schedule(kind, s, 10, 3)) for s in range(11)]}
        for kind in ("linear", "cosine", "constant_with_warmup")
    }

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f)
        f.write("\n")
    print(f"sft batch loss {out['sft']['batch_loss']} sgd row loss {out['sft']['sgd']['loss']}")
    print(f"dpo loss {out['dpo']['loss']} ipo(avg) {out['dpo']['loss_ipo_length_averaged']} metrics {out['dpo']['metrics']}")
    print(f"adamw steps {steps}")


if __name__ == "__main__":
    main()
