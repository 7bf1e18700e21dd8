// Test-only: runs `node cli/bin.js ...` as a user would and parses the JSON line it prints last.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);

export interface CliResult {
  json: Record<string, unknown>;
  stdout: string;
  stderr: string;
}

export async function whetstone(...args: string[]): Promise<CliResult> {
  const { stdout, stderr } = await run(process.execPath, ['cli/bin.js', ...args], { cwd: ROOT, timeout: 240_000, maxBuffer: 16 << 20 });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(last);
  } catch {
    throw new Error(`whetstone ${args.join(' ')} printed no JSON last line.\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  }
  return { json, stdout, stderr };
}
