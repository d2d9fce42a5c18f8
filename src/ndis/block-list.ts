/**
 * Offload block lists (reference §1.3, §2.5, §2.6): the nodes of the offload state tree that
 * every state operation carries. `DependentBlockList` links a layer to the next one up
 * (neighbor → path → TCP), `NextBlock` links siblings of one layer. The host builds
 * NDIS_PROTOCOL_OFFLOAD_BLOCK_LISTs; NDIS (`binding.ts`) hands the layer below the
 * NDIS_MINIPORT_OFFLOAD_BLOCK_LIST form of the same tree.
 *
 * The trailing state structures that follow a block "in memory" are the block's
 * `NeighborState`, `PathState` or `TcpState` member; which one is meaningful is what
 * `Header.Type` says (§2.3), and `trailingStateMatches` checks that the two agree.
 */
import type { NET_BUFFER_LIST } from './nbl.js';
import type { NdisStatus } from './status.js';
import { NDIS_STATUS_FAILURE, NDIS_STATUS_SUCCESS } from './status.js';
import type {
  NDIS_HANDLE,
  NDIS_OBJECT_HEADER,
  NDIS_OFFLOAD_HANDLE,
  NEIGHBOR_OFFLOAD_STATE_CACHED,
  NEIGHBOR_OFFLOAD_STATE_CONST,
  NEIGHBOR_OFFLOAD_STATE_DELEGATED,
  OFFLOAD_STATE_TYPE,
  OffloadContextSlot,
  OffloadLayer,
  PATH_OFFLOAD_STATE_CACHED,
  PATH_OFFLOAD_STATE_CONST,
  PATH_OFFLOAD_STATE_DELEGATED,
  TCP_OFFLOAD_STATE_CACHED,
  TCP_OFFLOAD_STATE_CONST,
  TCP_OFFLOAD_STATE_DELEGATED,
} from './structures.js';
import { layerOfStateType } from './structures.js';

/** The neighbor structures that may follow a block (which ones: `Header.Type`). */
export interface NeighborStateStructures {
  Const?: NEIGHBOR_OFFLOAD_STATE_CONST;
  Cached?: NEIGHBOR_OFFLOAD_STATE_CACHED;
  Delegated?: NEIGHBOR_OFFLOAD_STATE_DELEGATED;
}

/** The path structures that may follow a block. */
export interface PathStateStructures {
  Const?: PATH_OFFLOAD_STATE_CONST;
  Cached?: PATH_OFFLOAD_STATE_CACHED;
  Delegated?: PATH_OFFLOAD_STATE_DELEGATED;
}

/**
 * The TCP structures that may follow a block, with the pointer arms of the delegated unions
 * (§2.10.3): `SendDataHead`/`SendDataTail` name the first and last NBL of the block's
 * `NetBufferListChain` that carry send data (initiate and terminate), `BufferedData` is the chain
 * of received, acknowledged, undelivered bytes (initiate: the host's; terminate: the target's).
 */
export interface TcpStateStructures {
  Const?: TCP_OFFLOAD_STATE_CONST;
  Cached?: TCP_OFFLOAD_STATE_CACHED;
  Delegated?: TCP_OFFLOAD_STATE_DELEGATED;
  SendDataHead?: NET_BUFFER_LIST | null;
  SendDataTail?: NET_BUFFER_LIST | null;
  BufferedData?: NET_BUFFER_LIST | null;
}

/** Members the two block-list forms share (§2.5, §2.6). */
export interface OffloadBlockListCommon<Self> {
  Header: NDIS_OBJECT_HEADER;
  NextBlock: Self | null;
  DependentBlockList: Self | null;
  /** Written by the layer below before it completes the operation (every block, §3.1 rule 3). */
  Status: NdisStatus;
  /**
   * NDIS's area: two entries in the miniport form, three in the protocol form. The binding keeps
   * the link between the two forms of one node here.
   */
  NdisReserved: unknown[];
  ProtocolReserved: [unknown, unknown];
  MiniportReserved: [unknown, unknown];
  ImReserved: [unknown, unknown];
  Scratch: [unknown, unknown];
  /** Not meaningful below the caller; must not be modified (an IM saves and restores it, §6.2). */
  SourceHandle: unknown;
  PortNumber: number;
  /** Data that travels with the operation: outstanding send data at initiate and terminate. */
  NetBufferListChain: NET_BUFFER_LIST | null;
  NeighborState?: NeighborStateStructures;
  PathState?: PathStateStructures;
  TcpState?: TcpStateStructures;
}

/** NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST (§2.6): what a host or IM passes to NdisXxxOffload. */
export interface NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST extends OffloadBlockListCommon<NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST> {
  /** The caller's NDIS_OFFLOAD_HANDLE for the object; null = placeholder. */
  OffloadHandle: NDIS_OFFLOAD_HANDLE | null;
}

/** NDIS_MINIPORT_OFFLOAD_BLOCK_LIST (§2.5): what the layer below receives. */
export interface NDIS_MINIPORT_OFFLOAD_BLOCK_LIST extends OffloadBlockListCommon<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST> {
  /**
   * The slot: a reference to the cell of the upper layer's NDIS_OFFLOAD_HANDLE (see
   * structures.ts). null = placeholder; a cell holding null = a new object; a cell holding a
   * value = an existing object.
   */
  MiniportOffloadContext: OffloadContextSlot | null;
  /** The handle to store in the context area and pass in every indication on the object. */
  NdisOffloadHandle: NDIS_HANDLE | null;
}

export type AnyOffloadBlockList = NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST | NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;

/** A block's role in an initiate (§1.3 "Node roles"). */
export type BlockRole = 'placeholder' | 'linker' | 'new';

export function roleOfMiniportBlock(block: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): BlockRole {
  const slot = block.MiniportOffloadContext;
  if (slot === null) return 'placeholder';
  return slot.MiniportOffloadContext === null ? 'new' : 'linker';
}

export interface ProtocolBlockInit {
  readonly type: OFFLOAD_STATE_TYPE;
  /** The caller's handle for the object; null (or omitted) builds a placeholder. */
  readonly handle?: NDIS_OFFLOAD_HANDLE | null;
  readonly neighbor?: NeighborStateStructures;
  readonly path?: PathStateStructures;
  readonly tcp?: TcpStateStructures;
  readonly netBufferListChain?: NET_BUFFER_LIST | null;
  readonly dependents?: readonly NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST[];
  readonly portNumber?: number;
}

/** One protocol block, its dependents linked below it as a NextBlock chain. */
export function newProtocolBlock(init: ProtocolBlockInit): NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST {
  const block: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST = {
    Header: { Type: init.type, Revision: 1, Size: 0 },
    NextBlock: null,
    DependentBlockList: linkSiblings(init.dependents ?? []),
    Status: NDIS_STATUS_SUCCESS,
    NdisReserved: [null, null, null],
    ProtocolReserved: [null, null],
    MiniportReserved: [null, null],
    ImReserved: [null, null],
    Scratch: [null, null],
    SourceHandle: null,
    PortNumber: init.portNumber ?? 0,
    NetBufferListChain: init.netBufferListChain ?? null,
    OffloadHandle: init.handle ?? null,
  };
  if (init.neighbor !== undefined) block.NeighborState = init.neighbor;
  if (init.path !== undefined) block.PathState = init.path;
  if (init.tcp !== undefined) block.TcpState = init.tcp;
  return block;
}

/** Links blocks through NextBlock in array order; returns the first (null for none). */
export function linkSiblings<B extends AnyOffloadBlockList>(blocks: readonly B[]): B | null {
  for (let i = 0; i < blocks.length; i++) {
    (blocks[i] as B).NextBlock = (blocks[i + 1] ?? null) as B['NextBlock'];
  }
  return blocks[0] ?? null;
}

/**
 * Visits every block of a tree depth-first, then breadth (§1.3): a node, then its whole
 * DependentBlockList subtree, then its NextBlock. Siblings are walked in a loop and only the
 * dependent links recurse, so a root with thousands of siblings costs no stack; a tree deeper
 * than the three layers the contract allows is still walked (the caller judges it), and a
 * cycle ends where it closes. `visit` returning false skips the node's dependents.
 */
export function walkBlocks<B extends OffloadBlockListCommon<B>>(
  root: B | null,
  visit: (block: B, depth: number) => boolean | void,
): void {
  walkFrom(root, visit, 0, new Set());
}

/** A block reached twice (a cycle made by a buggy caller) is not visited again. */
function walkFrom<B extends OffloadBlockListCommon<B>>(
  first: B | null,
  visit: (block: B, depth: number) => boolean | void,
  depth: number,
  seen: Set<B>,
): void {
  for (let b = first; b !== null && !seen.has(b); b = b.NextBlock) {
    seen.add(b);
    if (visit(b, depth) === false) continue;
    if (b.DependentBlockList !== null) walkFrom(b.DependentBlockList, visit, depth + 1, seen);
  }
}

/** Every block of a tree in traversal order. */
export function blocksOf<B extends OffloadBlockListCommon<B>>(root: B | null): B[] {
  const out: B[] = [];
  walkBlocks(root, (b) => {
    out.push(b);
  });
  return out;
}

/** Writes `status` into `block` and every block of its dependent subtree. */
export function setSubtreeStatus<B extends OffloadBlockListCommon<B>>(block: B, status: NdisStatus): void {
  block.Status = status;
  walkBlocks(block.DependentBlockList, (b) => {
    b.Status = status;
  });
}

/** Writes `status` into every block from `block` on: its subtree, its later siblings and theirs. */
export function setRemainingStatus<B extends OffloadBlockListCommon<B>>(
  block: B | null,
  status: NdisStatus = NDIS_STATUS_FAILURE,
): void {
  walkBlocks(block, (b) => {
    b.Status = status;
  });
}

/** The layer a block's Header.Type names. */
export function layerOfBlock(block: AnyOffloadBlockList): OffloadLayer | undefined {
  return layerOfStateType(block.Header.Type);
}

/**
 * Whether the block's trailing state is the one its Header.Type names (a TCP type with
 * `TcpState`, and no structure of another layer). Placeholders carry none and always match.
 */
export function trailingStateMatches(block: AnyOffloadBlockList): boolean {
  const layer = layerOfBlock(block);
  const n = block.NeighborState !== undefined;
  const p = block.PathState !== undefined;
  const t = block.TcpState !== undefined;
  if (layer === 'neighbor') return !p && !t;
  if (layer === 'path') return !n && !t;
  if (layer === 'tcp') return !n && !p;
  return !n && !p && !t;
}
