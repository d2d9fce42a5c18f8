/**
 * The contract every `Link` pair must keep (src/link/link.ts), as one suite run against
 * `SimLink` and `TapLink` (STYLE rule 12: the same suite on sim and real, as bufferutil runs
 * native against fallback). A difference between the simulated and the real device shows up
 * here rather than as a flaky protocol test.
 *
 * The frames use the IEEE 802 local-experimental EtherType 0x88b5 and carry a marker, so a real
 * device's own traffic (IPv6 router solicitations, MLD reports on a fresh TAP) is ignored; only
 * counters this suite alone can move are asserted exactly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Link, LinkReceiver } from '../../src/link/link.js';
import type { VnetHeader } from '../../src/wire/vnet.js';

export interface LinkPair {
  readonly a: Link;
  readonly b: Link;
  /** Lets time pass: advances a simulated scheduler, or waits a little on a real device. */
  drive(): Promise<void>;
  /** Removes whatever the factory created (devices, namespaces). Called once per test, also on failure. */
  cleanup(): Promise<void>;
}

const ETHERTYPE_EXPERIMENTAL = 0x88b5;
const MARKER = Uint8Array.of(0xc4, 0x1d, 0x4e, 0x7a);
const HEADER_LEN = 14 + MARKER.length + 4;
/** How many `drive()` rounds a test waits for frames before it gives up. */
const MAX_DRIVE_ROUNDS = 200;

/** A test frame: broadcast destination (a bridge or TAP forwards it whatever the MACs), marker, sequence number, filler. */
export function contractFrame(id: number, length = 64): Uint8Array {
  if (length < HEADER_LEN) throw new Error(`contract frames are at least ${HEADER_LEN} bytes`);
  const f = new Uint8Array(length);
  f.fill(0xff, 0, 6);
  f.set(Uint8Array.of(0x02, 0xc4, 0x1d, 0x00, 0x00, 0x01), 6);
  f[12] = ETHERTYPE_EXPERIMENTAL >>> 8;
  f[13] = ETHERTYPE_EXPERIMENTAL & 0xff;
  f.set(MARKER, 14);
  new DataView(f.buffer).setUint32(14 + MARKER.length, id);
  for (let i = HEADER_LEN; i < length; i++) f[i] = (id + i) & 0xff;
  return f;
}

function contractId(frame: Uint8Array): number | undefined {
  if (frame.length < HEADER_LEN || frame[12] !== ETHERTYPE_EXPERIMENTAL >>> 8 || frame[13] !== (ETHERTYPE_EXPERIMENTAL & 0xff)) return undefined;
  for (let i = 0; i < MARKER.length; i++) if (frame[14 + i] !== MARKER[i]) return undefined;
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(14 + MARKER.length);
}

type Event = { readonly kind: 'frame'; readonly id: number; readonly bytes: Uint8Array; readonly vnet: VnetHeader | undefined } | { readonly kind: 'end' };

/** A receiver that copies every contract frame it sees and records batch ends. */
class Recorder implements LinkReceiver {
  readonly events: Event[] = [];
  /** Batch ends, including those of batches holding only foreign frames. */
  batchEnds = 0;

  onFrame(frame: Uint8Array, vnet: VnetHeader | undefined): void {
    const id = contractId(frame);
    if (id !== undefined) this.events.push({ kind: 'frame', id, bytes: frame.slice(), vnet });
  }

  onBatchEnd(): void {
    this.batchEnds++;
    this.events.push({ kind: 'end' });
  }

  frames(): { id: number; bytes: Uint8Array; vnet: VnetHeader | undefined }[] {
    const out: { id: number; bytes: Uint8Array; vnet: VnetHeader | undefined }[] = [];
    for (const e of this.events) if (e.kind === 'frame') out.push(e);
    return out;
  }
}

export function describeLinkContract(name: string, factory: () => Promise<LinkPair>): void {
  describe(`Link contract: ${name}`, () => {
    let pair: LinkPair | undefined;

    async function setup(): Promise<LinkPair & { ra: Recorder; rb: Recorder }> {
      pair = await factory();
      const ra = new Recorder();
      const rb = new Recorder();
      pair.a.setReceiver(ra);
      pair.b.setReceiver(rb);
      return { ...pair, ra, rb };
    }

    afterEach(async () => {
      const p = pair;
      pair = undefined;
      if (p !== undefined) await p.cleanup();
    });

    async function driveUntil(drive: () => Promise<void>, done: () => boolean): Promise<void> {
      for (let i = 0; i < MAX_DRIVE_ROUNDS && !done(); i++) await drive();
    }

    it('delivers a frame sent on a to b intact, and one sent on b to a', async () => {
      const { a, b, ra, rb, drive } = await setup();
      const ab = contractFrame(1, 100);
      const ba = contractFrame(2, 77);
      a.send(ab);
      b.send(ba);
      await driveUntil(drive, () => rb.frames().length >= 1 && ra.frames().length >= 1);
      expect(rb.frames().map((f) => f.bytes)).toEqual([ab]);
      expect(ra.frames().map((f) => f.bytes)).toEqual([ba]);
    });

    it('delivers an MTU-sized frame', async () => {
      const { a, rb, drive } = await setup();
      const frame = contractFrame(3, a.mtu + 14);
      a.send(frame);
      await driveUntil(drive, () => rb.frames().length >= 1);
      expect(rb.frames().map((f) => f.bytes)).toEqual([frame]);
    });

    it('delivers frames sent in one turn in order, with onBatchEnd after the last of them', async () => {
      const { a, rb, drive } = await setup();
      const ids = [10, 11, 12, 13, 14, 15, 16, 17];
      for (const id of ids) a.send(contractFrame(id, 60 + id));
      await driveUntil(drive, () => rb.frames().length >= ids.length);
      expect(rb.frames().map((f) => f.id)).toEqual(ids);
      const lastFrame = rb.events.map((e) => e.kind).lastIndexOf('frame');
      expect(rb.events.slice(lastFrame + 1).some((e) => e.kind === 'end')).toBe(true);
    });

    it('copies the frame in send: changing the caller buffer afterwards changes nothing', async () => {
      const { a, rb, drive } = await setup();
      const frame = contractFrame(20, 120);
      const original = frame.slice();
      a.send(frame);
      frame.fill(0);
      await driveUntil(drive, () => rb.frames().length >= 1);
      expect(rb.frames().map((f) => f.bytes)).toEqual([original]);
    });

    it('writes nothing before the end of the turn, and every queued frame on flush', async () => {
      const { a, rb, drive } = await setup();
      const before = a.stats.txFrames;
      a.send(contractFrame(30));
      a.send(contractFrame(31));
      expect(a.stats.txFrames).toBe(before);
      a.flush();
      expect(a.stats.txFrames).toBe(before + 2);
      a.flush();
      expect(a.stats.txFrames).toBe(before + 2);
      await driveUntil(drive, () => rb.frames().length >= 2);
      expect(rb.frames().map((f) => f.id)).toEqual([30, 31]);
      expect(a.stats.txFrames).toBe(before + 2);
    });

    it('counts frames, bytes and batches on both ends', async () => {
      const { a, b, rb, drive } = await setup();
      const sizes = [60, 200, 1000];
      const txBefore = { ...a.stats };
      const rxBefore = { ...b.stats };
      sizes.forEach((n, i) => a.send(contractFrame(40 + i, n)));
      await driveUntil(drive, () => rb.frames().length >= sizes.length);
      const total = sizes.reduce((s, n) => s + n, 0);
      expect(a.stats.txFrames - txBefore.txFrames).toBe(3);
      expect(a.stats.txBytes - txBefore.txBytes).toBe(total);
      expect(a.stats.txDropped - txBefore.txDropped).toBe(0);
      expect(b.stats.rxFrames - rxBefore.rxFrames).toBeGreaterThanOrEqual(3);
      expect(b.stats.rxBytes - rxBefore.rxBytes).toBeGreaterThanOrEqual(total);
      expect(b.stats.rxBatches - rxBefore.rxBatches).toBeGreaterThanOrEqual(1);
      expect(b.stats.rxBatches - rxBefore.rxBatches).toBeLessThanOrEqual(b.stats.rxFrames - rxBefore.rxFrames);
    });

    it('rejects and counts a frame larger than maxFrameSize, without throwing', async () => {
      const { a, rb, drive } = await setup();
      const dropped = a.stats.txDropped;
      const sent = a.stats.txFrames;
      expect(() => a.send(contractFrame(50, a.capabilities.maxFrameSize + 1))).not.toThrow();
      a.send(contractFrame(51));
      await driveUntil(drive, () => rb.frames().length >= 1);
      expect(a.stats.txDropped).toBe(dropped + 1);
      expect(a.stats.txFrames).toBe(sent + 1);
      expect(rb.frames().map((f) => f.id)).toEqual([51]);
    });

    it('passes a virtio-net header to the receiver when the link has one', async () => {
      const { a, rb, drive } = await setup();
      a.send(contractFrame(60));
      await driveUntil(drive, () => rb.frames().length >= 1);
      const got = rb.frames()[0];
      expect(got?.vnet !== undefined).toBe(a.capabilities.vnet);
    });

    it('closes idempotently, and a closed link receives nothing', async () => {
      const { a, b, rb, drive } = await setup();
      await Promise.all([b.close(), b.close()]);
      await b.close();
      a.send(contractFrame(70));
      a.flush();
      for (let i = 0; i < 5; i++) await drive();
      expect(rb.frames()).toEqual([]);
      await a.close();
      await a.close();
    });
  });
}
