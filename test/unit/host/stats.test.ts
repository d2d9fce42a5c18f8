/** The host stack's receive accounting: every received frame ends handled or dropped, exactly once. */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../../src/wire/addr.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { emitEthernetHeader, ETHERTYPE_IPV4 } from '../../../src/wire/ethernet.js';
import { emitIpv4Header } from '../../../src/wire/ipv4.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';

const OUR_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0, 1);
const OUR4 = parseIpv4Address('198.18.0.2') as number;
const PEER4 = parseIpv4Address('198.18.0.1') as number;

describe('host stack receive accounting', () => {
  it('keeps rxFrames = rxHandled + drops when a held fragment times out (the timeout is counted apart)', () => {
    const scheduler = new SimScheduler();
    const link = new SimLink(scheduler, { name: 'sim0' });
    const target = new OffloadTarget({ link, macAddress: OUR_MAC });
    const stack = new HostStack({
      interface: { mac: OUR_MAC, ipv4: { address: OUR4, prefixLength: 24 } },
      scheduler,
      random: new SeededRandom(1),
      secret: new Uint8Array(32),
      dadTransmits: 0,
    });
    bindProtocol(stack, target);
    void stack.start();
    // The first half of a UDP datagram; the second never comes.
    const f = new Uint8Array(34 + 64);
    emitEthernetHeader({ dst: OUR_MAC, src: PEER_MAC, ethertype: ETHERTYPE_IPV4 }, f, 0);
    emitIpv4Header({ src: PEER4, dst: OUR4, protocol: 17, ttl: 64, payloadLength: 64, identification: 9, moreFragments: true, fragmentOffset: 0 }, f, 14);
    link.deliverNow([f]);
    scheduler.advance(31_000);
    const s = stack.stats;
    expect(s.rxFrames).toBe(1);
    expect(s.rxHandled + s.drops.total()).toBe(s.rxFrames);
    expect(s.reassemblyDrops.toJSON()).toEqual({ 'ipv4-frag-timeout': 1 });
    stack.stop();
  });
});
