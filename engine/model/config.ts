// Hugging Face config.json -> ModelSpec for the Llama family (llama, qwen2, qwen3). Every value
// is read from the config; where a field is absent the default is transformers' own default for
// that config class (LlamaConfig / Qwen2Config / Qwen3Config), never a per-checkpoint constant.
import { ModelFormatError } from '../io/errors.ts';

export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2', 'qwen3'] as const;
export type ModelType = (typeof SUPPORTED_MODEL_TYPES)[number];

export interface ModelSpec {
  modelType: ModelType;
  vocabSize: number; // V
  hiddenSize: number; // H
  intermediateSize: number; // I (MLP)
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number; // config.head_dim ?? H / numHeads
  rmsNormEps: number;
  ropeTheta: number;
  /** rope_scaling as in config.json (e.g. {rope_type: "llama3", factor: 32, ...}), null when none. */
  ropeScaling: Record<string, unknown> | null;
  tieWordEmbeddings: boolean;
  /** q_proj/k_proj/v_proj have a bias (always for qwen2; config.attention_bias for llama/qwen3). */
  attentionBias: boolean;
  /** o_proj has a bias (config.attention_bias for llama/qwen3; never for qwen2). */
  oProjBias: boolean;
  /** gate/up/down have a bias (llama config.mlp_bias). */
  mlpBias: boolean;
  /** Per-head RMSNorm on q and k before RoPE (qwen3: q_norm/k_norm weights of size headDim). */
  qkNorm: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  /** End-of-sequence ids: config.eos_token_id (number or list) plus generation_config's, deduplicated. */
  eosTokenIds: number[];
  /** "bfloat16", "float32", ... as written (torch_dtype, or dtype in newer transformers), null if absent. */
  torchDtype: string | null;
  /** config.initializer_range (0.02 when absent): the std of transformers' init of new weights (a reward model's score head). */
  initializerRange: number;
}

const FILE = 'config.json';

function bad(problem: string, hint = 'config.json looks damaged or is not a transformers config; download it again.'): never {
  throw new ModelFormatError(FILE, problem, hint);
}

/**
 * Upper bounds on config sizes, far above any Llama-family checkpoint (Llama 3.1 405B: 126 layers,
 * hidden 16384, intermediate 53248, 128 heads; Qwen2.5: vocab 152064; Llama 4: 10M positions), so a
 * damaged or hostile config.json (num_hidden_layers: 1e9) fails at once instead of exhausting
 * memory while the model is planned.
 */
export const CONFIG_LIMITS: Record<string, number> = {
  vocab_size: 1 << 20,
  hidden_size: 1 << 16,
  intermediate_size: 1 << 18,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 1024,
  max_position_embeddings: 1 << 24,
};
/** Elements of one weight matrix (vocab x hidden, hidden x intermediate, ...): 2^32 (16 GiB in f32). */
export const MAX_MATRIX_ELEMENTS = 2 ** 32;
/** Parameters of the whole base model: 2 trillion. */
export const MAX_PARAMETERS = 2e12;

function posInt(c: Record<string, unknown>, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (v === undefined || v === null) bad(`required field "${key}" is missing`);
  if (!Number.isSafeInteger(v) || (v as number) <= 0) bad(`"${key}" is ${JSON.stringify(v)}; expected a positive integer`);
  const max = CONFIG_LIMITS[key];
  if (max !== undefined && (v as number) > max) bad(`"${key}" is ${v}; Whetstone accepts at most ${max} (far above any Llama-family model)`);
  return v as number;
}

/** Products of sizes: every weight matrix and the whole model must be of a size that can exist. */
function checkProducts(s: ModelSpec): void {
  const H = s.hiddenSize;
  const matrices: [string, number][] = [
    ['vocab_size x hidden_size', s.vocabSize * H],
    ['hidden_size x intermediate_size', H * s.intermediateSize],
    ['hidden_size x num_attention_heads x head_dim', H * s.numHeads * s.headDim],
  ];
  for (const [what, n] of matrices) {
    if (n > MAX_MATRIX_ELEMENTS) bad(`${what} is ${n.toExponential(2)} elements; one weight matrix can hold at most ${MAX_MATRIX_ELEMENTS.toExponential(2)}`);
  }
  const params = parameterCount(s);
  if (params > MAX_PARAMETERS) bad(`the config describes ${params.toExponential(2)} parameters (num_hidden_layers x layer size); Whetstone accepts at most ${MAX_PARAMETERS.toExponential(0)}`);
}

function posNum(c: Record<string, unknown>, key: string, fallback: number): number {
  const v = c[key] ?? fallback;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) bad(`"${key}" is ${JSON.stringify(v)}; expected a positive number`);
  return v;
}

function bool(c: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = c[key] ?? fallback;
  if (typeof v !== 'boolean') bad(`"${key}" is ${JSON.stringify(v)}; expected true or false`);
  return v;
}

function tokenIds(v: unknown, key: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) bad(`"${key}" is ${JSON.stringify(v)}; expected a token id or a list of them`);
  return list as number[];
}

/**
 * config.json (parsed) -> ModelSpec. `generationConfig` (generation_config.json, optional) adds
 * its eos_token_id list (instruct models stop on several ids there).
 */
export function modelSpecFromConfig(config: Record<string, unknown>, generationConfig?: Record<string, unknown> | null): ModelSpec {
  const mt = config.model_type;
  if (typeof mt !== 'string') bad('has no "model_type"', `Whetstone supports model_type ${SUPPORTED_MODEL_TYPES.join(', ')}.`);
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(mt)) {
    throw new ModelFormatError(
      FILE,
      `model_type "${mt}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
      'Pick a Llama-family model such as SmolLM2, Qwen2.5, Qwen3 or Llama 3.2.',
    );
  }
  const modelType = mt as ModelType;
  const act = config.hidden_act ?? 'silu';
  if (act !== 'silu') {
    throw new ModelFormatError(FILE, `hidden_act "${String(act)}" is not supported (only silu)`, 'Pick a model whose MLP is SwiGLU (silu).');
  }
  if (config.use_sliding_window === true) {
    throw new ModelFormatError(FILE, 'use_sliding_window is true; sliding-window attention is not supported', 'Use a checkpoint with full attention (use_sliding_window: false).');
  }
  const hiddenSize = posInt(config, 'hidden_size');
  const numHeads = posInt(config, 'num_attention_heads');
  const numKvHeads = posInt(config, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) bad(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  if (config.head_dim === undefined || config.head_dim === null) {
    if (hiddenSize % numHeads !== 0) bad(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads} and there is no head_dim`);
  }
  const headDim = posInt(config, 'head_dim', hiddenSize / numHeads);

  // Newer transformers write rope_parameters {rope_type, rope_theta, ...} instead of rope_theta/rope_scaling.
  const ropeParams = config.rope_parameters;
  let ropeTheta: number;
  let ropeScaling: Record<string, unknown> | null;
  if (ropeParams && typeof ropeParams === 'object' && !Array.isArray(ropeParams)) {
    const rp = ropeParams as Record<string, unknown>;
    ropeTheta = posNum(rp, 'rope_theta', 10000);
    ropeScaling = rp.rope_type && rp.rope_type !== 'default' ? rp : null;
  } else {
    ropeTheta = posNum(config, 'rope_theta', 10000);
    const rs = config.rope_scaling ?? null;
    if (rs !== null && (typeof rs !== 'object' || Array.isArray(rs))) bad(`"rope_scaling" is ${JSON.stringify(rs)}; expected an object or null`);
    ropeScaling = rs as Record<string, unknown> | null;
  }

  const attnBiasFlag = bool(config, 'attention_bias', false);
  const eos = [...tokenIds(config.eos_token_id, 'eos_token_id'), ...tokenIds(generationConfig?.eos_token_id, 'generation_config eos_token_id')];
  const bos = tokenIds(config.bos_token_id ?? generationConfig?.bos_token_id, 'bos_token_id');
  const dtype = config.torch_dtype ?? config.dtype ?? null;

  const spec: ModelSpec = {
    modelType,
    vocabSize: posInt(config, 'vocab_size'),
    hiddenSize,
    intermediateSize: posInt(config, 'intermediate_size'),
    numLayers: posInt(config, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: posNum(config, 'rms_norm_eps', 1e-6),
    ropeTheta,
    ropeScaling,
    tieWordEmbeddings: bool(config, 'tie_word_embeddings', false),
    attentionBias: modelType === 'qwen2' ? true : attnBiasFlag,
    oProjBias: modelType === 'qwen2' ? false : attnBiasFlag,
    mlpBias: modelType === 'llama' ? bool(config, 'mlp_bias', false) : false,
    qkNorm: modelType === 'qwen3',
    maxPositionEmbeddings: posInt(config, 'max_position_embeddings'),
    bosTokenId: bos.length > 0 ? bos[0] : null,
    eosTokenIds: [...new Set(eos)],
    torchDtype: typeof dtype === 'string' ? dtype : null,
    initializerRange: posNum(config, 'initializer_range', 0.02),
  };
  checkProducts(spec);
  return spec;
}

/** Total parameters of the base model (embedding, layers, final norm, and lm_head unless tied). */
export function parameterCount(s: ModelSpec): number {
  const H = s.hiddenSize;
  const q = s.numHeads * s.headDim;
  const kv = s.numKvHeads * s.headDim;
  const attention = H * q + (s.attentionBias ? q : 0) + 2 * (H * kv + (s.attentionBias ? kv : 0)) + q * H + (s.oProjBias ? H : 0);
  const mlp = 3 * H * s.intermediateSize + (s.mlpBias ? 2 * s.intermediateSize + H : 0);
  const norms = 2 * H + (s.qkNorm ? 2 * s.headDim : 0);
  const embed = s.vocabSize * H;
  return embed + s.numLayers * (attention + mlp + norms) + H + (s.tieWordEmbeddings ? 0 : embed);
}
