/**
 * An advertisement for one of our addresses after duplicate address detection has finished:
 * RFC 4862 §5.4.4 ties the DAD verdict to tentative addresses; for an address in use the
 * conflict is reported and the address stays usable, as Linux does (ndisc_recv_na only
 * warns). Marking it duplicate would let any node on the link switch IPv6 off.
 */
import { describe, expect, it } from 'vitest';
import { IPV6_ALL_NODES, parseIpv6Address } from '../../../src/wire/addr.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { emitEthernetHeader, ETHERTYPE_IPV6 } from '../../../src/wire/ethernet.js';
import { emitIcmpv6, icmpv6Length, type Icmpv6Repr } from '../../../src/wire/icmpv6.js';
import { emitIpv6Header } from '../../../src/wire/ipv6.js';
import { IP_PROTO_ICMPV6 } from '../../../src/wire/ip-proto.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';
import type { HostLogEvent } from '../../../src/host/config.js';

const OUR_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const OUR6 = parseIpv6Address('2001:2::2') as Uint8Array;
const PEER6 = parseIpv6Address('2001:2::1') as Uint8Array;

function ipv6Frame(msg: Icmpv6Repr, src: Uint8Array, dst: Uint8Array, dstMac: Uint8Array): Uint8Array {
  const len = icmpv6Length(msg);
  const f = new Uint8Array(54 + len);
  emitEthernetHeader({ dst: dstMac, src: PEER_MAC, ethertype: ETHERTYPE_IPV6 }, f, 0);
  emitIpv6Header({ src, dst, nextHeader: IP_PROTO_ICMPV6, hopLimit: 255, payloadLength: len }, f, 14);
  emitIcmpv6(msg, f, 54, src, dst);
  return f;
}

describe('neighbor discovery: an advertisement of an address already in use', () => {
  it('logs the conflict and keeps the address preferred', async () => {
    const scheduler = new SimScheduler();
    const link = new SimLink(scheduler, { name: 'sim0' });
    const target = new OffloadTarget({ link, macAddress: OUR_MAC });
    const log: HostLogEvent[] = [];
    const stack = new HostStack({
      interface: { mac: OUR_MAC, ipv6: { address: OUR6, prefixLength: 64 } },
      scheduler,
      random: new SeededRandom(1),
      secret: new Uint8Array(32),
      dadTransmits: 1,
      log: (e) => log.push(e),
    });
    bindProtocol(stack, target);
    const started = stack.start();
    scheduler.advance(1000);
    await started;
    expect(stack.ownIpv6(OUR6)?.state).toBe('preferred');
    link.deliverNow([
      ipv6Frame({ kind: 'neighbor-advertisement', router: false, solicited: false, override: true, target: OUR6, targetLinkAddr: PEER_MAC }, PEER6, IPV6_ALL_NODES, Uint8Array.of(0x33, 0x33, 0, 0, 0, 1)),
    ]);
    expect(stack.ownIpv6(OUR6)?.state).toBe('preferred');
    expect(log.some((e) => e.event === 'nd-conflict' && e.address === '2001:2::2' && e.from === '02:00:00:00:00:01')).toBe(true);
    stack.stop();
  });
});
