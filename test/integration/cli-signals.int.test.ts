/**
 * Ctrl-C at any time removes what the command created: `chimney run` interrupted while it is
 * still starting (duplicate address detection running), and `chimney fetch` interrupted while
 * it waits for its server. Without a handler the signal ends the process on the spot and the
 * namespace it created (with its owner marker) stays behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack, run } from '../helpers/tap-netns.js';
import { CHIMNEY_BIN } from '../helpers/chimney-process.js';

const NS = 'chr-sig';
const TAP = 'chrtap0';

let cleanup: CleanupStack;

function removeNetns(): void {
  run('ip', ['netns', 'del', NS], { allowFail: true });
  rmSync(`/run/chimney/netns-${NS}.json`, { force: true });
}

beforeEach(() => {
  cleanup = new CleanupStack();
  removeNetns();
  cleanup.defer(removeNetns);
});

afterEach(async () => {
  await cleanup.run();
});

async function interrupted(args: readonly string[], afterNetnsMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CHIMNEY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  cleanup.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const deadline = Date.now() + 20_000;
  while (!existsSync(`/run/netns/${NS}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(existsSync(`/run/netns/${NS}`)).toBe(true);
  await new Promise((r) => setTimeout(r, afterNetnsMs));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describePrivileged('Ctrl-C cleans up', () => {
  it('chimney run interrupted during start-up removes the namespace it created and never says ready', async () => {
    const r = await interrupted(['run', '--tap', TAP, '--netns', NS, '--dad', '5', '--log', 'json'], 1000);
    expect(r.stdout).not.toMatch(/"event":"ready"/);
    expect(r.code).toBe(0);
    expect(existsSync(`/run/netns/${NS}`)).toBe(false);
    expect(existsSync(`/run/chimney/netns-${NS}.json`)).toBe(false);
  });

  it('chimney fetch interrupted while connecting removes the namespace it created and exits 130', async () => {
    // 198.18.0.9 does not exist: the connection attempt waits on address resolution.
    const r = await interrupted(['fetch', 'http://198.18.0.9/', '-o', '/dev/null', '--tap', TAP, '--netns', NS, '--dad', '0', '--timeout', '60000'], 1000);
    expect(r.stderr).toMatch(/interrupted by SIGINT/);
    expect(r.code).toBe(130);
    expect(existsSync(`/run/netns/${NS}`)).toBe(false);
    expect(existsSync(`/run/chimney/netns-${NS}.json`)).toBe(false);
  });
});
