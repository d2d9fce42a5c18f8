/**
 * The InitiateOffload tree walk (reference §1.3, §3.2.1 to §3.2.3), separate from what it takes
 * to offload one object so the rules can be read, and tested, on their own:
 *
 * - order: depth-first, then breadth (a node, its whole dependent subtree, then its NextBlock);
 * - placeholder (no slot): nothing to offload, descend, status SUCCESS;
 * - linker (a slot holding a value): find the existing object and attach the dependents under
 *   it; SUCCESS when every immediate dependent was offloaded, OFFLOAD_PARTIAL_SUCCESS when some
 *   were, FAILURE when none were;
 * - new object (a slot holding null): offload it; its own status on failure; on success the
 *   minted value goes into the slot (never before, never on failure, §6.1), then the
 *   dependents, and OFFLOAD_PARTIAL_SUCCESS if any immediate dependent failed;
 * - a failed node's dependent subtree is not tried and every block in it gets FAILURE; the walk
 *   goes on with the next node; when the root fails, nothing more is tried (§3.2.3).
 *
 * "Immediate dependents" are the node DependentBlockList names and all its NextBlock siblings
 * (§3.2.2). Dependents must be of the next layer up (neighbor → path → TCP, §1.3); a dependent
 * of another layer, and a block met twice (a cycle), fail without being tried.
 */
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST } from '../ndis/block-list.js';
import { layerOfBlock, roleOfMiniportBlock, setRemainingStatus } from '../ndis/block-list.js';
import type { NdisStatus } from '../ndis/status.js';
import { NDIS_STATUS_FAILURE, NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS, NDIS_STATUS_SUCCESS } from '../ndis/status.js';
import type { OffloadContextValue, OffloadLayer } from '../ndis/structures.js';

/** The result of offloading one new object. */
export type OffloadOutcome<Ctx> =
  | { readonly status: typeof NDIS_STATUS_SUCCESS; readonly value: OffloadContextValue; readonly context: Ctx }
  | { readonly status: NdisStatus; readonly value?: undefined; readonly context?: undefined };

/** What the walk asks of the target for each node. */
export interface InitiateNodeHandler<Ctx> {
  /**
   * Offloads the new object `block` describes, under `parent` (the object of the enclosing new
   * or linker node; undefined at the top or under a placeholder). Must not write the slot.
   */
  offloadNew(block: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, parent: Ctx | undefined): OffloadOutcome<Ctx>;
  /** The live object a linker's slot value names, or undefined (stale, forged, wrong layer). */
  findExisting(block: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST): Ctx | undefined;
}

const NEXT_LAYER: Record<OffloadLayer, OffloadLayer | undefined> = { neighbor: 'path', path: 'tcp', tcp: undefined };

/** Walks the tree, writes a status into every block, and fills the slots of what was offloaded. */
export function walkInitiateTree<Ctx>(root: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, handler: InitiateNodeHandler<Ctx>): void {
  const seen = new Set<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST>();

  /** Processes one node; true when its own object is offloaded (or it needs none). */
  const node = (b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, parent: Ctx | undefined, expected: OffloadLayer | undefined | 'any'): boolean => {
    const role = roleOfMiniportBlock(b);
    if (role !== 'placeholder' && expected !== 'any' && layerOfBlock(b) !== expected) {
      b.Status = NDIS_STATUS_FAILURE;
      setRemainingStatus(b.DependentBlockList);
      return false;
    }
    if (role === 'placeholder') {
      b.Status = NDIS_STATUS_SUCCESS;
      if (b.DependentBlockList !== null) chain(b.DependentBlockList, parent, 'any', false);
      return true;
    }
    let own: Ctx;
    if (role === 'linker') {
      const existing = handler.findExisting(b);
      if (existing === undefined) {
        b.Status = NDIS_STATUS_FAILURE;
        setRemainingStatus(b.DependentBlockList);
        return false;
      }
      own = existing;
    } else {
      const outcome = handler.offloadNew(b, parent);
      if (outcome.status !== NDIS_STATUS_SUCCESS || outcome.value === undefined) {
        b.Status = outcome.status === NDIS_STATUS_SUCCESS ? NDIS_STATUS_FAILURE : outcome.status;
        setRemainingStatus(b.DependentBlockList);
        return false;
      }
      // The one place a slot is written: after this object's own offload succeeded.
      (b.MiniportOffloadContext as NonNullable<typeof b.MiniportOffloadContext>).MiniportOffloadContext = outcome.value;
      own = outcome.context as Ctx;
    }
    const layer = layerOfBlock(b) as OffloadLayer;
    if (b.DependentBlockList === null) {
      b.Status = NDIS_STATUS_SUCCESS;
      return true;
    }
    const next = NEXT_LAYER[layer];
    const result = chain(b.DependentBlockList, own, next, false);
    if (result.all) b.Status = NDIS_STATUS_SUCCESS;
    else if (role === 'new' || result.any) b.Status = NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS;
    else b.Status = NDIS_STATUS_FAILURE;
    // A linker whose every dependent failed has still not lost its own object.
    return true;
  };

  /** Processes a sibling chain; at the top, a failed first block (the root) ends the walk. */
  const chain = (
    first: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST,
    parent: Ctx | undefined,
    expected: OffloadLayer | undefined | 'any',
    top: boolean,
  ): { all: boolean; any: boolean } => {
    let all = true;
    let any = false;
    for (let b: NDIS_MINIPORT_OFFLOAD_BLOCK_LIST | null = first; b !== null; b = b.NextBlock) {
      if (seen.has(b)) {
        // A cycle: the block already has its status; nothing after it can be reached safely.
        all = false;
        break;
      }
      seen.add(b);
      if (expected === undefined) {
        // Below a TCP node: DependentBlockList must be NULL (§1.3).
        b.Status = NDIS_STATUS_FAILURE;
        setRemainingStatus(b.DependentBlockList);
        all = false;
        continue;
      }
      const ok = node(b, parent, expected);
      if (ok) any = true;
      else all = false;
      if (!ok && top && b === first) {
        setRemainingStatus(b.NextBlock);
        break;
      }
    }
    return { all, any };
  };

  chain(root, undefined, 'any', true);
}
