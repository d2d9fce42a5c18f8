/**
 * Captures written by PcapLink, read back by tshark with every checksum check on: the file is
 * well-formed, virtio-net frames appear as the wire frames they stand for, directions and
 * comments survive. Needs tshark (installed in CI; skipped elsewhere when missing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapLink, PcapngWriter } from '../../../src/link/pcapng.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_NONE, type VnetHeader } from '../../../src/wire/vnet.js';
import { buildL4Frame, patternPayload, type L4FrameSpec } from '../../helpers/build-frames.js';
import { LinkRecorder } from '../../helpers/link-recorder.js';
import { comments, directions, fields, problems, tsharkMissing } from '../../helpers/tshark.js';

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;

const missing = tsharkMissing();
if (missing !== undefined && process.env['CI'] === 'true') throw new Error(`CI requires tshark: ${missing}`);
if (missing !== undefined) console.log(missing);

/** The TCP flags of an untagged IPv4 or IPv6 (no extension headers) TCP frame, or undefined. */
function tcpFlags(frame: Uint8Array): number | undefined {
  const v4 = frame[12] === 0x08 && frame[13] === 0x00;
  const protocol = v4 ? frame[14 + 9] : frame[14 + 6];
  if (protocol !== 6) return undefined;
  return frame[(v4 ? 14 + 20 : 14 + 40) + 13];
}

function partialVnet(l4: number, gsoType = 0, gsoSize = 0): VnetHeader {
  return { flags: VNET_F_NEEDS_CSUM, gsoType, hdrLen: 0, gsoSize, csumStart: l4, csumOffset: 16 };
}

/**
 * One TCP connection per IP version, as seen from side A: handshake with complete checksums,
 * then A sends a 4000-byte TSO super-frame (NEEDS_CSUM) and B answers with an ACK whose
 * checksum is still partial, then A closes with FIN, plus a UDP datagram with a partial checksum.
 */
function conversation(ipVersion: 4 | 6, port: number): { frame: Uint8Array; vnet: VnetHeader; from: 'a' | 'b' }[] {
  const base = { ipVersion, srcPort: port, dstPort: 5001 } as const;
  const back = { ipVersion, srcPort: 5001, dstPort: port, reverse: true } as const;
  const full = (spec: L4FrameSpec) => ({ frame: buildL4Frame(spec).frame, vnet: VNET_NONE });
  const superFrame = buildL4Frame({ ...base, seqNumber: 1000, ackNumber: 5000, flags: ACK | PSH, payload: patternPayload(4000), checksum: 'partial' });
  const ackBack = buildL4Frame({ ...back, seqNumber: 5000, ackNumber: 5000, flags: ACK, payload: new Uint8Array(0), checksum: 'partial' });
  const udp = buildL4Frame({ ipVersion, protocol: 'udp', srcPort: port, dstPort: 7, payload: patternPayload(40), checksum: 'partial' });
  return [
    { ...full({ ...base, seqNumber: 999, ackNumber: 0, flags: SYN, payload: new Uint8Array(0) }), from: 'a' },
    { ...full({ ...back, seqNumber: 4999, ackNumber: 1000, flags: SYN | ACK, payload: new Uint8Array(0) }), from: 'b' },
    { ...full({ ...base, seqNumber: 1000, ackNumber: 5000, flags: ACK, payload: new Uint8Array(0) }), from: 'a' },
    { frame: superFrame.frame, vnet: partialVnet(superFrame.l4, ipVersion === 4 ? VNET_GSO_TCPV4 : VNET_GSO_TCPV6, 1448), from: 'a' },
    { frame: ackBack.frame, vnet: partialVnet(ackBack.l4), from: 'b' },
    { ...full({ ...base, seqNumber: 5000, ackNumber: 5000, flags: FIN | ACK, payload: new Uint8Array(0) }), from: 'a' },
    { frame: udp.frame, vnet: { ...partialVnet(udp.l4), csumOffset: 6 }, from: 'a' },
  ];
}

describe.skipIf(missing !== undefined)('PcapLink captures read back by tshark', () => {
  let dir: string;
  let capture: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chimney-tshark-'));
    capture = join(dir, 'conversation.pcapng');
    const s = new SimScheduler();
    const [a, b] = SimLink.pair(s, { vnet: true, latencyMs: 1 });
    const pa = new PcapLink(a, {
      path: capture,
      writerOptions: { clock: s, flushIntervalMs: 0 },
      comment: (frame, direction) => (direction === 'out' && tcpFlags(frame) === SYN ? 'SYN sent by A' : undefined),
    });
    pa.setReceiver(new LinkRecorder());
    b.setReceiver(new LinkRecorder());
    for (const step of [...conversation(4, 40001), ...conversation(6, 40002)]) {
      (step.from === 'a' ? pa : b).send(step.frame, step.vnet);
      s.advance(2);
    }
    await pa.close();
    await b.close();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no malformed frame and no checksum or other expert warning', async () => {
    expect(await problems(capture)).toEqual([]);
  });

  it('shows each 4000-byte TSO super-frame as three wire segments of 1448, 1448 and 1104 bytes', async () => {
    const rows = await fields(capture, ['ip.version', 'ipv6.plen', 'tcp.len', 'tcp.seq_raw', 'tcp.flags.push'], 'tcp.len > 0');
    expect(rows.map(([v, , len, seq]) => [Number(v), Number(len), Number(seq)])).toEqual([
      [4, 1448, 1000],
      [4, 1448, 2448],
      [4, 1104, 3896],
      [6, 1448, 1000],
      [6, 1448, 2448],
      [6, 1104, 3896],
    ]);
    expect(rows.map((r) => r[4])).toEqual(['0', '0', '1', '0', '0', '1']);
  });

  it('verified every TCP and UDP checksum as good', async () => {
    const rows = await fields(capture, ['tcp.checksum.status', 'udp.checksum.status'], 'tcp || udp');
    expect(rows).toHaveLength(2 * 9);
    // Checksum status 1 is "Good" (epan/proto.h: PROTO_CHECKSUM_E_BAD = 0, PROTO_CHECKSUM_E_GOOD).
    expect(rows.map(([tcpStatus, udpStatus]) => tcpStatus || udpStatus)).toEqual(Array(18).fill('1'));
    const ipRows = await fields(capture, ['ip.checksum.status'], 'ip');
    expect(ipRows.map(([st]) => st)).toEqual(Array(9).fill('1'));
  });

  it('keeps the direction of every frame', async () => {
    const perConversation = ['out', 'in', 'out', 'out', 'out', 'out', 'in', 'out', 'out'];
    expect(await directions(capture)).toEqual([...perConversation, ...perConversation]);
  });

  it('keeps the comments: the hook result and the segment annotations', async () => {
    const all = await comments(capture);
    expect(all.filter((c) => c.includes('SYN sent by A'))).toHaveLength(2);
    expect(all.filter((c) => /^TSO segment \d\/3, gso_size 1448$/.test(c))).toHaveLength(6);
  });

  it('reports a frame whose checksum was left partial (the helper can fail)', async () => {
    const bad = join(dir, 'bad.pcapng');
    const w = PcapngWriter.open(bad, { flushIntervalMs: 0 });
    const id = w.addInterface('raw');
    w.writePacket(id, buildL4Frame({ ipVersion: 4, payload: patternPayload(100), checksum: 'partial' }).frame, 'out');
    await w.close();
    const found = await problems(bad);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/checksum/i);
  });
});
