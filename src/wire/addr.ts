/**
 * Link-layer and IP addresses: parsing and formatting of their text forms, and the address
 * predicates every layer needs (subnet membership, multicast, link-local, the derived IPv6
 * multicast groups and MACs of RFC 4291 and RFC 2464).
 *
 * Representations: a MAC is 6 bytes and an IPv6 address 16 bytes (`Uint8Array`, network
 * order); an IPv4 address is its 32-bit value as an unsigned number (198.18.0.1 is 0xc6120001),
 * so comparisons and masks are plain arithmetic. The exported constants are shared arrays:
 * never write into them.
 *
 * Text parsers are strict and total: a malformed string gives `undefined`, never a throw.
 */

export type MacAddress = Uint8Array;
export type Ipv4Address = number;
export type Ipv6Address = Uint8Array;

export const MAC_LEN = 6;
export const IPV4_LEN = 4;
export const IPV6_LEN = 16;

// ---------------------------------------------------------------------------------------------
// MAC (IEEE 802 EUI-48)

export const BROADCAST_MAC: MacAddress = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
export const ZERO_MAC: MacAddress = new Uint8Array(MAC_LEN);

const MAC_RE = /^([0-9a-fA-F]{2})([:-])([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/;

/** Parses `aa:bb:cc:dd:ee:ff` (or with `-` separators, as Windows writes them; one kind per address). */
export function parseMac(s: string): MacAddress | undefined {
  const m = MAC_RE.exec(s);
  if (m === null) return undefined;
  const out = new Uint8Array(MAC_LEN);
  for (let i = 0; i < MAC_LEN; i++) out[i] = parseInt(m[i === 0 ? 1 : i + 2] as string, 16);
  return out;
}

/** Lowercase, colon-separated, as `ip link` prints it. */
export function formatMac(m: MacAddress): string {
  let s = '';
  for (let i = 0; i < MAC_LEN; i++) {
    if (i > 0) s += ':';
    s += ((m[i] ?? 0) as number).toString(16).padStart(2, '0');
  }
  return s;
}

/** The I/G bit (IEEE 802-2014 §8.2): group addresses, which include broadcast. */
export function isMulticastMac(m: MacAddress): boolean {
  return ((m[0] ?? 0) & 0x01) !== 0;
}

export function isBroadcastMac(m: MacAddress): boolean {
  return macEquals(m, BROADCAST_MAC);
}

/** An individual (unicast) address other than all-zeros. */
export function isUnicastMac(m: MacAddress): boolean {
  return !isMulticastMac(m) && !macEquals(m, ZERO_MAC);
}

export function macEquals(a: MacAddress, b: MacAddress): boolean {
  for (let i = 0; i < MAC_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// IPv4

/** 255.255.255.255, the limited broadcast address (RFC 919 §7). */
export const IPV4_BROADCAST: Ipv4Address = 0xffffffff;
export const IPV4_UNSPECIFIED: Ipv4Address = 0;

/**
 * Parses dotted-decimal `a.b.c.d`, exactly four decimal parts in 0..255. Leading zeros are
 * rejected ("010" is octal 8 to inet_aton and decimal 10 to others), as glibc's inet_pton does.
 */
export function parseIpv4Address(s: string): Ipv4Address | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

export function formatIpv4Address(n: Ipv4Address): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** The network mask of a prefix length 0..32, as an unsigned value. */
export function ipv4PrefixMask(prefixLength: number): number {
  return prefixLength <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefixLength, 32))) >>> 0;
}

function parsePrefixLength(s: string, max: number): number | undefined {
  if (!/^(0|[1-9][0-9]?[0-9]?)$/.test(s)) return undefined;
  const n = Number(s);
  return n <= max ? n : undefined;
}

/**
 * Parses `a.b.c.d/n`. The address keeps its host bits (`198.18.0.1/24` names an interface
 * address and its subnet); use `ipv4InSubnet` to compare.
 */
export function parseCidr4(s: string): { address: Ipv4Address; prefixLength: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv4Address(s.slice(0, slash));
  const prefixLength = parsePrefixLength(s.slice(slash + 1), 32);
  if (address === undefined || prefixLength === undefined) return undefined;
  return { address, prefixLength };
}

export function ipv4InSubnet(a: Ipv4Address, network: Ipv4Address, prefixLength: number): boolean {
  const mask = ipv4PrefixMask(prefixLength);
  return ((a & mask) >>> 0) === ((network & mask) >>> 0);
}

/**
 * The directed broadcast address of the subnet (all host bits set, RFC 919 §7). For /31 and /32
 * there is no directed broadcast (RFC 3021); the arithmetic result is returned and callers that
 * care test the prefix length.
 */
export function ipv4SubnetBroadcast(address: Ipv4Address, prefixLength: number): Ipv4Address {
  return (address | ~ipv4PrefixMask(prefixLength)) >>> 0;
}

/** 224.0.0.0/4 (RFC 5771). */
export function isIpv4Multicast(a: Ipv4Address): boolean {
  return a >>> 28 === 0xe;
}

/** The limited broadcast 255.255.255.255 only; directed broadcasts need the subnet (`ipv4SubnetBroadcast`). */
export function isIpv4Broadcast(a: Ipv4Address): boolean {
  return a >>> 0 === IPV4_BROADCAST;
}

/** 127.0.0.0/8 (RFC 1122 §3.2.1.3(g)). */
export function isIpv4Loopback(a: Ipv4Address): boolean {
  return a >>> 24 === 127;
}

/** The 4 bytes of an IPv4 address in network order, written at out[off]. */
export function putIpv4(out: Uint8Array, off: number, a: Ipv4Address): void {
  out[off] = a >>> 24;
  out[off + 1] = a >>> 16;
  out[off + 2] = a >>> 8;
  out[off + 3] = a;
}

// ---------------------------------------------------------------------------------------------
// IPv6 (RFC 4291)

export const IPV6_UNSPECIFIED: Ipv6Address = new Uint8Array(IPV6_LEN);
export const IPV6_LOOPBACK: Ipv6Address = ipv6FromWords([0, 0, 0, 0, 0, 0, 0, 1]);
/** ff02::1, all nodes on the link (RFC 4291 §2.7.1). */
export const IPV6_ALL_NODES: Ipv6Address = ipv6FromWords([0xff02, 0, 0, 0, 0, 0, 0, 1]);
/** ff02::2, all routers on the link (RFC 4291 §2.7.1). */
export const IPV6_ALL_ROUTERS: Ipv6Address = ipv6FromWords([0xff02, 0, 0, 0, 0, 0, 0, 2]);

function ipv6FromWords(words: readonly number[]): Uint8Array {
  const out = new Uint8Array(IPV6_LEN);
  for (let i = 0; i < 8; i++) {
    const w = words[i] ?? 0;
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w;
  }
  return out;
}

const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses the text forms of RFC 4291 §2.2: eight groups of 1-4 hex digits, one `::` standing for
 * one or more zero groups, and an optional dotted IPv4 tail in the last 32 bits. Zone indices
 * (`%eth0`) are not addresses and are rejected.
 */
export function parseIpv6Address(s: string): Ipv6Address | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  const double = s.indexOf('::');
  if (double >= 0 && s.indexOf('::', double + 1) >= 0) return undefined;
  const head = double >= 0 ? s.slice(0, double) : s;
  const tail = double >= 0 ? s.slice(double + 2) : '';
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  if (double < 0 && headGroups.length === 0) return undefined;

  const words: number[] = [];
  const parseGroups = (groups: string[], last: boolean): number[] | undefined => {
    const w: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (last && i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4Address(g);
        if (v4 === undefined) return undefined;
        w.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!HEX_GROUP_RE.test(g)) return undefined;
        w.push(parseInt(g, 16));
      }
    }
    return w;
  };
  const hw = parseGroups(headGroups, double < 0);
  const tw = parseGroups(tailGroups, true);
  if (hw === undefined || tw === undefined) return undefined;
  if (double < 0) {
    if (hw.length !== 8) return undefined;
    words.push(...hw);
  } else {
    // `::` stands for at least one zero group (RFC 4291 §2.2 item 2).
    const zeros = 8 - hw.length - tw.length;
    if (zeros < 1) return undefined;
    words.push(...hw, ...new Array<number>(zeros).fill(0), ...tw);
  }
  return ipv6FromWords(words);
}

/**
 * The canonical text form of RFC 5952 §4: lowercase, no leading zeros, the longest run of two
 * or more zero groups (the first on a tie) as `::`, and IPv4-mapped addresses with a dotted
 * tail (§5).
 */
export function formatIpv6Address(b: Ipv6Address): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((((b[2 * i] ?? 0) as number) << 8) | ((b[2 * i + 1] ?? 0) as number));
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    const v4 = (((words[6] as number) << 16) | (words[7] as number)) >>> 0;
    return `::ffff:${formatIpv4Address(v4)}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (§4.2.2)
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexOf = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hexOf(words);
  return `${hexOf(words.slice(0, bestStart))}::${hexOf(words.slice(bestStart + bestLen))}`;
}

/** Parses `addr/n` with n in 0..128; the address keeps its interface bits. */
export function parseCidr6(s: string): { address: Ipv6Address; prefixLength: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv6Address(s.slice(0, slash));
  const prefixLength = parsePrefixLength(s.slice(slash + 1), 128);
  if (address === undefined || prefixLength === undefined) return undefined;
  return { address, prefixLength };
}

export function ipv6Equals(a: Ipv6Address, b: Ipv6Address): boolean {
  for (let i = 0; i < IPV6_LEN; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when the first `prefixLength` bits of `a` and `network` agree. */
export function ipv6InSubnet(a: Ipv6Address, network: Ipv6Address, prefixLength: number): boolean {
  const full = Math.min(Math.max(prefixLength, 0), 128);
  const bytes = full >>> 3;
  for (let i = 0; i < bytes; i++) if (a[i] !== network[i]) return false;
  const bits = full & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (((a[bytes] ?? 0) as number) & mask) === (((network[bytes] ?? 0) as number) & mask);
}

/** ff00::/8 (RFC 4291 §2.7). */
export function isIpv6Multicast(a: Ipv6Address): boolean {
  return a[0] === 0xff;
}

/** fe80::/10 (RFC 4291 §2.5.6). */
export function isIpv6LinkLocal(a: Ipv6Address): boolean {
  return a[0] === 0xfe && (((a[1] ?? 0) as number) & 0xc0) === 0x80;
}

/** :: (RFC 4291 §2.5.2). */
export function isIpv6Unspecified(a: Ipv6Address): boolean {
  return ipv6Equals(a, IPV6_UNSPECIFIED);
}

export function isIpv6Loopback(a: Ipv6Address): boolean {
  return ipv6Equals(a, IPV6_LOOPBACK);
}

/** ff02::1:ffXX:XXXX, the solicited-node multicast group of `addr` (RFC 4291 §2.7.1). */
export function solicitedNodeMulticast(addr: Ipv6Address): Ipv6Address {
  const out = ipv6FromWords([0xff02, 0, 0, 0, 0, 1, 0xff00, 0]);
  out[13] = addr[13] ?? 0;
  out[14] = addr[14] ?? 0;
  out[15] = addr[15] ?? 0;
  return out;
}

/** True for any ff02::1:ffXX:XXXX address. */
export function isSolicitedNodeMulticast(a: Ipv6Address): boolean {
  const prefix = solicitedNodeMulticast(IPV6_UNSPECIFIED);
  for (let i = 0; i < 13; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/** The Ethernet destination of an IPv6 multicast packet: 33:33 and the low 32 bits (RFC 2464 §7). */
export function ipv6MulticastMac(addr: Ipv6Address): MacAddress {
  return new Uint8Array([0x33, 0x33, addr[12] ?? 0, addr[13] ?? 0, addr[14] ?? 0, addr[15] ?? 0]);
}

/** The Ethernet destination of an IPv4 multicast packet: 01:00:5e and the low 23 bits (RFC 1112 §6.4). */
export function ipv4MulticastMac(addr: Ipv4Address): MacAddress {
  return new Uint8Array([0x01, 0x00, 0x5e, (addr >>> 16) & 0x7f, (addr >>> 8) & 0xff, addr & 0xff]);
}

/**
 * fe80::/64 with the modified EUI-64 interface identifier of `mac`: ff:fe inserted in the middle
 * and the universal/local bit inverted (RFC 4291 Appendix A, RFC 2464 §4-5).
 */
export function linkLocalFromMac(mac: MacAddress): Ipv6Address {
  const out = new Uint8Array(IPV6_LEN);
  out[0] = 0xfe;
  out[1] = 0x80;
  out[8] = ((mac[0] ?? 0) as number) ^ 0x02;
  out[9] = mac[1] ?? 0;
  out[10] = mac[2] ?? 0;
  out[11] = 0xff;
  out[12] = 0xfe;
  out[13] = mac[3] ?? 0;
  out[14] = mac[4] ?? 0;
  out[15] = mac[5] ?? 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Either family

export type IpAddress = { family: 4; address: Ipv4Address } | { family: 6; address: Ipv6Address };

/** Parses an IPv4 or IPv6 address; the family is decided by the presence of `:`. */
export function parseIpAddress(s: string): IpAddress | undefined {
  if (s.includes(':')) {
    const address = parseIpv6Address(s);
    return address === undefined ? undefined : { family: 6, address };
  }
  const address = parseIpv4Address(s);
  return address === undefined ? undefined : { family: 4, address };
}

export function formatIpAddress(a: IpAddress): string {
  return a.family === 4 ? formatIpv4Address(a.address) : formatIpv6Address(a.address);
}
