/**
 * The emulator in the test's own process, on a real TAP whose kernel side sits in a namespace
 * the emulator creates: tests reach into the host stack (its sockets, errors, statistics)
 * while real Linux programs in the namespace are the peers. Everything the test starts while
 * the emulator runs must be asynchronous (`sh`, `spawnPeer`): a synchronous child process call
 * would freeze the emulator's event loop with it.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/cli/emulator.js';
import { createLogger } from '../../src/cli/log.js';
import { spawnBounded, type CleanupStack } from './tap-netns.js';

export interface TestEmulatorOptions extends Partial<EmulatorOptions> {
  readonly tap: string;
  readonly netns: string;
}

export async function startTestEmulator(options: TestEmulatorOptions, cleanup: CleanupStack): Promise<Emulator> {
  // A namespace or owner marker left by a killed earlier run must not change this run.
  await sh(['ip', 'netns', 'del', options.netns], { allowFail: true });
  rmSync(`/run/chimney/netns-${options.netns}.json`, { force: true });
  const events: string[] = [];
  const emulator = await startEmulator(
    {
      ip: '198.18.0.2/24',
      ip6: '2001:2::2/64',
      mtu: 1500,
      peerIp: '198.18.0.1/24',
      peerIp6: '2001:2::1/64',
      pcap: undefined,
      impair: undefined,
      mac: undefined,
      vnet: true,
      dadTransmits: 0,
      ...options,
    },
    createLogger('json', (line) => events.push(line)),
  );
  cleanup.defer(async () => {
    await emulator.stop();
    await sh(['ip', 'netns', 'del', options.netns], { allowFail: true });
  });
  return emulator;
}

export interface ShResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command asynchronously with a time bound (SIGKILL after it). */
export function sh(argv: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; input?: string | Buffer } = {}): Promise<ShResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? (signal !== null ? 128 : -1), stdout, stderr };
      if (result.code !== 0 && opts.allowFail !== true) reject(new Error(`${argv.join(' ')} exited ${result.code}: ${stderr.trim()}`));
      else resolve(result);
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** `sh` inside a namespace. */
export function nsh(netns: string, argv: readonly string[], opts: Parameters<typeof sh>[1] = {}): Promise<ShResult> {
  return sh(['ip', 'netns', 'exec', netns, ...argv], opts);
}

export interface Peer {
  readonly exited: Promise<ShResult>;
  stdout(): string;
  stderr(): string;
  /** Resolves once the peer printed a line matching `re` on stdout. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  kill(): void;
}

/** A long-running peer program in the namespace, killed on cleanup (and after `timeoutMs`). */
export function spawnPeer(netns: string, argv: readonly string[], cleanup: CleanupStack, timeoutMs = 120_000): Peer {
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const peer = spawnBounded('ip', ['netns', 'exec', netns, ...argv], timeoutMs, cleanup, (stdout) => {
    for (const w of [...waiters]) {
      if (w.re.test(stdout)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    exited: peer.done,
    stdout: peer.stdout,
    stderr: peer.stderr,
    kill: peer.kill,
    waitFor(re, ms = 10_000) {
      if (re.test(peer.stdout())) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`peer did not print ${re} within ${ms} ms; stdout: ${peer.stdout()} stderr: ${peer.stderr()}`)), ms);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
        void peer.done.then((r) => {
          clearTimeout(t);
          reject(new Error(`peer exited (${r.code}) before printing ${re}; stdout: ${r.stdout} stderr: ${r.stderr}`));
        });
      });
    },
  };
}
