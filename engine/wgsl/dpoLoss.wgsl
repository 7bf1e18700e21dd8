// DPO losses over P preference pairs (TRL dpo_trainer.py semantics), forward and backward fused.
//   policy, ref: (2P) summed completion log-probs, chosen rows [0, P), rejected rows [P, 2P)
//   z = (pc - pr) - (rc - rr)            ("logits" in TRL: pi_logratios - ref_logratios)
//   sigmoid: L = -logsig(b z)(1-e) - logsig(-b z) e      ipo:    L = (z - 1/(2b))^2
//   hinge:   L = relu(1 - b z)                            robust: L = (-logsig(b z)(1-e) + logsig(-b z) e) / (1-2e)
// Outputs: pair (P, 4) = [loss, b(pc-rc), b(pr-rr), 0]; dPolicy (2P) = dScale * dL/dpolicy.
// Naive equivalent: dpoLossRef in engine/ops/dpoLoss.ref.ts.

struct Params {
  P: u32,
  loss_type: u32,   // 0 sigmoid, 1 ipo, 2 hinge, 3 robust
  beta: f32,
  label_smoothing: f32,
  d_scale: f32,     // upstream gradient of each pair's loss (1 / pairs in the optimizer step)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> policy: array<f32>;
@group(0) @binding(2) var<storage, read> ref_logps: array<f32>;
@group(0) @binding(3) var<storage, read_write> pair: array<f32>;
@group(0) @binding(4) var<storage, read_write> d_policy: array<f32>;

fn logsigmoid(x: f32) -> f32 {
  return min(x, 0.0) - log(1.0 + exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

@compute @workgroup_size(64)
fn dpo_loss_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.P) { return; }
  let pc = policy[i];
  let pr = policy[p.P + i];
  let rc = ref_logps[i];
  let rr = ref_logps[p.P + i];
  let z = (pc - pr) - (rc - rr);
  let b = p.beta;
  let e = p.label_smoothing;
  var loss = 0.0;
  var dz = 0.0;
  switch (p.loss_type) {
    case 1u: {
      let d = z - 1.0 / (2.0 * b);
      loss = d * d;
      dz = 2.0 * d;
    }
    case 2u: {
      loss = max(0.0, 1.0 - b * z);
      dz = select(0.0, -b, 1.0 - b * z > 0.0);
    }
    case 3u: {
      loss = (-logsigmoid(b * z) * (1.0 - e) + logsigmoid(-b * z) * e) / (1.0 - 2.0 * e);
      dz = (-(1.0 - e) * b * sigmoid(-b * z) - e * b * sigmoid(b * z)) / (1.0 - 2.0 * e);
    }
    default: {
      loss = -logsigmoid(b * z) * (1.0 - e) - logsigmoid(-b * z) * e;
      dz = -(1.0 - e) * b * sigmoid(-b * z) + e * b * sigmoid(b * z);
    }
  }
  pair[i * 4u + 0u] = loss;
  pair[i * 4u + 1u] = b * (pc - rc);
  pair[i * 4u + 2u] = b * (pr - rr);
  pair[i * 4u + 3u] = z;
  d_policy[i] = p.d_scale * dz;
  d_policy[p.P + i] = -p.d_scale * dz;
}
