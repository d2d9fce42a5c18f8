/**
 * The `Link` interface: a device that moves Ethernet frames. `TapLink` is the real one (the
 * native addon on a Linux TAP), `SimLink` the simulated one for unit tests; capture
 * (`PcapLink`), impairment (`ImpairLink`) and tracing are wrappers that implement `Link` too,
 * so they compose around any device (smoltcp `phy` middleware, gVisor `sniffer`/`nested`).
 */
import type { VnetHeader } from '../wire/vnet.js';

export interface LinkCapabilities {
  /**
   * Frames cross with a virtio-net header. Received frames may then be GSO super-frames (up to
   * 64 KiB) and may carry only a partial checksum (NEEDS_CSUM); sent frames may do the same.
   */
  readonly vnet: boolean;
  /** The device finishes checksums of sent frames marked NEEDS_CSUM. */
  readonly txChecksumOffload: boolean;
  /** The device segments sent TCP GSO frames (TSO) for IPv4 and IPv6. */
  readonly tso: boolean;
  /** Largest frame (Ethernet header included, virtio-net header excluded) `send` accepts. */
  readonly maxFrameSize: number;
}

/** Receives frames from a link. */
export interface LinkReceiver {
  /**
   * One received frame. `frame` and `vnet` are only valid during the call (they alias the
   * device's receive arena): copy what you keep. `vnet` is undefined on links without a
   * virtio-net header.
   */
  onFrame(frame: Uint8Array, vnet: VnetHeader | undefined): void;
  /** Called after the last frame of a batch, so layers above can flush coalesced work (ACKs, window updates). */
  onBatchEnd(): void;
}

export interface LinkStats {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Read calls that returned at least one frame (rxFrames / rxBatches = average batch). */
  rxBatches: number;
  /** Frames dropped by the link itself (queue full, device error, too big). */
  txDropped: number;
  rxDropped: number;
}

export function newLinkStats(): LinkStats {
  return { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, rxBatches: 0, txDropped: 0, rxDropped: 0 };
}

export interface Link {
  readonly name: string;
  /** The IP MTU of the link (1500 for plain Ethernet). */
  readonly mtu: number;
  readonly capabilities: LinkCapabilities;
  readonly stats: LinkStats;
  /** Installs the receiver (one per link). Frames that arrive before a receiver is set are dropped and counted. */
  setReceiver(receiver: LinkReceiver): void;
  /**
   * Queues one frame for transmission. The bytes are copied before `send` returns, so the
   * caller may reuse its buffer. Queued frames go out in one batch at the end of the current
   * event-loop turn, or when `flush` is called.
   */
  send(frame: Uint8Array, vnet?: VnetHeader): void;
  /**
   * Optional zero-copy transmit: a buffer of `length` bytes inside the link's own transmit
   * queue that the caller builds its next frame in and then passes to `send` as a view starting
   * at the buffer's first byte, which `send` then queues without copying. Valid until the next
   * `lendTx` or `send` or the end of the event-loop turn; a link that cannot lend (or has no
   * room) returns undefined and the caller builds in its own buffer. Wrappers that only look at
   * a frame during `send` pass it through; wrappers that keep frames do not offer it.
   */
  lendTx?(length: number): Uint8Array | undefined;
  /** Writes every queued frame now. */
  flush(): void;
  /** Stops receiving, flushes, and releases the device. Idempotent. */
  close(): Promise<void>;
}
