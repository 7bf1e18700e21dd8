// config.json contents of the target models, as published on the hub (inline, trimmed of
// fields Whetstone does not read only where noted).
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../io/errors.ts';
import { modelSpecFromConfig, parameterCount } from './config.ts';

const smollm2_135m = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 0,
  eos_token_id: 0,
  hidden_act: 'silu',
  hidden_size: 576,
  initializer_range: 0.041666666666666664,
  intermediate_size: 1536,
  is_llama_config: true,
  max_position_embeddings: 8192,
  model_type: 'llama',
  num_attention_heads: 9,
  num_hidden_layers: 30,
  num_key_value_heads: 3,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_interleaved: false,
  rope_scaling: null,
  rope_theta: 100000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  vocab_size: 49152,
};

const qwen25_05b = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  use_mrope: false,
  use_sliding_window: false,
  vocab_size: 151936,
};

const llama32_1b = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 128000,
  eos_token_id: 128001,
  head_dim: 64,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 131072,
  mlp_bias: false,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 16,
  num_key_value_heads: 8,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  rope_theta: 500000.0,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.45.0.dev0',
  use_cache: true,
  vocab_size: 128256,
};

const qwen3_06b = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  initializer_range: 0.02,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  max_window_layers: 28,
  model_type: 'qwen3',
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 1000000,
  sliding_window: null,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.51.0',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const gpt2 = { model_type: 'gpt2', n_embd: 768, n_head: 12, n_layer: 12, vocab_size: 50257, activation_function: 'gelu_new' };

function expectFormatError(fn: () => unknown, pattern: RegExp): ModelFormatError {
  let err: unknown = null;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelFormatError);
  expect((err as Error).message).toMatch(pattern);
  return err as ModelFormatError;
}

describe('modelSpecFromConfig', () => {
  it('SmolLM2-135M', () => {
    const s = modelSpecFromConfig(smollm2_135m);
    expect(s).toEqual({
      modelType: 'llama',
      vocabSize: 49152,
      hiddenSize: 576,
      intermediateSize: 1536,
      numLayers: 30,
      numHeads: 9,
      numKvHeads: 3,
      headDim: 64,
      rmsNormEps: 1e-5,
      ropeTheta: 100000,
      ropeScaling: null,
      tieWordEmbeddings: true,
      attentionBias: false,
      oProjBias: false,
      mlpBias: false,
      qkNorm: false,
      maxPositionEmbeddings: 8192,
      bosTokenId: 0,
      eosTokenIds: [0],
      torchDtype: 'bfloat16',
      initializerRange: 0.041666666666666664,
    });
    expect(parameterCount(s)).toBe(134_515_008); // the published "135M"
  });

  it('Qwen2.5-0.5B: q/k/v bias, no o_proj bias', () => {
    const s = modelSpecFromConfig(qwen25_05b);
    expect(s).toMatchObject({
      modelType: 'qwen2',
      numLayers: 24,
      hiddenSize: 896,
      numHeads: 14,
      numKvHeads: 2,
      headDim: 64,
      intermediateSize: 4864,
      vocabSize: 151936,
      ropeTheta: 1e6,
      rmsNormEps: 1e-6,
      tieWordEmbeddings: true,
      attentionBias: true,
      oProjBias: false,
      mlpBias: false,
      qkNorm: false,
      eosTokenIds: [151643],
    });
    expect(parameterCount(s)).toBe(494_032_768); // HF model card: 0.49B
  });

  it('Llama-3.2-1B: rope_scaling llama3 kept raw; generation_config eos ids merged', () => {
    const s = modelSpecFromConfig(llama32_1b, { bos_token_id: 128000, eos_token_id: [128001, 128008, 128009] });
    expect(s).toMatchObject({ modelType: 'llama', numLayers: 16, hiddenSize: 2048, numHeads: 32, numKvHeads: 8, headDim: 64, ropeTheta: 500000 });
    expect(s.ropeScaling).toEqual(llama32_1b.rope_scaling);
    expect(s.eosTokenIds).toEqual([128001, 128008, 128009]);
    expect(s.bosTokenId).toBe(128000);
    expect(parameterCount(s)).toBe(1_235_814_400);
  });

  it('Qwen3-0.6B: head_dim 128 (not hidden/heads = 64), q/k norm', () => {
    const s = modelSpecFromConfig(qwen3_06b);
    expect(s).toMatchObject({ modelType: 'qwen3', headDim: 128, numHeads: 16, numKvHeads: 8, qkNorm: true, attentionBias: false, oProjBias: false, eosTokenIds: [151645] });
    expect(parameterCount(s)).toBe(596_049_920);
  });

  it('takes a list eos_token_id, attention/mlp bias flags and the newer rope_parameters/dtype fields', () => {
    const s = modelSpecFromConfig({
      ...smollm2_135m,
      eos_token_id: [2, 7],
      attention_bias: true,
      mlp_bias: true,
      rope_theta: undefined,
      rope_scaling: undefined,
      rope_parameters: { rope_type: 'default', rope_theta: 12345 },
      torch_dtype: undefined,
      dtype: 'float32',
    });
    expect(s).toMatchObject({ eosTokenIds: [2, 7], attentionBias: true, oProjBias: true, mlpBias: true, ropeTheta: 12345, ropeScaling: null, torchDtype: 'float32' });
    const base = parameterCount(modelSpecFromConfig(smollm2_135m));
    // Biases: q H + k,v 2*kv + o H per layer, MLP 2I + H per layer.
    expect(parameterCount(s) - base).toBe(30 * (576 + 2 * 192 + 576 + 2 * 1536 + 576));
    const untied = modelSpecFromConfig({ ...smollm2_135m, tie_word_embeddings: false });
    expect(parameterCount(untied) - base).toBe(49152 * 576);
  });

  it('defaults num_key_value_heads to num_attention_heads (transformers default)', () => {
    const c: Record<string, unknown> = { ...smollm2_135m };
    delete c.num_key_value_heads;
    expect(modelSpecFromConfig(c).numKvHeads).toBe(9);
  });

  it('rejects an unsupported model_type naming it and the supported ones', () => {
    const e = expectFormatError(() => modelSpecFromConfig(gpt2), /model_type "gpt2" is not supported \(supported: llama, qwen2, qwen3\)/);
    expect(e.hint).toMatch(/SmolLM2/);
    expectFormatError(() => modelSpecFromConfig({ hidden_size: 4 }), /no "model_type"/);
  });

  it('rejects missing or malformed required fields naming them', () => {
    for (const key of ['hidden_size', 'vocab_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings']) {
      const c: Record<string, unknown> = { ...smollm2_135m };
      delete c[key];
      expectFormatError(() => modelSpecFromConfig(c), new RegExp(`required field "${key}" is missing`));
    }
    expectFormatError(() => modelSpecFromConfig({ ...smollm2_135m, hidden_size: '576' }), /"hidden_size" is "576"; expected a positive integer/);
    expectFormatError(() => modelSpecFromConfig({ ...smollm2_135m, num_key_value_heads: 2 }), /not a multiple of num_key_value_heads 2/);
    expectFormatError(() => modelSpecFromConfig({ ...smollm2_135m, hidden_size: 577 }), /not divisible by num_attention_heads/);
    expectFormatError(() => modelSpecFromConfig({ ...smollm2_135m, rms_norm_eps: -1 }), /"rms_norm_eps" is -1/);
    expectFormatError(() => modelSpecFromConfig({ ...smollm2_135m, eos_token_id: 'x' }), /"eos_token_id" is "x"/);
    expectFormatError(() => modelSpecFromConfig({ ...smollm2_135m, hidden_act: 'gelu' }), /hidden_act "gelu"/);
    expectFormatError(() => modelSpecFromConfig({ ...qwen25_05b, use_sliding_window: true }), /sliding-window/);
  });
});

describe('config size bounds', () => {
  const base = { model_type: 'llama', hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 256, max_position_embeddings: 512 };
  const fails = (over: Record<string, unknown>) => {
    let err: unknown = null;
    try {
      modelSpecFromConfig({ ...base, ...over });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelFormatError);
    return (err as Error).message;
  };

  it('num_hidden_layers: 1e9 fails at once with a clear message', () => {
    expect(fails({ num_hidden_layers: 1e9 })).toBe('config.json: "num_hidden_layers" is 1000000000; Whetstone accepts at most 1024 (far above any Llama-family model)');
  });

  it('bounds every size field', () => {
    for (const [key, value] of [['vocab_size', 1e7], ['hidden_size', 1 << 20], ['intermediate_size', 1e6], ['num_attention_heads', 4096], ['num_key_value_heads', 2048], ['head_dim', 4096], ['max_position_embeddings', 1e9]] as const) {
      expect(fails({ [key]: value })).toContain(`"${key}" is ${value}; Whetstone accepts at most`);
    }
  });

  it('bounds products of sizes (one weight matrix, the whole model)', () => {
    expect(fails({ vocab_size: 1 << 20, hidden_size: 1 << 16, num_attention_heads: 64 })).toContain('vocab_size x hidden_size is');
    expect(fails({ hidden_size: 16384, intermediate_size: 200000, num_attention_heads: 128, num_hidden_layers: 1000, vocab_size: 1000 })).toContain('parameters (num_hidden_layers x layer size)');
  });

  it('accepts the largest real Llama-family shapes (Llama 3.1 405B)', () => {
    const spec = modelSpecFromConfig({ ...base, hidden_size: 16384, intermediate_size: 53248, num_attention_heads: 128, num_key_value_heads: 8, num_hidden_layers: 126, vocab_size: 128256, max_position_embeddings: 131072 });
    expect(parameterCount(spec) / 1e9).toBeCloseTo(405.9, 0);
  });
});
