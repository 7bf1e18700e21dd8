// What EngineApi keeps between calls: one GpuContext per GPU device, the loaded model (with the
// files it came from, so that after a lost device it can be put back on the new one without the
// page noticing), the last PEFT adapter used for generation, and the training run in progress.
import { GpuContext } from '../gpu/context.ts';
import { WhetstoneError } from '../errors.ts';
import type { FileSet } from '../io/fileSet.ts';
import { loadModel, type LoadedModel } from '../model/loadModel.ts';
import { destroyWeights, type WeightsQuantization } from '../model/weights.ts';
import type { FourBitOptions } from '../quant/loadNf4.ts';
import type { LoraAdapter } from '../lora/types.ts';
import { destroyAdapter } from '../lora/adapter.ts';
import type { ChatTokenizer } from '../data/tokenizer.ts';
import { weightBytes } from '../session/memory.ts';
import type { ModelInfo } from './contract.ts';
import type { DeviceSession } from './deviceSession.ts';
import type { ProgressCallback } from './types.ts';

export class NoModelLoaded extends WhetstoneError {
  constructor(what: string) {
    super(`No model is loaded, so there is nothing to use for ${what}.`, 'Load the demo model, a hub model or a model folder first.');
  }
}

export class TrainingInProgress extends WhetstoneError {
  constructor(what: string) {
    super(`A training run is in progress, so ${what} has to wait.`, 'Stop the run (its adapter is kept) or wait until it ends.');
  }
}

export interface CurrentModel {
  ctx: GpuContext;
  loaded: LoadedModel;
  files: FileSet;
  info: ModelInfo;
  /** How it was loaded (load_in_4bit): a reload after a lost device loads it the same way. */
  fourBit: FourBitOptions;
}

export interface EngineOptions {
  /** URL of the demo model folder (manifest.json and its files). Default: models/demo/ under the page's base. */
  demoModelUrl?: string;
  /** Hub server (tests point it at a local one). Default https://huggingface.co. */
  hubUrl?: string;
  fetch?: typeof fetch;
}

export class EngineRuntime {
  private ctx: GpuContext | null = null;
  private current: CurrentModel | null = null;
  /** Adapters kept for generation, newest last: a policy and a reward model for best-of-N. */
  private cachedAdapters: { key: string; model: LoadedModel; adapter: LoraAdapter }[] = [];
  /** Set while train() runs (from the moment it is called: new model uses are refused from then on). */
  training = false;
  /** The chain of model uses (generation, scoring, export), one at a time in call order. */
  private uses: Promise<unknown> = Promise.resolve();

  constructor(
    readonly session: DeviceSession,
    readonly options: EngineOptions = {},
  ) {}

  /** The GpuContext of the current device (a new one after the device was lost and re-acquired). */
  async context(): Promise<GpuContext> {
    const { device, caps } = await this.session.acquire();
    if (this.ctx?.device !== device) this.ctx = new GpuContext(device, caps);
    return this.ctx;
  }

  /** Loads `files` as the model (16-bit, or 4-bit per `fourBit`), replacing (and freeing) the previous one. */
  async setModel(files: FileSet, name: string, onProgress?: ProgressCallback, fourBit: FourBitOptions = {}): Promise<ModelInfo> {
    this.unload();
    const ctx = await this.context();
    const loaded = await loadModel(ctx, files, {
      name,
      ...fourBit,
      onProgress: onProgress && ((p) => onProgress({ phase: 'upload', done: p.loadedBytes, total: p.totalBytes })),
    });
    const info = modelInfo(loaded);
    this.current = { ctx, loaded, files, info, fourBit };
    return info;
  }

  /**
   * The loaded model, on the current device (reloaded from its files if the device changed);
   * with `fourBit` (a training run's load_in_4bit), reloaded in 4-bit or 16-bit when it was loaded
   * the other way (a pre-quantized checkpoint is 4-bit either way), reporting that load's progress.
   */
  async model(what: string, fourBit?: FourBitOptions, onProgress?: ProgressCallback): Promise<CurrentModel> {
    if (!this.current) throw new NoModelLoaded(what);
    const ctx = await this.context();
    const reload = fourBit && needsReload(this.current.loaded.model.weights.quantization, fourBit);
    if (this.current.ctx !== ctx || reload) {
      const { files, info } = this.current;
      const options = reload ? fourBit : this.current.fourBit;
      if (this.current.ctx !== ctx) this.current = null; // its buffers died with the old device
      this.cachedAdapters = [];
      await this.setModel(files, info.name, onProgress, options);
    }
    return this.current!;
  }

  /**
   * Runs `work` (a generation, a scoring, an export) once the uses asked for before it have
   * finished: one at a time, so no use finds its cached adapter evicted by another, a lost device
   * reloads the model once, and a run never shares the GPU model with one (`idle`). Refused with
   * TrainingInProgress while a run trains: the page calls these from several panels, and a
   * generation asked for in the middle of a run would otherwise interleave with its steps.
   */
  use<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.training) return Promise.reject(new TrainingInProgress(what));
    const run = this.uses.then(work, work);
    this.uses = run.catch(() => {});
    return run;
  }

  /** Resolves when every model use asked for so far has finished (train() waits for it). */
  idle(): Promise<void> {
    return this.uses.then(() => undefined);
  }

  /** The loaded model's tokenizer (CPU only: usable whatever happened to the device), or null. */
  tokenizer(): ChatTokenizer | null {
    return this.current?.loaded.tokenizer ?? null;
  }

  /** The adapter cached under `key` for the current model, or null. */
  adapter(key: string, model: LoadedModel): LoraAdapter | null {
    const c = this.cachedAdapters.find((x) => x.key === key && x.model === model);
    if (!c) return null;
    // Most recently used last: the adapter kept next evicts the other one.
    this.cachedAdapters = [...this.cachedAdapters.filter((x) => x !== c), c];
    return c.adapter;
  }

  /**
   * Keeps an adapter for generation (side-by-side compare reuses it; best-of-N holds the policy and
   * the reward model): at most two, the oldest freed.
   */
  keepAdapter(key: string, model: LoadedModel, adapter: LoraAdapter): void {
    while (this.cachedAdapters.length >= MAX_CACHED_ADAPTERS) this.dropAdapter(this.cachedAdapters[0]);
    this.cachedAdapters.push({ key, model, adapter });
  }

  unload(): void {
    for (const c of [...this.cachedAdapters]) this.dropAdapter(c);
    const c = this.current;
    this.current = null;
    if (!c) return;
    c.loaded.model.destroy();
    destroyWeights(c.loaded.model.weights);
    c.ctx.pool.trim();
  }

  private dropAdapter(c: { model: LoadedModel; adapter: LoraAdapter }): void {
    if (c.model === this.current?.loaded) destroyAdapter(c.adapter);
    this.cachedAdapters = this.cachedAdapters.filter((x) => x !== c);
  }
}

const MAX_CACHED_ADAPTERS = 2;

/** Whether weights loaded as `now` differ from what `want` asks (a pre-quantized checkpoint never does). */
export function needsReload(now: WeightsQuantization | null, want: FourBitOptions): boolean {
  if (now?.preQuantized) return false;
  if (!now) return Boolean(want.loadIn4bit);
  return !want.loadIn4bit || now.doubleQuant !== Boolean(want.doubleQuant);
}

export function modelInfo(loaded: LoadedModel): ModelInfo {
  const { spec, model, tokenizer } = loaded;
  return {
    name: loaded.name,
    modelType: spec.modelType,
    parameters: loaded.parameters,
    layers: spec.numLayers,
    hiddenSize: spec.hiddenSize,
    heads: spec.numHeads,
    kvHeads: spec.numKvHeads,
    vocabSize: spec.vocabSize,
    maxPositionEmbeddings: spec.maxPositionEmbeddings,
    hasChatTemplate: tokenizer.hasChatTemplate,
    weightDtype: model.weights.embedDtype,
    weightBytes: weightBytes(loaded),
    savedIn4bit: model.weights.quantization?.preQuantized ?? false,
  };
}
