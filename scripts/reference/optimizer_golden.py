"""Golden file for engine/ops/optimizer.test.ts: torch.optim.AdamW and torch.optim.SGD with
torch.nn.utils.clip_grad_norm_ over two parameters of odd sizes, five steps, float64.

Run with the Debian PyTorch:  /usr/bin/python3 scripts/reference/optimizer_golden.py
Writes scripts/reference/goldens/optimizer.json (committed, so the tests need no PyTorch).
"""
import json
import os

import torch

torch.manual_seed(0)
SIZES = [7, 5]
STEPS = 5


def run(opt_name, max_norm, weight_decay, grad_scale):
    gen = torch.Generator().manual_seed(1234)
    params = [torch.nn.Parameter(torch.randn(n, generator=gen, dtype=torch.float64)) for n in SIZES]
    init = [p.detach().clone().tolist() for p in params]
    if opt_name == "adamw":
        opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=1e-2)
    steps = []
    for _ in range(STEPS):
        grads = [torch.randn(n, generator=gen, dtype=torch.float64) * grad_scale for n in SIZES]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        if max_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
        else:
            norm = torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])).item()
        opt.step()
        step = {"grads": [g.tolist() for g in grads], "norm": norm, "params": [p.detach().tolist() for p in params]}
        if opt_name == "adamw":
            step["m"] = [opt.state[p]["exp_avg"].tolist() for p in params]
            step["v"] = [opt.state[p]["exp_avg_sq"].tolist() for p in params]
        steps.append(step)
    hyper = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weightDecay": weight_decay}
    return {"optimizer": opt_name, "maxNorm": max_norm, "hyper": hyper, "init": init, "steps": steps}


cases = [
    run("adamw", 0.0, 0.0, 1.0),
    run("adamw", 0.0, 0.1, 1.0),
    run("adamw", 1.0, 0.1, 3.0),   # clipping active (norm ~ 3 * sqrt(12))
    run("adamw", 100.0, 0.01, 1.0),  # clipping inactive (clip coefficient 1)
    run("sgd", 1.0, 0.0, 3.0),
    run("sgd", 0.0, 0.0, 1.0),
]
out = os.path.join(os.path.dirname(__file__), "goldens", "optimizer.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "sizes": SIZES, "cases": cases}, f)
print("wrote", out)
