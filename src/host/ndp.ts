/**
 * IPv6 neighbor discovery (RFC 4861) and duplicate address detection (RFC 4862 §5.4) for our
 * addresses: answer solicitations for them, learn neighbors from solicitations and
 * advertisements, resolve next hops through the shared neighbor cache, and check that every
 * address is unique before using it.
 */
import {
  IPV6_ALL_NODES,
  IPV6_UNSPECIFIED,
  formatIpv6Address,
  formatMac,
  isIpv6Multicast,
  isIpv6Unspecified,
  macEquals,
  solicitedNodeMulticast,
  type Ipv6Address,
  type MacAddress,
} from '../wire/addr.js';
import type { DropReason } from '../wire/drop-reason.js';
import type { Icmpv6Repr } from '../wire/icmpv6.js';
import type { Ipv6Repr } from '../wire/ipv6.js';
import { NDISC_HOP_LIMIT, type NdiscRepr } from '../wire/ndisc.js';
import type { HostStack, Ipv6OwnAddress } from './stack.js';

export class Ndp {
  /** Nonces of our outstanding DAD probes (RFC 7527), to recognise our own looped-back probe. */
  private readonly dadNonces = new Map<Ipv6OwnAddress, Uint8Array>();

  constructor(private readonly stack: HostStack) {}

  input(ip: Ipv6Repr, msg: NdiscRepr, srcMac: MacAddress): DropReason | undefined {
    // RFC 4861 §6.1, §7.1: a hop limit other than 255 means the message crossed a router.
    if (ip.hopLimit !== NDISC_HOP_LIMIT) return 'ndisc-bad-hop-limit';
    switch (msg.kind) {
      case 'neighbor-solicitation':
        return this.onSolicitation(ip, msg, srcMac);
      case 'neighbor-advertisement':
        return this.onAdvertisement(ip, msg);
      case 'router-solicitation':
        // Hosts silently discard router solicitations (RFC 4861 §6.1.1).
        return undefined;
      case 'router-advertisement':
        if (msg.sourceLinkAddr !== undefined) {
          this.stack.ndCache.update(ip.src, msg.sourceLinkAddr, { solicited: false, override: false, create: true, isRouter: true });
        }
        return undefined;
    }
  }

  private onSolicitation(ip: Ipv6Repr, ns: Extract<NdiscRepr, { kind: 'neighbor-solicitation' }>, _srcMac: MacAddress): DropReason | undefined {
    this.stack.stats.ndSolicitationsIn++;
    if (isIpv6Multicast(ns.target)) return 'ndisc-bad-target';
    const fromDad = isIpv6Unspecified(ip.src);
    // §7.1.1: a DAD probe goes to a solicited-node group and carries no source link address.
    if (fromDad && (!isIpv6Multicast(ip.dst) || ns.sourceLinkAddr !== undefined)) return 'ndisc-bad-option';
    const own = this.stack.ownIpv6(ns.target);
    if (own === undefined) return 'ndisc-not-for-us';
    if (own.state === 'tentative') {
      const mine = this.dadNonces.get(own);
      if (fromDad && ns.nonce !== undefined && mine !== undefined && sameBytes(ns.nonce, mine)) return undefined; // our own probe
      if (fromDad) this.duplicate(own, 'a DAD probe from another node');
      return undefined;
    }
    if (own.state === 'duplicate') return 'ndisc-not-for-us';
    if (!fromDad && ns.sourceLinkAddr !== undefined) {
      // §7.2.3: create or update the sender's entry (STALE when it changed).
      this.stack.ndCache.update(ip.src, ns.sourceLinkAddr, { solicited: false, override: true, create: true });
    }
    // §7.2.4: solicited advertisement; to all-nodes when the solicitation came from ::.
    const reply: Icmpv6Repr = {
      kind: 'neighbor-advertisement',
      router: false,
      solicited: !fromDad,
      override: true,
      target: own.address,
      targetLinkAddr: this.stack.mac,
    };
    this.stack.icmp6.send(fromDad ? IPV6_ALL_NODES : ip.src, reply, own.address, NDISC_HOP_LIMIT);
    this.stack.stats.ndAdvertisementsOut++;
    return undefined;
  }

  private onAdvertisement(ip: Ipv6Repr, na: Extract<NdiscRepr, { kind: 'neighbor-advertisement' }>): DropReason | undefined {
    this.stack.stats.ndAdvertisementsIn++;
    if (isIpv6Multicast(na.target)) return 'ndisc-bad-target';
    // §7.1.2: a multicast destination requires the solicited flag clear.
    if (isIpv6Multicast(ip.dst) && na.solicited) return 'ndisc-bad-option';
    const own = this.stack.ownIpv6(na.target);
    if (own !== undefined) {
      if (na.targetLinkAddr !== undefined && macEquals(na.targetLinkAddr, this.stack.mac)) return undefined;
      const from = na.targetLinkAddr === undefined ? 'an unknown node' : formatMac(na.targetLinkAddr);
      // RFC 4862 §5.4.4: the advertisement decides DAD for a tentative address. An address in
      // use stays in use; the conflict is reported (Linux ndisc_recv_na only warns).
      if (own.state === 'tentative') this.duplicate(own, `an advertisement from ${from}`);
      else if (own.state === 'preferred') this.stack.logEvent({ event: 'nd-conflict', address: formatIpv6Address(own.address), from });
      return undefined;
    }
    if (na.targetLinkAddr === undefined) {
      // Without a target link address only an existing entry's flags can change (§7.2.5).
      const entry = this.stack.ndCache.get(na.target);
      if (entry?.mac !== undefined && na.solicited) this.stack.ndCache.confirm(na.target);
      return undefined;
    }
    this.stack.ndCache.update(na.target, na.targetLinkAddr, {
      solicited: na.solicited,
      override: na.override,
      create: false,
      isRouter: na.router,
    });
    return undefined;
  }

  /** Resolution (multicast to the solicited-node group) or a unicast reachability probe. */
  sendSolicitation(target: Ipv6Address, unicastTo: MacAddress | undefined): void {
    const src = this.stack.ipv6SourceFor(target);
    if (src === undefined) return;
    const msg: Icmpv6Repr = { kind: 'neighbor-solicitation', target, sourceLinkAddr: this.stack.mac };
    const dst = unicastTo === undefined ? solicitedNodeMulticast(target) : target;
    this.stack.icmp6.send(dst, msg, src, NDISC_HOP_LIMIT);
    this.stack.stats.ndSolicitationsOut++;
  }

  /**
   * Runs DAD for every tentative address: `transmits` probes RetransTimer apart (RFC 4862
   * §5.4.2), then the address becomes preferred and is announced with an unsolicited
   * advertisement (RFC 4861 §7.2.6). Resolves when every address has a verdict.
   */
  async runDuplicateAddressDetection(transmits: number): Promise<void> {
    const tentative = this.stack.ipv6Addresses.filter((a) => a.state === 'tentative');
    if (tentative.length === 0) return;
    const retransMs = 1000;
    for (let i = 0; i < transmits; i++) {
      for (const own of tentative) if (own.state === 'tentative') this.sendDadProbe(own);
      await new Promise<void>((resolve) => this.stack.scheduler.setTimer(resolve, retransMs));
    }
    for (const own of tentative) {
      this.dadNonces.delete(own);
      if (own.state !== 'tentative') continue;
      own.state = 'preferred';
      this.stack.logEvent({ event: 'address-ready', address: formatIpv6Address(own.address) });
      const na: Icmpv6Repr = {
        kind: 'neighbor-advertisement',
        router: false,
        solicited: false,
        override: true,
        target: own.address,
        targetLinkAddr: this.stack.mac,
      };
      this.stack.icmp6.send(IPV6_ALL_NODES, na, own.address, NDISC_HOP_LIMIT);
      this.stack.stats.ndAdvertisementsOut++;
    }
  }

  private sendDadProbe(own: Ipv6OwnAddress): void {
    const nonce = new Uint8Array(6);
    for (let i = 0; i < nonce.length; i++) nonce[i] = this.stack.random.nextU32() & 0xff;
    this.dadNonces.set(own, nonce);
    const msg: Icmpv6Repr = { kind: 'neighbor-solicitation', target: own.address, nonce };
    this.stack.icmp6.send(solicitedNodeMulticast(own.address), msg, IPV6_UNSPECIFIED, NDISC_HOP_LIMIT);
    this.stack.stats.ndSolicitationsOut++;
  }

  private duplicate(own: Ipv6OwnAddress, from: string): void {
    if (own.state === 'duplicate') return;
    own.state = 'duplicate';
    this.stack.logEvent({ event: 'dad-conflict', address: formatIpv6Address(own.address), from });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

