// What EngineApi keeps between calls: one GpuContext per GPU device, the loaded model (with the
// files it came from, so that after a lost device it can be put back on the new one without the
// page noticing), the last PEFT adapter used for generation, and the training run in progress.
import { GpuContext } from '../gpu/context.ts';
import { WhetstoneError } from '../errors.ts';
import type { FileSet } from '../io/fileSet.ts';
import { loadModel, type LoadedModel } from '../model/loadModel.ts';
import { destroyWeights } from '../model/weights.ts';
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
  private cachedAdapter: { key: string; model: LoadedModel; adapter: LoraAdapter } | null = null;
  /** Set while train() runs. */
  training = false;

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

  /** Loads `files` as the model, replacing (and freeing) the previous one. */
  async setModel(files: FileSet, name: string, onProgress?: ProgressCallback): Promise<ModelInfo> {
    this.unload();
    const ctx = await this.context();
    const loaded = await loadModel(ctx, files, {
      name,
      onProgress: onProgress && ((p) => onProgress({ phase: 'upload', done: p.loadedBytes, total: p.totalBytes })),
    });
    const info = modelInfo(loaded);
    this.current = { ctx, loaded, files, info };
    return info;
  }

  /** The loaded model, on the current device (reloaded from its files if the device changed). */
  async model(what: string): Promise<CurrentModel> {
    if (!this.current) throw new NoModelLoaded(what);
    const ctx = await this.context();
    if (this.current.ctx !== ctx) {
      const { files, info } = this.current;
      this.current = null; // its buffers died with the old device
      this.cachedAdapter = null;
      await this.setModel(files, info.name);
    }
    return this.current!;
  }

  /** The loaded model's tokenizer (CPU only: usable whatever happened to the device), or null. */
  tokenizer(): ChatTokenizer | null {
    return this.current?.loaded.tokenizer ?? null;
  }

  /** The adapter cached under `key` for the current model, or null. */
  adapter(key: string, model: LoadedModel): LoraAdapter | null {
    const c = this.cachedAdapter;
    return c && c.key === key && c.model === model ? c.adapter : null;
  }

  /** Keeps one adapter for generation (side-by-side compare reuses it); frees the previous one. */
  keepAdapter(key: string, model: LoadedModel, adapter: LoraAdapter): void {
    this.dropAdapter();
    this.cachedAdapter = { key, model, adapter };
  }

  unload(): void {
    this.dropAdapter();
    const c = this.current;
    this.current = null;
    if (!c) return;
    c.loaded.model.destroy();
    destroyWeights(c.loaded.model.weights);
    c.ctx.pool.trim();
  }

  private dropAdapter(): void {
    if (this.cachedAdapter && this.cachedAdapter.model === this.current?.loaded) destroyAdapter(this.cachedAdapter.adapter);
    this.cachedAdapter = null;
  }
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
    hasChatTemplate: tokenizer.hasChatTemplate,
    weightDtype: model.weights.embedDtype,
    weightBytes: weightBytes(loaded),
  };
}
