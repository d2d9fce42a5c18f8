/**
 * A `LinkReceiver` for tests that records what a link delivers: a copy of every frame (the
 * views a link hands out are only valid during the call) and where each batch ended.
 */
import type { LinkReceiver } from '../../src/link/link.js';
import type { VnetHeader } from '../../src/wire/vnet.js';

export interface RecordedFrame {
  readonly frame: Uint8Array;
  readonly vnet: VnetHeader | undefined;
  /** Index of the batch the frame arrived in (0-based). */
  readonly batch: number;
  /** Time of arrival, when the recorder was given a clock. */
  readonly at: number | undefined;
}

export class LinkRecorder implements LinkReceiver {
  readonly frames: RecordedFrame[] = [];
  /** The views passed to onFrame, kept on purpose to show what a receiver that does not copy would see. */
  readonly views: Uint8Array[] = [];
  batches = 0;

  constructor(private readonly now?: () => number) {}

  onFrame(frame: Uint8Array, vnet: VnetHeader | undefined): void {
    this.views.push(frame);
    this.frames.push({ frame: frame.slice(), vnet, batch: this.batches, at: this.now?.() });
  }

  onBatchEnd(): void {
    this.batches++;
  }

  /** How many frames each batch held, by batch index. */
  batchSizes(): number[] {
    const out: number[] = [];
    for (const f of this.frames) out[f.batch] = (out[f.batch] ?? 0) + 1;
    return out;
  }
}
