// Zip files (fflate) and hand them to the browser as a download. Runs in the page: nothing is sent anywhere.
import { zipSync, type Zippable } from 'fflate';

/** A zip of `files` (name -> bytes). Safetensors are already dense: stored, not deflated. */
export function zipFiles(files: Record<string, ArrayBuffer>): Blob {
  const entries: Zippable = {};
  for (const [name, data] of Object.entries(files)) {
    entries[name] = [new Uint8Array(data), { level: name.endsWith('.safetensors') ? 0 : 6 }];
  }
  const bytes = zipSync(entries);
  return new Blob([bytes as BlobPart], { type: 'application/zip' });
}

export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadText(text: string, fileName: string, type = 'application/json'): void {
  downloadBlob(new Blob([text], { type }), fileName);
}
