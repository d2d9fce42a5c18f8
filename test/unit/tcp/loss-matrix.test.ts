/**
 * Loss recovery as a whole, as a regression guard with thresholds: 20 MB bulk transfers over
 * a 0.1 ms round trip with random loss in both directions (data and ACKs), where every
 * retransmission timeout costs 2000 round trips (rtoMinMs 200). RACK-TLP and the rescue
 * probes must recover nearly every loss without the RTO.
 *
 * Two levels: two host stacks back to back over SimLink with netem-style impairment on one
 * side (each frame meets the impairment twice there, tx and rx, so a loss rate p per hop is
 * nearly 2p per direction; the configuration of the original measurements), and two bare
 * engines over the test Wire.
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../../src/wire/addr.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { ImpairLink, type ImpairConfig } from '../../../src/link/impair.js';
import type { Link } from '../../../src/link/link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindProtocol } from '../../../src/ndis/binding.js';
import { HostStack } from '../../../src/host/stack.js';
import { Wire, type PathOptions } from '../../helpers/segments.js';

const BYTES = 20_000_000;

function makeStack(scheduler: SimScheduler, link: Link, n: number): HostStack {
  const mac = Uint8Array.of(2, 0, 0, 0, 0, n);
  const target = new OffloadTarget({ link, macAddress: mac });
  const stack = new HostStack({
    interface: { mac, ipv4: { address: parseIpv4Address(`198.18.0.${n}`) as number, prefixLength: 24 } },
    scheduler,
    random: new SeededRandom(n),
    secret: new Uint8Array(32).fill(n),
    dadTransmits: 0,
  });
  bindProtocol(stack, target);
  void stack.start();
  return stack;
}

interface HostRun {
  done: boolean;
  simMs: number;
  retransmits: number;
  timeouts: number;
  /** Frames the impairment dropped, both directions. */
  lostFrames: number;
}

/** 20 MB from host stack A to host stack B, both links impaired as configured. */
async function hostTransfer(impair: ImpairConfig): Promise<HostRun> {
  const scheduler = new SimScheduler();
  const [la, lb] = SimLink.pair(scheduler, { latencyMs: 0.05 });
  const ia = new ImpairLink(la, scheduler, { ...impair, seed: 3 });
  const ib = new ImpairLink(lb, scheduler, { ...impair, seed: 4 });
  const a = makeStack(scheduler, ia, 1);
  const b = makeStack(scheduler, ib, 2);
  let done = false;
  b.createServer((s) => {
    s.on('data', () => undefined);
    s.on('end', () => {
      done = true;
      s.end();
    });
  }).listen(9);
  const sock = a.connect({ host: '198.18.0.2', port: 9 });
  sock.end(Buffer.alloc(BYTES, 7));
  const t0 = scheduler.now();
  while (!done && scheduler.now() - t0 < 120_000) {
    await new Promise((resolve) => setImmediate(resolve));
    scheduler.advance(0.5);
  }
  const totals = a.tcp.totals();
  const lost = (l: ImpairLink): number => l.impairStats.rx.lost + l.impairStats.tx.lost;
  return { done, simMs: scheduler.now() - t0, retransmits: totals.retransmits, timeouts: totals.timeouts, lostFrames: lost(ia) + lost(ib) };
}

describe('20 MB between two host stacks at 0.1 ms RTT with random loss both ways', () => {
  it('a clean path needs no retransmission at all', async () => {
    const r = await hostTransfer({});
    expect(r.done).toBe(true);
    expect(r.retransmits).toBe(0);
    expect(r.timeouts).toBe(0);
  });

  // Before RACK-TLP: 4.2 s / 19 timeouts, 27.8 s / 123, 106.9 s / 330 of simulated time.
  const matrix = [
    { loss: 0.005, maxSimMs: 500 },
    { loss: 0.02, maxSimMs: 1500 },
    { loss: 0.05, maxSimMs: 10_000 },
  ];
  for (const m of matrix) {
    it(`recovers ${m.loss * 100}% loss per hop with timeouts under 5% of the losses, in under ${m.maxSimMs} ms`, async () => {
      const r = await hostTransfer({ loss: m.loss });
      expect(r.done).toBe(true);
      expect(r.lostFrames).toBeGreaterThan(0);
      expect(r.timeouts).toBeLessThan(0.05 * r.lostFrames);
      expect(r.simMs).toBeLessThan(m.maxSimMs);
    });
  }
});

describe('20 MB between two engines over the test wire', () => {
  function engineTransfer(path: PathOptions) {
    const w = new Wire({ seed: 5, pathAB: path });
    w.connect();
    w.transfer(BYTES, 0);
    const t0 = w.now;
    w.run(t0 + 600_000, () => w.done());
    return { w, simMs: w.now - t0, info: w.a.conn.info() };
  }

  // Before RACK-TLP: 1.3 s / 6 timeouts, 8.8 s / 39, 25.1 s / 105.
  const matrix = [
    { loss: 0.005, maxSimMs: 300, maxTimeouts: 1 },
    { loss: 0.02, maxSimMs: 1000, maxTimeouts: 3 },
    { loss: 0.05, maxSimMs: 3000, maxTimeouts: 10 },
  ];
  for (const m of matrix) {
    it(`recovers ${m.loss * 100}% loss both ways at 0.1 ms RTT with at most ${m.maxTimeouts} timeouts`, () => {
      const { w, simMs, info } = engineTransfer({ delayMs: 0.05, loss: m.loss });
      expect(w.done()).toBe(true);
      expect(info.timeouts).toBeLessThanOrEqual(m.maxTimeouts);
      expect(simMs).toBeLessThan(m.maxSimMs);
    });
  }

  it('retransmits nothing on a clean path', () => {
    const { w, info } = engineTransfer({ delayMs: 0.05 });
    expect(w.done()).toBe(true);
    expect(info.totalRetransmits).toBe(0);
    expect(w.a.retransmittedBytes).toBe(0);
  });

  it('tells 2% reordering by 1 ms from loss on a 2 ms path (before RACK: 151 spurious retransmissions)', () => {
    const { w, info } = engineTransfer({ delayMs: 1, reorder: 0.02, reorderDelayMs: 1 });
    expect(w.done()).toBe(true);
    expect(w.reordered).toBeGreaterThan(300);
    expect(info.totalRetransmits).toBeLessThanOrEqual(5);
    expect(info.timeouts).toBe(0);
  });
});
