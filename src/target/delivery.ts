/**
 * The receive delivery algorithm of an offloaded connection (reference §4.2, §4.3, §4.4),
 * mandatory and followed to the letter: posted receive buffers are filled FIFO with in-order
 * data and completed when full (push mode also on PSH and on the push timer); with no posted
 * buffer, data is indicated, the host may take all, a prefix or nothing, and after a refusal
 * nothing is indicated again until the host posts (a zero-byte receive re-enables indications
 * without consuming data). Receive completions and indications are serialised per connection
 * ("busy"); a trigger that arrives while one runs is handled when it returns.
 *
 * The received bytes are not copied into a second queue: `ReceiveSource` is the engine's
 * receive side (acknowledged, undelivered data), read with peek and consume, so the window the
 * engine advertises opens exactly as the host takes data (§4.3.4 "ReceiveBacklogSize" is its
 * length).
 */
import type { BytesConsumed } from '../ndis/chimney-edges.js';
import type { NET_BUFFER_LIST } from '../ndis/nbl.js';
import { forEachNetBufferSpan, NdisAdvanceNetBufferDataStart, netBufferListsOf } from '../ndis/nbl.js';
import type { NdisStatus } from '../ndis/status.js';
import {
  NDIS_STATUS_INVALID_STATE,
  NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
  NDIS_STATUS_REQUEST_ABORTED,
  NDIS_STATUS_SUCCESS,
  NDIS_STATUS_UPLOAD_IN_PROGRESS,
} from '../ndis/status.js';

/** The engine's in-order, acknowledged, undelivered bytes, read from the front. */
export interface ReceiveSource {
  /** Bytes available. */
  readonly length: number;
  /** Copies up to `length` bytes from `offset` past the front into `dst`; returns the count. */
  peek(dst: Uint8Array, dstOffset: number, offset: number, length: number): number;
  /** Drops `n` bytes from the front (they have been delivered). */
  consume(n: number): void;
}

/** What the algorithm calls out to: the NDIS entry points and the push timer. */
export interface DeliveryPort {
  /** NdisTcpOffloadReceiveComplete with a chain of posted NBLs, in posting order. */
  completeReceives(chain: NET_BUFFER_LIST): void;
  /** NdisTcpOffloadReceiveHandler with one NBL; returns its status, the count in `consumed`. */
  indicate(nbl: NET_BUFFER_LIST, consumed: BytesConsumed): NdisStatus;
  /** An NBL from the chimney receive pool holding `length` bytes of space. */
  allocateIndication(length: number): NET_BUFFER_LIST;
  /** (Re)starts the push timer (TcpPushTicks from now). */
  startPushTimer(): void;
  stopPushTimer(): void;
}

/** Per posted NBL: where the next byte goes. Kept in the NBL's MiniportReserved[0] while queued. */
interface PostedState {
  /** Bytes the host placed before posting (TcpReceiveBytesTransferred). */
  readonly prefilled: number;
  /** Bytes this target placed. */
  placed: number;
  /** Space for target bytes: the window minus the prefilled part. */
  readonly capacity: number;
  readonly push: boolean;
}

export interface DeliveryStats {
  completedReceives: number;
  indications: number;
  indicatedBytes: number;
  refusedIndications: number;
  bytesPlaced: number;
}

export class ReceiveDelivery {
  readonly stats: DeliveryStats = { completedReceives: 0, indications: 0, indicatedBytes: 0, refusedIndications: 0, bytesPlaced: 0 };
  private readonly posted: NET_BUFFER_LIST[] = [];
  private postedHead = 0;
  private busy = false;
  /** A trigger arrived while busy: run again when the busy call returns. */
  private rerun = false;
  private rerunPush = false;
  /** After a refusal (and for initiate-time buffered data): no indication until the host posts (§4.3.3, §4.6). */
  private holdForPost: boolean;
  private pushTimerRunning = false;
  /** TcpIndicateDisconnect was raised: later posts complete with INVALID_STATE (§4.2.3). */
  private disconnectIndicated = false;
  private readonly consumed: BytesConsumed = { value: 0 };

  /**
   * `indicationSize` is RcvIndicationSize (0 = as much as possible); `maxIndication` bounds one
   * indication's buffer. `startWithBufferedData`: the source already holds BufferedData from the
   * initiate, which waits for posted buffers (§4.6).
   */
  constructor(
    private readonly source: ReceiveSource,
    private readonly port: DeliveryPort,
    private indicationSize = 0,
    private readonly maxIndication = 65536,
    startWithBufferedData = false,
  ) {
    this.holdForPost = startWithBufferedData && source.length > 0;
  }

  /** Receive buffers posted and not yet completed. */
  get postedCount(): number {
    return this.posted.length - this.postedHead;
  }

  /** Acknowledged bytes not yet delivered (ReceiveBacklogSize, §2.10.3). */
  get backlog(): number {
    return this.source.length;
  }

  /** Nothing waits to be delivered and no delivery call is running. */
  get drained(): boolean {
    return this.source.length === 0 && !this.busy;
  }

  /** A cached-state update of RcvIndicationSize. */
  setIndicationSize(bytes: number): void {
    this.indicationSize = bytes;
  }

  /** Trigger 1: MiniportTcpOffloadReceive posted a chain of buffers. */
  post(chain: NET_BUFFER_LIST): void {
    const fresh: NET_BUFFER_LIST[] = [];
    for (const nbl of netBufferListsOf(chain)) {
      const nb = nbl.FirstNetBuffer;
      const prefilled = Math.min(nbl.Info.TcpReceiveBytesTransferred, nb.DataLength);
      const state: PostedState = { prefilled, placed: 0, capacity: nb.DataLength - prefilled, push: !nbl.Info.TcpReceiveNoPush };
      nbl.MiniportReserved[0] = state;
      nbl.Next = null;
      fresh.push(nbl);
    }
    if (this.disconnectIndicated) {
      // Posted after TcpIndicateDisconnect: nothing more will arrive (§4.2.3).
      for (const nbl of fresh) this.finish(nbl, NDIS_STATUS_INVALID_STATE);
      this.completeChain(fresh);
      return;
    }
    for (const nbl of fresh) this.posted.push(nbl);
    // Any post, a zero-byte one included, re-enables indications (§4.3.3).
    this.holdForPost = false;
    if (this.busy) {
      this.rerun = true;
      return;
    }
    this.startPushForPrefilledHead();
    if (this.source.length === 0) return;
    this.run(false);
  }

  /** Trigger 2: in-order data was appended to the source; `psh` if its segment carried PSH. */
  dataArrived(psh: boolean): void {
    if (this.pushTimerRunning) this.port.startPushTimer(); // restarted by new data (§4.2.2)
    if (this.busy) {
      this.rerun = true;
      this.rerunPush ||= psh;
      return;
    }
    this.run(psh);
  }

  /** Trigger 3: the push timer fired. */
  pushTimerExpired(): void {
    this.pushTimerRunning = false;
    if (this.busy) {
      this.rerun = true;
      this.rerunPush = true;
      return;
    }
    const head = this.headPosted();
    if (head === undefined) return;
    const st = head.MiniportReserved[0] as PostedState;
    if (st.push && st.prefilled + st.placed > 0 && st.placed < st.capacity) this.completeHead(NDIS_STATUS_SUCCESS);
  }

  /**
   * Completes the partially filled head buffer as if a PSH had arrived (the peer's FIN: no more
   * data will follow it).
   */
  pushNow(): void {
    if (this.busy) {
      this.rerun = true;
      this.rerunPush = true;
      return;
    }
    this.run(true);
  }

  /** TcpIndicateDisconnect was raised: buffers posted from now on complete with INVALID_STATE. */
  markDisconnectIndicated(): void {
    this.disconnectIndicated = true;
    // Buffers already posted can receive nothing more either.
    this.failAll(NDIS_STATUS_INVALID_STATE, false);
  }

  /**
   * The connection is being uploaded (§3.3.2 step 4, step 7): deliver what fits into posted
   * buffers, then complete every posted buffer (with its bytes, or UPLOAD_IN_PROGRESS when it
   * holds none). What remains in the source goes back as BufferedData (the caller's part).
   */
  flushForUpload(): void {
    this.fill(true, false);
    this.failAll(NDIS_STATUS_UPLOAD_IN_PROGRESS, true);
    this.stopPush();
  }

  /** RST or abortive disconnect (§4.2.3): every posted buffer completes REQUEST_ABORTED with its valid bytes. */
  abort(): void {
    this.failAll(NDIS_STATUS_REQUEST_ABORTED, false);
    this.stopPush();
  }

  // ---- the algorithm --------------------------------------------------------------------------

  private run(psh: boolean): void {
    let push = psh;
    for (;;) {
      this.rerun = false;
      this.rerunPush = false;
      if (this.postedCount > 0) this.fill(false, push);
      else if (!this.holdForPost && this.source.length > 0) this.indicateLoop();
      if (!this.rerun) return;
      push = this.rerunPush;
    }
  }

  /** FILL (label A): place data into posted buffers, complete the full ones, then decide. */
  private fill(uploading: boolean, psh: boolean): void {
    const done: NET_BUFFER_LIST[] = [];
    let i = this.postedHead;
    while (i < this.posted.length) {
      const nbl = this.posted[i] as NET_BUFFER_LIST;
      const st = nbl.MiniportReserved[0] as PostedState;
      const room = st.capacity - st.placed;
      const n = Math.min(room, this.source.length);
      if (n > 0) this.place(nbl, st, n);
      if (st.placed < st.capacity) break;
      done.push(nbl);
      i++;
    }
    this.postedHead = i;
    if (done.length > 0) {
      if (this.pushTimerRunning) this.stopPush();
      for (const nbl of done) this.finish(nbl, NDIS_STATUS_SUCCESS);
      this.callComplete(done);
    }
    if (uploading) return;
    if (this.postedCount === 0) {
      if (this.source.length > 0 && !this.holdForPost) this.indicateLoop();
      return;
    }
    const head = this.headPosted() as NET_BUFFER_LIST;
    const st = head.MiniportReserved[0] as PostedState;
    if (st.prefilled + st.placed === 0 || !st.push) return;
    if (psh) {
      this.completeHead(NDIS_STATUS_SUCCESS);
      this.stopPush();
    } else if (!this.pushTimerRunning) {
      this.pushTimerRunning = true;
      this.port.startPushTimer();
    }
  }

  /** INDICATE (label B). */
  private indicateLoop(): void {
    while (this.source.length > 0) {
      if (this.busy) return;
      const want = this.indicationSize > 0 ? this.indicationSize : this.source.length;
      const length = Math.min(want, this.source.length, this.maxIndication);
      const nbl = this.port.allocateIndication(length);
      const nb = nbl.FirstNetBuffer;
      const view = nb.MdlChain[0] as Uint8Array;
      this.source.peek(view, nb.DataOffset, 0, length);
      nb.DataLength = length;
      this.consumed.value = 0;
      this.busy = true;
      let status: NdisStatus;
      try {
        status = this.port.indicate(nbl, this.consumed);
      } finally {
        this.busy = false;
      }
      this.stats.indications++;
      if (status === NDIS_STATUS_SUCCESS) {
        this.stats.indicatedBytes += length;
        this.source.consume(length);
        if (this.postedCount > 0 || this.rerun) return; // label A runs from run()
        continue;
      }
      // Not or partly accepted: the target owns the NBL again and keeps the rest buffered.
      const taken =
        status === NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED ? Math.max(0, Math.min(this.consumed.value, length)) : 0;
      // Any answer but the two of §4.3.2 is read as NOT_ACCEPTED: nothing taken, all kept.
      this.stats.indicatedBytes += taken;
      this.stats.refusedIndications++;
      this.source.consume(taken);
      if (this.postedCount > 0 || this.rerun) {
        // A post arrived during the indication: FILL next (run() loops).
        this.rerun = true;
        return;
      }
      this.holdForPost = true;
      return;
    }
  }

  private place(nbl: NET_BUFFER_LIST, st: PostedState, n: number): void {
    // Straight from the source into the buffer's MDLs, run by run.
    forEachNetBufferSpan(nbl.FirstNetBuffer, st.prefilled + st.placed, n, (mdl, offset, len, done) => {
      this.source.peek(mdl, offset, done, len);
    });
    this.source.consume(n);
    st.placed += n;
    this.stats.bytesPlaced += n;
  }

  private headPosted(): NET_BUFFER_LIST | undefined {
    return this.postedHead < this.posted.length ? this.posted[this.postedHead] : undefined;
  }

  private completeHead(status: NdisStatus): void {
    const head = this.headPosted();
    if (head === undefined) return;
    this.postedHead++;
    this.finish(head, status);
    this.callComplete([head]);
  }

  /** Completes every posted buffer with `status`, or SUCCESS for one that holds data when `dataWins`. */
  private failAll(status: NdisStatus, dataWins: boolean): void {
    const all = this.posted.slice(this.postedHead);
    this.posted.length = 0;
    this.postedHead = 0;
    if (all.length === 0) return;
    for (const nbl of all) {
      const st = nbl.MiniportReserved[0] as PostedState;
      this.finish(nbl, dataWins && st.prefilled + st.placed > 0 ? NDIS_STATUS_SUCCESS : status);
    }
    this.callComplete(all);
  }

  /**
   * Status, byte count and data start of a completed posted NBL (§4.2.3). The count covers every
   * valid byte of the buffer, the host's pre-filled ones included, and the data start moves
   * past all of them: the host finds its data in [old start, old start + count) whether or not
   * it pre-filled (the reference leaves the pre-filled case open, §9).
   */
  private finish(nbl: NET_BUFFER_LIST, status: NdisStatus): void {
    const st = nbl.MiniportReserved[0] as PostedState;
    const valid = st.prefilled + st.placed;
    nbl.Status = status;
    nbl.Info.TcpOffloadBytesTransferred = valid;
    NdisAdvanceNetBufferDataStart(nbl.FirstNetBuffer, valid);
    nbl.MiniportReserved[0] = null;
  }

  private callComplete(nbls: NET_BUFFER_LIST[]): void {
    this.completeChain(nbls);
    if (this.postedHead > 64 && this.postedHead * 2 > this.posted.length) {
      this.posted.splice(0, this.postedHead);
      this.postedHead = 0;
    }
  }

  private completeChain(nbls: NET_BUFFER_LIST[]): void {
    for (let k = 0; k < nbls.length; k++) (nbls[k] as NET_BUFFER_LIST).Next = nbls[k + 1] ?? null;
    this.stats.completedReceives += nbls.length;
    this.busy = true;
    try {
      this.port.completeReceives(nbls[0] as NET_BUFFER_LIST);
    } finally {
      this.busy = false;
    }
  }

  private startPushForPrefilledHead(): void {
    const head = this.headPosted();
    if (head === undefined || this.pushTimerRunning) return;
    const st = head.MiniportReserved[0] as PostedState;
    if (st.push && st.prefilled > 0 && st.placed < st.capacity) {
      this.pushTimerRunning = true;
      this.port.startPushTimer();
    }
  }

  private stopPush(): void {
    if (!this.pushTimerRunning) return;
    this.pushTimerRunning = false;
    this.port.stopPushTimer();
  }
}
