/**
 * TapLink against the real kernel: a TAP created in the root namespace, its kernel side moved
 * into a namespace the test creates, and real frames exchanged with the Linux stack there.
 *
 * Frames are built and read with small local helpers (plus the committed wire/checksum and
 * wire/tcp codecs), so this suite tests the link, not the codecs being written alongside it.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pseudoHeaderSumV4, internetChecksum } from '../../src/wire/checksum.js';
import { emitTcp, parseTcp, TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { seq, seqAdd } from '../../src/wire/seq.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_GSO_TCPV4, type VnetHeader } from '../../src/wire/vnet.js';
import type { LinkReceiver } from '../../src/link/link.js';
import { TapLink, TapLinkError } from '../../src/link/tap-link.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack, createNetns, ip, removeStaleLink, run, spawnBounded, waitFor } from '../helpers/tap-netns.js';

const NS = 'chn-it';
const TAP = 'chntapI';
const OUR_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0xc4, 0x00, 0x02);
const KERNEL_IP = ipv4('198.18.4.1');
const OUR_IP = ipv4('198.18.4.2');

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;

function ipv4(s: string): number {
  return s.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

function u16(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

function u32(b: Uint8Array, off: number): number {
  return u16(b, off) * 0x10000 + u16(b, off + 2);
}

function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

function put32(b: Uint8Array, off: number, v: number): void {
  put16(b, off, Math.floor(v / 0x10000));
  put16(b, off + 2, v & 0xffff);
}

function macString(m: Uint8Array): string {
  return Array.from(m, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An ARP request (RFC 826) from the kernel asking who has `target`. */
function isArpRequestFor(f: Uint8Array, target: number): boolean {
  return f.length >= 42 && u16(f, 12) === ETH_P_ARP && u16(f, 20) === 1 && u32(f, 38) === target;
}

/** The ARP reply to `request` saying `ip` is at `mac` (RFC 826 "Packet Reception"). */
function arpReply(request: Uint8Array, mac: Uint8Array, ip: number): Uint8Array {
  const f = new Uint8Array(42);
  f.set(request.subarray(6, 12), 0);
  f.set(mac, 6);
  put16(f, 12, ETH_P_ARP);
  put16(f, 14, 1); // htype Ethernet
  put16(f, 16, ETH_P_IP);
  f[18] = 6;
  f[19] = 4;
  put16(f, 20, 2); // reply
  f.set(mac, 22);
  put32(f, 28, ip);
  f.set(request.subarray(22, 32), 32); // requester's MAC and IP
  return f;
}

/** An ARP request from the sender of IPv4 frame `f` for our address (to build a harmless extra frame from). */
function arpRequestFrom(f: Uint8Array): Uint8Array {
  const r = new Uint8Array(42);
  r.set(f.subarray(6, 12), 6);
  put16(r, 12, ETH_P_ARP);
  r.set(f.subarray(6, 12), 22);
  r.set(f.subarray(26, 30), 28);
  return r;
}

function isIcmpEchoRequest(f: Uint8Array): boolean {
  if (f.length < 14 + 20 + 8 || u16(f, 12) !== ETH_P_IP || f[23] !== 1) return false;
  const ihl = ((f[14] ?? 0) & 0x0f) * 4;
  return f[14 + ihl] === 8;
}

/** The echo reply to an echo request (RFC 792): addresses swapped, type 0, both checksums redone. */
function icmpEchoReply(req: Uint8Array): Uint8Array {
  const f = Uint8Array.from(req);
  f.set(req.subarray(6, 12), 0);
  f.set(req.subarray(0, 6), 6);
  f.set(req.subarray(30, 34), 26);
  f.set(req.subarray(26, 30), 30);
  const ihl = ((f[14] ?? 0) & 0x0f) * 4;
  f[22] = 64;
  put16(f, 24, 0);
  put16(f, 24, internetChecksum(f, 14, ihl));
  const icmp = 14 + ihl;
  f[icmp] = 0;
  put16(f, icmp + 2, 0);
  put16(f, icmp + 2, internetChecksum(f, icmp, u16(f, 16) - ihl));
  return f;
}

/** Collects copies of every received frame (the link's views are only valid during onFrame). */
function collector(): LinkReceiver & { frames: { frame: Uint8Array; vnet: VnetHeader | undefined }[]; batches: number } {
  const c = {
    frames: [] as { frame: Uint8Array; vnet: VnetHeader | undefined }[],
    batches: 0,
    onFrame(frame: Uint8Array, vnet: VnetHeader | undefined) {
      c.frames.push({ frame: Uint8Array.from(frame), vnet: vnet === undefined ? undefined : { ...vnet } });
    },
    onBatchEnd() {
      c.batches++;
    },
  };
  return c;
}

describePrivileged('TapLink on a real TAP (root)', () => {
  let cleanup: CleanupStack;

  beforeEach(() => {
    cleanup = new CleanupStack();
    removeStaleLink(TAP);
  });

  afterEach(async () => {
    await cleanup.run();
  });

  /** Opens the TAP, moves its kernel side into NS and configures 198.18.4.1/24 there. */
  function openMoved(options: { vnet?: boolean } = {}): TapLink {
    const link = TapLink.open({ name: TAP, ...options });
    cleanup.defer(() => link.close());
    createNetns(NS, cleanup);
    ip('link', 'set', TAP, 'netns', NS);
    ip('-n', NS, 'addr', 'add', '198.18.4.1/24', 'dev', TAP);
    ip('-n', NS, 'link', 'set', TAP, 'up');
    return link;
  }

  it('creates the device, reports its kernel MAC and ifindex, and removes it on close', async () => {
    const link = TapLink.open({ name: TAP, mtu: 1400 });
    cleanup.defer(() => link.close());
    expect(link.created).toBe(true);
    expect(link.name).toBe(TAP);
    expect(link.mtu).toBe(1400);
    expect(link.capabilities).toEqual({ vnet: false, txChecksumOffload: false, tso: false, maxFrameSize: 1400 + 18 });
    const shown = ip('-o', 'link', 'show', TAP);
    expect(shown).toContain(`link/ether ${macString(link.kernelMac)}`);
    expect(shown).toContain('mtu 1400');
    expect(shown).toMatch(/<[^>]*\bUP\b/);
    expect(link.ifindex).toBe(Number(shown.split(':')[0]));
    link.setMtu(1500);
    expect(ip('-o', 'link', 'show', TAP)).toContain('mtu 1500');
    link.setUp(false);
    expect(ip('-o', 'link', 'show', TAP)).not.toMatch(/<[^>]*\bUP\b/);
    await link.close();
    await link.close();
    expect(run('ip', ['link', 'show', TAP], { allowFail: true }).code).not.toBe(0);
    expect(() => link.setMtu(1500)).toThrow(expect.objectContaining({ code: 'ERR_CHIMNEY_LINK_CLOSED' }));
  });

  it('attaches to an existing persistent TAP and reports created: false', async () => {
    ip('tuntap', 'add', 'dev', TAP, 'mode', 'tap');
    cleanup.defer(() => {
      run('ip', ['tuntap', 'del', 'dev', TAP, 'mode', 'tap'], { allowFail: true });
    });
    const link = TapLink.open({ name: TAP, up: false });
    cleanup.defer(() => link.close());
    expect(link.created).toBe(false);
    await link.close();
    // A persistent device outlives our fd.
    expect(ip('-o', 'link', 'show', TAP)).toContain(TAP);
  });

  it('refuses a second open of a busy single-queue TAP with a system error', () => {
    const link = TapLink.open({ name: TAP });
    cleanup.defer(() => link.close());
    expect(() => TapLink.open({ name: TAP })).toThrow(expect.objectContaining({ code: 'EBUSY', syscall: 'ioctl(TUNSETIFF)', device: TAP }));
  });

  it('answers ARP and ping from a kernel in another namespace; name-based ioctls refuse clearly', async () => {
    const link = openMoved();
    expect(() => link.setMtu(1400)).toThrow(TapLinkError);
    expect(() => link.setUp(true)).toThrow(expect.objectContaining({ code: 'ERR_CHIMNEY_TAP_OTHER_NETNS' }));
    expect(() => link.ifindex).toThrow(/moved to another network namespace/);

    let arpsAnswered = 0;
    let echoes = 0;
    const seen = collector();
    link.setReceiver({
      onFrame(frame, vnet) {
        seen.onFrame(frame, vnet);
        if (isArpRequestFor(frame, OUR_IP)) {
          link.send(arpReply(frame, OUR_MAC, OUR_IP));
          arpsAnswered++;
        } else if (isIcmpEchoRequest(frame)) {
          expect(macString(frame.subarray(0, 6))).toBe(macString(OUR_MAC));
          expect(macString(frame.subarray(6, 12))).toBe(macString(link.kernelMac));
          expect(u32(frame, 26)).toBe(KERNEL_IP);
          link.send(icmpEchoReply(frame));
          echoes++;
        }
      },
      onBatchEnd() {
        seen.onBatchEnd();
      },
    });
    const ping = spawnBounded('ip', ['netns', 'exec', NS, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '198.18.4.2'], 10_000, cleanup);
    const result = await ping.done;
    expect(result.stdout).toContain('3 received');
    expect(result.code).toBe(0);
    expect(arpsAnswered).toBeGreaterThanOrEqual(1);
    expect(echoes).toBe(3);
    expect(seen.frames.every((f) => f.vnet === undefined)).toBe(true);
    expect(seen.batches).toBeGreaterThanOrEqual(1);
    expect(link.stats.rxFrames).toBe(seen.frames.length);
    expect(link.stats.rxBatches).toBeGreaterThanOrEqual(1);
    expect(link.stats.txFrames).toBe(arpsAnswered + echoes);
    expect(link.stats.txBytes).toBe(arpsAnswered * 42 + 3 * (14 + 20 + 8 + 56));
    expect(link.stats.txDropped).toBe(0);
  });

  it('lendTx: echo replies built in the transmit queue itself reach the kernel intact, around other sends, a flush and an abandoned lend', async () => {
    const link = openMoved();
    let echoes = 0;
    let extra = 0;
    link.setReceiver({
      onFrame(frame) {
        if (isArpRequestFor(frame, OUR_IP)) {
          link.send(arpReply(frame, OUR_MAC, OUR_IP));
        } else if (isIcmpEchoRequest(frame)) {
          const reply = icmpEchoReply(frame);
          // ARP replies padded to 64 and 600 bytes: frames the kernel takes without a trace, the
          // second longer than the first and the lent buffer together.
          const other = new Uint8Array(600);
          other.set(arpReply(arpRequestFrom(frame), OUR_MAC, OUR_IP));
          const small = other.subarray(0, 64);
          // The first and last echo lend a buffer they never use first.
          if (echoes !== 1) expect(link.lendTx(1500)).toBeDefined();
          else {
            link.send(small);
            extra++;
          }
          const lent = link.lendTx(reply.length + 100) as Uint8Array;
          lent.set(reply);
          // Between the lend and its send: a frame sent the ordinary way (on the second echo
          // after a flush wrote out the queue), neither of which may overwrite the lent bytes.
          if (echoes === 1) link.flush();
          link.send(other);
          extra++;
          link.send(lent.subarray(0, reply.length));
          echoes++;
        }
      },
      onBatchEnd() {},
    });
    const ping = spawnBounded('ip', ['netns', 'exec', NS, 'ping', '-c', '3', '-i', '0.2', '-W', '2', '198.18.4.2'], 10_000, cleanup);
    const result = await ping.done;
    // A reply with one wrong byte fails its checksum and is not counted.
    expect(result.stdout).toContain('3 received');
    expect(result.stdout).not.toContain('DUP');
    expect(echoes).toBe(3);
    expect(extra).toBe(4);
    expect(link.stats.txDropped).toBe(0);
  });

  it('counts frames that arrive before a receiver is set as dropped', async () => {
    const link = openMoved();
    // IPv6 router solicitations, ARP for the address below: whatever the kernel sends first.
    spawnBounded('ip', ['netns', 'exec', NS, 'ping', '-c', '2', '-i', '0.2', '-W', '1', '198.18.4.9'], 5_000, cleanup);
    await waitFor(() => link.stats.rxDropped >= 1, 5_000, 'a dropped frame');
    expect(link.stats.rxFrames).toBe(0);
  });

  it('counts a frame the kernel refuses (too short for Ethernet) as dropped and keeps going', async () => {
    const link = openMoved();
    link.send(new Uint8Array(6));
    link.flush();
    expect(link.stats.txDropped).toBe(1);
    expect(link.stats.txFrames).toBe(0);
  });

  it('with vnet and offloads: a kernel SYN arrives with NEEDS_CSUM, our partial-checksum SYN|ACK is accepted, data comes as TSO', async () => {
    const link = openMoved({ vnet: true });
    expect(link.capabilities).toEqual({ vnet: true, txChecksumOffload: true, tso: true, maxFrameSize: 65535 + 14 });
    ip('-n', NS, 'neigh', 'add', '198.18.4.2', 'lladdr', macString(OUR_MAC), 'dev', TAP, 'nud', 'permanent');
    const offloads = run('ip', ['netns', 'exec', NS, 'ethtool', '-k', TAP], { allowFail: true }).stdout;
    if (offloads !== '') expect(offloads).toMatch(/tcp-segmentation-offload: on/);

    const seen = collector();
    let synSeen: { frame: Uint8Array; vnet: VnetHeader | undefined } | undefined;
    const ourIss = seq(0x10000000);
    link.setReceiver({
      onFrame(frame, vnet) {
        seen.onFrame(frame, vnet);
        if (u16(frame, 12) !== ETH_P_IP || frame[23] !== 6) return;
        const tcp = parseTcp(frame.subarray(34, 14 + u16(frame, 16)));
        if (!tcp.ok || tcp.value.dstPort !== 7777 || (tcp.value.flags & TCP_SYN) === 0 || synSeen !== undefined) return;
        synSeen = { frame: Uint8Array.from(frame), vnet: vnet === undefined ? undefined : { ...vnet } };
        // SYN|ACK with MSS 1460 and a checksum the device (the kernel) finishes: virtio-net NEEDS_CSUM.
        const out = new Uint8Array(14 + 20 + 24);
        out.set(frame.subarray(6, 12), 0);
        out.set(OUR_MAC, 6);
        put16(out, 12, ETH_P_IP);
        out[14] = 0x45;
        put16(out, 16, 20 + 24);
        out[22] = 64;
        out[23] = 6;
        put32(out, 26, OUR_IP);
        put32(out, 30, KERNEL_IP);
        put16(out, 24, internetChecksum(out, 14, 20));
        emitTcp(
          {
            srcPort: 7777,
            dstPort: tcp.value.srcPort,
            seqNumber: ourIss,
            ackNumber: seqAdd(tcp.value.seqNumber, 1),
            flags: TCP_SYN | TCP_ACK,
            windowLen: 65535,
            urgentPointer: 0,
            options: { mss: 1460 },
            payload: new Uint8Array(0),
          },
          out,
          34,
          { kind: 'partial', pseudoHeaderSum: pseudoHeaderSumV4(OUR_IP, KERNEL_IP, 6, 24) },
        );
        link.send(out, { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart: 34, csumOffset: 16 });
      },
      onBatchEnd() {
        seen.onBatchEnd();
      },
    });

    // A bounded kernel client: connect, queue 60000 bytes, report, linger briefly.
    const client = spawnBounded(
      'ip',
      [
        'netns',
        'exec',
        NS,
        'python3',
        '-c',
        "import socket,time\ns=socket.create_connection(('198.18.4.2',7777),timeout=3)\nprint('connected',flush=True)\ns.setblocking(False)\ns.send(b'x'*60000)\ntime.sleep(1)",
      ],
      10_000,
      cleanup,
    );
    const result = await client.done;
    expect(result.stdout, result.stderr).toContain('connected');

    expect(synSeen).toBeDefined();
    const syn = synSeen as { frame: Uint8Array; vnet: VnetHeader | undefined };
    expect(syn.vnet).toBeDefined();
    const h = syn.vnet as VnetHeader;
    expect(h.flags & VNET_F_NEEDS_CSUM).toBe(VNET_F_NEEDS_CSUM);
    expect(h.gsoType).toBe(VNET_GSO_NONE);
    expect(h.csumStart).toBe(34);
    expect(h.csumOffset).toBe(16);

    // The data the kernel queued before our (absent) ACKs: TCP/IPv4 GSO super-frames bigger than one MTU.
    const gso = seen.frames.filter((f) => f.vnet !== undefined && (f.vnet.gsoType & 0x7f) === VNET_GSO_TCPV4);
    expect(gso.length).toBeGreaterThanOrEqual(1);
    const first = gso[0] as { frame: Uint8Array; vnet: VnetHeader };
    expect(first.frame.length).toBeGreaterThan(1514);
    expect(first.vnet.gsoSize).toBe(1460);
    expect(first.vnet.flags & VNET_F_NEEDS_CSUM).toBe(VNET_F_NEEDS_CSUM);
    expect(link.stats.txFrames).toBe(1);
    expect(link.stats.rxDropped).toBe(0);
  });
});
