/**
 * The capture checks the TCP integration tests share: tshark with every checksum validation
 * on must find no malformed frame, no bad checksum and no ACK of a segment that never crossed
 * the wire. Some expert messages are the protocols working as designed and are tolerated by
 * name, each for a stated reason:
 *
 * - window full / zero window: a reader slower than the network (curl into a pipe, a file
 *   write) closes the window; that is flow control.
 * - D-SACK, duplicate ACK, window update: a peer repeating data we hold (a tail-loss probe) is
 *   reported with a D-SACK block (RFC 2883).
 * - "TCP Checksum 0xffff instead of 0x0000": Linux's skb_checksum_help writes CSUM_MANGLED_0
 *   (0xffff) for a TCP checksum that folds to zero; valid ones' complement, flagged by tshark.
 *   Tolerated only on frames from the kernel peer: our stack never writes it.
 * - Retransmissions: a tail loss probe (RFC 8985) repeats the last segment when its ACK is
 *   slow, e.g. held by the peer's 40 ms delayed-ACK timer at the edge of a full window; tshark
 *   flags the repeat as a (suspected) retransmission. Linux senders do the same.
 * - With injected loss (`lossInjected`): out-of-order segments and "previous segment not
 *   captured", because the capture point sits before the loss on one side.
 */
import { expect } from 'vitest';
import { expertProblems, fields } from './tshark.js';

const ALWAYS = [
  /^TCP window specified by the receiver is now completely full$/,
  /^TCP Zero Window segment$/,
  /^D-SACK Sequence$/,
  /^Duplicate ACK \(#\d+\)$/,
  /^TCP window update$/,
  /^TCP Checksum 0xffff instead of 0x0000 \(see RFC 1624\)$/,
  /^This frame is a \(suspected\) (fast |spurious )?retransmission$/,
];

const WITH_LOSS = [
  /^Previous segment\(s\) not captured \(common at capture start\)$/,
  /^This frame is a \(suspected\) out-of-order segment$/,
];

export interface CaptureCheckOptions {
  /** Loss was injected on the path: retransmission and gap warnings are expected. */
  readonly lossInjected?: boolean;
  /** Further expert messages the caller expects, with its reason in a comment there. */
  readonly alsoAllowed?: readonly RegExp[];
  /** Our stack's addresses: frames from them must never carry the 0xffff TCP checksum. */
  readonly ourAddresses?: readonly string[];
}

export async function expectSoundCapture(pcap: string, options: CaptureCheckOptions = {}): Promise<void> {
  const allowed = [...ALWAYS, ...(options.lossInjected === true ? WITH_LOSS : []), ...(options.alsoAllowed ?? [])];
  const bad = (await expertProblems(pcap))
    .filter((p) => !p.messages.every((m) => allowed.some((re) => re.test(m))))
    .map((p) => `${p.frame} ${p.protocol} ${p.info}: ${p.messages.join('; ')}`);
  expect(bad).toEqual([]);
  // tshark's checksum status: 0 = bad. No ACK of a segment that was never on the wire.
  expect(
    await fields(
      pcap,
      ['frame.number', 'ip.src', 'ipv6.src', '_ws.col.Info', 'tcp.analysis.ack_lost_segment', 'tcp.checksum.status', 'ip.checksum.status', 'udp.checksum.status'],
      // A 0xffff TCP checksum is -0, the same value as 0x0000 (RFC 1624): tshark marks it bad,
      // but it is what Linux's skb_checksum_help writes; frames from us never carry it (below).
      'tcp.analysis.ack_lost_segment || (tcp.checksum.status == 0 && tcp.checksum != 0xffff) || ip.checksum.status == 0 || udp.checksum.status == 0',
    ),
  ).toEqual([]);
  const ours = options.ourAddresses ?? ['198.18.0.2', '2001:2::2'];
  const fromUs = ours.map((a) => (a.includes(':') ? `ipv6.src == ${a}` : `ip.src == ${a}`)).join(' || ');
  expect(await fields(pcap, ['frame.number'], `tcp.checksum == 0xffff && (${fromUs})`)).toEqual([]);
  if (options.lossInjected !== true) {
    expect(await fields(pcap, ['frame.number'], 'tcp.analysis.lost_segment')).toEqual([]);
  }
}
