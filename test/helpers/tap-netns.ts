/**
 * Small helpers for privileged TAP tests: run `ip` and friends with a time bound, create
 * network namespaces, spawn bounded peer processes, and a cleanup stack that tears down in
 * reverse order and keeps going when one step fails (every step is attempted, the first error
 * is reported). Register a teardown the moment the thing it removes exists.
 */
import { execFileSync, spawn } from 'node:child_process';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command synchronously with a time bound; throws with its stderr when it fails, unless `allowFail`. */
export function run(cmd: string, args: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): RunResult {
  try {
    const stdout = execFileSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    const x = e as { status?: number | null; stdout?: string; stderr?: string; message: string };
    const result = { code: x.status ?? -1, stdout: x.stdout ?? '', stderr: x.stderr ?? x.message };
    if (opts.allowFail === true) return result;
    throw new Error(`${cmd} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  }
}

export function ip(...args: string[]): string {
  return run('ip', args).stdout;
}

/** Teardown steps, run last-in first-out; every step runs even when an earlier one throws. */
export class CleanupStack {
  readonly #steps: (() => void | Promise<void>)[] = [];

  defer(step: () => void | Promise<void>): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    let first: unknown;
    while (this.#steps.length > 0) {
      const step = this.#steps.pop() as () => void | Promise<void>;
      try {
        await step();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }
}

/** Creates namespace `name` (removing a stale one left by a killed run first) and registers its deletion. */
export function createNetns(name: string, cleanup: CleanupStack): void {
  run('ip', ['netns', 'del', name], { allowFail: true });
  ip('netns', 'add', name);
  cleanup.defer(() => {
    run('ip', ['netns', 'del', name], { allowFail: true });
  });
  ip('-n', name, 'link', 'set', 'lo', 'up');
}

/** Removes a device left in the root namespace by an earlier, killed run. */
export function removeStaleLink(name: string): void {
  run('ip', ['link', 'del', name], { allowFail: true });
}

export interface Spawned {
  readonly done: Promise<RunResult>;
  /** What the process has printed so far. */
  stdout(): string;
  stderr(): string;
  kill(): void;
}

/**
 * Starts a peer process that is killed after `timeoutMs` at the latest; registers its kill.
 * `onStdout` hears the whole of stdout so far after each chunk.
 */
export function spawnBounded(cmd: string, args: readonly string[], timeoutMs: number, cleanup: CleanupStack, onStdout?: (stdout: string) => void): Spawned {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    onStdout?.(stdout);
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(e) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal !== null ? 128 : -1), stdout, stderr });
    });
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  cleanup.defer(async () => {
    kill();
    await done;
  });
  return { done, stdout: () => stdout, stderr: () => stderr, kill };
}

/** Resolves when `cond()` holds, polling every 5 ms; rejects after `timeoutMs` with `what`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
