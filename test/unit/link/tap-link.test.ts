/**
 * TapLink's own logic (queueing, batching, EAGAIN backlog, drops, statistics, virtio-net header
 * handling, namespace checks) over a stand-in for the addon that follows the addon's contract
 * (native/tap.c): the bindings-cpp pattern of one wrapper run against a mock and the real
 * device. The real device is covered by test/integration/tap-link.int.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadNative, type NativeSystemError, type NativeTap, type NativeTapHandle } from '../../../src/link/native.js';
import { TapLink, type TapLinkOptions } from '../../../src/link/tap-link.js';
import type { LinkReceiver } from '../../../src/link/link.js';
import { emitVnet, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, type VnetHeader } from '../../../src/wire/vnet.js';

const C = loadNative().constants;

/** A scripted addon: frames "written" land in `written`; `accept` bounds how many a write takes before EAGAIN. */
class FakeNative implements NativeTap {
  readonly constants = C;
  written: Uint8Array[] = [];
  writeCalls = 0;
  accept = Number.POSITIVE_INFINITY;
  /** errno per written frame index (counted from the start), for per-frame errors. */
  failFrame = new Map<number, number>();
  fatalOnWrite = 0;
  writable = false;
  ownNetns = true;
  closed = 0;
  opened: { name: string; hdr: number; offloads: number; mq: boolean } | undefined;
  mtu = 1500;
  up = false;
  existing = new Set<string>();
  private rx!: { buf: ArrayBuffer; slot: number; slots: number; lens: Uint32Array };
  private tx!: { bytes: Uint8Array; offs: Uint32Array; lens: Uint32Array };
  private status!: Float64Array;
  private onRead!: (n: number) => void;
  private onWritable!: () => void;
  readonly handle = {} as unknown as NativeTapHandle;

  open(name: string, hdr: number, offloads: number, mq: boolean): NativeTapHandle {
    this.opened = { name, hdr, offloads, mq };
    return this.handle;
  }
  start(
    _h: NativeTapHandle,
    rxArena: ArrayBuffer,
    rxSlotSize: number,
    rxSlots: number,
    rxLens: Uint32Array,
    txArena: ArrayBuffer,
    txOffs: Uint32Array,
    txLens: Uint32Array,
    status: Float64Array,
    onRead: (count: number) => void,
    onWritable: () => void,
  ): void {
    this.rx = { buf: rxArena, slot: rxSlotSize, slots: rxSlots, lens: rxLens };
    this.tx = { bytes: new Uint8Array(txArena), offs: txOffs, lens: txLens };
    this.status = status;
    this.onRead = onRead;
    this.onWritable = onWritable;
  }
  write(_h: NativeTapHandle, first: number, count: number): number {
    this.writeCalls++;
    const st = this.status;
    st[C.ST_TX_ERRORS] = 0;
    st[C.ST_TX_BYTES] = 0;
    st[C.ST_TX_FATAL_ERRNO] = 0;
    st[C.ST_TX_WOULD_BLOCK] = 0;
    let done = 0;
    for (; done < count; done++) {
      if (this.fatalOnWrite !== 0) {
        st[C.ST_TX_FATAL_ERRNO] = this.fatalOnWrite;
        break;
      }
      if (this.accept <= 0) {
        st[C.ST_TX_WOULD_BLOCK] = 1;
        break;
      }
      this.accept--;
      const i = first + done;
      const off = this.tx.offs[i] ?? 0;
      const len = this.tx.lens[i] ?? 0;
      const attempt = this.written.length + (st[C.ST_TX_ERRORS] ?? 0);
      if (this.failFrame.has(attempt)) {
        st[C.ST_TX_ERRORS] = (st[C.ST_TX_ERRORS] ?? 0) + 1;
        st[C.ST_TX_LAST_ERRNO] = this.failFrame.get(attempt) ?? 0;
        this.failFrame.delete(attempt);
        this.written.push(new Uint8Array(0));
        continue;
      }
      this.written.push(this.tx.bytes.slice(off, off + len));
      st[C.ST_TX_BYTES] = (st[C.ST_TX_BYTES] ?? 0) + len;
    }
    return done;
  }
  setWritable(_h: NativeTapHandle, on: boolean): void {
    this.writable = on;
  }
  close(): void {
    this.closed++;
  }
  name(): string {
    return this.opened?.name ?? '';
  }
  hwAddr(): Uint8Array {
    return Uint8Array.of(2, 0, 0, 0, 0, 1);
  }
  inOwnNetns(): boolean {
    return this.ownNetns;
  }
  ifIndex(name: string): number {
    return this.existing.has(name) ? 7 : 0;
  }
  getMtu(): number {
    return this.mtu;
  }
  setMtu(_n: string, mtu: number): void {
    this.mtu = mtu;
  }
  isUp(): boolean {
    return this.up;
  }
  setUp(_n: string, up: boolean): void {
    this.up = up;
  }
  systemError(errno: number, syscall: string, device: string): NativeSystemError {
    return loadNative().systemError(errno, syscall, device);
  }

  /** The kernel hands over a batch: each frame into its slot, then one onRead call. */
  deliver(frames: readonly Uint8Array[], outcome: { errors?: number; fatal?: number } = {}): void {
    frames.forEach((f, i) => {
      new Uint8Array(this.rx.buf, i * this.rx.slot, f.length).set(f);
      this.rx.lens[i] = f.length;
    });
    this.status[C.ST_RX_ERRORS] = outcome.errors ?? 0;
    this.status[C.ST_RX_FATAL_ERRNO] = outcome.fatal ?? 0;
    this.onRead(frames.length);
  }

  fireWritable(): void {
    this.onWritable();
  }
}

function open(fake: FakeNative, options: Partial<TapLinkOptions> = {}): TapLink {
  return TapLink.open({ name: 'chnfake0', native: fake, ...options });
}

function frame(len: number, fill: number): Uint8Array {
  return new Uint8Array(len).fill(fill);
}

function recorder(): LinkReceiver & { log: string[]; frames: Uint8Array[]; vnets: (VnetHeader | undefined)[] } {
  const r = {
    log: [] as string[],
    frames: [] as Uint8Array[],
    vnets: [] as (VnetHeader | undefined)[],
    onFrame(f: Uint8Array, v: VnetHeader | undefined) {
      r.log.push(`frame ${f.length}`);
      r.frames.push(Uint8Array.from(f));
      r.vnets.push(v);
    },
    onBatchEnd() {
      r.log.push('end');
    },
  };
  return r;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('TapLink.open', () => {
  it('passes the requested configuration to the addon and sets the device up', () => {
    const fake = new FakeNative();
    const link = open(fake, { vnet: true, offloads: { tso6: false }, multiQueue: true });
    expect(fake.opened).toEqual({ name: 'chnfake0', hdr: 12, offloads: C.TUN_F_CSUM | C.TUN_F_TSO4, mq: true });
    expect(fake.up).toBe(true);
    expect(link.created).toBe(true);
    // TSO in the capabilities means both families.
    expect(link.capabilities).toEqual({ vnet: true, txChecksumOffload: true, tso: false, maxFrameSize: 1500 + 18 });
  });

  it('turns all offloads on by default with vnet, none without', () => {
    const a = new FakeNative();
    expect(open(a, { vnet: true, vnetHdrLen: 10 }).capabilities).toEqual({ vnet: true, txChecksumOffload: true, tso: true, maxFrameSize: 65549 });
    expect(a.opened).toMatchObject({ hdr: 10, offloads: C.TUN_F_CSUM | C.TUN_F_TSO4 | C.TUN_F_TSO6 });
    const b = new FakeNative();
    expect(open(b).capabilities).toEqual({ vnet: false, txChecksumOffload: false, tso: false, maxFrameSize: 1518 });
    expect(b.opened).toMatchObject({ hdr: 0, offloads: 0 });
  });

  it('reports created: false when the device already existed, and sets the MTU it is given', () => {
    const fake = new FakeNative();
    fake.existing.add('chnfake0');
    const link = open(fake, { mtu: 9000, up: false });
    expect(link.created).toBe(false);
    expect(link.mtu).toBe(9000);
    expect(fake.mtu).toBe(9000);
    expect(fake.up).toBe(false);
  });
});

describe('TapLink transmit', () => {
  it('copies on send and writes the whole turn in one batch at the end of the turn', async () => {
    const fake = new FakeNative();
    const link = open(fake);
    const buf = frame(60, 1);
    link.send(buf);
    buf.fill(2);
    link.send(buf);
    buf.fill(3);
    expect(fake.writeCalls).toBe(0);
    expect(link.txQueued).toBe(2);
    await Promise.resolve();
    expect(fake.writeCalls).toBe(1);
    expect(fake.written.map((f) => f[0])).toEqual([1, 2]);
    expect(link.stats).toMatchObject({ txFrames: 2, txBytes: 120, txDropped: 0 });
  });

  it('flush writes immediately', () => {
    const fake = new FakeNative();
    const link = open(fake);
    link.send(frame(60, 9));
    link.flush();
    expect(fake.written).toHaveLength(1);
    expect(link.txQueued).toBe(0);
  });

  it('puts the virtio-net header in front of each frame and counts only frame bytes', () => {
    const fake = new FakeNative();
    const link = open(fake, { vnet: true });
    const h: VnetHeader = { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_TCPV4, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16 };
    link.send(frame(3000, 7), h);
    link.send(frame(60, 8));
    link.flush();
    const expected = new Uint8Array(12);
    emitVnet(h, expected, 0, 12);
    expect(fake.written[0]?.subarray(0, 12)).toEqual(expected);
    expect(fake.written[0]?.length).toBe(3012);
    expect(fake.written[1]?.subarray(0, 12)).toEqual(new Uint8Array(12));
    expect(link.stats.txBytes).toBe(3060);
  });

  it('drops and counts a frame bigger than maxFrameSize, or one asking for offloads the link lacks', () => {
    const fake = new FakeNative();
    const link = open(fake);
    link.send(frame(1519, 0));
    link.send(frame(100, 0), { flags: VNET_F_NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 34, csumOffset: 16 });
    link.send(frame(1518, 0));
    link.flush();
    expect(link.stats.txDropped).toBe(2);
    expect(fake.written).toHaveLength(1);
  });

  it('keeps the rest queued on EAGAIN, arms writable, and finishes on writable', () => {
    const fake = new FakeNative();
    const link = open(fake);
    fake.accept = 2;
    for (let i = 0; i < 5; i++) link.send(frame(60, i));
    link.flush();
    expect(fake.written.map((f) => f[0])).toEqual([0, 1]);
    expect(link.txQueued).toBe(3);
    expect(fake.writable).toBe(true);
    link.send(frame(60, 5));
    fake.accept = Number.POSITIVE_INFINITY;
    fake.fireWritable();
    expect(fake.written.map((f) => f[0])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(fake.writable).toBe(false);
    expect(link.txQueued).toBe(0);
    expect(link.stats.txFrames).toBe(6);
  });

  it('does not retry at the end of the turn while waiting for writable', async () => {
    const fake = new FakeNative();
    const link = open(fake);
    fake.accept = 0;
    link.send(frame(60, 1));
    await Promise.resolve();
    expect(fake.writeCalls).toBe(1);
    link.send(frame(60, 2));
    await Promise.resolve();
    expect(fake.writeCalls).toBe(1);
    expect(link.txQueued).toBe(2);
  });

  it('bounds the backlog in frames: past the bound frames are dropped and counted', () => {
    const fake = new FakeNative();
    const link = open(fake, { txQueueFrames: 4 });
    fake.accept = 0;
    for (let i = 0; i < 10; i++) link.send(frame(60, i));
    expect(link.txQueued).toBe(4);
    expect(link.stats.txDropped).toBe(6);
    fake.accept = Number.POSITIVE_INFINITY;
    fake.fireWritable();
    expect(fake.written.map((f) => f[0])).toEqual([0, 1, 2, 3]);
  });

  it('bounds the backlog in bytes, and compacts the arena after a partial write', () => {
    const fake = new FakeNative();
    const link = open(fake, { txQueueBytes: 65600 });
    // Each 1500-byte frame takes 1504 bytes of arena (8-byte aligned): 43 fit, the rest are dropped.
    fake.accept = 0;
    for (let i = 0; i < 45; i++) link.send(frame(1500, i));
    expect(link.txQueued).toBe(43);
    expect(link.stats.txDropped).toBe(2);
    fake.accept = 10;
    link.flush();
    expect(link.txQueued).toBe(33);
    // No room at the end of the arena, but compaction moves the 33 to the front: ten more fit.
    for (let i = 45; i < 57; i++) link.send(frame(1500, i));
    expect(link.txQueued).toBe(43);
    expect(link.stats.txDropped).toBe(4);
    fake.accept = Number.POSITIVE_INFINITY;
    fake.fireWritable();
    const expected = [...Array.from({ length: 43 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 45 + i)];
    expect(fake.written.map((f) => f[0])).toEqual(expected);
    expect(fake.written.every((f) => f.length === 1500 && f.every((b) => b === f[0]))).toBe(true);
  });

  it('when the arena is full it writes what is queued before giving up on a frame', () => {
    const fake = new FakeNative();
    const link = open(fake, { txQueueFrames: 2 });
    for (let i = 0; i < 5; i++) link.send(frame(60, i));
    expect(link.stats.txDropped).toBe(0);
    link.flush();
    expect(fake.written.map((f) => f[0])).toEqual([0, 1, 2, 3, 4]);
  });

  it('counts a frame the device refuses as dropped and writes the others', () => {
    const fake = new FakeNative();
    const link = open(fake);
    fake.failFrame.set(1, 22);
    for (let i = 0; i < 3; i++) link.send(frame(60, i));
    link.flush();
    expect(link.stats).toMatchObject({ txFrames: 2, txDropped: 1, txBytes: 120 });
  });

  it('a fatal write error fails the link: the queue is dropped, onError hears it once, later sends are dropped', () => {
    const fake = new FakeNative();
    const errors: Error[] = [];
    const link = open(fake, { onError: (e) => errors.push(e) });
    fake.fatalOnWrite = 77;
    link.send(frame(60, 1));
    link.send(frame(60, 2));
    link.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'EBADFD', syscall: 'write', device: 'chnfake0' });
    expect(link.error).toBe(errors[0]);
    link.send(frame(60, 3));
    expect(link.stats.txDropped).toBe(3);
  });
});

describe('TapLink receive', () => {
  it('hands each frame of a batch to the receiver, then onBatchEnd once, and counts them', () => {
    const fake = new FakeNative();
    const link = open(fake);
    const r = recorder();
    link.setReceiver(r);
    fake.deliver([frame(60, 1), frame(1514, 2), frame(42, 3)]);
    expect(r.log).toEqual(['frame 60', 'frame 1514', 'frame 42', 'end']);
    expect(r.frames.map((f) => f[0])).toEqual([1, 2, 3]);
    expect(r.vnets).toEqual([undefined, undefined, undefined]);
    expect(link.stats).toMatchObject({ rxFrames: 3, rxBytes: 1616, rxBatches: 1, rxDropped: 0 });
  });

  it('gives zero-copy views into the receive arena', () => {
    const fake = new FakeNative();
    const link = open(fake);
    const views: Uint8Array[] = [];
    link.setReceiver({ onFrame: (f) => views.push(f), onBatchEnd: () => undefined });
    fake.deliver([frame(60, 1), frame(60, 2)]);
    expect(views[0]?.buffer).toBe(views[1]?.buffer);
    expect(views[0]?.buffer.byteLength).toBeGreaterThan(60 * 64);
  });

  it('parses the virtio-net header, strips it, and drops frames whose header is bad', () => {
    const fake = new FakeNative();
    const link = open(fake, { vnet: true });
    const r = recorder();
    link.setReceiver(r);
    const h: VnetHeader = { flags: VNET_F_NEEDS_CSUM, gsoType: VNET_GSO_TCPV4, hdrLen: 66, gsoSize: 1448, csumStart: 34, csumOffset: 16 };
    const good = new Uint8Array(12 + 3000);
    emitVnet(h, good, 0, 12);
    const badGso = new Uint8Array(12 + 60);
    badGso[1] = 9;
    const short = new Uint8Array(8);
    fake.deliver([good, badGso, short]);
    expect(r.log).toEqual(['frame 3000', 'end']);
    expect(r.vnets[0]).toEqual(h);
    expect(link.stats).toMatchObject({ rxFrames: 1, rxBytes: 3000, rxDropped: 2 });
  });

  it('counts frames as dropped while no receiver is set, and per-frame read errors too', () => {
    const fake = new FakeNative();
    const link = open(fake);
    fake.deliver([frame(60, 1), frame(60, 2)], { errors: 1 });
    expect(link.stats).toMatchObject({ rxFrames: 0, rxDropped: 3, rxBatches: 1 });
  });

  it('frames sent while handling a batch go out in one write after it', async () => {
    const fake = new FakeNative();
    const link = open(fake);
    link.setReceiver({ onFrame: (f) => link.send(f), onBatchEnd: () => undefined });
    fake.deliver([frame(60, 1), frame(60, 2), frame(60, 3)]);
    expect(fake.writeCalls).toBe(0);
    await Promise.resolve();
    expect(fake.writeCalls).toBe(1);
    expect(fake.written).toHaveLength(3);
  });

  it('stops delivering the rest of a batch when the receiver closes the link', async () => {
    const fake = new FakeNative();
    const link = open(fake);
    const r = recorder();
    link.setReceiver({
      onFrame(f, v) {
        r.onFrame(f, v);
        void link.close();
      },
      onBatchEnd: () => r.onBatchEnd(),
    });
    fake.deliver([frame(60, 1), frame(60, 2)]);
    expect(r.log).toEqual(['frame 60', 'end']);
    await tick();
  });

  it('a fatal read error is reported once through onError and recorded', () => {
    const fake = new FakeNative();
    const errors: Error[] = [];
    const link = open(fake, { onError: (e) => errors.push(e) });
    fake.deliver([], { fatal: 77 });
    expect(errors).toHaveLength(1);
    expect(link.error).toMatchObject({ code: 'EBADFD', syscall: 'read' });
  });
});

describe('TapLink control', () => {
  it('close is idempotent, flushes first, and closes the handle once', async () => {
    const fake = new FakeNative();
    const link = open(fake);
    link.send(frame(60, 1));
    await link.close();
    await link.close();
    expect(fake.written).toHaveLength(1);
    expect(fake.closed).toBe(1);
    link.send(frame(60, 2));
    expect(link.stats.txDropped).toBe(1);
  });

  it('name-based calls work in our namespace and throw ERR_CHIMNEY_TAP_OTHER_NETNS after the device moved', () => {
    const fake = new FakeNative();
    fake.existing.add('chnfake0');
    const link = open(fake);
    link.setMtu(1400);
    expect(fake.mtu).toBe(1400);
    expect(link.mtu).toBe(1400);
    expect(link.capabilities.maxFrameSize).toBe(1418);
    expect(link.ifindex).toBe(7);
    fake.ownNetns = false;
    expect(() => link.setMtu(1500)).toThrow(expect.objectContaining({ code: 'ERR_CHIMNEY_TAP_OTHER_NETNS', device: 'chnfake0' }));
    expect(() => link.setUp(false)).toThrow(/moved to another network namespace/);
    expect(() => link.ifindex).toThrow(/frames still flow through the fd/);
    expect(fake.mtu).toBe(1400);
  });
});
