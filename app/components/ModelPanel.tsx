// Model: the base model to fine-tune — the built-in demo, a preset or any Hugging Face id
// (downloaded once, then cached by the browser), or a folder on this computer.
import { useState, type DragEvent } from 'react';
import type { ModelSource } from '../../engine/api/contract.ts';
import { formatBytes } from '../format.ts';
import { readDroppedFolder, readPickedFolder, type PickedFile } from '../folderFiles.ts';
import { useStudio } from '../store/index.ts';
import { MemoryEstimateView } from './MemoryEstimateView.tsx';
import { ModelFacts } from './ModelFacts.tsx';
import { Panel } from './Panel.tsx';
import { Problem } from './Problem.tsx';
import { ProgressLine } from './ProgressLine.tsx';

export const PRESETS = ['HuggingFaceTB/SmolLM2-135M-Instruct', 'HuggingFaceTB/SmolLM2-360M-Instruct', 'Qwen/Qwen2.5-0.5B-Instruct'];

function progressDetail(phase: string, done: number, total: number | null): string {
  const what = phase === 'download' ? 'Downloading' : phase === 'upload' ? 'Uploading to the GPU' : phase;
  return total ? `${what}: ${formatBytes(done)} of ${formatBytes(total)}` : `${what}: ${formatBytes(done)}`;
}

export function ModelPanel() {
  const model = useStudio((s) => s.model);
  const loadModel = useStudio((s) => s.loadModel);
  const token = useStudio((s) => s.hubToken);
  const setToken = useStudio((s) => s.setHubToken);
  const training = useStudio((s) => s.training.phase);
  const [choice, setChoice] = useState('demo');
  const [hubId, setHubId] = useState('');
  const [folder, setFolder] = useState<{ name: string; files: PickedFile[] } | null>(null);
  const busy = model.status === 'loading' || ['starting', 'running', 'paused', 'stopping', 'recovering'].includes(training);

  function source(): ModelSource | null {
    const t = token.trim();
    if (choice === 'demo') return { kind: 'demo' };
    if (choice === 'folder') return folder ? { kind: 'files', name: folder.name, files: folder.files } : null;
    const repo = choice === 'custom' ? hubId.trim() : choice;
    return repo ? { kind: 'hub', repo, ...(t ? { token: t } : {}) } : null;
  }

  async function onDrop(e: DragEvent) {
    e.preventDefault();
    const picked = await readDroppedFolder(e.dataTransfer.items);
    if (picked) {
      setChoice('folder');
      setFolder(picked);
    }
  }

  const ready = source();
  return (
    <Panel title="Model" subtitle="The base model to fine-tune">
      <div className="drop-area" onDragOver={(e) => e.preventDefault()} onDrop={(e) => void onDrop(e)}>
        <label className="field">
          <span className="field-label">Model</span>
          <select aria-label="Model" value={choice} onChange={(e) => setChoice(e.target.value)} disabled={busy}>
            <option value="demo">Demo — tiny Llama, built in (works offline)</option>
            {PRESETS.map((id) => (
              <option key={id} value={id}>
                {id.split('/')[1]} (Hugging Face)
              </option>
            ))}
            <option value="custom">Any Hugging Face model…</option>
            <option value="folder">A folder on this computer…</option>
          </select>
        </label>
        {choice === 'custom' && (
          <label className="field">
            <span className="field-label">Hugging Face model id</span>
            <input type="text" placeholder="owner/name" value={hubId} onChange={(e) => setHubId(e.target.value)} spellCheck={false} />
          </label>
        )}
        {choice !== 'demo' && choice !== 'folder' && (
          <label className="field">
            <span className="field-label">Access token (optional)</span>
            <input type="password" autoComplete="off" placeholder="hf_… for gated models" value={token} onChange={(e) => setToken(e.target.value)} />
            <span className="field-help">
              Kept in memory only: never saved, and sent only to huggingface.co. The model downloads once, then loads from this
              browser&apos;s cache.
            </span>
          </label>
        )}
        {choice === 'folder' && (
          <label className="field">
            <span className="field-label">Model folder</span>
            <input
              type="file"
              multiple
              {...{ webkitdirectory: '' }}
              onChange={(e) => {
                const list = e.target.files;
                if (list && list.length > 0) void readPickedFolder(list).then(setFolder);
              }}
            />
            <span className="field-help">
              {folder ? `${folder.name}: ${folder.files.length} files` : 'config.json, tokenizer.json and *.safetensors — or drop the folder here.'}
            </span>
          </label>
        )}
        <div className="actions">
          <button type="button" disabled={!ready || busy} onClick={() => ready && void loadModel(ready)}>
            {model.status === 'loading' ? 'Loading…' : 'Load model'}
          </button>
        </div>
      </div>
      {model.status === 'loading' && (
        <ProgressLine
          label="Model loading"
          value={model.progress?.done ?? 0}
          max={model.progress?.total ?? null}
          detail={model.progress ? progressDetail(model.progress.phase, model.progress.done, model.progress.total) : 'Starting…'}
        />
      )}
      {model.error && <Problem error={model.error} />}
      {model.status === 'ready' && model.info && <ModelFacts info={model.info} />}
      <MemoryEstimateView />
      <p className="privacy muted">Once the model is loaded, nothing leaves this machine: your data and adapter stay in this browser.</p>
    </Panel>
  );
}
