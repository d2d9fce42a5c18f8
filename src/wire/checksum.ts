/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * `sum16` returns an unfolded running sum of 16-bit big-endian words; callers chain several
 * ranges (pseudo-header, header, payload) and fold once at the end. A range that starts at
 * an odd position inside the logical message must be summed with `oddStart`, which swaps the
 * byte lanes (RFC 1071 §2(B)): the ones' complement sum is byte-order independent up to a swap.
 */

/** Unfolded sum of the 16-bit words in b[off, off+len), added to `initial`. An odd trailing byte is padded with zero. */
export function sum16(b: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  let i = off;
  const end = off + len;
  const end8 = end - 7;
  // Unrolled: four words per iteration. Partial sums stay far below 2^53 for any frame size.
  while (i < end8) {
    sum +=
      (((b[i] as number) << 8) | (b[i + 1] as number)) +
      (((b[i + 2] as number) << 8) | (b[i + 3] as number)) +
      (((b[i + 4] as number) << 8) | (b[i + 5] as number)) +
      (((b[i + 6] as number) << 8) | (b[i + 7] as number));
    i += 8;
  }
  while (i + 1 < end) {
    sum += ((b[i] as number) << 8) | (b[i + 1] as number);
    i += 2;
  }
  if (i < end) sum += (b[i] as number) << 8;
  return sum;
}

/** Folds a running sum to 16 bits with end-around carry (not complemented). */
export function fold16(sum: number): number {
  // The running sum may exceed 32 bits; fold with arithmetic, not bit operators.
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for a message whose words sum (unfolded) to `sum`. */
export function finishChecksum(sum: number): number {
  return ~fold16(sum) & 0xffff;
}

/** Checksum of one contiguous range, starting a message. */
export function internetChecksum(b: Uint8Array, off: number, len: number, initial = 0): number {
  return finishChecksum(sum16(b, off, len, initial));
}

/** Swaps the byte lanes of a folded 16-bit sum (for ranges that begin at an odd message offset). */
export function swapLanes(sum16Folded: number): number {
  return ((sum16Folded << 8) | (sum16Folded >>> 8)) & 0xffff;
}

/** IPv4 pseudo-header sum (RFC 9293 §3.1): source, destination, zero, protocol, upper-layer length. */
export function pseudoHeaderSumV4(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** IPv6 pseudo-header sum (RFC 8200 §8.1): addresses, 32-bit upper-layer length, next header. */
export function pseudoHeaderSumV6(src: Uint8Array, dst: Uint8Array, nextHeader: number, length: number): number {
  return sum16(src, 0, 16) + sum16(dst, 0, 16) + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/**
 * Incremental update of a checksum when one 16-bit word changes from `oldWord` to `newWord`
 * (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')). Avoids the -0 pitfall of RFC 1141.
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~fold16(sum) & 0xffff;
}

/** Incremental update for a 32-bit field (two words), e.g. an IPv4 address or a sequence number. */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  const sum =
    (~checksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    ((newValue >>> 16) & 0xffff) +
    (newValue & 0xffff);
  return ~fold16(sum) & 0xffff;
}

/**
 * What a codec does with checksums, per protocol (smoltcp's ChecksumCapabilities).
 * `verify`: parsers check the field; `compute`: emitters fill it. A NIC with checksum offload
 * turns these off for the directions it handles; `wire/` stays free of any device knowledge.
 */
export interface ChecksumCaps {
  readonly ipv4: { readonly verify: boolean; readonly compute: boolean };
  readonly tcp: { readonly verify: boolean; readonly compute: boolean };
  readonly udp: { readonly verify: boolean; readonly compute: boolean };
  readonly icmp: { readonly verify: boolean; readonly compute: boolean };
}

const BOTH = { verify: true, compute: true } as const;

/** Every checksum verified on receive and computed on send. */
export const CHECKSUM_ALL: ChecksumCaps = { ipv4: BOTH, tcp: BOTH, udp: BOTH, icmp: BOTH };
