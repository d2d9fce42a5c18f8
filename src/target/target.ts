/**
 * The offload target: the emulated NIC. It owns the wire (a `Link`) and offers a miniport
 * edge to the layer above. Every received frame is classified; a frame that belongs to no
 * offloaded connection is indicated up the normal receive path exactly as a plain NIC would
 * (reference §1.1, §4.12), and frames sent by the layer above go to the wire unchanged.
 */
import type { Link, LinkReceiver } from '../link/link.js';
import type { MacAddress } from '../wire/addr.js';
import type { VnetHeader } from '../wire/vnet.js';
import type { BoundProtocolEdge, MiniportAttributes, MiniportEdge, NblOffloadInfo, ProtocolEdge } from '../ndis/edges.js';
import type { Random } from '../wire/random.js';
import type { Scheduler } from '../wire/clock.js';
import { TargetChimney, type TargetCapabilities } from './chimney.js';

export interface OffloadTargetOptions {
  readonly link: Link;
  /** The NIC's MAC address (the emulator's own; the kernel side of the TAP has another). */
  readonly macAddress: MacAddress;
  /**
   * Chimney offload (reference §7.1): with it the target registers the provider handlers and
   * terminates offloaded connections itself; without it, it is a plain NIC.
   */
  readonly chimney?: { readonly scheduler: Scheduler; readonly random: Random; readonly capabilities?: Partial<TargetCapabilities> } | undefined;
}

export interface OffloadTargetStats {
  /** Frames indicated up the normal receive path. */
  indicatedFrames: number;
  /** Frames sent for the layer above on the normal send path. */
  sentFrames: number;
  /** Frames received before any protocol was bound (dropped). */
  unboundDrops: number;
}

export class OffloadTarget implements MiniportEdge, LinkReceiver {
  readonly attributes: MiniportAttributes;
  readonly stats: OffloadTargetStats = { indicatedFrames: 0, sentFrames: 0, unboundDrops: 0 };
  private upper: ProtocolEdge | undefined;
  private readonly link: Link;
  /** The chimney provider handlers, when chimney offload is configured. */
  readonly chimneyProvider: TargetChimney | undefined;

  constructor(options: OffloadTargetOptions) {
    this.link = options.link;
    const caps = options.link.capabilities;
    this.attributes = {
      macAddress: options.macAddress,
      mtu: options.link.mtu,
      taskOffload: {
        txChecksum: caps.txChecksumOffload,
        rxChecksum: caps.vnet,
        lsoV2Ipv4: caps.tso,
        lsoV2Ipv6: caps.tso,
        // An IPv4 total length (or IPv6 payload length) is 16 bits: leave room for a 20-byte IPv4
        // header and a TCP header with full options.
        lsoMaxOffloadSize: caps.tso ? 65535 - 20 - 60 : 0,
      },
    };
    const chimney = options.chimney;
    this.chimneyProvider =
      chimney === undefined
        ? undefined
        : new TargetChimney({
            scheduler: chimney.scheduler,
            random: chimney.random,
            macAddress: options.macAddress,
            mtu: options.link.mtu,
            txChecksum: caps.txChecksumOffload,
            tso: caps.tso,
            lsoMaxOffloadSize: this.attributes.taskOffload.lsoMaxOffloadSize,
            send: (frame, info) => {
              this.stats.sentFrames++;
              this.link.send(frame, info);
            },
            lend: (length) => this.link.lendTx?.(length),
            indicateNormal: (frame, info) => {
              this.stats.indicatedFrames++;
              this.upper?.receiveNetBufferLists(frame, info);
            },
            upcalls: () => (this.upper as Partial<BoundProtocolEdge> | undefined)?.chimney,
            capabilities: chimney.capabilities,
          });
    options.link.setReceiver(this);
  }

  bindUpper(upper: ProtocolEdge): void {
    if (this.upper !== undefined) throw new Error('OffloadTarget: a protocol is already bound');
    this.upper = upper;
  }

  sendNetBufferLists(frame: Uint8Array, info: NblOffloadInfo | undefined): void {
    this.stats.sentFrames++;
    this.link.send(frame, info);
  }

  lendSendBuffer(length: number): Uint8Array | undefined {
    return this.link.lendTx?.(length);
  }

  onFrame(frame: Uint8Array, vnet: VnetHeader | undefined): void {
    const upper = this.upper;
    if (upper === undefined) {
      this.stats.unboundDrops++;
      return;
    }
    // An offloaded connection's segment goes to its engine; everything else up (§4.12).
    if (this.chimneyProvider?.classify(frame, vnet) === true) return;
    this.stats.indicatedFrames++;
    upper.receiveNetBufferLists(frame, vnet);
  }

  onBatchEnd(): void {
    this.chimneyProvider?.batchEnd();
    this.upper?.receiveComplete();
  }
}
