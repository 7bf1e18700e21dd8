// Keeps the GPU library's own chatter off the terminal. Dawn (npm `webgpu`) prints warnings from
// native code straight to file descriptor 2, e.g. on Mesa's Vulkan drivers
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ...
// on every command; JavaScript cannot intercept a native write in-process, and Dawn has no switch
// for it. So cli/bin.js runs the CLI as a child whose stderr passes through this filter, which
// drops exactly those lines and passes everything else on as it comes (progress redraws included).
// `--verbose` or WHETSTONE_VERBOSE=1 runs the CLI directly, with Dawn's messages.
// Signals: the child runs in its own process group, so a terminal's Ctrl-C reaches the parent
// only, which forwards it once (the CLI's "Ctrl-C again aborts" stays a second press); SIGTERM
// and SIGHUP are forwarded the same way, and the parent exits with the child's code (143 after a
// SIGTERM that the child handled by saving its work).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** Dawn's lines to drop (whole lines, without the newline). */
export const DAWN_NOISE = /^Warning: max\w+ artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/** A stderr filter: push() chunks, get what to print. Holds back only a line that may still become a Dawn warning. */
export function noiseFilter() {
  let pending = '';
  const prefix = 'Warning: max';
  return {
    push(chunk) {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop();
      let out = '';
      for (const line of lines) if (!DAWN_NOISE.test(line)) out += `${line}\n`;
      if (!(prefix.startsWith(pending) || pending.startsWith(prefix)) || pending === '') {
        out += pending;
        pending = '';
      }
      return out;
    },
    end() {
      const rest = DAWN_NOISE.test(pending) ? '' : pending;
      pending = '';
      return rest;
    },
  };
}

/** Whether this process should run the CLI itself (verbose, already the child, or no filtering on this platform). */
export function runsDirectly(argv = process.argv, env = process.env) {
  return argv.includes('--verbose') || /^(1|true|yes)$/i.test(env.WHETSTONE_VERBOSE ?? '') || env.WHETSTONE_CLI_CHILD === '1' || process.platform === 'win32';
}

/** Runs `script` with the same arguments as a filtered child; resolves with the exit code to use. */
export function runFiltered(script) {
  const tty = Boolean(process.stderr.isTTY);
  const child = spawn(process.execPath, [...process.execArgv, script, ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    detached: true,
    env: { ...process.env, WHETSTONE_CLI_CHILD: '1', ...(tty ? { WHETSTONE_STDERR_TTY: '1', WHETSTONE_STDERR_COLUMNS: String(process.stderr.columns ?? 100) } : {}) },
  });
  const filter = noiseFilter();
  // A closed terminal (SIGHUP) makes writes fail: keep forwarding signals and wait for the child's code.
  process.stderr.on('error', () => {});
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const out = filter.push(chunk);
    if (out) process.stderr.write(out);
  });
  const forward = (signal) => () => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  const handlers = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => [s, forward(s)]);
  for (const [s, h] of handlers) process.on(s, h);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`error: could not start the CLI: ${e.message}\n`);
      resolve(2);
    });
    child.on('close', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      const rest = filter.end();
      if (rest) process.stderr.write(rest);
      // A child ended by a signal: 128 + its number, as a shell reports it.
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}
