import { describe, expect, it } from 'vitest';
import type { NET_BUFFER_LIST } from '../../../src/ndis/nbl.js';
import { linkNetBufferLists, netBufferListsOf, newNetBufferList } from '../../../src/ndis/nbl.js';
import { NDIS_STATUS_REQUEST_ABORTED, NDIS_STATUS_UPLOAD_IN_PROGRESS, ndisStatusName } from '../../../src/ndis/status.js';
import { SendTracker } from '../../../src/target/send-tracker.js';

function sends(...sizes: number[]): NET_BUFFER_LIST[] {
  return sizes.map((n, i) => newNetBufferList(new Uint8Array(n).fill(i + 1)));
}

function tracker() {
  const completions: NET_BUFFER_LIST[][] = [];
  const t = new SendTracker({ completeSends: (chain) => completions.push(netBufferListsOf(chain)) });
  const summary = (): string[][] =>
    completions.map((c) => c.map((n) => `${ndisStatusName(n.Status).replace('NDIS_STATUS_', '')} ${n.Info.TcpOffloadBytesTransferred}`));
  return { t, completions, summary };
}

describe('SendTracker: offloaded send completions (reference §4.1)', () => {
  it('an NBL completes only when all of its data is acknowledged, FIFO across calls', () => {
    const { t, summary } = tracker();
    const [a, b, c] = sends(100, 200, 300);
    t.enqueue(linkNetBufferLists([a!, b!]) as NET_BUFFER_LIST);
    t.enqueue(c!);
    t.acked(99);
    t.flush();
    expect(summary()).toEqual([]);
    t.acked(100);
    t.flush();
    t.acked(599);
    t.flush();
    t.acked(600);
    t.flush();
    expect(summary()).toEqual([['SUCCESS 100'], ['SUCCESS 200'], ['SUCCESS 300']]);
    expect(a?.FirstNetBuffer.DataLength).toBe(0);
    expect(t.outstanding).toBe(0);
  });

  it('row 51: completions are batched across calls in one chain, in submission order', () => {
    const { t, completions } = tracker();
    const nbls = sends(10, 10, 10, 10);
    for (const n of nbls) t.enqueue(n);
    t.acked(15);
    t.acked(40);
    t.flush();
    expect(completions).toEqual([nbls]);
  });

  it('after a failure, acknowledged NBLs succeed, at most one is partial (non-success, its count), the rest fail with 0', () => {
    const { t, summary } = tracker();
    const nbls = sends(100, 100, 100, 0, 100);
    t.enqueue(linkNetBufferLists(nbls) as NET_BUFFER_LIST);
    t.acked(150);
    t.failAll(NDIS_STATUS_REQUEST_ABORTED);
    expect(summary()).toEqual([['SUCCESS 100', 'REQUEST_ABORTED 50', 'REQUEST_ABORTED 0', 'REQUEST_ABORTED 0', 'REQUEST_ABORTED 0']]);
    expect(nbls[1]?.FirstNetBuffer.DataOffset).toBe(50);
  });

  it('an upload returns the original NBLs in order, the head advanced to SND.UNA; acknowledged ones complete first', () => {
    const { t, summary } = tracker();
    const nbls = sends(100, 100, 100);
    const views = t.enqueue(linkNetBufferLists(nbls) as NET_BUFFER_LIST);
    expect(views.map((v) => v.length)).toEqual([100, 100, 100]);
    expect(t.boundaryAfter(0)).toBe(100);
    expect(t.boundaryAfter(150)).toBe(200);
    t.acked(130);
    const back = t.takeForUpload();
    expect(summary()).toEqual([['SUCCESS 100']]);
    expect(back?.NetBufferListChain).toBe(nbls[1]);
    expect(back?.SendDataHead).toBe(nbls[1]);
    expect(back?.SendDataTail).toBe(nbls[2]);
    expect(back?.bytes).toBe(170);
    expect(netBufferListsOf(back?.NetBufferListChain ?? null)).toEqual([nbls[1], nbls[2]]);
    expect(nbls[1]?.FirstNetBuffer.DataOffset).toBe(30);
    expect(t.takeForUpload()).toBeUndefined();
    expect(t.count).toBe(0);
  });

  it('an upload that does not return the data completes every held NBL UPLOAD_IN_PROGRESS', () => {
    const { t, summary } = tracker();
    t.enqueue(linkNetBufferLists(sends(10, 10)) as NET_BUFFER_LIST);
    t.failAll(NDIS_STATUS_UPLOAD_IN_PROGRESS);
    expect(summary()).toEqual([['UPLOAD_IN_PROGRESS 0', 'UPLOAD_IN_PROGRESS 0']]);
  });

  it('NBLs of several NET_BUFFERs and MDLs give views in stream order and advance NB by NB', () => {
    const { t, summary } = tracker();
    const nbl = newNetBufferList([new Uint8Array(3), new Uint8Array(4)]);
    nbl.FirstNetBuffer.Next = { Next: null, MdlChain: [new Uint8Array(5)], DataOffset: 1, DataLength: 4 };
    expect(t.enqueue(nbl).map((v) => v.length)).toEqual([3, 4, 4]);
    t.acked(11);
    t.flush();
    expect(summary()).toEqual([['SUCCESS 11']]);
    expect(nbl.FirstNetBuffer.Next?.DataOffset).toBe(5);
  });
});
