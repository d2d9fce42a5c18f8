/**
 * `chimney run --control` and `chimney ctl` against a real TAP and a real peer (node net in a
 * namespace the test creates): list, offload, query, upload, show, stats, the errors, the
 * socket's mode, and removal of the socket at exit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack, run } from '../helpers/tap-netns.js';
import { CHIMNEY_BIN, startChimney } from '../helpers/chimney-process.js';

const NS = 'chctl-ns';
const TAP = 'chctltap0';

let cleanup: CleanupStack;
let dir: string;

beforeEach(() => {
  cleanup = new CleanupStack();
  dir = mkdtempSync(join(tmpdir(), 'chimney-ctl-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
  run('ip', ['netns', 'del', NS], { allowFail: true });
  rmSync(`/run/chimney/netns-${NS}.json`, { force: true });
  cleanup.defer(() => void run('ip', ['netns', 'del', NS], { allowFail: true }));
});

afterEach(async () => {
  await cleanup.run();
});

function ctl(sock: string, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CHIMNEY_BIN, 'ctl', '--control', sock, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describePrivileged('chimney ctl', () => {
  it('lists, offloads, queries and uploads a live connection through the control socket', async () => {
    const sock = join(dir, 'c.sock');
    const chimney = await startChimney(['--tap', TAP, '--netns', NS, '--offload', 'manual', '--serve', 'echo:7', '--control', sock, '--pcap', join(dir, 'f.pcapng')], cleanup);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    const peer = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', "const s=require('net').connect(7,'198.18.0.2');s.on('connect',()=>s.write('hello'));s.on('data',()=>{});setTimeout(()=>s.end(),20000)"], { stdio: 'ignore' });
    cleanup.defer(() => void peer.kill('SIGKILL'));
    let list: { id: number; offloaded: boolean; state: string; bytesIn: number }[] = [];
    for (let i = 0; i < 50 && list.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      list = JSON.parse(ctl(sock, 'list').out) as typeof list;
    }
    expect(list).toHaveLength(1);
    const id = String(list[0]?.id);
    expect(list[0]).toMatchObject({ state: 'ESTABLISHED', offloaded: false });
    const off = ctl(sock, 'offload', id);
    expect(off.code, off.err).toBe(0);
    expect(JSON.parse(off.out)).toEqual({ op: 'offload', status: 'NDIS_STATUS_SUCCESS', reason: 'application' });
    expect((JSON.parse(ctl(sock, 'list').out) as typeof list)[0]?.offloaded).toBe(true);
    const q = ctl(sock, 'query', id);
    expect(q.code, q.err).toBe(0);
    expect(JSON.parse(q.out)).toMatchObject({ status: 'NDIS_STATUS_SUCCESS', state: { Delegated: { State: 4 } } });
    const up = ctl(sock, 'upload', id);
    expect(JSON.parse(up.out)).toEqual({ op: 'upload', status: 'NDIS_STATUS_SUCCESS', reason: 'application' });
    const show = JSON.parse(ctl(sock, 'show', id).out) as Record<string, unknown>;
    expect(show).toMatchObject({ offloaded: false, policy: 'manual', lastOffload: { status: 'NDIS_STATUS_SUCCESS' }, lastUpload: { reason: 'application' } });
    const stats = JSON.parse(ctl(sock, 'stats').out) as Record<string, unknown>;
    expect(stats).toMatchObject({ offload: { offloads: 1, uploads: 1 }, drivers: [] });
    const unknown = ctl(sock, 'show', '999');
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toBe('chimney: ctl show 999: unknown connection 999\n');
    const badOp = ctl(sock, 'reboot');
    expect(badOp.code).not.toBe(0);
    expect(badOp.err).toMatch(/unknown op 'reboot'/);
    expect(await chimney.stop()).toBe(0);
    expect(() => statSync(sock)).toThrow();
    const dead = ctl(sock, 'list');
    expect(dead.code).not.toBe(0);
    expect(dead.err).toBe(`chimney: ctl: no emulator listening on ${sock} (ENOENT)\n`);
  }, 60_000);
});
