/**
 * The foundation end to end: `chimney run` on a real TAP whose kernel side sits in a
 * namespace this test creates (through --netns), answered by the real Linux stack: ping and
 * ping -6, the kernel's neighbor table, a pcapng capture checked by tshark with every checksum
 * validation on, restart after SIGKILL, and the one-line errors a user can cause.
 *
 * Loss or crafted frames are not needed here; every peer is a real program (ping, nc).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack, run } from '../helpers/tap-netns.js';
import { CHIMNEY_BIN, startChimney } from '../helpers/chimney-process.js';
import { directions, fields, problems } from '../helpers/tshark.js';

const NS = 'chf-ns';
/** Holds a TAP open through the addon until killed, printing one line once it does. */
const HOLD_TAP = `
import { TapLink } from ${JSON.stringify(new URL('../../dist/src/link/tap-link.js', import.meta.url).href)};
const link = TapLink.open({ name: process.argv[1], up: false });
console.log('holding', link.name);
setInterval(() => undefined, 1000);
`;
const TAP = 'chftap0';

let cleanup: CleanupStack;
let dir: string;

beforeEach(() => {
  cleanup = new CleanupStack();
  dir = mkdtempSync(join(tmpdir(), 'chimney-foundation-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
  // A namespace or marker left by an earlier killed test run must not leak into this one.
  run('ip', ['netns', 'del', NS], { allowFail: true });
  rmSync(`/run/chimney/netns-${NS}.json`, { force: true });
  cleanup.defer(() => {
    run('ip', ['netns', 'del', NS], { allowFail: true });
    rmSync(`/run/chimney/netns-${NS}.json`, { force: true });
  });
});

afterEach(async () => {
  await cleanup.run();
});

function nsExec(args: string[], timeoutMs = 20_000): { code: number; stdout: string; stderr: string } {
  return run('ip', ['netns', 'exec', NS, ...args], { allowFail: true, timeoutMs });
}

function pingReceived(output: string): number {
  const m = /(\d+) (?:packets )?received/.exec(output);
  return m === null ? -1 : Number(m[1]);
}

function chimneyCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CHIMNEY_BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describePrivileged('chimney run against the Linux kernel', () => {
  for (const vnet of [true, false]) {
    it(`answers ping and ping -6 and fills the kernel's neighbor table (${vnet ? 'virtio-net header' : 'plain frames'})`, async () => {
      const pcap = join(dir, 'run.pcapng');
      const chimney = await startChimney(['--tap', TAP, '--netns', NS, '--pcap', pcap, ...(vnet ? [] : ['--no-vnet'])], cleanup);
      expect(chimney.ready).toMatchObject({ event: 'ready', tap: TAP, netns: NS, ipv4: '198.18.0.2/24', ipv6: '2001:2::2/64' });
      const mac = chimney.ready['mac'] as string;

      const ping4 = nsExec(['ping', '-c', '5', '-i', '0.2', '-W', '2', '198.18.0.2']);
      expect(pingReceived(ping4.stdout), ping4.stdout + ping4.stderr).toBe(5);
      const ping6 = nsExec(['ping', '-6', '-c', '5', '-i', '0.2', '-W', '2', '2001:2::2']);
      expect(pingReceived(ping6.stdout), ping6.stdout + ping6.stderr).toBe(5);

      const neigh = nsExec(['ip', 'neigh', 'show', 'dev', TAP]).stdout;
      expect(neigh).toMatch(new RegExp(`198\\.18\\.0\\.2 lladdr ${mac}`));
      expect(neigh).toMatch(new RegExp(`2001:2::2 lladdr ${mac}`));

      // Traffic the kernel checksums lazily (UDP and TCP leave with a partial checksum when the
      // TAP offers checksum offload): a datagram to a closed port and a SYN to a closed port.
      nsExec(['sh', '-c', 'echo hello | nc -u -w1 198.18.0.2 9999; echo hello | nc -u -w1 2001:2::2 9999; nc -z -w1 198.18.0.2 9; nc -z -w1 2001:2::2 9; true']);

      expect(await chimney.stop('SIGINT')).toBe(0);
      expect(existsSync(`/run/netns/${NS}`)).toBe(false);
      expect(run('ip', ['link', 'show', TAP], { allowFail: true }).code).not.toBe(0);

      // The test's own SYNs to a closed port draw RSTs, which tshark flags as a warning by
      // definition ("Connection reset"); anything else is a defect.
      expect((await problems(pcap)).filter((p) => !/\|Connection reset \(RST\)$/.test(p))).toEqual([]);
      const dirs = await directions(pcap);
      const sources = (await fields(pcap, ['eth.src'])).map(([src]) => src);
      const kernelMac = chimney.ready['kernelMac'] as string;
      expect(dirs.length).toBeGreaterThan(20);
      expect(sources).toHaveLength(dirs.length);
      dirs.forEach((direction, i) => {
        const src = sources[i];
        if (src === mac) expect(direction, `frame ${i + 1}`).toBe('out');
        else expect([src, direction], `frame ${i + 1}`).toEqual([kernelMac, 'in']);
      });
      // The TCP and UDP the kernel handed over with partial checksums are in the capture, complete.
      const l4 = await fields(pcap, ['tcp.checksum.status', 'udp.checksum.status'], '(tcp || udp) && !icmp && !icmpv6');
      expect(l4.length).toBeGreaterThanOrEqual(4);
      for (const [tcpStatus, udpStatus] of l4) expect(tcpStatus === '1' || udpStatus === '1', `${tcpStatus}/${udpStatus}`).toBe(true);
    });
  }

  it('without --netns puts the peer addresses on the TAP in its own namespace (run inside one the test made)', async () => {
    run('ip', ['netns', 'add', NS]);
    run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    // `ip netns exec` makes the test's namespace chimney's current one; nothing touches the host's.
    const chimney = await startChimney(['--tap', TAP], cleanup, 30_000, ['ip', 'netns', 'exec', NS]);
    expect(chimney.ready['netns']).toBeUndefined();
    const addrs = nsExec(['ip', '-o', 'addr', 'show', 'dev', TAP]).stdout;
    expect(addrs).toMatch(/inet 198\.18\.0\.1\/24/);
    expect(addrs).toMatch(/inet6 2001:2::1\/64/);
    const ping = nsExec(['ping', '-c', '2', '-i', '0.2', '-W', '2', '198.18.0.2']);
    expect(pingReceived(ping.stdout), ping.stdout + ping.stderr).toBe(2);
    expect(await chimney.stop('SIGINT')).toBe(0);
    // The TAP it created is gone; the namespace it did not create is left alone.
    expect(nsExec(['ip', 'link', 'show', TAP]).code).not.toBe(0);
    expect(existsSync(`/run/netns/${NS}`)).toBe(true);
  });

  it('starts again with the same TAP and namespace after being killed with SIGKILL', async () => {
    const first = await startChimney(['--tap', TAP, '--netns', NS], cleanup);
    expect(await first.stop('SIGKILL')).toBe(128 + 9);
    expect(existsSync(`/run/netns/${NS}`)).toBe(true);

    const second = await startChimney(['--tap', TAP, '--netns', NS], cleanup);
    const notice = second.events.find((e) => e['event'] === 'notice');
    expect(String(notice?.['message'])).toMatch(/reusing namespace chf-ns/);
    const ping = nsExec(['ping', '-c', '2', '-i', '0.2', '-W', '2', '198.18.0.2']);
    expect(pingReceived(ping.stdout), ping.stdout + ping.stderr).toBe(2);
    expect(await second.stop('SIGTERM')).toBe(0);
    expect(existsSync(`/run/netns/${NS}`)).toBe(false);
  });

  it('refuses, in one line, a TAP another process holds and a namespace another chimney runs in', async () => {
    // A process holding the TAP (no addresses, no traffic) in this namespace: TUNSETIFF says EBUSY.
    const holder = spawn(process.execPath, ['--input-type=module', '-e', HOLD_TAP, TAP], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.defer(() => void holder.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`TAP holder exited with ${code}`)));
    });
    const busy = chimneyCli(['run', '--tap', TAP, '--netns', NS]);
    expect(busy.status).not.toBe(0);
    expect(busy.stderr).toMatch(/^chimney: cannot open TAP chftap0: the device is busy/);
    expect(busy.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(`/run/netns/${NS}`)).toBe(false);
    holder.kill('SIGKILL');

    await startChimney(['--tap', TAP, '--netns', NS], cleanup);
    const second = chimneyCli(['run', '--tap', 'chftap1', '--netns', NS]);
    expect(second.status).not.toBe(0);
    expect(second.stderr).toMatch(/^chimney: namespace chf-ns is in use by another chimney \(pid \d+\)$/m);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reports user errors in one line with a non-zero exit', () => {
    const cases: [string[], RegExp][] = [
      [['run', '--ip', '300.1.2.3/24'], /--ip: '300\.1\.2\.3\/24' is not an IPv4 CIDR/],
      [['run', '--ip6', 'zz::1/64'], /--ip6/],
      [['run', '--bogus'], /unknown option '--bogus'/],
      [['run', '--impair', 'loss=2'], /--impair/],
      [['run', '--serve', 'gopher:70'], /--serve/],
      [['frobnicate'], /unknown command 'frobnicate'/],
    ];
    for (const [args, message] of cases) {
      const r = chimneyCli(args);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  });

  it('says it needs root when run unprivileged', () => {
    const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, CHIMNEY_BIN, 'run', '--tap', TAP], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^chimney: must run as root/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
