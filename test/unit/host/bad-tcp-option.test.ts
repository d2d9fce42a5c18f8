/**
 * Issue 9 defect 6 at the host: a SYN whose MSS option has a wrong length is answered as if
 * the option were absent (Linux tcp_parse_options skips it), and the skipped option is counted.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../../src/wire/addr.js';
import { finishChecksum, pseudoHeaderSumV4, sum16 } from '../../../src/wire/checksum.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { ETHERTYPE_IPV4, emitEthernetHeader } from '../../../src/wire/ethernet.js';
import { IP_PROTO_TCP } from '../../../src/wire/ip-proto.js';
import { emitIpv4Header } from '../../../src/wire/ipv4.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { TCP_SYN } from '../../../src/wire/tcp.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';
import { hex } from '../../helpers/hex.js';

const OUR_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const OUR4 = parseIpv4Address('198.18.0.2') as number;
const PEER4 = parseIpv4Address('198.18.0.1') as number;

/** A SYN to port 80 with the raw option bytes `options` (a multiple of 4 long). */
function synWithOptions(options: Uint8Array): Uint8Array {
  const n = 20 + options.length;
  const f = new Uint8Array(34 + n);
  emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, f, 0);
  emitIpv4Header({ src: PEER4, dst: OUR4, protocol: IP_PROTO_TCP, ttl: 64, payloadLength: n, identification: 9 }, f, 14);
  const t = f.subarray(34);
  t.set([0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, (n / 4) << 4, TCP_SYN, 0xff, 0xff]);
  t.set(options, 20);
  const c = finishChecksum(sum16(t, 0, n, pseudoHeaderSumV4(PEER4, OUR4, IP_PROTO_TCP, n)));
  t[16] = c >>> 8;
  t[17] = c & 0xff;
  return f;
}

describe('issue 9 defect 6: the host ignores a malformed known option', () => {
  it('issue 9 defect 6: a SYN with an MSS option of length 3 is answered and the option counted', () => {
    const scheduler = new SimScheduler();
    const link = new SimLink(scheduler, { name: 'sim0' });
    const target = new OffloadTarget({ link, macAddress: OUR_MAC });
    const stack = new HostStack({ interface: { mac: OUR_MAC, ipv4: { address: OUR4, prefixLength: 24 } }, scheduler, random: new SeededRandom(1), secret: new Uint8Array(32), dadTransmits: 0 });
    bindProtocol(stack, target);
    void stack.start();
    stack.createServer(() => undefined).listen(80);
    // MSS kind with length 3, then NOP, then window scale 7 (which must still be read).
    link.deliverNow([synWithOptions(hex('02 03 05 01 03 03 07 00'))]);
    expect(stack.stats.drops.total()).toBe(0);
    expect(stack.stats.tcpBadOptionsIgnored).toBe(1);
    const info = stack.tcp.connections()[0]?.engine.info();
    expect(info?.state).toBe('SYN-RECEIVED');
    expect(info?.peerMss).toBe(536); // RFC 9293 §3.7.1: no usable MSS option
  });
});
