/**
 * NET_BUFFER_LIST and NET_BUFFER as the chimney uses them (reference §2.17, §4): chains of
 * buffers that travel by reference between the layers, each NBL with its `Status`, the chimney's
 * per-NBL information and the reserved areas of each owner. A NET_BUFFER maps its data as a chain
 * of MDLs (here `Uint8Array` views) and a data window (`DataOffset`, `DataLength`) into it;
 * `NdisAdvanceNetBufferDataStart` moves the window's start as the target consumes, fills or
 * gets acknowledgements for bytes.
 *
 * The buffers are object references on purpose: the contract's ownership rules (the target owns
 * a send NBL until it completes it, the host an indicated NBL until it returns it) are about
 * these very objects, and an intermediate driver must pass the same NBL on (§6.4).
 */
import type { NdisStatus } from './status.js';
import { NDIS_STATUS_SUCCESS } from './status.js';

/** NET_BUFFER: one data window over a chain of MDLs. */
export interface NET_BUFFER {
  Next: NET_BUFFER | null;
  /** The MDL chain: the memory the buffer maps. */
  readonly MdlChain: Uint8Array[];
  /** Offset of the first data byte from the start of the MDL chain. */
  DataOffset: number;
  /** Bytes of data (send, indicate) or of space (posted receive) from DataOffset on. */
  DataLength: number;
}

/** The chimney's NET_BUFFER_LIST_INFO entries (§2.17). */
export interface NblChimneyInfo {
  /** Bytes actually transferred by a chimney send, receive or disconnect; set before completing. */
  TcpOffloadBytesTransferred: number;
  /** On a posted receive NBL: true = non-push mode, false = push mode. */
  TcpReceiveNoPush: boolean;
  /** On a posted receive NBL: bytes the host already placed in the buffer before posting it. */
  TcpReceiveBytesTransferred: number;
}

/** NET_BUFFER_LIST. */
export interface NET_BUFFER_LIST {
  Next: NET_BUFFER_LIST | null;
  FirstNetBuffer: NET_BUFFER;
  /** Completion status, written by the layer that completes the NBL. */
  Status: NdisStatus;
  readonly Info: NblChimneyInfo;
  /** The owner-below's area while it holds the NBL (the target's queue link). */
  MiniportReserved: [unknown, unknown];
  /** The allocating protocol's area. */
  ProtocolReserved: [unknown, unknown];
  /** NET_BUFFER_LIST_CONTEXT: per-layer bookkeeping an intermediate driver may push (§2.17, §6.4). */
  Context: unknown[];
}

/** A NET_BUFFER over `mdls` whose data window is all of them. */
export function newNetBuffer(mdls: Uint8Array | Uint8Array[]): NET_BUFFER {
  const chain = Array.isArray(mdls) ? mdls : [mdls];
  let length = 0;
  for (const m of chain) length += m.length;
  return { Next: null, MdlChain: chain, DataOffset: 0, DataLength: length };
}

/** A NET_BUFFER_LIST with one NET_BUFFER over `mdls` (send data, a receive buffer, a segment). */
export function newNetBufferList(mdls: Uint8Array | Uint8Array[]): NET_BUFFER_LIST {
  return {
    Next: null,
    FirstNetBuffer: newNetBuffer(mdls),
    Status: NDIS_STATUS_SUCCESS,
    Info: { TcpOffloadBytesTransferred: 0, TcpReceiveNoPush: false, TcpReceiveBytesTransferred: 0 },
    MiniportReserved: [null, null],
    ProtocolReserved: [null, null],
    Context: [],
  };
}

/** Links `nbls` through `Next` in array order and returns the head (null for none). */
export function linkNetBufferLists(nbls: readonly NET_BUFFER_LIST[]): NET_BUFFER_LIST | null {
  for (let i = 0; i < nbls.length; i++) {
    (nbls[i] as NET_BUFFER_LIST).Next = nbls[i + 1] ?? null;
  }
  return nbls[0] ?? null;
}

/** The NBLs of a chain, in chain order. */
export function netBufferListsOf(head: NET_BUFFER_LIST | null): NET_BUFFER_LIST[] {
  const out: NET_BUFFER_LIST[] = [];
  for (let n = head; n !== null; n = n.Next) out.push(n);
  return out;
}

/** The last NBL of a chain. */
export function lastNetBufferList(head: NET_BUFFER_LIST): NET_BUFFER_LIST {
  let n = head;
  while (n.Next !== null) n = n.Next;
  return n;
}

/** Total data bytes of every NET_BUFFER of one NBL. */
export function netBufferListDataLength(nbl: NET_BUFFER_LIST): number {
  let total = 0;
  for (let nb: NET_BUFFER | null = nbl.FirstNetBuffer; nb !== null; nb = nb.Next) total += nb.DataLength;
  return total;
}

/** Total data bytes of a chain of NBLs. */
export function chainDataLength(head: NET_BUFFER_LIST | null): number {
  let total = 0;
  for (let n = head; n !== null; n = n.Next) total += netBufferListDataLength(n);
  return total;
}

/**
 * NdisAdvanceNetBufferDataStart(NB, bytes, FALSE, NULL): the data window starts `bytes` later.
 * Advancing past the window's end is a contract violation and throws (a bug in the caller, not
 * bad input from outside).
 */
export function NdisAdvanceNetBufferDataStart(nb: NET_BUFFER, bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > nb.DataLength) {
    throw new RangeError(`NdisAdvanceNetBufferDataStart: ${bytes} bytes of a ${nb.DataLength}-byte window`);
  }
  nb.DataOffset += bytes;
  nb.DataLength -= bytes;
}

/**
 * Copies `length` bytes of `nb` from window offset `from` into `dst` at `dstOffset`, walking the
 * MDL chain. Returns the bytes copied (less than `length` only if the window ends first).
 */
export function copyFromNetBuffer(nb: NET_BUFFER, from: number, dst: Uint8Array, dstOffset: number, length: number): number {
  const want = Math.max(0, Math.min(length, nb.DataLength - from));
  return walkMdls(nb, nb.DataOffset + from, want, (mdl, at, n, done) => {
    dst.set(mdl.subarray(at, at + n), dstOffset + done);
  });
}

/**
 * Copies `src` into the space of `nb` at window offset `at`, walking the MDL chain (placing
 * received bytes in a posted buffer). Returns the bytes copied (fewer when the space ends).
 */
export function copyToNetBuffer(nb: NET_BUFFER, at: number, src: Uint8Array): number {
  const want = Math.max(0, Math.min(src.length, nb.DataLength - at));
  return walkMdls(nb, nb.DataOffset + at, want, (mdl, off, n, done) => {
    mdl.set(src.subarray(done, done + n), off);
  });
}

/**
 * Calls `visit(mdl, offset, n, done)` for each MDL run of the window range [at, at + length),
 * in order (to fill or read a buffer in place, without a staging copy). Returns the bytes
 * covered (fewer when the window ends first).
 */
export function forEachNetBufferSpan(
  nb: NET_BUFFER,
  at: number,
  length: number,
  visit: (mdl: Uint8Array, offset: number, n: number, done: number) => void,
): number {
  const want = Math.max(0, Math.min(length, nb.DataLength - at));
  return walkMdls(nb, nb.DataOffset + at, want, visit);
}

function walkMdls(
  nb: NET_BUFFER,
  start: number,
  length: number,
  visit: (mdl: Uint8Array, at: number, n: number, done: number) => void,
): number {
  let skip = start;
  let done = 0;
  for (const mdl of nb.MdlChain) {
    if (done === length) break;
    if (skip >= mdl.length) {
      skip -= mdl.length;
      continue;
    }
    const n = Math.min(mdl.length - skip, length - done);
    visit(mdl, skip, n, done);
    done += n;
    skip = 0;
  }
  return done;
}
