/**
 * `chimney run --serve` as a user runs it (the real command, a namespace it creates), with
 * real clients: curl against the HTTP service (status page, /bytes/N, POST /sha256 with
 * Content-Length and with a chunked body, keep-alive across requests), nc against chargen,
 * discard and echo.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { patternBytes } from '../../src/cli/services.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack, run } from '../helpers/tap-netns.js';
import { startChimney } from '../helpers/chimney-process.js';
import { nsh } from '../helpers/emulator.js';

const NS = 'chs-ns';
const TAP = 'chstap0';

let cleanup: CleanupStack;
let dir: string;

beforeEach(() => {
  cleanup = new CleanupStack();
  dir = mkdtempSync(join(tmpdir(), 'chimney-serve-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
  run('ip', ['netns', 'del', NS], { allowFail: true });
  rmSync(`/run/chimney/netns-${NS}.json`, { force: true });
  cleanup.defer(() => void run('ip', ['netns', 'del', NS], { allowFail: true }));
});

afterEach(async () => {
  await cleanup.run();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describePrivileged('chimney run --serve', () => {
  it('serves http, echo, discard and chargen to real clients', async () => {
    const chimney = await startChimney(['--tap', TAP, '--netns', NS, '--serve', 'http:80', '--serve', 'echo:7', '--serve', 'discard:9', '--serve', 'chargen:19'], cleanup);
    expect(chimney.ready['serve']).toEqual(['http:80', 'echo:7', 'discard:9', 'chargen:19']);

    const status = await nsh(NS, ['curl', '-sS', '--max-time', '10', 'http://198.18.0.2/']);
    expect(status.stdout).toMatch(/^chimney host stack\n/);
    expect(status.stdout).toMatch(/tcp_connections \d+/);

    // Keep-alive: two requests on one connection (curl says it re-used it).
    const two = await nsh(NS, ['curl', '-sS', '-v', '--max-time', '10', '-o', '/dev/null', '-o', '/dev/null', 'http://198.18.0.2/bytes/1000', 'http://198.18.0.2/bytes/2000']);
    expect(two.stderr).toMatch(/Re-using existing connection|Reusing existing connection/);
    const bytes = await nsh(NS, ['sh', '-c', 'curl -sS --max-time 10 http://[2001:2::2]/bytes/1000000 | sha256sum']);
    expect(bytes.stdout.split(' ')[0]).toBe(sha(patternBytes(0, 1_000_000)));

    const body = randomBytes(3_000_000);
    const file = join(dir, 'body.bin');
    writeFileSync(file, body);
    const plain = await nsh(NS, ['curl', '-sS', '--max-time', '20', '-H', 'Expect:', '--data-binary', `@${file}`, 'http://198.18.0.2/sha256']);
    expect(plain.stdout.trim()).toBe(sha(body));
    const chunked = await nsh(NS, ['curl', '-sS', '--max-time', '20', '-H', 'Expect:', '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, 'http://198.18.0.2/sha256']);
    expect(chunked.stdout.trim()).toBe(sha(body));
    const missing = await nsh(NS, ['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', 'http://198.18.0.2/nothing']);
    expect(missing.stdout).toBe('404');

    const echo = await nsh(NS, ['sh', '-c', `nc -N 198.18.0.2 7 < ${file} | sha256sum`], { timeoutMs: 30_000 });
    expect(echo.stdout.split(' ')[0]).toBe(sha(body));
    await nsh(NS, ['sh', '-c', `nc -N 198.18.0.2 9 < ${file}`], { timeoutMs: 30_000 });
    // chargen is endless: read 1 MB and hang up; the bytes are the deterministic pattern.
    const gen = await nsh(NS, ['sh', '-c', 'nc 198.18.0.2 19 < /dev/null | head -c 1000000 | sha256sum'], { timeoutMs: 30_000 });
    expect(gen.stdout.split(' ')[0]).toBe(sha(patternBytes(0, 1_000_000)));

    expect(await chimney.stop('SIGTERM')).toBe(0);
    const stopped = chimney.events.find((e) => e['event'] === 'stopped') as
      | { stats: { drops: Record<string, number>; rxFrames: number }; target: { chimney?: { offloadedFramesIn: number } } }
      | undefined;
    // By default the connections ran in the offload target: its frames plus the host's.
    expect((stopped?.stats.rxFrames ?? 0) + (stopped?.target.chimney?.offloadedFramesIn ?? 0)).toBeGreaterThan(100);
    expect(stopped?.target.chimney?.offloadedFramesIn).toBeGreaterThan(0);
    expect(stopped?.stats.drops['internal-error']).toBeUndefined();
  }, 120_000);
});
