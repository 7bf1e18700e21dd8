// watchStopSignals in a real child process: SIGTERM and SIGHUP ask for a stop like Ctrl-C (the
// process keeps running and finishes its step), a second signal aborts, and the exit code is
// 128 + the signal number. The same signal twice within milliseconds (a process manager signalling
// the whole group reaches the CLI directly and through cli/bin.js's forwarding) is one request.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const SCRIPT = `
import { watchStopSignals } from './cli/stopSignals.ts';
const stop = watchStopSignals({ onFirst: (s) => console.log('stopping on ' + s) });
console.log('ready');
const timer = setInterval(() => {
  if (stop.requested) {
    clearInterval(timer);
    setTimeout(() => {
      console.log('saved; exit ' + stop.exitCode);
      stop.dispose();
      process.exit(stop.exitCode);
    }, Number(process.env.SAVE_MS ?? 0));
  }
}, 20);
if (process.env.SLOW_SAVE) clearInterval(timer), setTimeout(() => {}, 60_000);
`;

async function run(signals: NodeJS.Signals[], env: Record<string, string> = {}, gapMs = 400): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
  });
  for (const s of signals) {
    child.kill(s);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return { code: await exited, out };
}

describe('watchStopSignals', () => {
  it('SIGTERM and SIGHUP request a stop that lets the work finish, exit 143 / 129', { timeout: 60_000 }, async () => {
    const term = await run(['SIGTERM']);
    expect(term.out).toContain('stopping on SIGTERM');
    expect(term.out).toContain('saved; exit 143');
    expect(term.code).toBe(143);
    const hup = await run(['SIGHUP']);
    expect(hup.out).toContain('saved; exit 129');
    expect(hup.code).toBe(129);
  });

  it('a second signal aborts at once with its code', { timeout: 60_000 }, async () => {
    const twice = await run(['SIGINT', 'SIGINT'], { SLOW_SAVE: '1' });
    expect(twice.out).toContain('stopping on SIGINT');
    expect(twice.out).not.toContain('saved');
    expect(twice.code).toBe(130);
  });

  it('the same signal delivered twice at once (direct + forwarded) is one stop request', { timeout: 60_000 }, async () => {
    const doubled = await run(['SIGTERM', 'SIGTERM'], { SAVE_MS: '500' }, 5);
    expect(doubled.out).toContain('stopping on SIGTERM');
    expect(doubled.out).toContain('saved; exit 143'); // not aborted by the duplicate
    expect(doubled.code).toBe(143);
  });
});
