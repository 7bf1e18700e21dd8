// Shown instead of the studio when this browser cannot give the engine a WebGPU adapter:
// what happened and how to get WebGPU, rather than a broken app.
import { asSentence } from '../format.ts';
import type { ApiError } from '../../engine/api/types.ts';

export function NoWebGpu({ error, onRetry }: { error: ApiError; onRetry: () => void }) {
  return (
    <main className="start-screen" aria-labelledby="no-webgpu-title">
      <h1 id="no-webgpu-title">Whetstone needs WebGPU</h1>
      <p className="lead">
        Whetstone trains models on your GPU through WebGPU, and this browser did not give it one.
      </p>
      <p className="problem-detail">
        <strong>{asSentence(error.message)}</strong> {error.hint}
      </p>

      <h2>Browsers with WebGPU</h2>
      <ul>
        <li>Chrome or Edge 113 or newer on Windows, macOS and ChromeOS.</li>
        <li>
          Chrome on Linux and Android: turn on <code>chrome://flags/#enable-unsafe-webgpu</code> (and, on Linux, Vulkan:{' '}
          <code>chrome://flags/#enable-vulkan</code>), then restart the browser.
        </li>
        <li>Safari 26 on macOS, iOS and iPadOS.</li>
        <li>Firefox 141 or newer on Windows.</li>
      </ul>

      <h2>If your browser should have it</h2>
      <ul>
        <li>
          Turn hardware acceleration on (Chrome and Edge: Settings → System → “Use graphics acceleration when available”),
          then restart the browser.
        </li>
        <li>
          Open <code>chrome://gpu</code> and check that WebGPU says “Hardware accelerated”. If the GPU is blocklisted, update
          its driver.
        </li>
        <li>Open this page over https or on localhost: WebGPU needs a secure context.</li>
      </ul>

      <button type="button" onClick={onRetry}>
        Try again
      </button>
    </main>
  );
}
