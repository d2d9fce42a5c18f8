/**
 * Runs the real `chimney` command (bin/chimney.js over the compiled dist/) as a child process,
 * the way a user does, for integration tests: waits for its JSON `ready` line, collects every
 * JSON event it prints, and stops it with a signal. The process is killed on cleanup whatever
 * happens in the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { CleanupStack } from './tap-netns.js';

export const CHIMNEY_BIN = resolve(__dirname, '../../bin/chimney.js');

export interface ChimneyProcess {
  readonly child: ChildProcess;
  readonly ready: Record<string, unknown>;
  readonly events: Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and resolves with the exit code (or 128+n for a signal death). */
  stop(signal?: NodeJS.Signals): Promise<number>;
  readonly exited: Promise<number>;
}

/** `chimney run --log json ARGS`, resolved once it printed {"event":"ready"}. */
export async function startChimney(args: readonly string[], cleanup: CleanupStack, readyTimeoutMs = 30_000, prefix: readonly string[] = []): Promise<ChimneyProcess> {
  // With a prefix (e.g. `ip netns exec NS`), the prefix program execs node, so signals reach chimney.
  const argv = [process.execPath, CHIMNEY_BIN, 'run', '--log', 'json', ...args];
  const child = spawn(prefix[0] ?? (argv[0] as string), [...prefix.slice(1), ...(prefix.length > 0 ? argv : argv.slice(1))], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const events: Record<string, unknown>[] = [];
  let pending = '';
  let onReady: ((e: Record<string, unknown>) => void) | undefined;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        events.push(e);
        if (e['event'] === 'ready') onReady?.(e);
      } catch {
        // Not JSON: kept in stdout() for the failure message.
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number>((res) => {
    child.on('close', (code, signal) => res(code ?? (signal !== null ? 128 + signalNumber(signal) : -1)));
  });
  cleanup.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
  });
  const ready = await new Promise<Record<string, unknown>>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`chimney not ready after ${readyTimeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), readyTimeoutMs);
    onReady = (e) => {
      clearTimeout(timer);
      res(e);
    };
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`chimney exited with ${code} before ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  return {
    child,
    ready,
    events,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}
