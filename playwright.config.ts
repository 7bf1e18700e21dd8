// Browser tests of the built studio in headless Chromium (Debian's /usr/bin/chromium; no browser
// downloads). WebGPU runs on SwiftShader, Chromium's CPU Vulkan driver (see TESTING.md). The
// `no-webgpu` project launches the same browser without the WebGPU flags, where
// requestAdapter() returns null, to test the "no WebGPU" page.
import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.E2E_PORT ?? 4173);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const COMMON_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'];
// chrome.gpuBenchmarking.crashGpuProcess(): a real device loss, for the device-lost test.
const TEST_HOOK_FLAGS = ['--enable-gpu-benchmarking'];

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  // SwiftShader is slow and the machines are shared; no test asserts on time.
  timeout: 90_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${PORT}`,
    headless: true,
    viewport: { width: 1366, height: 900 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'webgpu',
      testIgnore: /no-webgpu\.spec\.ts/,
      use: { launchOptions: { executablePath: CHROMIUM, args: [...WEBGPU_FLAGS, ...TEST_HOOK_FLAGS, ...COMMON_FLAGS] } },
    },
    {
      name: 'no-webgpu',
      testMatch: /no-webgpu\.spec\.ts/,
      use: { launchOptions: { executablePath: CHROMIUM, args: COMMON_FLAGS } },
    },
  ],
  webServer: {
    command: 'node scripts/serve.mjs',
    url: `http://127.0.0.1:${PORT}/`,
    env: { PORT: String(PORT) },
    reuseExistingServer: !process.env.CI,
    timeout: 30_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
