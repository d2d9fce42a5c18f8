/**
 * The send NBLs of one offloaded connection, mapped onto its byte stream (reference §4.1,
 * §4.1.4): every NBL the host sent (or handed down with the initiate) is owned by the target
 * until it is completed, and it is completed with NDIS_STATUS_SUCCESS only when all of its data
 * has been acknowledged by the peer (§4.1.2). Completions are batched: `acked()` may be called
 * for every ACK, and one chain goes up per `flush()` (the end of a receive batch).
 *
 * Stream positions are byte counts from the first byte the tracker ever held (plain numbers, no
 * 32-bit wrap: 2^53 bytes is years of line rate).
 */
import type { NET_BUFFER, NET_BUFFER_LIST } from '../ndis/nbl.js';
import { NdisAdvanceNetBufferDataStart, netBufferListDataLength, netBufferListsOf } from '../ndis/nbl.js';
import type { NdisStatus } from '../ndis/status.js';
import { NDIS_STATUS_SUCCESS } from '../ndis/status.js';

export interface SendCompletionPort {
  /** NdisTcpOffloadSendComplete with a chain in submission order. */
  completeSends(chain: NET_BUFFER_LIST): void;
}

/** Send data handed back at terminate (§3.3.2 step 5): the original NBLs, in order. */
export interface ReturnedSendData {
  readonly NetBufferListChain: NET_BUFFER_LIST;
  readonly SendDataHead: NET_BUFFER_LIST;
  readonly SendDataTail: NET_BUFFER_LIST;
  /** Bytes from the head NBL's (advanced) data start to the chain's end: [SndUna, end). */
  readonly bytes: number;
}

export class SendTracker {
  /** Held NBLs, oldest first, from `head`, with the stream range [starts[i], ends[i]) of each. */
  private readonly nbls: NET_BUFFER_LIST[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private head = 0;
  /** Stream position of the first byte not yet acknowledged (SND.UNA). */
  private ackedTo = 0;
  /** Stream position after the last held byte. */
  private tail = 0;
  /** Acknowledged NBLs waiting for `flush()`. */
  private readonly done: NET_BUFFER_LIST[] = [];

  constructor(private readonly port: SendCompletionPort) {}

  /** Bytes held and not yet acknowledged. */
  get outstanding(): number {
    return this.tail - this.ackedTo;
  }

  /** NBLs held (not completed). */
  get count(): number {
    return this.nbls.length - this.head;
  }

  /** Stream position of the next NBL boundary after `position`: PSH goes on the segment ending there (§4.1.1). */
  boundaryAfter(position: number): number | undefined {
    for (let i = this.head; i < this.ends.length; i++) {
      const end = this.ends[i] as number;
      if (end > position) return end;
    }
    return undefined;
  }

  /**
   * Takes ownership of a chain (MiniportTcpOffloadSend, or the NetBufferListChain of an
   * initiate) and returns its data as views in stream order, for the engine's send queue
   * (transmitted straight out of the host's buffers, §3.2.1 rule 6). Every NBL is held in
   * submission order (FIFO across calls, §4.1.1).
   */
  enqueue(chain: NET_BUFFER_LIST): Uint8Array[] {
    const views: Uint8Array[] = [];
    for (const nbl of netBufferListsOf(chain)) {
      for (let nb: NET_BUFFER | null = nbl.FirstNetBuffer; nb !== null; nb = nb.Next) collectViews(nb, views);
      this.starts.push(this.tail);
      this.tail += netBufferListDataLength(nbl);
      this.ends.push(this.tail);
      this.nbls.push(nbl);
      nbl.Next = null;
    }
    return views;
  }

  /**
   * The peer acknowledged the stream up to `position` (SND.UNA in stream bytes). Fully
   * acknowledged NBLs join the completion batch; `flush()` completes them.
   */
  acked(position: number): void {
    if (position <= this.ackedTo) return;
    this.ackedTo = Math.min(position, this.tail);
    while (this.head < this.nbls.length && (this.ends[this.head] as number) <= this.ackedTo) {
      this.finishHeld(this.head, NDIS_STATUS_SUCCESS);
      this.head++;
    }
    this.compact();
  }

  /** Completes the batch of acknowledged NBLs in one call (completion batching, §4.1.2). */
  flush(): void {
    if (this.done.length === 0) return;
    const batch = this.done.splice(0);
    for (let i = 0; i < batch.length; i++) (batch[i] as NET_BUFFER_LIST).Next = batch[i + 1] ?? null;
    this.port.completeSends(batch[0] as NET_BUFFER_LIST);
  }

  /**
   * Completes everything held with a failure (REQUEST_ABORTED after an RST or an abortive
   * disconnect; UPLOAD_IN_PROGRESS when uploading without returning the data). Acknowledged NBLs
   * complete SUCCESS first; the one partly acknowledged carries `status` and its acknowledged
   * byte count; every later one `status` and 0 (§4.1.2). One chain, in submission order.
   */
  failAll(status: NdisStatus): void {
    let failed = false;
    for (let i = this.head; i < this.nbls.length; i++) failed = !this.finishHeld(i, status, failed) || failed;
    this.reset();
    this.flush();
  }

  /**
   * Hands the held NBLs back for a terminate (§3.3.2 step 5): the original NBLs in their
   * original order, the head one's data start advanced to the first unacknowledged byte, so the
   * chain's first byte is SndUna (§4.1.4). Acknowledged NBLs are completed first. Undefined
   * when nothing is held.
   */
  takeForUpload(): ReturnedSendData | undefined {
    this.flush();
    if (this.count === 0) return undefined;
    const rest = this.nbls.slice(this.head);
    const first = rest[0] as NET_BUFFER_LIST;
    advanceNbl(first, this.ackedTo - (this.starts[this.head] as number));
    for (let i = 0; i < rest.length; i++) (rest[i] as NET_BUFFER_LIST).Next = rest[i + 1] ?? null;
    const bytes = this.tail - this.ackedTo;
    this.reset();
    return { NetBufferListChain: first, SendDataHead: first, SendDataTail: rest[rest.length - 1] as NET_BUFFER_LIST, bytes };
  }

  /**
   * Completes held NBL `i` into the batch: SUCCESS if fully acknowledged (and no earlier NBL of
   * the chain failed), else `status` with its acknowledged count. Returns whether it succeeded.
   */
  private finishHeld(i: number, status: NdisStatus, failEvenIfAcked = false): boolean {
    const nbl = this.nbls[i] as NET_BUFFER_LIST;
    const start = this.starts[i] as number;
    const length = (this.ends[i] as number) - start;
    const acked = Math.max(0, Math.min(this.ackedTo - start, length));
    advanceNbl(nbl, acked);
    nbl.Info.TcpOffloadBytesTransferred = acked;
    const ok = acked === length && !failEvenIfAcked;
    nbl.Status = ok ? NDIS_STATUS_SUCCESS : status;
    this.done.push(nbl);
    return ok;
  }

  private reset(): void {
    this.nbls.length = 0;
    this.starts.length = 0;
    this.ends.length = 0;
    this.head = 0;
    this.ackedTo = this.tail;
  }

  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.nbls.length) {
      this.nbls.splice(0, this.head);
      this.starts.splice(0, this.head);
      this.ends.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** NdisAdvanceNetBufferDataStart over the NBs of one NBL, `bytes` in all, first NB first. */
function advanceNbl(nbl: NET_BUFFER_LIST, bytes: number): void {
  let left = bytes;
  for (let nb: NET_BUFFER | null = nbl.FirstNetBuffer; nb !== null && left > 0; nb = nb.Next) {
    const n = Math.min(left, nb.DataLength);
    NdisAdvanceNetBufferDataStart(nb, n);
    left -= n;
  }
}

function collectViews(nb: NET_BUFFER, out: Uint8Array[]): void {
  let skip = nb.DataOffset;
  let left = nb.DataLength;
  for (const mdl of nb.MdlChain) {
    if (left === 0) break;
    if (skip >= mdl.length) {
      skip -= mdl.length;
      continue;
    }
    const n = Math.min(mdl.length - skip, left);
    out.push(mdl.subarray(skip, skip + n));
    left -= n;
    skip = 0;
  }
}
