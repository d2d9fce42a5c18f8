/**
 * A `Link` wrapper that writes one line per frame and direction to a sink (gVisor `sniffer`
 * in its logging mode): for following a run in a terminal or a test log without a capture.
 *
 *   12.345 tap0 tx 74B vnet[csum 34+16] eth 02:00:00:00:00:01 > 02:00:00:00:00:02 0800 | 45 00 00 3c ...
 *
 * The frame text comes from `format`; the default is an Ethernet header and a hex dump of what
 * follows, since it must never fail on any input.
 */
import type { Clock } from '../wire/clock.js';
import { VNET_F_DATA_VALID, VNET_F_NEEDS_CSUM, VNET_GSO_ECN, VNET_GSO_NONE, VNET_GSO_TCPV4, VNET_GSO_TCPV6, VNET_GSO_UDP, VNET_GSO_UDP_L4, type VnetHeader } from '../wire/vnet.js';
import type { Link, LinkCapabilities, LinkReceiver, LinkStats } from './link.js';

export interface TraceLinkOptions {
  /** Receives each line (without a newline). */
  readonly sink: (line: string) => void;
  /** Time shown at the start of each line (milliseconds, printed as seconds). Omitted without a clock. */
  readonly clock?: Clock;
  /** Turns a frame into text. Default: `hexSummary`. */
  readonly format?: (frame: Uint8Array, vnet: VnetHeader | undefined) => string;
  /** Bytes after the Ethernet header shown by the default format. Default 48. */
  readonly hexBytes?: number;
}

export class TraceLink implements Link {
  private readonly inner: Link;
  private readonly sink: (line: string) => void;
  private readonly clock: Clock | undefined;
  private readonly format: (frame: Uint8Array, vnet: VnetHeader | undefined) => string;

  constructor(inner: Link, options: TraceLinkOptions) {
    this.inner = inner;
    this.sink = options.sink;
    this.clock = options.clock;
    const hexBytes = options.hexBytes ?? 48;
    this.format = options.format ?? ((frame) => hexSummary(frame, hexBytes));
  }

  get name(): string {
    return this.inner.name;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get capabilities(): LinkCapabilities {
    return this.inner.capabilities;
  }
  get stats(): LinkStats {
    return this.inner.stats;
  }

  setReceiver(receiver: LinkReceiver): void {
    this.inner.setReceiver({
      onFrame: (frame, vnet) => {
        this.trace('rx', frame, vnet, '');
        receiver.onFrame(frame, vnet);
      },
      onBatchEnd: () => receiver.onBatchEnd(),
    });
  }

  /** Recording reads the frame during `send` only, so the inner link's buffer can be lent through. */
  lendTx(length: number): Uint8Array | undefined {
    return this.inner.lendTx?.(length);
  }

  send(frame: Uint8Array, vnet?: VnetHeader): void {
    const dropped = this.inner.stats.txDropped;
    this.inner.send(frame, vnet);
    this.trace('tx', frame, vnet, this.inner.stats.txDropped === dropped ? '' : ' DROPPED');
  }

  flush(): void {
    this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private trace(direction: 'rx' | 'tx', frame: Uint8Array, vnet: VnetHeader | undefined, note: string): void {
    let text: string;
    try {
      text = this.format(frame, vnet);
    } catch (error) {
      // A broken formatter must not break the link; say so on the line instead.
      text = `(format failed: ${(error as Error).message})`;
    }
    const time = this.clock === undefined ? '' : `${(this.clock.now() / 1000).toFixed(6)} `;
    const v = vnet === undefined ? '' : vnetSummary(vnet);
    this.sink(`${time}${this.inner.name} ${direction} ${frame.length}B${note}${v === '' ? '' : ` ${v}`} ${text}`);
  }
}

/** The virtio-net header in a few words, or '' when it asks for nothing. */
export function vnetSummary(vnet: VnetHeader): string {
  const parts: string[] = [];
  if (vnet.flags & VNET_F_NEEDS_CSUM) parts.push(`csum ${vnet.csumStart}+${vnet.csumOffset}`);
  if (vnet.flags & VNET_F_DATA_VALID) parts.push('data-valid');
  const gso = vnet.gsoType & ~VNET_GSO_ECN;
  if (gso !== VNET_GSO_NONE) {
    const name = gso === VNET_GSO_TCPV4 ? 'tcpv4' : gso === VNET_GSO_TCPV6 ? 'tcpv6' : gso === VNET_GSO_UDP ? 'udp' : gso === VNET_GSO_UDP_L4 ? 'udp-l4' : `type ${gso}`;
    parts.push(`gso ${name}${vnet.gsoType & VNET_GSO_ECN ? '+ecn' : ''} ${vnet.gsoSize}`);
  }
  return parts.length === 0 ? '' : `vnet[${parts.join(' ')}]`;
}

/** Ethernet addresses and EtherType, then up to `hexBytes` bytes of what follows in hex. Total on any input. */
export function hexSummary(frame: Uint8Array, hexBytes = 48): string {
  if (frame.length < 14) return `runt | ${hex(frame, 0, frame.length)}`;
  const mac = (off: number) => Array.from(frame.subarray(off, off + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
  const ethertype = (((frame[12] as number) << 8) | (frame[13] as number)).toString(16).padStart(4, '0');
  const end = Math.min(frame.length, 14 + hexBytes);
  return `eth ${mac(6)} > ${mac(0)} ${ethertype} | ${hex(frame, 14, end)}${end < frame.length ? ' ...' : ''}`;
}

function hex(b: Uint8Array, start: number, end: number): string {
  return Array.from(b.subarray(start, end), (x) => x.toString(16).padStart(2, '0')).join(' ');
}
