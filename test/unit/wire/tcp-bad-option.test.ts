/**
 * Issue 9 defect 6: a known option with a wrong length that still lies inside the option area
 * is skipped, as Linux tcp_parse_options skips it, and the segment is processed; the parser
 * reports how many it skipped so the host can count them. An option that runs past the header
 * (or has a length below 2) leaves the header unparseable, and that still drops the segment.
 */
import { describe, expect, it } from 'vitest';
import { NO_TCP_OPTIONS, emitTcpHeader, parseTcp, parseTcpOptions, type TcpRepr } from '../../../src/wire/tcp.js';
import { seq } from '../../../src/wire/seq.js';
import { concat, hex } from '../../helpers/hex.js';

const base: Omit<TcpRepr, 'payload'> = {
  srcPort: 40000,
  dstPort: 80,
  seqNumber: seq(1000),
  ackNumber: seq(0),
  flags: 0x02,
  windowLen: 65535,
  urgentPointer: 0,
  options: NO_TCP_OPTIONS,
};

/** A 20-byte header followed by `options` (zero-padded to a multiple of 4), data offset set to match. */
function withRawOptions(options: string): Uint8Array {
  const opts = hex(options);
  const padded = new Uint8Array((opts.length + 3) & ~3);
  padded.set(opts);
  const header = new Uint8Array(20);
  emitTcpHeader(base, header, 0);
  header[12] = ((20 + padded.length) / 4) << 4;
  return concat(header, padded);
}

describe('issue 9 defect 6: malformed known TCP options', () => {
  it('issue 9 defect 6: a known option with a wrong in-bounds length is ignored, the segment parsed and the option counted', () => {
    for (const bad of [
      '02 03 05 01', // MSS length 3
      '02 05 05 b4 00', // MSS length 5
      '03 04 07 00', // window scale length 4
      '03 02', // window scale length 2
      '04 03 00', // SACK-permitted length 3
      '05 02', // SACK without blocks
      '05 0e 00 00 00 01 00 00 00 02 00 00 00 03', // SACK length 14: not 2 + 8n
      '08 08 00 00 00 01 00 00', // timestamps length 8
      '08 0b 00 00 00 01 00 00 00 02 00', // timestamps length 11
    ]) {
      const r = parseTcp(withRawOptions(bad));
      expect(r.ok, bad).toBe(true);
      if (!r.ok) continue;
      const o = r.value.options;
      expect(o.ignoredBadOptions, bad).toBe(1);
      expect([o.mss, o.windowScale, o.sackPermitted, o.sackBlocks, o.timestamps], bad).toEqual([undefined, undefined, undefined, undefined, undefined]);
    }
  });

  it('issue 9 defect 6: the options around an ignored one are still read', () => {
    // MSS with length 5 (skipped as a whole, 5 bytes), then NOP, window scale 7, SACK-permitted.
    const o = parseTcpOptions(hex('02 05 05 b4 00 01 03 03 07 04 02 00'), 0, 12);
    expect(o).toBeDefined();
    expect(o?.ignoredBadOptions).toBe(1);
    expect(o?.mss).toBeUndefined();
    expect(o?.windowScale).toBe(7);
    expect(o?.sackPermitted).toBe(true);
    // Two bad ones are two.
    expect(parseTcpOptions(hex('02 03 05 03 02 00'), 0, 6)?.ignoredBadOptions).toBe(2);
  });

  it('issue 9 defect 6: well-formed options report nothing ignored', () => {
    const o = parseTcpOptions(hex('02 04 05 b4 01 03 03 07'), 0, 8);
    expect(o?.mss).toBe(1460);
    expect(o?.ignoredBadOptions).toBeUndefined();
  });

  it('issue 9 defect 6: an option that runs past the header, or a length below 2, still drops the segment', () => {
    for (const bad of [
      'fe 00', // length 0
      'fe 01', // length 1
      '02 00 05 b4', // MSS length 0: the walk cannot advance
      'fe 06 00 00', // past the option area
      '02 08 05 b4', // MSS whose length runs past the option area
      '01 01 01 02', // kind without a length byte at the end
    ]) {
      expect(parseTcp(withRawOptions(bad)), bad).toEqual({ ok: false, reason: 'tcp-bad-option' });
    }
  });
});
