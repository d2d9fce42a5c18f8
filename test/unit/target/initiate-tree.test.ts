import { describe, expect, it } from 'vitest';
import type { NDIS_MINIPORT_OFFLOAD_BLOCK_LIST } from '../../../src/ndis/block-list.js';
import { blocksOf, newProtocolBlock } from '../../../src/ndis/block-list.js';
import type { NdisStatus } from '../../../src/ndis/status.js';
import {
  NDIS_STATUS_FAILURE,
  NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS,
  NDIS_STATUS_OFFLOAD_VLAN_MISMATCH,
  NDIS_STATUS_RESOURCES,
  NDIS_STATUS_SUCCESS,
  ndisStatusName,
} from '../../../src/ndis/status.js';
import type { OffloadContextValue } from '../../../src/ndis/structures.js';
import { Ip4OffloadState, newOffloadHandle, TcpOffloadState } from '../../../src/ndis/structures.js';
import { ContextTable } from '../../../src/target/context-table.js';
import type { InitiateNodeHandler, OffloadOutcome } from '../../../src/target/initiate-tree.js';
import { walkInitiateTree } from '../../../src/target/initiate-tree.js';
import { exampleTree, miniportFormOf } from '../ndis/chimney-tree.js';

interface Ctx {
  readonly name: string;
  readonly parent: Ctx | undefined;
}

/** Offloads each new block unless `fail` names it; records the order it was asked in. */
function handler(
  names: Map<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, string>,
  table: ContextTable<Ctx>,
  fail: Record<string, NdisStatus> = {},
): InitiateNodeHandler<Ctx> & { readonly tried: string[] } {
  const tried: string[] = [];
  return {
    tried,
    offloadNew(block, parent): OffloadOutcome<Ctx> {
      const name = names.get(block) ?? '?';
      tried.push(name);
      // The walk, not the handler, writes the slot: it is still empty here.
      expect(block.MiniportOffloadContext?.MiniportOffloadContext).toBeNull();
      const status = fail[name];
      if (status !== undefined) return { status };
      const context = { name, parent };
      const value = table.mint(block.Header.Type === TcpOffloadState ? 'tcp' : block.Header.Type === Ip4OffloadState ? 'path' : 'neighbor', context);
      return value === undefined ? { status: NDIS_STATUS_RESOURCES } : { status: NDIS_STATUS_SUCCESS, value, context };
    },
    findExisting(block) {
      const v = block.MiniportOffloadContext?.MiniportOffloadContext;
      return table.lookup(v, block.Header.Type === Ip4OffloadState ? 'path' : block.Header.Type === TcpOffloadState ? 'tcp' : 'neighbor');
    },
  };
}

function setup(fail: Record<string, NdisStatus> = {}) {
  const tree = exampleTree();
  const root = miniportFormOf(tree.root);
  const names = new Map<NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, string>();
  const order = ['Neighbor1', 'Path1', 'TCP1', 'TCP2', 'Path2', 'TCP3', 'Neighbor2', 'Path3', 'TCP4', 'TCP5'];
  blocksOf(root).forEach((b, i) => names.set(b, order[i] as string));
  const table = new ContextTable<Ctx>();
  const h = handler(names, table, fail);
  const statusOf = (): Record<string, string> =>
    Object.fromEntries(blocksOf(root).map((b) => [names.get(b) as string, ndisStatusName(b.Status)]));
  return { tree, root, names, table, h, statusOf };
}

describe('InitiateOffload: the tree walk (reference §3.2.1-§3.2.3)', () => {
  it('row 7: new objects are offloaded in depth-first/breadth-next order, each under its parent', () => {
    const { root, table, h, tree } = setup();
    walkInitiateTree(root, h);
    expect(h.tried).toEqual(['Neighbor1', 'Path1', 'TCP1', 'TCP2', 'Path2', 'TCP3', 'Neighbor2', 'Path3', 'TCP4', 'TCP5']);
    const tcp3 = table.lookup(tree.handles['TCP3']?.MiniportOffloadContext, 'tcp');
    expect(tcp3?.parent?.name).toBe('Path2');
    expect(tcp3?.parent?.parent?.name).toBe('Neighbor1');
  });

  it('row 11: the docs example (TCP2 out of resources, Path2 fails) gives the documented status table', () => {
    const { root, h, statusOf } = setup({ TCP2: NDIS_STATUS_RESOURCES, Path2: NDIS_STATUS_FAILURE });
    walkInitiateTree(root, h);
    expect(statusOf()).toEqual({
      Neighbor1: 'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS',
      Path1: 'NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS',
      TCP1: 'NDIS_STATUS_SUCCESS',
      TCP2: 'NDIS_STATUS_RESOURCES',
      Path2: 'NDIS_STATUS_FAILURE',
      TCP3: 'NDIS_STATUS_FAILURE',
      Neighbor2: 'NDIS_STATUS_SUCCESS',
      Path3: 'NDIS_STATUS_SUCCESS',
      TCP4: 'NDIS_STATUS_SUCCESS',
      TCP5: 'NDIS_STATUS_SUCCESS',
    });
    // TCP3 was never tried; the walk carried on with Neighbor2.
    expect(h.tried).toEqual(['Neighbor1', 'Path1', 'TCP1', 'TCP2', 'Path2', 'Neighbor2', 'Path3', 'TCP4', 'TCP5']);
  });

  it('a failed block leaves its slot empty; a successful one holds the value minted for it', () => {
    const { root, h, tree, table } = setup({ TCP2: NDIS_STATUS_RESOURCES, Path2: NDIS_STATUS_FAILURE });
    walkInitiateTree(root, h);
    for (const name of ['TCP2', 'Path2', 'TCP3']) expect(tree.handles[name]?.MiniportOffloadContext).toBeNull();
    for (const name of ['Neighbor1', 'Path1', 'TCP1', 'Neighbor2', 'Path3', 'TCP4', 'TCP5']) {
      const v = tree.handles[name]?.MiniportOffloadContext;
      expect(v).not.toBeNull();
      expect(table.layerOf(v)).toBeDefined();
    }
  });

  it('when the root fails, nothing more is tried and every block fails', () => {
    const { root, h, statusOf, table } = setup({ Neighbor1: NDIS_STATUS_OFFLOAD_VLAN_MISMATCH });
    walkInitiateTree(root, h);
    expect(h.tried).toEqual(['Neighbor1']);
    const statuses = statusOf();
    expect(statuses['Neighbor1']).toBe('NDIS_STATUS_OFFLOAD_VLAN_MISMATCH');
    for (const [name, s] of Object.entries(statuses)) if (name !== 'Neighbor1') expect([name, s]).toEqual([name, 'NDIS_STATUS_FAILURE']);
    expect(table.size).toBe(0);
  });

  it('row 8: a placeholder root gets SUCCESS and its dependents are offloaded; a lone placeholder is SUCCESS', () => {
    const table = new ContextTable<Ctx>();
    const tcp = newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() });
    const placeholder = newProtocolBlock({ type: 0, dependents: [tcp] });
    const root = miniportFormOf(placeholder);
    const names = new Map([[root, 'P'], [root.DependentBlockList as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, 'TCP']]);
    const h = handler(names, table);
    walkInitiateTree(root, h);
    expect(root.Status).toBe(NDIS_STATUS_SUCCESS);
    expect(h.tried).toEqual(['TCP']);
    expect(root.DependentBlockList?.Status).toBe(NDIS_STATUS_SUCCESS);
    const lone = miniportFormOf(newProtocolBlock({ type: 0 }));
    walkInitiateTree(lone, h);
    expect(lone.Status).toBe(NDIS_STATUS_SUCCESS);
  });

  it('a linker attaches new dependents under the existing object; SUCCESS, PARTIAL, FAILURE by its dependents', () => {
    const first = setup();
    walkInitiateTree(first.root, first.h);
    const pathHandle = first.tree.handles['Path1'];
    const make = () => {
      const t1 = newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() });
      const t2 = newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() });
      const linker = miniportFormOf(newProtocolBlock({ type: Ip4OffloadState, handle: pathHandle ?? null, dependents: [t1, t2] }));
      const d1 = linker.DependentBlockList as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST;
      const names = new Map([[linker, 'L'], [d1, 'T1'], [d1.NextBlock as NDIS_MINIPORT_OFFLOAD_BLOCK_LIST, 'T2']]);
      return { linker, names };
    };
    const cases: Array<[Record<string, NdisStatus>, NdisStatus]> = [
      [{}, NDIS_STATUS_SUCCESS],
      [{ T2: NDIS_STATUS_RESOURCES }, NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS],
      [{ T1: NDIS_STATUS_RESOURCES, T2: NDIS_STATUS_RESOURCES }, NDIS_STATUS_FAILURE],
    ];
    for (const [fail, want] of cases) {
      const { linker, names } = make();
      const h = handler(names, first.table, fail);
      walkInitiateTree(linker, h);
      expect(ndisStatusName(linker.Status)).toBe(ndisStatusName(want));
      expect(h.tried).toEqual(['T1', 'T2']);
      if (fail['T1'] === undefined) {
        const t1 = first.table.lookup(linker.DependentBlockList?.MiniportOffloadContext?.MiniportOffloadContext, 'tcp');
        expect(t1?.parent?.name).toBe('Path1');
      }
    }
  });

  it('a linker naming a stale or forged value fails, and its dependents are not tried', () => {
    const table = new ContextTable<Ctx>();
    const handle = newOffloadHandle();
    handle.MiniportOffloadContext = 12345 as OffloadContextValue;
    const tcp = newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() });
    const root = miniportFormOf(newProtocolBlock({ type: Ip4OffloadState, handle, dependents: [tcp] }));
    const h = handler(new Map(), table);
    walkInitiateTree(root, h);
    expect(root.Status).toBe(NDIS_STATUS_FAILURE);
    expect(root.DependentBlockList?.Status).toBe(NDIS_STATUS_FAILURE);
    expect(h.tried).toEqual([]);
  });

  it('a dependent of the wrong layer, and anything below a TCP block, fails without being tried', () => {
    const table = new ContextTable<Ctx>();
    const wrong = newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() });
    const below = newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle() });
    const tcp = newProtocolBlock({ type: TcpOffloadState, handle: newOffloadHandle(), dependents: [below] });
    // neighbor -> TCP skips the path layer.
    const neighbor = miniportFormOf(newProtocolBlock({ type: 0x04, handle: newOffloadHandle(), dependents: [wrong] }));
    const h = handler(new Map([[neighbor, 'N']]), table);
    walkInitiateTree(neighbor, h);
    expect(ndisStatusName(neighbor.Status)).toBe('NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS');
    expect(neighbor.DependentBlockList?.Status).toBe(NDIS_STATUS_FAILURE);
    expect(h.tried).toEqual(['N']);
    const t = miniportFormOf(tcp);
    const h2 = handler(new Map([[t, 'T']]), table);
    walkInitiateTree(t, h2);
    expect(ndisStatusName(t.Status)).toBe('NDIS_STATUS_OFFLOAD_PARTIAL_SUCCESS');
    expect(t.DependentBlockList?.Status).toBe(NDIS_STATUS_FAILURE);
    expect(h2.tried).toEqual(['T']);
  });
});
