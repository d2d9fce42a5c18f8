import { describe, expect, it } from 'vitest';
import { blocksOf, linkSiblings, newProtocolBlock, setRemainingStatus, trailingStateMatches, walkBlocks } from '../../../src/ndis/block-list.js';
import { NDIS_STATUS_FAILURE, NDIS_STATUS_SUCCESS } from '../../../src/ndis/status.js';
import {
  Ip4OffloadState,
  Ip6OffloadCachedState,
  ipVersionOfStateType,
  isOffloadableTcpState,
  layerOfStateType,
  NeighborOffloadState,
  TcpConnectionClosed,
  TcpConnectionEstablished,
  TcpConnectionLastAck,
  TcpConnectionSynRcvd,
  TcpConnectionTimeWait,
  TcpOffloadResourceState,
  TcpOffloadState,
} from '../../../src/ndis/structures.js';
import { exampleTree, nameOf } from './chimney-tree.js';

describe('offload block lists', () => {
  it('row 7: the walk is depth-first, then breadth, in the documented order', () => {
    const tree = exampleTree();
    const order = blocksOf(tree.root).map((b) => nameOf(tree, b));
    expect(order).toEqual(['Neighbor1', 'Path1', 'TCP1', 'TCP2', 'Path2', 'TCP3', 'Neighbor2', 'Path3', 'TCP4', 'TCP5']);
  });

  it('walks 20,000 siblings without growing the stack, and stops where a buggy caller closed a cycle', () => {
    const many = Array.from({ length: 20_000 }, () => newProtocolBlock({ type: TcpOffloadState }));
    const root = linkSiblings(many);
    let n = 0;
    walkBlocks(root, () => {
      n++;
    });
    expect(n).toBe(20_000);
    const a = newProtocolBlock({ type: NeighborOffloadState });
    const b = newProtocolBlock({ type: NeighborOffloadState });
    a.NextBlock = b;
    b.NextBlock = a;
    expect(blocksOf(a)).toEqual([a, b]);
  });

  it('setRemainingStatus writes every block from a node on: its subtree and its later siblings', () => {
    const tree = exampleTree();
    for (const b of blocksOf(tree.root)) b.Status = NDIS_STATUS_SUCCESS;
    setRemainingStatus(tree.blocks['Path2'] ?? null, NDIS_STATUS_FAILURE);
    const failed = blocksOf(tree.root)
      .filter((b) => b.Status === NDIS_STATUS_FAILURE)
      .map((b) => nameOf(tree, b));
    expect(failed).toEqual(['Path2', 'TCP3']);
  });

  it('state types name their layer and IP version; reserved types have none', () => {
    expect(layerOfStateType(NeighborOffloadState)).toBe('neighbor');
    expect(layerOfStateType(Ip6OffloadCachedState)).toBe('path');
    expect(layerOfStateType(TcpOffloadState)).toBe('tcp');
    expect(layerOfStateType(TcpOffloadResourceState)).toBeUndefined();
    expect(layerOfStateType(0xfe)).toBeUndefined();
    expect(ipVersionOfStateType(Ip4OffloadState)).toBe(4);
    expect(ipVersionOfStateType(Ip6OffloadCachedState)).toBe(6);
    expect(ipVersionOfStateType(TcpOffloadState)).toBeUndefined();
  });

  it('a block whose trailing state is of another layer than its Header.Type is told apart', () => {
    const good = newProtocolBlock({ type: TcpOffloadState, tcp: {} });
    const bad = newProtocolBlock({ type: Ip4OffloadState, tcp: {} });
    expect(trailingStateMatches(good)).toBe(true);
    expect(trailingStateMatches(bad)).toBe(false);
  });

  it('only ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING and LAST_ACK are offloadable', () => {
    const offloadable = Array.from({ length: 11 }, (_, s) => s).filter(isOffloadableTcpState);
    expect(offloadable).toEqual([TcpConnectionEstablished, 5, 6, 7, 8, TcpConnectionLastAck]);
    for (const s of [TcpConnectionClosed, 1, 2, TcpConnectionSynRcvd, TcpConnectionTimeWait]) expect(isOffloadableTcpState(s)).toBe(false);
  });
});
