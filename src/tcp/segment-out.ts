/**
 * The one outgoing-segment object a connection hands to `TcpHooks.transmit`, reused for every
 * segment (no allocation per segment). Its payload is copied by the host straight out of the
 * send queue with `copyPayload`, so application bytes are copied once on the way out.
 */
import type { Seq } from '../wire/seq.js';
import type { TcpOptions, TcpSackBlock, TcpTimestamps } from '../wire/tcp.js';
import type { SendQueue } from './send-queue.js';
import type { TcpSegmentOut } from './types.js';

/** TcpOptions with writable members; every member is always present so the object keeps one shape. */
export interface MutableTcpOptions extends TcpOptions {
  mss: number | undefined;
  windowScale: number | undefined;
  sackPermitted: boolean | undefined;
  sackBlocks: readonly TcpSackBlock[] | undefined;
  timestamps: TcpTimestamps | undefined;
  unknown: undefined;
}

export interface MutableSackBlock extends TcpSackBlock {
  left: Seq;
  right: Seq;
}

export interface MutableTimestamps extends TcpTimestamps {
  tsVal: number;
  tsEcr: number;
}

export class OutSegment implements TcpSegmentOut {
  srcPort: number;
  dstPort: number;
  seqNumber = 0 as Seq;
  ackNumber = 0 as Seq;
  flags = 0;
  windowLen = 0;
  urgentPointer = 0;
  readonly options: MutableTcpOptions = {
    mss: undefined,
    windowScale: undefined,
    sackPermitted: undefined,
    sackBlocks: undefined,
    timestamps: undefined,
    unknown: undefined,
  };
  payloadLength = 0;
  gsoSize = 0;
  /** Offset of the payload's first byte in the send queue. */
  payloadOffset = 0;

  constructor(
    srcPort: number,
    dstPort: number,
    private readonly queue: SendQueue,
  ) {
    this.srcPort = srcPort;
    this.dstPort = dstPort;
  }

  copyPayload(dst: Uint8Array, dstOffset: number): void {
    if (this.payloadLength > 0) this.queue.copyOut(this.payloadOffset, this.payloadLength, dst, dstOffset);
  }
}
