// Reference-free and unpaired preference losses (TRL ORPOTrainer, CPOTrainer loss_type "simpo",
// KTOTrainer) and the Bradley-Terry reward-model loss (RewardTrainer), each fused with its gradient
// w.r.t. its per-row inputs, so a step needs no readback between forward and backward.
// Pairs are laid out as in DPO: row i is the chosen sequence of pair i, row P + i its rejected one.
//
// orpo_loss_forward (one invocation per pair):
//   l = sums / counts (length-averaged completion log-probs), lo = (lc - lr) - (log1mexp(lc) - log1mexp(lr))
//   term_i = -beta logsig(lo)            (ORPO loss = NLL of the chosen sequences + mean_i term_i)
//   out (P, 4) = [term, beta lc, beta lr, lo]; logps (2P) = l; d_sums (2P) = d_scale dterm/dsums
// simpo_loss_forward (one invocation per pair), e = label_smoothing:
//   z = (lc - lr) - gamma / beta, term_i = -logsig(beta z)(1 - e) - logsig(-beta z) e
//   out (P, 4) = [term, beta lc, beta lr, z]; logps (2P) = l; d_sums (2P) = d_scale dterm/dsums
// kto_kl_forward (one invocation): kl[0] = max(0, mean_i(kl_policy_i - kl_reference_i)) (no gradient)
// kto_loss_forward (one invocation per row), r = policy - reference (summed log-probs):
//   desirable:   term = w_d (1 - sigmoid(beta (r - kl)))   undesirable: term = w_u (1 - sigmoid(beta (kl - r)))
//   out (n, 4) = [term, beta r, policy, label]; d_sums (n) = d_scale dterm/dpolicy
// reward_loss_forward (one invocation per pair), m = rc - rr, c = center_rewards_coefficient:
//   term = -logsig(m) + c (rc + rr)^2    (TRL's loss = mean_i term_i)
//   out (P, 4) = [term, rc, rr, m]; d_sums (2P) = d_scale dterm/d(rc, rr)
// Naive equivalents: engine/ops/preferenceLosses.ref.ts.

struct Params {
  n: u32,                   // P pairs (ORPO, SimPO, reward) or n rows (KTO)
  beta: f32,
  simpo_gamma: f32,
  label_smoothing: f32,
  desirable_weight: f32,
  undesirable_weight: f32,
  center_coefficient: f32,  // center_rewards_coefficient (0 = off)
  d_scale: f32,             // upstream gradient of each term (e.g. 1 / terms in the optimizer step)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> sums: array<f32>;          // (2P) completion log-prob sums | (2P) rewards | (n) KTO policy sums
@group(0) @binding(2) var<storage, read> counts: array<f32>;        // (2P) completion token counts (ORPO, SimPO)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;     // (P, 4) or (n, 4)
@group(0) @binding(4) var<storage, read_write> d_sums: array<f32>;  // like sums
@group(0) @binding(5) var<storage, read_write> logps: array<f32>;   // (2P) length-averaged log-probs (ORPO, SimPO)
@group(0) @binding(6) var<storage, read> ref_sums: array<f32>;      // (n) KTO reference sums
@group(0) @binding(7) var<storage, read> labels: array<u32>;        // (n) KTO: 1 desirable, 0 undesirable
@group(0) @binding(8) var<storage, read_write> kl: array<f32>;      // (1) KTO KL estimate
@group(0) @binding(9) var<storage, read> kl_policy: array<f32>;     // (n) KTO mismatched-pair sums, policy
@group(0) @binding(10) var<storage, read> kl_reference: array<f32>; // (n) same, reference

fn logsigmoid(x: f32) -> f32 {
  return min(x, 0.0) - log(1.0 + exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

// 1 - e^x for x <= 0 without cancellation near 0: -expm1(x) by its Taylor series where |x| < ln 2
// (10 terms: relative error < 1e-8), 1 - e^x below (no cancellation there).
fn one_minus_exp(x: f32) -> f32 {
  if (x > -0.6931472) {
    var term = x;
    var sum = x;
    for (var k = 2.0; k <= 11.0; k += 1.0) {
      term = term * x / k;
      sum += term;
    }
    return -sum;
  }
  return 1.0 - exp(x);
}

// log(1 - e^x) for x < 0 (TRL: torch.log1p(-torch.exp(x))).
fn log1mexp(x: f32) -> f32 {
  if (x > -0.6931472) { return log(one_minus_exp(x)); }
  let y = exp(x);
  if (y < 1e-4) { return -y - 0.5 * y * y - y * y * y / 3.0; } // log1p(-y), |y| tiny
  return log(1.0 - y);
}

@compute @workgroup_size(64)
fn orpo_loss_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) { return; }
  let nc = counts[i];
  let nr = counts[p.n + i];
  let lc = sums[i] / nc;
  let lr = sums[p.n + i] / nr;
  let lo = (lc - lr) - (log1mexp(lc) - log1mexp(lr));
  let b = p.beta;
  out[i * 4u + 0u] = -b * logsigmoid(lo);
  out[i * 4u + 1u] = b * lc;
  out[i * 4u + 2u] = b * lr;
  out[i * 4u + 3u] = lo;
  logps[i] = lc;
  logps[p.n + i] = lr;
  // dterm/dlo = -b sigmoid(-lo); dlo/dlc = 1 / (1 - e^lc); dlo/dlr = -1 / (1 - e^lr); dl/dsum = 1 / count
  let dlo = -b * sigmoid(-lo) * p.d_scale;
  d_sums[i] = dlo / (one_minus_exp(lc) * nc);
  d_sums[p.n + i] = -dlo / (one_minus_exp(lr) * nr);
}

@compute @workgroup_size(64)
fn simpo_loss_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) { return; }
  let nc = counts[i];
  let nr = counts[p.n + i];
  let lc = sums[i] / nc;
  let lr = sums[p.n + i] / nr;
  let b = p.beta;
  let e = p.label_smoothing;
  let z = (lc - lr) - p.simpo_gamma / b;
  out[i * 4u + 0u] = -logsigmoid(b * z) * (1.0 - e) - logsigmoid(-b * z) * e;
  out[i * 4u + 1u] = b * lc;
  out[i * 4u + 2u] = b * lr;
  out[i * 4u + 3u] = z;
  logps[i] = lc;
  logps[p.n + i] = lr;
  let dz = (-(1.0 - e) * b * sigmoid(-b * z) + e * b * sigmoid(b * z)) * p.d_scale;
  d_sums[i] = dz / nc;
  d_sums[p.n + i] = -dz / nr;
}

@compute @workgroup_size(1)
fn kto_kl_forward() {
  var total = 0.0;
  for (var i = 0u; i < p.n; i++) {
    total += kl_policy[i] - kl_reference[i];
  }
  kl[0] = max(0.0, total / f32(max(p.n, 1u)));
}

@compute @workgroup_size(64)
fn kto_loss_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) { return; }
  let b = p.beta;
  let r = sums[i] - ref_sums[i];
  let k = kl[0];
  var term = 0.0;
  var dr = 0.0;
  if (labels[i] == 1u) {
    let s = sigmoid(b * (r - k));
    term = p.desirable_weight * (1.0 - s);
    dr = -p.desirable_weight * b * s * (1.0 - s);
  } else {
    let s = sigmoid(b * (k - r));
    term = p.undesirable_weight * (1.0 - s);
    dr = p.undesirable_weight * b * s * (1.0 - s);
  }
  out[i * 4u + 0u] = term;
  out[i * 4u + 1u] = b * r;
  out[i * 4u + 2u] = sums[i];
  out[i * 4u + 3u] = f32(labels[i]);
  d_sums[i] = dr * p.d_scale;
}

@compute @workgroup_size(64)
fn reward_loss_forward(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) { return; }
  let rc = sums[i];
  let rr = sums[p.n + i];
  let m = rc - rr;
  let c = p.center_coefficient;
  out[i * 4u + 0u] = -logsigmoid(m) + c * (rc + rr) * (rc + rr);
  out[i * 4u + 1u] = rc;
  out[i * 4u + 2u] = rr;
  out[i * 4u + 3u] = m;
  let center = 2.0 * c * (rc + rr);
  d_sums[i] = (-sigmoid(-m) + center) * p.d_scale;
  d_sums[p.n + i] = (sigmoid(-m) + center) * p.d_scale;
}
