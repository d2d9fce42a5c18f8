/**
 * A simulated `Link` for unit tests: two ends wired to each other (`SimLink.pair`), or one end
 * whose peer is the test itself (`inject` to receive, `sent`/`onSend` to observe what goes out).
 *
 * It keeps the device contract of `link.ts` exactly, so code tested on it behaves the same on a
 * TAP: `send` copies; queued frames go out as one batch at the end of the turn (in simulated
 * time: a zero-delay timer on the injected scheduler) or on `flush`; the peer receives each
 * batch `latencyMs` later with `onFrame` per frame and then `onBatchEnd`. Received frames are
 * views into a receive arena that is overwritten (poisoned) as soon as `onFrame` returns, so a
 * receiver that keeps a view instead of copying fails its own test rather than a TAP run.
 * (gVisor `channel` endpoint, smoltcp `Loopback`.)
 */
import { DropCounters } from '../wire/drop-reason.js';
import type { Scheduler, TimerHandle } from '../wire/clock.js';
import { segmentGso } from '../wire/gso.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_NONE, VNET_NONE, type VnetHeader } from '../wire/vnet.js';
import { newLinkStats, type Link, type LinkCapabilities, type LinkReceiver, type LinkStats } from './link.js';

const ETH_HEADER_LEN = 14;
const VLAN_TAG_LEN = 4;
/** Largest IP packet a GSO super-frame can carry (the 16-bit IPv4 total length). */
const GSO_MAX_IP_LEN = 65535;
/** Byte written over a delivered frame once `onFrame` returns. */
const POISON = 0xee;

export interface SimLinkOptions {
  /** Interface name; `pair` uses `sim0`/`sim1` unless `names` is given. */
  readonly name?: string;
  /** One-way delay from the end of the sender's turn to delivery. Default 0. */
  readonly latencyMs?: number;
  /** IP MTU. Default 1500. */
  readonly mtu?: number;
  /** Frames cross with a virtio-net header (and may be GSO super-frames). Default false. */
  readonly vnet?: boolean;
  /** Most frames per receive batch (a TAP read returns at most its batch size). Default unlimited. */
  readonly batchSize?: number;
  /**
   * Largest frame `send` accepts. Default, as TapLink: mtu + Ethernet header + one 802.1Q tag,
   * or, with `vnet`, the largest GSO super-frame (a 64 KiB IP packet plus the Ethernet header).
   */
  readonly maxFrameSize?: number;
  /**
   * Turn virtio-net frames into wire frames in transit (NEEDS_CSUM completed, GSO cut into
   * segments, `src/wire/gso.ts`), as between two NICs without receive offload; the receiver
   * then sees plain frames with an empty virtio-net header. Default false: super-frames reach
   * the peer as they were sent, as over a veth pair.
   */
  readonly segmentInTransit?: boolean;
}

export interface SimPairOptions extends Omit<SimLinkOptions, 'name'> {
  readonly names?: readonly [string, string];
}

/** A frame as it left a single-ended `SimLink`. `frame` is a copy the test may keep. */
export interface SimSentFrame {
  readonly frame: Uint8Array;
  readonly vnet: VnetHeader | undefined;
  /** Scheduler time at which the frame was written (its batch was flushed). */
  readonly at: number;
}

interface QueuedFrame {
  readonly frame: Uint8Array;
  readonly vnet: VnetHeader | undefined;
}

export class SimLink implements Link {
  readonly name: string;
  readonly mtu: number;
  readonly capabilities: LinkCapabilities;
  readonly stats: LinkStats = newLinkStats();
  /** Drops by reason: `link-frame-too-big`, `link-no-vnet` (send), `link-down` (send or delivery after close). */
  readonly drops = new DropCounters();
  /** Frames written by a single-ended link (no peer), in order. Unused on a pair. */
  readonly sent: SimSentFrame[] = [];
  /** Called for each frame a single-ended link writes, after it is appended to `sent`. */
  onSend: ((frame: Uint8Array, vnet: VnetHeader | undefined) => void) | undefined;

  private readonly scheduler: Scheduler;
  private readonly latencyMs: number;
  private readonly batchSize: number;
  private readonly segmentInTransit: boolean;
  private peer: SimLink | undefined;
  private receiver: LinkReceiver | undefined;
  private txQueue: QueuedFrame[] = [];
  private flushTimer: TimerHandle | undefined;
  private injectQueue: QueuedFrame[] = [];
  private injectTimer: TimerHandle | undefined;
  private readonly pendingDeliveries = new Set<TimerHandle>();
  private arena: Uint8Array = new Uint8Array(2048);
  private closed: Promise<void> | undefined;

  /** Wires two new links to each other: what one sends, the other receives. */
  static pair(scheduler: Scheduler, options: SimPairOptions = {}): [SimLink, SimLink] {
    const [nameA, nameB] = options.names ?? ['sim0', 'sim1'];
    const a = new SimLink(scheduler, { ...options, name: nameA });
    const b = new SimLink(scheduler, { ...options, name: nameB });
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  /** A single-ended link: the test is its peer. */
  constructor(scheduler: Scheduler, options: SimLinkOptions = {}) {
    const mtu = options.mtu ?? 1500;
    const latencyMs = options.latencyMs ?? 0;
    const batchSize = options.batchSize ?? Infinity;
    if (!Number.isInteger(mtu) || mtu < 68) throw new RangeError(`SimLink: mtu must be an integer >= 68 (RFC 791), got ${mtu}`);
    if (!(latencyMs >= 0)) throw new RangeError(`SimLink: latencyMs must be >= 0, got ${latencyMs}`);
    if (!(batchSize >= 1)) throw new RangeError(`SimLink: batchSize must be >= 1, got ${batchSize}`);
    const vnet = options.vnet ?? false;
    const maxFrameSize = options.maxFrameSize ?? (vnet ? GSO_MAX_IP_LEN + ETH_HEADER_LEN : mtu + ETH_HEADER_LEN + VLAN_TAG_LEN);
    this.scheduler = scheduler;
    this.name = options.name ?? 'sim0';
    this.mtu = mtu;
    this.latencyMs = latencyMs;
    this.batchSize = batchSize;
    this.segmentInTransit = options.segmentInTransit ?? false;
    this.capabilities = Object.freeze({ vnet, txChecksumOffload: vnet, tso: vnet, maxFrameSize });
  }

  setReceiver(receiver: LinkReceiver): void {
    this.receiver = receiver;
  }

  send(frame: Uint8Array, vnet?: VnetHeader): void {
    if (this.closed !== undefined) {
      this.stats.txDropped++;
      this.drops.count('link-down');
      return;
    }
    if (frame.length > this.capabilities.maxFrameSize) {
      this.stats.txDropped++;
      this.drops.count('link-frame-too-big');
      return;
    }
    if (vnet !== undefined && !this.capabilities.vnet && (vnet.flags !== 0 || vnet.gsoType !== VNET_GSO_NONE)) {
      // Without a virtio-net header nothing can finish the checksum or cut the frame: it would
      // reach the wire broken. Dropped and counted, as TapLink does.
      this.stats.txDropped++;
      this.drops.count('link-no-vnet');
      return;
    }
    this.txQueue.push({ frame: frame.slice(), vnet: this.capabilities.vnet ? copyVnet(vnet ?? VNET_NONE) : undefined });
    this.flushTimer ??= this.scheduler.setTimer(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 0);
  }

  flush(): void {
    if (this.flushTimer !== undefined) {
      this.scheduler.clearTimer(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.txQueue.length === 0) return;
    const batch = this.txQueue;
    this.txQueue = [];
    for (const q of batch) {
      this.stats.txFrames++;
      this.stats.txBytes += q.frame.length;
    }
    const peer = this.peer;
    if (peer === undefined) {
      const at = this.scheduler.now();
      for (const q of batch) {
        this.sent.push({ frame: q.frame, vnet: q.vnet, at });
        this.onSend?.(q.frame, q.vnet);
      }
      return;
    }
    peer.scheduleDelivery(this.segmentInTransit ? toWireFrames(batch) : batch, this.latencyMs);
  }

  /**
   * Hands a frame to this link's receiver as if its peer had sent it: frames injected in one
   * turn arrive as one batch `latencyMs` after the end of the turn.
   */
  inject(frame: Uint8Array, vnet?: VnetHeader): void {
    this.injectQueue.push({ frame: frame.slice(), vnet: vnet === undefined ? undefined : copyVnet(vnet) });
    this.injectTimer ??= this.scheduler.setTimer(() => {
      this.injectTimer = undefined;
      const batch = this.injectQueue;
      this.injectQueue = [];
      this.scheduleDelivery(batch, this.latencyMs);
    }, 0);
  }

  /** Delivers `frames` to the receiver now, synchronously, as one batch (split by `batchSize`). */
  deliverNow(frames: readonly (Uint8Array | { readonly frame: Uint8Array; readonly vnet?: VnetHeader | undefined })[]): void {
    this.deliver(frames.map((f) => (f instanceof Uint8Array ? { frame: f, vnet: undefined } : { frame: f.frame, vnet: f.vnet })));
  }

  /** Removes and returns everything in `sent`. */
  takeSent(): SimSentFrame[] {
    return this.sent.splice(0, this.sent.length);
  }

  close(): Promise<void> {
    if (this.closed === undefined) {
      this.flush();
      if (this.injectTimer !== undefined) this.scheduler.clearTimer(this.injectTimer);
      this.injectTimer = undefined;
      this.injectQueue = [];
      for (const t of this.pendingDeliveries) this.scheduler.clearTimer(t);
      this.pendingDeliveries.clear();
      this.receiver = undefined;
      this.closed = Promise.resolve();
    }
    return this.closed;
  }

  private scheduleDelivery(batch: QueuedFrame[], delayMs: number): void {
    if (batch.length === 0) return;
    const timer = this.scheduler.setTimer(() => {
      this.pendingDeliveries.delete(timer);
      this.deliver(batch);
    }, delayMs);
    this.pendingDeliveries.add(timer);
  }

  private deliver(batch: readonly QueuedFrame[]): void {
    if (this.closed !== undefined || this.receiver === undefined) {
      this.stats.rxDropped += batch.length;
      if (this.closed !== undefined) this.drops.count('link-down', batch.length);
      return;
    }
    for (let start = 0; start < batch.length; start += this.batchSize) {
      const end = Math.min(batch.length, start + this.batchSize);
      this.stats.rxBatches++;
      for (let i = start; i < end; i++) {
        const q = batch[i] as QueuedFrame;
        // The receiver may close the link or replace itself from inside a callback.
        const receiver = this.receiver;
        if (receiver === undefined) {
          this.stats.rxDropped++;
          continue;
        }
        const len = q.frame.length;
        if (this.arena.length < len) this.arena = new Uint8Array(Math.max(len, this.arena.length * 2));
        this.arena.set(q.frame, 0);
        this.stats.rxFrames++;
        this.stats.rxBytes += len;
        const vnet = this.capabilities.vnet ? (q.vnet ?? VNET_NONE) : undefined;
        try {
          receiver.onFrame(this.arena.subarray(0, len), vnet);
        } finally {
          this.arena.fill(POISON, 0, len);
        }
      }
      this.receiver?.onBatchEnd();
    }
  }
}

function copyVnet(v: VnetHeader): VnetHeader {
  if (Object.isFrozen(v)) return v;
  return Object.freeze({
    flags: v.flags,
    gsoType: v.gsoType,
    hdrLen: v.hdrLen,
    gsoSize: v.gsoSize,
    csumStart: v.csumStart,
    csumOffset: v.csumOffset,
  });
}

/** Replaces each virtio-net frame by the wire frames a NIC would send for it. Frames that cannot be cut pass unchanged. */
function toWireFrames(batch: readonly QueuedFrame[]): QueuedFrame[] {
  const out: QueuedFrame[] = [];
  for (const q of batch) {
    const v = q.vnet;
    if (v === undefined || ((v.flags & VNET_F_NEEDS_CSUM) === 0 && v.gsoType === VNET_GSO_NONE)) {
      out.push(q);
      continue;
    }
    const pieces: QueuedFrame[] = [];
    const bad = segmentGso(q.frame, v, (segment) => pieces.push({ frame: segment, vnet: VNET_NONE }));
    if (bad === undefined) out.push(...pieces);
    else out.push(q);
  }
  return out;
}
