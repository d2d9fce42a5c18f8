/**
 * Packet capture in pcapng (draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File
 * Format"): a writer, and `PcapLink`, a `Link` wrapper that records every frame it passes in
 * either direction (gVisor `sniffer`, smoltcp `PcapWriter`).
 *
 * Files are little-endian, one section, Ethernet link type, nanosecond timestamps
 * (if_tsresol = 9) in Unix time, and each packet's direction in epb_flags, so Wireshark shows
 * inbound and outbound frames of the same interface apart.
 */
import { close as closeFd, openSync, write, writeSync } from 'node:fs';
import type { Clock } from '../wire/clock.js';
import { segmentGso } from '../wire/gso.js';
import { VNET_F_NEEDS_CSUM, VNET_GSO_ECN, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_GSO_UDP_L4, type VnetHeader } from '../wire/vnet.js';
import type { Link, LinkCapabilities, LinkReceiver, LinkStats } from './link.js';

/** Block types (pcapng §4.1, §4.2, §4.3). */
const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 0x00000001;
const BLOCK_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** LINKTYPE_ETHERNET (the tcpdump.org link-layer header types registry). */
const LINKTYPE_ETHERNET = 1;
/** libpcap's MAXIMUM_SNAPLEN: large enough for any frame a TAP with a virtio-net header returns. */
const DEFAULT_SNAPLEN = 262144;

/** Option codes (pcapng §3.5 common, §4.1 SHB, §4.2 IDB, §4.3 EPB). */
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;
/** epb_flags bits 0-1: 01 inbound, 10 outbound (pcapng §4.3.1). */
const EPB_FLAG_INBOUND = 1;
const EPB_FLAG_OUTBOUND = 2;
/** if_tsresol value 9: timestamps count nanoseconds (10^-9 s). */
const TSRESOL_NANOSECONDS = 9;
/** An option value is at most 65535 bytes (its length field is 16 bits). */
const MAX_OPTION_LEN = 0xffff;

const DEFAULT_BUFFER_SIZE = 1 << 20;
const DEFAULT_FLUSH_INTERVAL_MS = 1000;
/** Beyond this many chunks in flight (asynchronous writes not yet completed), the writer writes synchronously instead of buffering more. */
const MAX_IN_FLIGHT_CHUNKS = 16;

export type PacketDirection = 'in' | 'out';

export interface PcapngWriterOptions {
  /** Monotonic clock for packet timestamps (milliseconds). Default: `performance.now()`. */
  readonly clock?: Clock;
  /** Wall clock (Unix milliseconds), read once at open to anchor the monotonic clock. Default `Date.now`. */
  readonly wallClockMs?: () => number;
  /** Written as shb_userappl. Default "chimney". */
  readonly application?: string;
  /** Bytes buffered before a write is issued. Default 1 MiB. */
  readonly bufferSize?: number;
  /**
   * Buffered blocks are also written at least this often (milliseconds), so a quiet capture
   * can be read while it runs. 0 disables. Default 1000. The timer never keeps the process alive.
   */
  readonly flushIntervalMs?: number;
  /**
   * Called once if a write fails; the writer then stops recording (the link it serves keeps
   * running: a broken capture must not take the network down). `close()` rejects with the error.
   */
  readonly onError?: (error: Error) => void;
}

export interface PcapngInterfaceOptions {
  /** Bytes of each packet kept; longer packets are truncated (their original length is kept). Default 262144. */
  readonly snapLen?: number;
}

interface InFlight {
  readonly data: Uint8Array;
  readonly position: number;
}

const textEncoder = new TextEncoder();
const monotonic: Clock = { now: () => performance.now() };

/**
 * Writes a pcapng file through a buffer. Blocks are assembled in memory and written with
 * positional asynchronous writes; `flushSync` writes everything (including chunks whose
 * asynchronous write has not completed: a positional write of the same bytes is idempotent)
 * so an exit path loses nothing.
 */
export class PcapngWriter {
  readonly path: string;
  /** Packets recorded, and their captured bytes. */
  packets = 0;
  bytes = 0;

  private fd: number | undefined;
  private readonly clock: Clock;
  private readonly anchorMonotonicMs: number;
  private readonly anchorUnixNs: bigint;
  private readonly bufferSize: number;
  private readonly onError: ((error: Error) => void) | undefined;
  private chunk: Uint8Array;
  private view: DataView;
  private used = 0;
  /** File offset where `chunk` starts. */
  private position = 0;
  private readonly inFlight = new Set<InFlight>();
  private readonly spare: Uint8Array[] = [];
  private drained: (() => void) | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly snapLens: number[] = [];
  private readonly flushTimer: ReturnType<typeof setInterval> | undefined;

  /** Creates (or truncates) `path` and writes the section header. Throws the `fs` error if the file cannot be opened. */
  static open(path: string, options: PcapngWriterOptions = {}): PcapngWriter {
    return new PcapngWriter(path, openSync(path, 'w'), options);
  }

  private constructor(path: string, fd: number, options: PcapngWriterOptions) {
    this.path = path;
    this.fd = fd;
    this.clock = options.clock ?? monotonic;
    // pcapng timestamps are Unix time (§4.3): anchor the monotonic clock to the wall clock once,
    // so a wall-clock step during the capture cannot make timestamps jump or run backwards.
    this.anchorMonotonicMs = this.clock.now();
    this.anchorUnixNs = BigInt(Math.round((options.wallClockMs ?? Date.now)() * 1000)) * 1000n;
    this.bufferSize = Math.max(4096, options.bufferSize ?? DEFAULT_BUFFER_SIZE);
    this.onError = options.onError;
    this.chunk = new Uint8Array(this.bufferSize);
    this.view = new DataView(this.chunk.buffer);
    this.writeSectionHeader(options.application ?? 'chimney');
    const interval = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (interval > 0) {
      this.flushTimer = setInterval(() => this.flush(), interval);
      this.flushTimer.unref();
    }
  }

  /** Adds an Ethernet interface (an Interface Description Block) and returns its id for `writePacket`. */
  addInterface(name: string, options: PcapngInterfaceOptions = {}): number {
    const snapLen = options.snapLen ?? DEFAULT_SNAPLEN;
    const nameBytes = textEncoder.encode(name).subarray(0, MAX_OPTION_LEN);
    const optionsLen = optionSize(nameBytes.length) + optionSize(1) + 4;
    const total = 20 + optionsLen;
    let off = this.reserve(total);
    off = this.blockStart(off, BLOCK_IDB, total);
    this.view.setUint16(off, LINKTYPE_ETHERNET, true);
    this.view.setUint16(off + 2, 0, true);
    this.view.setUint32(off + 4, snapLen, true);
    off = this.option(off + 8, IF_NAME, nameBytes);
    off = this.option(off, IF_TSRESOL, Uint8Array.of(TSRESOL_NANOSECONDS));
    off = this.endOptions(off);
    this.view.setUint32(off, total, true);
    this.used = off + 4;
    this.snapLens.push(snapLen);
    return this.snapLens.length - 1;
  }

  /**
   * Records one packet on interface `interfaceId`, timestamped now. `direction` goes into
   * epb_flags; each comment becomes an opt_comment. The frame is copied into the buffer.
   */
  writePacket(interfaceId: number, frame: Uint8Array, direction?: PacketDirection, comments?: string | readonly string[]): void {
    if (this.fd === undefined || this.failure !== undefined || this.closing !== undefined) return;
    const snapLen = this.snapLens[interfaceId];
    if (snapLen === undefined) throw new RangeError(`pcapng: no interface ${interfaceId} (call addInterface first)`);
    const captured = Math.min(frame.length, snapLen);
    const commentBytes = comments === undefined ? [] : (typeof comments === 'string' ? [comments] : comments).map((c) => textEncoder.encode(c).subarray(0, MAX_OPTION_LEN));
    let optionsLen = 0;
    if (direction !== undefined) optionsLen += optionSize(4);
    for (const c of commentBytes) optionsLen += optionSize(c.length);
    if (optionsLen > 0) optionsLen += 4;
    const total = 32 + pad4(captured) + optionsLen;

    const ns = this.anchorUnixNs + BigInt(Math.max(0, Math.round((this.clock.now() - this.anchorMonotonicMs) * 1e6)));
    let off = this.reserve(total);
    off = this.blockStart(off, BLOCK_EPB, total);
    this.view.setUint32(off, interfaceId, true);
    this.view.setUint32(off + 4, Number(ns >> 32n), true);
    this.view.setUint32(off + 8, Number(ns & 0xffffffffn), true);
    this.view.setUint32(off + 12, captured, true);
    this.view.setUint32(off + 16, frame.length, true);
    off += 20;
    this.chunk.set(captured === frame.length ? frame : frame.subarray(0, captured), off);
    this.chunk.fill(0, off + captured, off + pad4(captured));
    off += pad4(captured);
    if (optionsLen > 0) {
      if (direction !== undefined) {
        off = this.optionHeader(off, EPB_FLAGS, 4);
        this.view.setUint32(off, direction === 'in' ? EPB_FLAG_INBOUND : EPB_FLAG_OUTBOUND, true);
        off += 4;
      }
      for (const c of commentBytes) off = this.option(off, OPT_COMMENT, c);
      off = this.endOptions(off);
    }
    this.view.setUint32(off, total, true);
    this.used = off + 4;
    this.packets++;
    this.bytes += captured;
  }

  /** Starts writing the buffered blocks (asynchronously). */
  flush(): void {
    if (this.fd === undefined || this.used === 0 || this.failure !== undefined) return;
    if (this.inFlight.size >= MAX_IN_FLIGHT_CHUNKS) {
      // The disk is slower than the capture: write inline rather than hold unbounded memory.
      // This runs inside the link's send and receive paths: a failure stops the capture, it
      // must not throw into the network (see `onError`).
      try {
        this.writeChunkSync();
      } catch (error) {
        this.fail(error as Error);
        this.used = 0;
      }
      return;
    }
    const entry: InFlight = { data: this.chunk.subarray(0, this.used), position: this.position };
    this.position += this.used;
    this.inFlight.add(entry);
    const chunk = this.chunk;
    write(this.fd, entry.data, 0, entry.data.length, entry.position, (error) => {
      this.inFlight.delete(entry);
      if (error !== null) this.fail(error);
      else if (chunk.length === this.bufferSize && this.spare.length < 2) this.spare.push(chunk);
      if (this.inFlight.size === 0) this.drained?.();
    });
    this.chunk = this.spare.pop() ?? new Uint8Array(this.bufferSize);
    this.view = new DataView(this.chunk.buffer);
    this.used = 0;
  }

  /**
   * Writes every buffered block now, synchronously: for exit paths (`process.on('exit')`,
   * signal handlers) where no asynchronous write will ever complete.
   */
  flushSync(): void {
    if (this.fd === undefined || this.failure !== undefined) return;
    try {
      for (const entry of this.inFlight) writeSync(this.fd, entry.data, 0, entry.data.length, entry.position);
      this.writeChunkSync();
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** Flushes, waits for every write, and closes the file. Idempotent. Rejects if any write failed. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (this.flushTimer !== undefined) clearInterval(this.flushTimer);
    this.flush();
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await new Promise<void>((resolve, reject) => closeFd(fd, (e) => (e ? reject(e) : resolve())));
    if (this.failure !== undefined) throw this.failure;
  }

  private writeChunkSync(): void {
    if (this.fd === undefined || this.used === 0) return;
    let done = 0;
    while (done < this.used) done += writeSync(this.fd, this.chunk, done, this.used - done, this.position + done);
    this.position += this.used;
    this.used = 0;
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.onError?.(error);
  }

  /** Makes room for `n` bytes and returns the offset to write them at. */
  private reserve(n: number): number {
    if (this.used + n > this.chunk.length) {
      this.flush();
      // A failed writer keeps nothing: its file is incomplete anyway.
      if (this.failure !== undefined) this.used = 0;
      if (n > this.chunk.length) {
        // One block larger than the buffer (a huge comment or snap length): give it its own chunk.
        this.chunk = new Uint8Array(n);
        this.view = new DataView(this.chunk.buffer);
      }
    }
    return this.used;
  }

  private writeSectionHeader(application: string): void {
    const app = textEncoder.encode(application).subarray(0, MAX_OPTION_LEN);
    const total = 28 + optionSize(app.length) + 4;
    let off = this.blockStart(this.reserve(total), BLOCK_SHB, total);
    this.view.setUint32(off, BYTE_ORDER_MAGIC, true);
    this.view.setUint16(off + 4, 1, true);
    this.view.setUint16(off + 6, 0, true);
    // Section length -1: not specified (§4.1), since the file is written as a stream.
    this.view.setBigInt64(off + 8, -1n, true);
    off = this.option(off + 16, SHB_USERAPPL, app);
    off = this.endOptions(off);
    this.view.setUint32(off, total, true);
    this.used = off + 4;
  }

  private blockStart(off: number, type: number, total: number): number {
    this.view.setUint32(off, type, true);
    this.view.setUint32(off + 4, total, true);
    return off + 8;
  }

  private optionHeader(off: number, code: number, length: number): number {
    this.view.setUint16(off, code, true);
    this.view.setUint16(off + 2, length, true);
    return off + 4;
  }

  private option(off: number, code: number, value: Uint8Array): number {
    off = this.optionHeader(off, code, value.length);
    this.chunk.set(value, off);
    this.chunk.fill(0, off + value.length, off + pad4(value.length));
    return off + pad4(value.length);
  }

  private endOptions(off: number): number {
    return this.optionHeader(off, OPT_ENDOFOPT, 0);
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function optionSize(valueLen: number): number {
  return 4 + pad4(valueLen);
}

/**
 * Registers a `process.on('exit')` handler that flushes `target` synchronously (an exit
 * handler cannot wait for asynchronous writes). Returns a function that removes the handler.
 * Signal handlers are the CLI's: on SIGINT/SIGTERM it should call `flushSync` too, or exit
 * through `process.exit()` so this handler runs.
 */
export function installExitFlush(target: { flushSync(): void }): () => void {
  const handler = (): void => {
    try {
      target.flushSync();
    } catch (error) {
      process.stderr.write(`chimney: capture flush at exit failed: ${(error as Error).message}\n`);
    }
  };
  process.on('exit', handler);
  return () => {
    process.off('exit', handler);
  };
}

export interface PcapLinkOptions {
  /** The file to write; the link owns the writer and closes it on `close()`. */
  readonly path?: string;
  /** Options for the writer opened on `path`. */
  readonly writerOptions?: PcapngWriterOptions;
  /** A writer shared with other links (each gets its own interface); closed by whoever opened it. */
  readonly writer?: PcapngWriter;
  /** Interface name in the capture. Default: the wrapped link's name. */
  readonly interfaceName?: string;
  /** Returns a comment to attach to a recorded frame (called once per wire frame). */
  readonly comment?: (frame: Uint8Array, direction: PacketDirection) => string | undefined;
  /** Comment each frame cut from a GSO super-frame with its place ("TSO segment 2/3, gso_size 1448"). Default true. */
  readonly annotateSegments?: boolean;
}

/**
 * A `Link` wrapper that records every frame received from and sent to the wrapped link.
 * Frames carrying a virtio-net header are recorded as they would cross a wire: a NEEDS_CSUM
 * checksum completed and a GSO super-frame cut into its wire frames (`src/wire/gso.ts`), on a
 * copy; the frames passed through are untouched. A frame the inner link refuses (too big, link
 * down) is not recorded, because it never reached the wire. Put the capture inside an
 * `ImpairLink` to see what the wire carried, outside it to see what the stack sent and got.
 */
export class PcapLink implements Link {
  readonly writer: PcapngWriter;
  private readonly inner: Link;
  private readonly interfaceId: number;
  private readonly ownsWriter: boolean;
  private readonly commentHook: ((frame: Uint8Array, direction: PacketDirection) => string | undefined) | undefined;
  private readonly annotateSegments: boolean;
  private closed: Promise<void> | undefined;

  constructor(inner: Link, options: PcapLinkOptions) {
    if ((options.writer === undefined) === (options.path === undefined)) {
      throw new TypeError('PcapLink: give exactly one of `path` and `writer`');
    }
    this.inner = inner;
    this.ownsWriter = options.writer === undefined;
    this.writer = options.writer ?? PcapngWriter.open(options.path as string, options.writerOptions);
    this.interfaceId = this.writer.addInterface(options.interfaceName ?? inner.name);
    this.commentHook = options.comment;
    this.annotateSegments = options.annotateSegments ?? true;
  }

  get name(): string {
    return this.inner.name;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get capabilities(): LinkCapabilities {
    return this.inner.capabilities;
  }
  get stats(): LinkStats {
    return this.inner.stats;
  }

  setReceiver(receiver: LinkReceiver): void {
    this.inner.setReceiver({
      onFrame: (frame, vnet) => {
        this.record(frame, vnet, 'in');
        receiver.onFrame(frame, vnet);
      },
      onBatchEnd: () => receiver.onBatchEnd(),
    });
  }

  /** Recording reads the frame during `send` only, so the inner link's buffer can be lent through. */
  lendTx(length: number): Uint8Array | undefined {
    return this.inner.lendTx?.(length);
  }

  send(frame: Uint8Array, vnet?: VnetHeader): void {
    const dropped = this.inner.stats.txDropped;
    this.inner.send(frame, vnet);
    if (this.inner.stats.txDropped === dropped) this.record(frame, vnet, 'out');
  }

  flush(): void {
    this.inner.flush();
  }

  /** Writes the capture buffer to the file now (for exit paths). */
  flushSync(): void {
    this.writer.flushSync();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      try {
        await this.inner.close();
      } finally {
        if (this.ownsWriter) await this.writer.close();
        else this.writer.flush();
      }
    })();
    return this.closed;
  }

  private record(frame: Uint8Array, vnet: VnetHeader | undefined, direction: PacketDirection): void {
    if (vnet === undefined || ((vnet.flags & VNET_F_NEEDS_CSUM) === 0 && vnet.gsoType === VNET_GSO_NONE)) {
      this.writeOne(frame, direction, undefined);
      return;
    }
    const segments: Uint8Array[] = [];
    const bad = segmentGso(frame, vnet, (s) => segments.push(s));
    if (bad !== undefined) {
      this.writeOne(frame, direction, `recorded as sent: virtio-net frame not segmented (${bad})`);
      return;
    }
    const cut = segments.length > 1 && this.annotateSegments;
    segments.forEach((s, i) => {
      this.writeOne(s, direction, cut ? `${gsoName(vnet.gsoType)} segment ${i + 1}/${segments.length}, gso_size ${vnet.gsoSize}` : undefined);
    });
  }

  private writeOne(frame: Uint8Array, direction: PacketDirection, note: string | undefined): void {
    const user = this.commentHook?.(frame, direction);
    const comments = note === undefined ? (user === undefined ? undefined : [user]) : user === undefined ? [note] : [note, user];
    this.writer.writePacket(this.interfaceId, frame, direction, comments);
  }
}

function gsoName(gsoType: number): string {
  switch (gsoType & ~VNET_GSO_ECN) {
    case VNET_GSO_TCPV4:
    case VNET_GSO_TCPV6:
      return 'TSO';
    case VNET_GSO_UDP_L4:
      return 'USO';
    default:
      return 'GSO';
  }
}
