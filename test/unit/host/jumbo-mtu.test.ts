/**
 * Issue 7 item 7: the MSS follows the MTU the miniport reports (MTU - 40 over IPv4, MTU - 60
 * over IPv6, RFC 9293 §3.7.1 and RFC 8200 §5), not a fixed 1460: with MTU 9000 on both ends a
 * SYN carries MSS 8960 and data leaves in segments of up to 8960 bytes. A configured MSS and
 * a known path MTU still lower it.
 */
import { describe, expect, it } from 'vitest';
import { SimScheduler } from '../../../src/wire/clock.js';
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from '../../../src/wire/ethernet.js';
import { parseIpv4Address } from '../../../src/wire/addr.js';
import { parseIpv4 } from '../../../src/wire/ipv4.js';
import { parseIpv6 } from '../../../src/wire/ipv6.js';
import { TCP_SYN, parseTcp, type TcpRepr } from '../../../src/wire/tcp.js';
import { SimLink } from '../../../src/link/sim-link.js';
import type { Link, LinkReceiver } from '../../../src/link/link.js';
import type { HostStack } from '../../../src/host/stack.js';
import type { TcpConfig } from '../../../src/tcp/types.js';
import { makeStack, pattern } from './sim-net.js';

/** A link that hands every frame it receives to `seen` (a copy) before its receiver gets it. */
function recording(inner: Link, seen: Uint8Array[]): Link {
  return {
    get name() {
      return inner.name;
    },
    get mtu() {
      return inner.mtu;
    },
    get capabilities() {
      return inner.capabilities;
    },
    get stats() {
      return inner.stats;
    },
    setReceiver(receiver: LinkReceiver) {
      inner.setReceiver({
        onFrame: (frame, vnet) => {
          seen.push(frame.slice());
          receiver.onFrame(frame, vnet);
        },
        onBatchEnd: () => receiver.onBatchEnd(),
      });
    },
    send: (frame, vnet) => inner.send(frame, vnet),
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}

interface Jumbo {
  a: HostStack;
  b: HostStack;
  /** Frames A sent, as B received them. */
  fromA: Uint8Array[];
  until(cond: () => boolean): Promise<void>;
}

function jumboNet(mtu: number, tcp: Partial<TcpConfig> = {}): Jumbo {
  const scheduler = new SimScheduler();
  const [linkA, linkB] = SimLink.pair(scheduler, { latencyMs: 0.05, mtu });
  const fromA: Uint8Array[] = [];
  const a = makeStack(scheduler, linkA, 1, tcp);
  const b = makeStack(scheduler, recording(linkB, fromA), 2, tcp);
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const until = async (cond: () => boolean): Promise<void> => {
    for (let ms = 0; ms < 60_000; ms++) {
      await tick();
      if (cond()) return;
      scheduler.advance(1);
    }
    throw new Error('condition not met within 60 s of simulated time');
  };
  return { a, b, fromA, until };
}

/** The TCP segments among `frames`. */
function segments(frames: Uint8Array[]): TcpRepr[] {
  const out: TcpRepr[] = [];
  for (const f of frames) {
    const ethertype = ((f[12] as number) << 8) | (f[13] as number);
    if (ethertype === ETHERTYPE_IPV4) {
      const ip = parseIpv4(f.subarray(14));
      if (ip.ok && ip.value.protocol === 6) {
        const t = parseTcp(ip.value.payload);
        if (t.ok) out.push(t.value);
      }
    } else if (ethertype === ETHERTYPE_IPV6) {
      const ip = parseIpv6(f.subarray(14));
      if (ip.ok && ip.value.upperProtocol === 6) {
        const t = parseTcp(ip.value.upperPayload);
        if (t.ok) out.push(t.value);
      }
    }
  }
  return out;
}

async function transfer(n: Jumbo, host: string, bytes: number): Promise<{ received: number }> {
  let received = 0;
  n.b.createServer((s) => s.on('data', (d: Buffer) => (received += d.length))).listen(5001);
  const sock = n.a.connect({ host, port: 5001 });
  sock.write(pattern(bytes));
  sock.end();
  await n.until(() => received === bytes);
  return { received };
}

describe('MSS from the interface MTU', () => {
  it('issue 7 item 7: MTU 9000 → SYN carries MSS 8960, data segments up to 8960 bytes', async () => {
    // Without timestamps a full segment's payload is the whole MSS.
    const n = jumboNet(9000, { timestamps: false });
    await transfer(n, '198.18.0.2', 200_000);
    const segs = segments(n.fromA);
    const syn = segs.find((s) => s.flags & TCP_SYN);
    expect(syn?.options.mss).toBe(8960);
    const sizes = segs.map((s) => s.payload.length);
    expect(Math.max(...sizes)).toBe(8960);
    expect(Math.max(...n.fromA.map((f) => f.length))).toBe(9000 + 14);
    // B advertised the same, and each side's engine uses it.
    const conn = n.b.tcp.connections()[0]?.engine.info();
    expect(conn?.mss).toBe(8960);
    expect(conn?.peerMss).toBe(8960);
  });

  it('issue 7 item 7: MTU 9000 over IPv6 → MSS 8940, segments of 8940 minus the timestamps option', async () => {
    const n = jumboNet(9000);
    await transfer(n, '2001:2::2', 100_000);
    const segs = segments(n.fromA);
    expect(segs.find((s) => s.flags & TCP_SYN)?.options.mss).toBe(8940);
    expect(Math.max(...segs.map((s) => s.payload.length))).toBe(8940 - 12);
  });

  it('issue 7 item 7: a configured MSS and a known path MTU still lower the MSS', async () => {
    const capped = jumboNet(9000, { mss: 4000 });
    await transfer(capped, '198.18.0.2', 50_000);
    expect(segments(capped.fromA).find((s) => s.flags & TCP_SYN)?.options.mss).toBe(4000);

    const n = jumboNet(9000, { timestamps: false });
    n.a.pathCache.learn4(parseIpv4Address('198.18.0.2') as number, 2000);
    await transfer(n, '198.18.0.2', 50_000);
    const segs = segments(n.fromA);
    // The SYN advertises what the interface can receive (Linux advmss); sending follows the path.
    expect(segs.find((s) => s.flags & TCP_SYN)?.options.mss).toBe(8960);
    expect(Math.max(...segs.map((s) => s.payload.length))).toBe(2000 - 40);
  });
});
