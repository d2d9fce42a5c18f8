import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installExitFlush, PcapLink, PcapngWriter } from '../../../src/link/pcapng.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, VNET_GSO_UDP, VNET_NONE, type VnetHeader } from '../../../src/wire/vnet.js';
import { buildL4Frame, checkFrame, patternPayload } from '../../helpers/build-frames.js';
import { LinkRecorder } from '../../helpers/link-recorder.js';
import { parsePcapng, readPcapng } from '../../helpers/pcapng-reader.js';
import { toHex } from '../../helpers/hex.js';

const WALL_MS = 1_700_000_000_123;
const WALL_NS = 1_700_000_000_123_000_000n;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chimney-pcapng-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function frame(fill: number, length = 60): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

describe('PcapngWriter', () => {
  it('writes a section header, an Ethernet interface with if_name and nanosecond resolution, and packets', async () => {
    const s = new SimScheduler(500);
    const path = join(dir, 'a.pcapng');
    const w = PcapngWriter.open(path, { clock: s, wallClockMs: () => WALL_MS, flushIntervalMs: 0 });
    const id = w.addInterface('tap-test0');
    w.writePacket(id, frame(1, 61), 'in');
    s.advance(1.5);
    w.writePacket(id, frame(2, 62), 'out', ['first', 'second']);
    w.writePacket(id, frame(3, 63));
    await w.close();

    const file = readPcapng(path);
    expect(file.sectionOptions.find((o) => o.code === 4)?.value).toEqual(new TextEncoder().encode('chimney'));
    expect(file.interfaces).toEqual([expect.objectContaining({ linkType: 1, snapLen: 262144, name: 'tap-test0', tsresol: 9 })]);
    expect(file.packets.map((p) => [p.timestamp, p.flags, p.comments, p.capturedLength, p.originalLength])).toEqual([
      [WALL_NS, 1, [], 61, 61],
      [WALL_NS + 1_500_000n, 2, ['first', 'second'], 62, 62],
      [WALL_NS + 1_500_000n, undefined, [], 63, 63],
    ]);
    expect(file.packets.map((p) => p.data)).toEqual([frame(1, 61), frame(2, 62), frame(3, 63)]);
    expect(w.packets).toBe(3);
    expect(w.bytes).toBe(61 + 62 + 63);
  });

  it('truncates packets to the snap length and keeps the original length', async () => {
    const path = join(dir, 'snap.pcapng');
    const w = PcapngWriter.open(path, { flushIntervalMs: 0 });
    const id = w.addInterface('x', { snapLen: 64 });
    w.writePacket(id, frame(9, 100), 'in');
    await w.close();
    const [p] = readPcapng(path).packets;
    expect([p?.capturedLength, p?.originalLength, p?.data]).toEqual([64, 100, frame(9, 64)]);
  });

  it('keeps every packet in order across many buffer refills and blocks larger than the buffer', async () => {
    const path = join(dir, 'many.pcapng');
    const w = PcapngWriter.open(path, { bufferSize: 4096, flushIntervalMs: 0 });
    const id = w.addInterface('x');
    const sizes: number[] = [];
    for (let i = 0; i < 600; i++) {
      const n = i % 50 === 0 ? 9000 + i : 60 + (i % 300);
      sizes.push(n);
      const f = frame(i & 0xff, n);
      w.writePacket(id, f, i % 2 === 0 ? 'in' : 'out', i % 7 === 0 ? `packet ${i}` : undefined);
    }
    await w.close();
    const file = readPcapng(path);
    expect(file.packets.map((p) => p.originalLength)).toEqual(sizes);
    expect(file.packets.every((p, i) => p.data.every((b) => b === (i & 0xff)))).toBe(true);
    expect(file.packets.filter((p) => p.comments.length > 0).map((p) => p.comments[0])).toEqual(
      sizes.map((_, i) => i).filter((i) => i % 7 === 0).map((i) => `packet ${i}`),
    );
  });

  it('records several interfaces in one file', async () => {
    const path = join(dir, 'two.pcapng');
    const w = PcapngWriter.open(path, { flushIntervalMs: 0 });
    const a = w.addInterface('a');
    const b = w.addInterface('b');
    w.writePacket(b, frame(2), 'in');
    w.writePacket(a, frame(1), 'out');
    await w.close();
    const file = readPcapng(path);
    expect(file.interfaces.map((i) => i.name)).toEqual(['a', 'b']);
    expect(file.packets.map((p) => p.interfaceId)).toEqual([1, 0]);
  });

  it('flushSync puts everything on disk at once, including a chunk whose asynchronous write is still in flight', async () => {
    const path = join(dir, 'sync.pcapng');
    const w = PcapngWriter.open(path, { bufferSize: 4096, flushIntervalMs: 0 });
    const id = w.addInterface('x');
    for (let i = 0; i < 100; i++) w.writePacket(id, frame(i, 100), 'out');
    w.flush();
    w.writePacket(id, frame(0xaa, 70), 'in');
    w.flushSync();
    // Read before any asynchronous write had a chance to complete.
    const file = parsePcapng(new Uint8Array(readFileSync(path)));
    expect(file.packets).toHaveLength(101);
    expect(file.packets[100]?.data).toEqual(frame(0xaa, 70));
    await w.close();
    expect(readPcapng(path).packets).toHaveLength(101);
  });

  it('flushes buffered packets on its interval while the capture runs', async () => {
    const path = join(dir, 'interval.pcapng');
    const w = PcapngWriter.open(path, { flushIntervalMs: 20 });
    const id = w.addInterface('x');
    w.writePacket(id, frame(5), 'in');
    await new Promise((r) => setTimeout(r, 200));
    expect(parsePcapng(new Uint8Array(readFileSync(path))).packets).toHaveLength(1);
    await w.close();
  });

  it('close is idempotent and packets after close are ignored', async () => {
    const path = join(dir, 'closed.pcapng');
    const w = PcapngWriter.open(path, { flushIntervalMs: 0 });
    const id = w.addInterface('x');
    w.writePacket(id, frame(1), 'in');
    const first = w.close();
    expect(w.close()).toBe(first);
    await first;
    w.writePacket(id, frame(2), 'in');
    w.flushSync();
    expect(readPcapng(path).packets).toHaveLength(1);
  });

  it('reports a failed write once, stops recording, and rejects close', async () => {
    const errors: Error[] = [];
    const w = PcapngWriter.open('/dev/full', { bufferSize: 4096, flushIntervalMs: 0, onError: (e) => errors.push(e) });
    const id = w.addInterface('x');
    for (let i = 0; i < 200; i++) w.writePacket(id, frame(1, 200), 'in');
    w.flushSync();
    await expect(w.close()).rejects.toThrow(/ENOSPC/);
    expect(errors).toHaveLength(1);
  });

  it('throws the fs error when the file cannot be created', () => {
    expect(() => PcapngWriter.open(join(dir, 'missing', 'x.pcapng'))).toThrow(/ENOENT/);
  });

  it('installExitFlush registers an exit handler that flushes synchronously, and removes it', async () => {
    const path = join(dir, 'exit.pcapng');
    const w = PcapngWriter.open(path, { flushIntervalMs: 0 });
    const id = w.addInterface('x');
    w.writePacket(id, frame(7), 'in');
    const before = process.listeners('exit');
    const remove = installExitFlush(w);
    const added = process.listeners('exit').filter((l) => !before.includes(l));
    expect(added).toHaveLength(1);
    (added[0] as (code: number) => void)(0);
    expect(parsePcapng(new Uint8Array(readFileSync(path))).packets).toHaveLength(1);
    remove();
    expect(process.listeners('exit')).toEqual(before);
    await w.close();
  });
});

describe('PcapLink', () => {
  function setup(options: { vnet?: boolean; comment?: (f: Uint8Array, d: 'in' | 'out') => string | undefined } = {}) {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { vnet: options.vnet ?? false });
    const path = join(dir, 'link.pcapng');
    const pa = new PcapLink(a, { path, writerOptions: { clock: s, wallClockMs: () => WALL_MS, flushIntervalMs: 0 }, comment: options.comment });
    const ra = new LinkRecorder();
    const rb = new LinkRecorder();
    pa.setReceiver(ra);
    b.setReceiver(rb);
    return { s, a, b, pa, ra, rb, path };
  }

  it('records sent frames as outbound and received frames as inbound, and passes both through', async () => {
    const { s, b, pa, ra, rb, path } = setup();
    pa.send(frame(1, 70));
    s.advance(1);
    b.send(frame(2, 80));
    s.advance(1);
    await pa.close();
    expect(rb.frames.map((f) => f.frame)).toEqual([frame(1, 70)]);
    expect(ra.frames.map((f) => f.frame)).toEqual([frame(2, 80)]);
    expect(ra.batches).toBe(1);
    const file = readPcapng(path);
    expect(file.interfaces.map((i) => i.name)).toEqual(['sim0']);
    expect(file.packets.map((p) => [p.flags, p.data])).toEqual([
      [2, frame(1, 70)],
      [1, frame(2, 80)],
    ]);
    expect(file.packets.map((p) => p.timestamp)).toEqual([WALL_NS, WALL_NS + 1_000_000n]);
  });

  it('does not record a frame the inner link refused', async () => {
    const { pa, path } = setup();
    pa.send(frame(1, pa.capabilities.maxFrameSize + 1));
    await pa.close();
    expect(pa.stats.txDropped).toBe(1);
    expect(readPcapng(path).packets).toHaveLength(0);
  });

  it('attaches the comment hook result to the frames it names', async () => {
    const { s, pa, path } = setup({ comment: (f, d) => (f[0] === 2 ? `two ${d}` : undefined) });
    pa.send(frame(1));
    pa.send(frame(2));
    s.advance(1);
    await pa.close();
    expect(readPcapng(path).packets.map((p) => p.comments)).toEqual([[], ['two out']]);
  });

  it('records a GSO super-frame as its wire segments, with checksums completed, and sends it unchanged', async () => {
    const { s, pa, rb, path } = setup({ vnet: true });
    const built = buildL4Frame({ ipVersion: 4, payload: patternPayload(4000), checksum: 'partial' });
    const original = toHex(built.frame);
    const vnet: VnetHeader = { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_TCPV4, hdrLen: 54, gsoSize: 1448, csumStart: built.l4, csumOffset: 16 };
    pa.send(built.frame, vnet);
    s.advance(1);
    await pa.close();
    expect(toHex(built.frame)).toBe(original);
    expect(rb.frames.map((f) => [toHex(f.frame), f.vnet])).toEqual([[original, vnet]]);
    const packets = readPcapng(path).packets;
    expect(packets.map((p) => p.data.length - built.payloadOffset)).toEqual([1448, 1448, 1104]);
    expect(packets.map((p) => p.comments)).toEqual([
      ['TSO segment 1/3, gso_size 1448'],
      ['TSO segment 2/3, gso_size 1448'],
      ['TSO segment 3/3, gso_size 1448'],
    ]);
    for (const p of packets) expect(checkFrame(p.data)).toMatchObject({ ipHeaderOk: true, l4ChecksumOk: true });
  });

  it('records a received NEEDS_CSUM frame with its checksum completed, and hands the receiver the original', async () => {
    const { s, b, pa, ra, path } = setup({ vnet: true });
    const built = buildL4Frame({ ipVersion: 6, payload: patternPayload(300), checksum: 'partial' });
    const vnet: VnetHeader = { ...VNET_NONE, flags: VNET_F_NEEDS_CSUM, csumStart: built.l4, csumOffset: 16 };
    b.send(built.frame, vnet);
    s.advance(1);
    await pa.close();
    expect(ra.frames.map((f) => toHex(f.frame))).toEqual([toHex(built.frame)]);
    const [p] = readPcapng(path).packets;
    expect(p?.flags).toBe(1);
    expect(p?.comments).toEqual([]);
    expect(checkFrame(p?.data ?? new Uint8Array(0)).l4ChecksumOk).toBe(true);
    expect(checkFrame(built.frame).l4ChecksumOk).toBe(false);
  });

  it('records a super-frame it cannot cut as sent, saying why', async () => {
    const { s, pa, path } = setup({ vnet: true });
    const built = buildL4Frame({ ipVersion: 4, protocol: 'udp', payload: patternPayload(3000), checksum: 'partial' });
    pa.send(built.frame, { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_UDP, hdrLen: 0, gsoSize: 1000, csumStart: built.l4, csumOffset: 6 });
    s.advance(1);
    await pa.close();
    const packets = readPcapng(path).packets;
    expect(packets.map((p) => [p.data.length, p.comments])).toEqual([
      [built.frame.length, ['recorded as sent: virtio-net frame not segmented (vnet-gso-unsupported)']],
    ]);
  });

  it('shares one writer between links, one interface each, and leaves closing it to its owner', async () => {
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { names: ['left', 'right'] });
    const path = join(dir, 'shared.pcapng');
    const writer = PcapngWriter.open(path, { flushIntervalMs: 0 });
    const pa = new PcapLink(a, { writer });
    const pb = new PcapLink(b, { writer });
    pb.setReceiver(new LinkRecorder());
    pa.setReceiver(new LinkRecorder());
    pa.send(frame(1));
    s.advance(1);
    await pa.close();
    await pb.close();
    pb.flushSync();
    expect(readPcapng(path).packets.map((p) => [p.interfaceId, p.flags])).toEqual([
      [0, 2],
      [1, 1],
    ]);
    await writer.close();
  });

  it('requires exactly one of path and writer', () => {
    const [a] = SimLink.pair(new SimScheduler());
    expect(() => new PcapLink(a, {})).toThrow(TypeError);
  });
});
