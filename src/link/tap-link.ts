/**
 * `TapLink`: the {@link Link} over a real Linux TAP device, through the native addon.
 *
 * Receive path: the addon's libuv watcher drains up to `rxBatch` frames per readable event
 * into a receive arena this object owns, and makes one call into JS per batch. Each frame is
 * handed to the receiver as a zero-copy view into that arena (plus its parsed virtio-net header
 * when the TAP has one), then `onBatchEnd` runs once. Nothing blocks the event loop and nothing
 * goes through the libuv threadpool.
 *
 * Transmit path: `send` copies the frame (behind a virtio-net header when enabled) into a
 * packed transmit arena and queues it. The queue is written in one native call at the end of
 * the current event-loop turn (a microtask; after a receive batch that is right after the
 * batch) or on `flush()`. A write that would block (EAGAIN) keeps the rest queued and arms
 * writable interest; the queue is bounded in frames and bytes and frames past the bound are
 * dropped and counted (LinkStats.txDropped), as a NIC's full transmit ring would.
 *
 * Network namespaces: a TAP keeps working through its fd when its kernel side is moved to
 * another namespace (`ip link set DEV netns NS`), so frames keep flowing. What stops working
 * are the name-based interface ioctls (MTU, up/down, ifindex), because they look the name up in
 * this process's namespace, where the device no longer is (or where another device may now
 * have that name). Those methods check first (TUNGETDEVNETNS) and throw a
 * {@link TapLinkError} with code 'ERR_CHIMNEY_TAP_OTHER_NETNS'; configure the device in its
 * namespace instead (`ip -n NS link set DEV mtu 9000 up`). `kernelMac` is read once at open,
 * for the same reason.
 */
import type { Link, LinkCapabilities, LinkReceiver, LinkStats } from './link.js';
import { newLinkStats } from './link.js';
import { loadNative, type NativeSystemError, type NativeTap, type NativeTapHandle } from './native.js';
import { emitVnet, parseVnet, VNET_HDR_LEN, VNET_HDR_LEN_MRG, VNET_NONE, type VnetHeader } from '../wire/vnet.js';

/** Ethernet header (IEEE 802.3 §3.1.1): destination, source, EtherType. */
const ETH_HLEN = 14;
/** One 802.1Q tag (IEEE 802.1Q §9.3), allowed on top of the MTU as Linux does. */
const VLAN_HLEN = 4;
/** Largest IPv4 total length / IPv6 payload of a GSO super-frame the kernel builds (64 KiB - 1). */
const GSO_MAX_IP = 65535;
/**
 * Receive slot size: big enough for the largest frame the kernel may hand us whatever the
 * kernel side's MTU becomes (it can be changed in the other namespace), with header, rounded
 * to a cache line. A frame larger than a slot would be lost (the read fails with EFAULT).
 */
const RX_SLOT_SIZE = align(VNET_HDR_LEN_MRG + GSO_MAX_IP + ETH_HLEN + VLAN_HLEN, 64);

const DEFAULT_RX_BATCH = 64;
const MAX_RX_BATCH = 1024;
const DEFAULT_TX_QUEUE_FRAMES = 1024;
const MAX_TX_QUEUE_FRAMES = 1 << 16;
const MIN_TX_QUEUE_BYTES = RX_SLOT_SIZE;
const MAX_TX_QUEUE_BYTES = 1 << 30;

/** Offloads the kernel may use towards us, set with TUNSETOFFLOAD (include/uapi/linux/if_tun.h). */
export interface TapOffloads {
  /** TUN_F_CSUM: frames may carry a partial checksum (NEEDS_CSUM). Required by both TSO flags. */
  readonly csum?: boolean;
  /** TUN_F_TSO4: TCP/IPv4 GSO super-frames. */
  readonly tso4?: boolean;
  /** TUN_F_TSO6: TCP/IPv6 GSO super-frames. */
  readonly tso6?: boolean;
}

export interface TapLinkOptions {
  /** Device name (at most 15 bytes). An existing persistent TAP of that name is attached to, otherwise one is created. */
  readonly name: string;
  /** Frames cross with a virtio-net header (IFF_VNET_HDR). Default false. */
  readonly vnet?: boolean;
  /** Header size: 10 (struct virtio_net_hdr) or 12 (with num_buffers). Default 12. */
  readonly vnetHdrLen?: 10 | 12;
  /** Offloads to turn on; only with `vnet`. Default: all on when `vnet`. */
  readonly offloads?: TapOffloads;
  /** IFF_MULTI_QUEUE: open one queue of a multi-queue TAP. Default false. */
  readonly multiQueue?: boolean;
  /** Sets the device MTU at open (SIOCSIFMTU); otherwise the current MTU is read. */
  readonly mtu?: number;
  /** Sets the kernel side administratively up at open. Default true. */
  readonly up?: boolean;
  /** Frames read per readable event, at most (1..1024). Default 64. */
  readonly rxBatch?: number;
  /** Bound of the transmit queue in frames. Default 1024. */
  readonly txQueueFrames?: number;
  /** Bound of the transmit queue in bytes (the transmit arena). Default 8 MiB with vnet, 2 MiB without. */
  readonly txQueueBytes?: number;
  /** Called once if the device fails for good (e.g. it was deleted): reading has stopped. */
  readonly onError?: (error: Error) => void;
  /**
   * The addon to use. Only tests pass this, with a stand-in that follows the same contract
   * (the bindings-cpp pattern of running one suite against a mock and the real device).
   */
  readonly native?: NativeTap;
}

export type TapLinkErrorCode = 'ERR_CHIMNEY_TAP_OTHER_NETNS' | 'ERR_CHIMNEY_LINK_CLOSED';

/** A TapLink refused a call; `code` says why (STYLE rule 9). */
export class TapLinkError extends Error {
  readonly code: TapLinkErrorCode;
  readonly device: string;

  constructor(code: TapLinkErrorCode, device: string, message: string) {
    super(message);
    this.name = 'TapLinkError';
    this.code = code;
    this.device = device;
  }
}

/** Whether a frame of `need` bytes (header slot included) fits the lent region [off, end). */
function fitsLent(off: number, need: number, end: number): boolean {
  return off + need <= end;
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function invalidArg(name: string, value: unknown, why: string): TypeError {
  const e = new TypeError(`The "${name}" option ${why}. Received ${typeof value === 'string' ? `'${value}'` : String(value)}`);
  (e as TypeError & { code: string }).code = 'ERR_INVALID_ARG_VALUE';
  return e;
}

function intOption(name: string, value: unknown, def: number, min: number, max: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArg(name, value, `must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function boolOption(name: string, value: unknown, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') throw invalidArg(name, value, 'must be a boolean');
  return value;
}

/** Linux dev_valid_name(): 1..15 bytes, not '.' or '..', no '/', ':' or whitespace. '%d' lets the kernel number it. */
function checkName(value: unknown, ifnamsiz: number): string {
  if (typeof value !== 'string') throw invalidArg('name', value, 'must be a string');
  const bytes = Buffer.byteLength(value);
  if (bytes === 0 || bytes >= ifnamsiz) throw invalidArg('name', value, `must be 1..${ifnamsiz - 1} bytes long (IFNAMSIZ)`);
  if (value === '.' || value === '..' || /[/:\s\0]/.test(value)) throw invalidArg('name', value, "must not be '.', '..' or contain '/', ':', NUL or whitespace");
  return value;
}

export class TapLink implements Link {
  readonly name: string;
  /** True when this open created the device; false when it attached to an existing (persistent or multi-queue) one. */
  readonly created: boolean;
  /** The kernel side's MAC address, read at open (the name-based lookup stops working once the device moves). */
  readonly kernelMac: Uint8Array;
  readonly stats: LinkStats = newLinkStats();
  #error: Error | undefined;

  readonly #native: NativeTap;
  readonly #handle: NativeTapHandle;
  readonly #vnet: boolean;
  readonly #hdrLen: number;
  readonly #csum: boolean;
  readonly #tso: boolean;
  #mtu: number;
  #maxFrameSize: number;
  #receiver: LinkReceiver | undefined;
  #closed = false;
  readonly #onError: ((error: Error) => void) | undefined;

  // Receive arena: slot i is rxBuffer[i * RX_SLOT_SIZE ..], its length in rxLens[i].
  readonly #rxBuffer: ArrayBuffer;
  readonly #rxBytes: Uint8Array;
  readonly #rxLens: Uint32Array;

  // Transmit queue: entries head..tail-1 of txOffs/txLens, packed in txBytes from 0 to txEnd.
  readonly #txBytes: Uint8Array;
  readonly #txOffs: Uint32Array;
  readonly #txLens: Uint32Array;
  #txHead = 0;
  #txTail = 0;
  #txEnd = 0;
  // The region lent by `lendTx` (its virtio-net header slot first), or -1: [lendOff, lendEnd)
  // is reserved, so neither other sends nor a flush reuse it until the frame built there is sent.
  #lendOff = -1;
  #lendEnd = 0;
  #flushQueued = false;
  #writableArmed = false;
  readonly #flushTask = (): void => {
    this.#flushQueued = false;
    // While armed, the writable callback does the writing; retrying now would only hit EAGAIN again.
    if (!this.#writableArmed) this.flush();
  };

  readonly #status: Float64Array;
  readonly #st: {
    rxErrors: number;
    rxFatal: number;
    txErrors: number;
    txFatal: number;
    txBytes: number;
  };

  private constructor(
    native: NativeTap,
    handle: NativeTapHandle,
    created: boolean,
    o: { vnet: boolean; hdrLen: number; csum: boolean; tso: boolean; mtu: number; rxBatch: number; txFrames: number; txBytes: number },
    onError: ((error: Error) => void) | undefined,
  ) {
    this.#native = native;
    this.#handle = handle;
    this.name = native.name(handle);
    this.created = created;
    this.kernelMac = native.hwAddr(handle);
    this.#vnet = o.vnet;
    this.#hdrLen = o.hdrLen;
    this.#csum = o.csum;
    this.#tso = o.tso;
    this.#mtu = o.mtu;
    this.#maxFrameSize = TapLink.#maxFrame(o.tso, o.mtu);
    this.#onError = onError;

    const c = native.constants;
    this.#st = {
      rxErrors: c.ST_RX_ERRORS,
      rxFatal: c.ST_RX_FATAL_ERRNO,
      txErrors: c.ST_TX_ERRORS,
      txFatal: c.ST_TX_FATAL_ERRNO,
      txBytes: c.ST_TX_BYTES,
    };
    this.#rxBuffer = new ArrayBuffer(RX_SLOT_SIZE * o.rxBatch);
    this.#rxBytes = new Uint8Array(this.#rxBuffer);
    this.#rxLens = new Uint32Array(o.rxBatch);
    const txBuffer = new ArrayBuffer(o.txBytes);
    this.#txBytes = new Uint8Array(txBuffer);
    this.#txOffs = new Uint32Array(o.txFrames);
    this.#txLens = new Uint32Array(o.txFrames);
    this.#status = new Float64Array(c.ST_LEN);
    native.start(
      handle,
      this.#rxBuffer,
      RX_SLOT_SIZE,
      o.rxBatch,
      this.#rxLens,
      txBuffer,
      this.#txOffs,
      this.#txLens,
      this.#status,
      (count) => this.#onRead(count),
      () => this.#onWritable(),
    );
  }

  /**
   * Opens (creating if needed) the TAP `options.name`, configures it, and starts receiving.
   * Throws TypeError for bad options and a Node-style system error (`code` 'EPERM', 'EBUSY',
   * ..., `syscall`, `device`) when the kernel refuses.
   */
  static open(options: TapLinkOptions): TapLink {
    if (typeof options !== 'object' || options === null) throw invalidArg('options', options, 'must be an object');
    const native = options.native ?? loadNative();
    const name = checkName(options.name, native.constants.IFNAMSIZ);
    const vnet = boolOption('vnet', options.vnet, false);
    const hdrLen = vnet ? (options.vnetHdrLen ?? VNET_HDR_LEN_MRG) : 0;
    if (hdrLen !== 0 && hdrLen !== VNET_HDR_LEN && hdrLen !== VNET_HDR_LEN_MRG) throw invalidArg('vnetHdrLen', options.vnetHdrLen, 'must be 10 or 12');
    const off = options.offloads ?? {};
    if (typeof off !== 'object' || off === null) throw invalidArg('offloads', off, 'must be an object');
    if (!vnet && options.offloads !== undefined && (off.csum === true || off.tso4 === true || off.tso6 === true)) {
      throw invalidArg('offloads', JSON.stringify(off), 'need vnet: true (offloads are signalled in the virtio-net header)');
    }
    const csum = vnet && boolOption('offloads.csum', off.csum, true);
    // The kernel only honours TSO together with checksum offload (tun.c set_offload), so do we.
    const tso4 = csum && boolOption('offloads.tso4', off.tso4, true);
    const tso6 = csum && boolOption('offloads.tso6', off.tso6, true);
    const multiQueue = boolOption('multiQueue', options.multiQueue, false);
    const up = boolOption('up', options.up, true);
    const mtu = options.mtu === undefined ? undefined : intOption('mtu', options.mtu, 1500, 68, 65535);
    const rxBatch = intOption('rxBatch', options.rxBatch, DEFAULT_RX_BATCH, 1, MAX_RX_BATCH);
    const txFrames = intOption('txQueueFrames', options.txQueueFrames, DEFAULT_TX_QUEUE_FRAMES, 1, MAX_TX_QUEUE_FRAMES);
    const txBytes = intOption('txQueueBytes', options.txQueueBytes, vnet ? 8 << 20 : 2 << 20, MIN_TX_QUEUE_BYTES, MAX_TX_QUEUE_BYTES);
    if (options.onError !== undefined && typeof options.onError !== 'function') throw invalidArg('onError', options.onError, 'must be a function');

    const c = native.constants;
    const offloads = (csum ? c.TUN_F_CSUM : 0) | (tso4 ? c.TUN_F_TSO4 : 0) | (tso6 ? c.TUN_F_TSO6 : 0);
    // Decided before TUNSETIFF: afterwards the device exists either way.
    const created = name.includes('%') || native.ifIndex(name) === 0;
    const handle = native.open(name, hdrLen, offloads, multiQueue);
    try {
      const actual = native.name(handle);
      if (mtu !== undefined) native.setMtu(actual, mtu);
      const linkMtu = mtu ?? native.getMtu(actual);
      if (up) native.setUp(actual, true);
      return new TapLink(
        native,
        handle,
        created,
        { vnet, hdrLen, csum, tso: tso4 && tso6, mtu: linkMtu, rxBatch, txFrames, txBytes },
        options.onError,
      );
    } catch (e) {
      native.close(handle);
      throw e;
    }
  }

  /** Set when the device failed for good (see `onError`): reading has stopped and sends are dropped. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** The IP MTU as set or read at open, or by `setMtu`. Changes made from another namespace are not seen. */
  get mtu(): number {
    return this.#mtu;
  }

  get capabilities(): LinkCapabilities {
    return { vnet: this.#vnet, txChecksumOffload: this.#csum, tso: this.#tso, maxFrameSize: this.#maxFrameSize };
  }

  /** A TSO super-frame carries up to 64 KiB of IP; otherwise one MTU plus an optional 802.1Q tag. */
  static #maxFrame(tso: boolean, mtu: number): number {
    return tso ? GSO_MAX_IP + ETH_HLEN : mtu + ETH_HLEN + VLAN_HLEN;
  }

  /** The device's interface index in this namespace (throws once the device has moved elsewhere). */
  get ifindex(): number {
    this.#checkNameUsable('ifindex');
    return this.#native.ifIndex(this.name);
  }

  /** Sets the device MTU (SIOCSIFMTU). Only while the device is in this process's namespace. */
  setMtu(mtu: number): void {
    const value = intOption('mtu', mtu, 1500, 68, 65535);
    this.#checkNameUsable('setMtu');
    this.#native.setMtu(this.name, value);
    this.#mtu = value;
    this.#maxFrameSize = TapLink.#maxFrame(this.#tso, value);
  }

  /** Sets the kernel side administratively up or down. Only while the device is in this process's namespace. */
  setUp(up: boolean): void {
    const value = boolOption('up', up, true);
    this.#checkNameUsable('setUp');
    this.#native.setUp(this.name, value);
  }

  setReceiver(receiver: LinkReceiver): void {
    this.#receiver = receiver;
  }

  /**
   * Lends the transmit-ring bytes the next frame of up to `length` bytes may be built in, so
   * that `send` of a view starting at the lent buffer's first byte queues it without a copy
   * (the TSO path would otherwise copy every 64 KiB super-frame once more). Valid until the
   * next `lendTx`, `send` of it, or the end of the event-loop turn; a frame that is never sent
   * only leaves a gap until the queue is next written out. Undefined when there is no room.
   */
  lendTx(length: number): Uint8Array | undefined {
    this.#lendOff = -1;
    if (this.#closed || this.#error !== undefined || length > this.#maxFrameSize) return undefined;
    const need = this.#hdrLen + length;
    if (!this.#room(need)) return undefined;
    const off = this.#txEnd;
    this.#lendOff = off;
    this.#txEnd = this.#lendEnd = align(off + need, 8);
    return this.#txBytes.subarray(off + this.#hdrLen, off + need);
  }

  send(frame: Uint8Array, vnet?: VnetHeader): void {
    const stats = this.stats;
    const len = frame.length;
    const hdrLen = this.#hdrLen;
    const lent = this.#lendOff >= 0 && frame.buffer === this.#txBytes.buffer && frame.byteOffset === this.#txBytes.byteOffset + this.#lendOff + hdrLen;
    if (this.#closed || this.#error !== undefined || len > this.#maxFrameSize) {
      if (lent) this.#lendOff = -1;
      stats.txDropped++;
      return;
    }
    // Without a virtio-net header there is no way to ask for a checksum or segmentation.
    if (hdrLen === 0 && vnet !== undefined && (vnet.flags !== 0 || vnet.gsoType !== 0)) {
      if (lent) this.#lendOff = -1;
      stats.txDropped++;
      return;
    }
    const need = hdrLen + len;
    let off: number;
    if (lent && fitsLent(this.#lendOff, need, this.#lendEnd)) {
      // Built in place: only the header and the queue entry are left to write.
      off = this.#lendOff;
      this.#lendOff = -1;
      if (this.#txTail === this.#txOffs.length && !this.#room(0)) {
        stats.txDropped++;
        return;
      }
      if (this.#txEnd === this.#lendEnd) this.#txEnd = align(off + need, 8);
    } else {
      if (!this.#room(need)) {
        stats.txDropped++;
        return;
      }
      off = this.#txEnd;
      // A view of a lent buffer that is no longer lent still holds its bytes (set copies overlapping ranges correctly).
      this.#txBytes.set(frame, off + hdrLen);
      this.#txEnd = align(off + need, 8);
    }
    if (hdrLen !== 0) emitVnet(vnet ?? VNET_NONE, this.#txBytes, off, hdrLen);
    const i = this.#txTail++;
    this.#txOffs[i] = off;
    this.#txLens[i] = need;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushTask);
    }
  }

  /** Room for `need` more bytes and one more frame: writes what is queued and compacts when full. */
  #room(need: number): boolean {
    if (this.#txTail < this.#txOffs.length && this.#txEnd + need <= this.#txBytes.length) return true;
    // Write what is queued now (unless the device already said EAGAIN), then compact.
    if (!this.#writableArmed) this.flush();
    this.#compact();
    return this.#txTail < this.#txOffs.length && this.#txEnd + need <= this.#txBytes.length;
  }

  flush(): void {
    if (this.#closed || this.#error !== undefined) return;
    const head = this.#txHead;
    const count = this.#txTail - head;
    if (count === 0) return;
    const done = this.#native.write(this.#handle, head, count);
    const st = this.#status;
    const errors = st[this.#st.txErrors] ?? 0;
    const written = done - errors;
    this.stats.txFrames += written;
    this.stats.txBytes += (st[this.#st.txBytes] ?? 0) - written * this.#hdrLen;
    this.stats.txDropped += errors;
    const fatal = st[this.#st.txFatal] ?? 0;
    if (fatal !== 0) {
      this.#fail(this.#native.systemError(fatal, 'write', this.name));
      return;
    }
    if (done === count) {
      this.#txHead = this.#txTail = 0;
      // A lent region stays where it is until its frame is sent.
      this.#txEnd = this.#lendOff >= 0 ? this.#lendEnd : 0;
      if (this.#writableArmed) this.#setWritable(false);
    } else {
      // EAGAIN: keep the rest and let the watcher say when the device takes frames again.
      this.#txHead = head + done;
      if (!this.#writableArmed) this.#setWritable(true);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.stats.txDropped += this.#txTail - this.#txHead;
    this.#txHead = this.#txTail = this.#txEnd = 0;
    this.#lendOff = -1;
    this.#native.close(this.#handle);
  }

  /** Frames queued and not yet written (the backlog after EAGAIN, or this turn's sends). */
  get txQueued(): number {
    return this.#txTail - this.#txHead;
  }

  #onRead(count: number): void {
    const st = this.#status;
    const stats = this.stats;
    stats.rxDropped += st[this.#st.rxErrors] ?? 0;
    const receiver = this.#receiver;
    if (count > 0) {
      stats.rxBatches++;
      if (receiver === undefined || this.#closed) {
        stats.rxDropped += count;
      } else {
        this.#deliver(receiver, count);
      }
    }
    const fatal = st[this.#st.rxFatal] ?? 0;
    if (fatal !== 0) this.#fail(this.#native.systemError(fatal, 'read', this.name));
  }

  #deliver(receiver: LinkReceiver, count: number): void {
    const stats = this.stats;
    const lens = this.#rxLens;
    const hdrLen = this.#hdrLen;
    const buffer = this.#rxBuffer;
    for (let i = 0; i < count; i++) {
      const len = lens[i] ?? 0;
      const off = i * RX_SLOT_SIZE;
      let vnet: VnetHeader | undefined;
      if (hdrLen !== 0) {
        if (len < hdrLen) {
          stats.rxDropped++;
          continue;
        }
        const parsed = parseVnet(this.#rxBytes, off, hdrLen, len - hdrLen);
        if (!parsed.ok) {
          stats.rxDropped++;
          continue;
        }
        vnet = parsed.value;
      }
      const frameLen = len - hdrLen;
      stats.rxFrames++;
      stats.rxBytes += frameLen;
      receiver.onFrame(new Uint8Array(buffer, off + hdrLen, frameLen), vnet);
      // The receiver may have closed the link; the rest of the batch is not delivered then.
      if (this.#closed) break;
    }
    receiver.onBatchEnd();
  }

  #onWritable(): void {
    if (this.#closed) return;
    this.flush();
  }

  #setWritable(on: boolean): void {
    this.#writableArmed = on;
    this.#native.setWritable(this.#handle, on);
  }

  /** Moves the unwritten backlog to the start of the arena so its free space is contiguous again. */
  #compact(): void {
    const head = this.#txHead;
    // Moving bytes would move a lent region under the frame being built in it.
    if (head === 0 || this.#lendOff >= 0) return;
    const tail = this.#txTail;
    if (head === tail) {
      this.#txHead = this.#txTail = this.#txEnd = 0;
      return;
    }
    const offs = this.#txOffs;
    const lens = this.#txLens;
    const base = offs[head] ?? 0;
    this.#txBytes.copyWithin(0, base, this.#txEnd);
    for (let i = head; i < tail; i++) {
      offs[i - head] = (offs[i] ?? 0) - base;
      lens[i - head] = lens[i] ?? 0;
    }
    this.#txTail = tail - head;
    this.#txHead = 0;
    this.#txEnd -= base;
  }

  #fail(error: NativeSystemError): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.stats.txDropped += this.#txTail - this.#txHead;
    this.#txHead = this.#txTail = this.#txEnd = 0;
    this.#lendOff = -1;
    this.#onError?.(error);
  }

  #checkNameUsable(op: string): void {
    if (this.#closed) {
      throw new TapLinkError('ERR_CHIMNEY_LINK_CLOSED', this.name, `${op}: TAP '${this.name}' is closed`);
    }
    if (!this.#native.inOwnNetns(this.#handle)) {
      throw new TapLinkError(
        'ERR_CHIMNEY_TAP_OTHER_NETNS',
        this.name,
        `${op}: TAP '${this.name}' has been moved to another network namespace, where name-based ioctls from this process ` +
          `cannot reach it; frames still flow through the fd. Configure it in its namespace (ip -n NS link set ${this.name} ...)`,
      );
    }
  }
}
