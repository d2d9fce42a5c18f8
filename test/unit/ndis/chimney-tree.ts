/**
 * The docs' example tree (reference §1.3): Neighbor1{Path1{TCP1,TCP2}, Path2{TCP3}},
 * Neighbor2{Path3{TCP4,TCP5}}, as protocol blocks with fresh handles, and its miniport form.
 */
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST } from '../../../src/ndis/block-list.js';
import { linkSiblings, newProtocolBlock } from '../../../src/ndis/block-list.js';
import { Ip4OffloadState, NeighborOffloadState, newOffloadHandle, TcpOffloadState } from '../../../src/ndis/structures.js';
import type { NDIS_OFFLOAD_HANDLE, OffloadContextSlot } from '../../../src/ndis/structures.js';

export interface ExampleTree {
  readonly root: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
  /** Blocks by name: Neighbor1, Path1, TCP1, ... */
  readonly blocks: Record<string, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST>;
  readonly handles: Record<string, NDIS_OFFLOAD_HANDLE>;
}

export function exampleTree(): ExampleTree {
  const blocks: Record<string, NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST> = {};
  const handles: Record<string, NDIS_OFFLOAD_HANDLE> = {};
  const make = (name: string, type: number, dependents: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST[] = []): NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST => {
    const handle = newOffloadHandle();
    handles[name] = handle;
    const block = newProtocolBlock({ type, handle, dependents });
    blocks[name] = block;
    return block;
  };
  const tcp = (name: string): NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST => make(name, TcpOffloadState);
  const n1 = make('Neighbor1', NeighborOffloadState, [
    make('Path1', Ip4OffloadState, [tcp('TCP1'), tcp('TCP2')]),
    make('Path2', Ip4OffloadState, [tcp('TCP3')]),
  ]);
  const n2 = make('Neighbor2', NeighborOffloadState, [make('Path3', Ip4OffloadState, [tcp('TCP4'), tcp('TCP5')])]);
  const root = linkSiblings([n1, n2]) as NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST;
  return { root, blocks, handles };
}

/**
 * The miniport form of a protocol tree built by hand, as NDIS builds it (for target tests that
 * run without a binding): the slot is the handle's cell, the NdisOffloadHandle the handle.
 */
export function miniportFormOf(root: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): NDIS_MINIPORT_OFFLOAD_BLOCK_LIST {
  const convert = (p: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST | null): NDIS_MINIPORT_OFFLOAD_BLOCK_LIST | null => {
    if (p === null) return null;
    const { OffloadHandle, NextBlock, DependentBlockList, ...rest } = p;
    return {
      ...rest,
      NdisReserved: [p, null],
      NextBlock: convert(NextBlock),
      DependentBlockList: convert(DependentBlockList),
      MiniportOffloadContext: OffloadHandle as OffloadContextSlot | null,
      NdisOffloadHandle: OffloadHandle as unknown as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST['NdisOffloadHandle'],
    };
  };
  return convert(root) as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
}

/** Names of the blocks of a protocol tree, by identity. */
export function nameOf(tree: ExampleTree, block: NDIS_PROTOCOL_OFFLOAD_BLOCK_LIST): string {
  for (const [name, b] of Object.entries(tree.blocks)) if (b === block) return name;
  return '?';
}
