import { describe, expect, it } from 'vitest';
import {
  chainDataLength,
  copyFromNetBuffer,
  copyToNetBuffer,
  lastNetBufferList,
  linkNetBufferLists,
  NdisAdvanceNetBufferDataStart,
  netBufferListsOf,
  newNetBufferList,
} from '../../../src/ndis/nbl.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('NET_BUFFER_LIST', () => {
  it('a chain keeps its order, its length and its last NBL', () => {
    const nbls = [newNetBufferList(bytes('abc')), newNetBufferList([bytes('de'), bytes('fgh')]), newNetBufferList(bytes(''))];
    const head = linkNetBufferLists(nbls);
    expect(netBufferListsOf(head)).toEqual(nbls);
    expect(chainDataLength(head)).toBe(8);
    expect(lastNetBufferList(nbls[0]!)).toBe(nbls[2]);
    expect(linkNetBufferLists([])).toBeNull();
  });

  it('copies across MDL boundaries from and into the data window', () => {
    const nbl = newNetBufferList([bytes('hel'), bytes('lo, '), bytes('world')]);
    const nb = nbl.FirstNetBuffer;
    const out = new Uint8Array(7);
    expect(copyFromNetBuffer(nb, 2, out, 0, 7)).toBe(7);
    expect(text(out)).toBe('llo, wo');
    NdisAdvanceNetBufferDataStart(nb, 5);
    expect(nb.DataLength).toBe(7);
    const rest = new Uint8Array(10);
    expect(copyFromNetBuffer(nb, 0, rest, 0, 10)).toBe(7);
    expect(text(rest.subarray(0, 7))).toBe(', world');

    const space = newNetBufferList([new Uint8Array(2), new Uint8Array(3)]).FirstNetBuffer;
    expect(copyToNetBuffer(space, 1, bytes('wxyz!'))).toBe(4);
    expect(text(Uint8Array.from([...space.MdlChain[0]!, ...space.MdlChain[1]!]).subarray(1))).toBe('wxyz');
  });

  it('advancing past the window is refused with a RangeError and changes nothing', () => {
    const nb = newNetBufferList(bytes('abc')).FirstNetBuffer;
    expect(() => NdisAdvanceNetBufferDataStart(nb, 4)).toThrow(RangeError);
    expect(() => NdisAdvanceNetBufferDataStart(nb, -1)).toThrow(RangeError);
    expect(nb.DataOffset).toBe(0);
    expect(nb.DataLength).toBe(3);
  });
});
