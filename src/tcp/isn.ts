/**
 * Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
 * remoteport, secretkey), where M is a timer ticking every 4 microseconds and F a keyed PRF
 * (here SipHash-2-4, as Linux uses). Successive connections of one 4-tuple get increasing ISNs
 * (so old duplicates of an earlier incarnation fall below the window), while an off-path
 * attacker cannot predict the ISN of any tuple without the secret.
 */
import type { Clock } from '../wire/clock.js';
import { seq, type Seq } from '../wire/seq.js';
import { sipHash24, sipKey, type SipKey } from './siphash.js';

/** M ticks per millisecond: one tick every 4 µs (RFC 6528 §3, after RFC 793 §3.3). */
const TICKS_PER_MS = 250;

export class IsnGenerator {
  private readonly key: SipKey;
  private readonly out = new Uint32Array(2);

  /** `secret` is 16 bytes from a cryptographic source the host owns; `clock` gives milliseconds. */
  constructor(
    secret: Uint8Array,
    private readonly clock: Clock,
  ) {
    this.key = sipKey(secret);
  }

  /** The ISN for a connection of this 4-tuple started now. Addresses are 4 (IPv4) or 16 (IPv6) bytes. */
  isn(localAddr: Uint8Array, localPort: number, remoteAddr: Uint8Array, remotePort: number): Seq {
    const msg = new Uint8Array(localAddr.length + remoteAddr.length + 4);
    msg.set(localAddr, 0);
    msg.set(remoteAddr, localAddr.length);
    const p = localAddr.length + remoteAddr.length;
    msg[p] = localPort >>> 8;
    msg[p + 1] = localPort;
    msg[p + 2] = remotePort >>> 8;
    msg[p + 3] = remotePort;
    sipHash24(this.key, msg, this.out);
    const f = this.out[0] as number;
    // M is taken modulo 2^32; Math.floor keeps it exact for any clock value below 2^53 / 250.
    const m = Math.floor(this.clock.now() * TICKS_PER_MS) % 0x100000000;
    return seq(m + f);
  }
}
