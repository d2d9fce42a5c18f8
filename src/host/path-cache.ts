/**
 * Path MTU per destination, learned from ICMP fragmentation-needed (RFC 1191) and ICMPv6
 * packet-too-big (RFC 8201). Entries age out after 10 minutes (RFC 1191 §6.3, Linux
 * mtu_expires 600 s) so a path that grew again is found again.
 */
import type { Clock } from '../wire/clock.js';

const EXPIRY_MS = 600_000;

interface PathEntry {
  mtu: number;
  expiresAt: number;
}

export class PathCache {
  private readonly v4 = new Map<number, PathEntry>();
  private readonly v6 = new Map<string, PathEntry>();

  constructor(private readonly clock: Clock) {}

  mtu4(dst: number): number | undefined {
    return this.read(this.v4, dst);
  }

  mtu6(dst: Uint8Array): number | undefined {
    return this.read(this.v6, key6(dst));
  }

  /**
   * A too-big report for `dst`: records `mtu` when it is below the current estimate and
   * returns true when the estimate changed. A report never raises the estimate (RFC 1191 §3,
   * RFC 8201 §4); only aging does (see `read`).
   */
  learn4(dst: number, mtu: number): boolean {
    return this.write(this.v4, dst, mtu);
  }

  learn6(dst: Uint8Array, mtu: number): boolean {
    return this.write(this.v6, key6(dst), mtu);
  }

  get size(): number {
    return this.v4.size + this.v6.size;
  }

  private read<K>(map: Map<K, PathEntry>, key: K): number | undefined {
    if (map.size === 0) return undefined;
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (this.clock.now() >= e.expiresAt) {
      // Aging (RFC 1191 §6.3, RFC 8201 §5.3): the one way an estimate goes up again.
      map.delete(key);
      return undefined;
    }
    return e.mtu;
  }

  private write<K>(map: Map<K, PathEntry>, key: K, mtu: number): boolean {
    const current = this.read(map, key);
    if (current !== undefined && current <= mtu) return false;
    map.set(key, { mtu, expiresAt: this.clock.now() + EXPIRY_MS });
    return true;
  }
}

function key6(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(a[i] as number);
  return s;
}
