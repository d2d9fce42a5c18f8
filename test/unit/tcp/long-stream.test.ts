/**
 * A stream longer than 2^31 bytes: sequence-number markers that trail SND.UNA must not go
 * stale (modular comparisons only hold within 2^31, RFC 9293 §3.4). Runs two engines back to
 * back in memory without the byte-checking wire, to stay fast.
 */
import { expect, it } from 'vitest';
import { TcpConnection } from '../../../src/tcp/connection.js';
import { DEFAULT_TCP_CONFIG, type TcpConfig, type TcpSegmentOut } from '../../../src/tcp/types.js';
import type { Clock } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq } from '../../../src/wire/seq.js';
import type { TcpRepr } from '../../../src/wire/tcp.js';

class Clk implements Clock {
  t = 0;
  now(): number {
    return this.t;
  }
}

function toRepr(s: TcpSegmentOut): TcpRepr {
  const payload = new Uint8Array(s.payloadLength);
  s.copyPayload(payload, 0);
  const o = s.options;
  return {
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seqNumber: s.seqNumber,
    ackNumber: s.ackNumber,
    flags: s.flags,
    windowLen: s.windowLen,
    urgentPointer: 0,
    options: {
      mss: o.mss,
      windowScale: o.windowScale,
      sackPermitted: o.sackPermitted,
      timestamps: o.timestamps && { tsVal: o.timestamps.tsVal, tsEcr: o.timestamps.tsEcr },
      sackBlocks: o.sackBlocks?.map((b) => ({ left: b.left, right: b.right })),
    },
    payload,
  };
}

it('recovers from a loss by fast retransmit after more than 2^31 bytes without one', () => {
  const clock = new Clk();
  const config: TcpConfig = { ...DEFAULT_TCP_CONFIG, rcvBufSize: 4 << 20, sndBufSize: 4 << 20, reassemblyLimitBytes: 4 << 20 };
  let ab: TcpRepr[] = [];
  let ba: TcpRepr[] = [];
  const total = 2.25 * 2 ** 30;
  let sent = 0;
  let dropAt = -1;
  let dropped = false;
  const a = TcpConnection.connect({
    config,
    hooks: {
      clock,
      transmit: (s) => {
        sent += s.payloadLength;
        // Lose one data segment once 2.2 GiB have gone out.
        if (!dropped && s.payloadLength > 0 && sent > 2.2 * 2 ** 30) {
          dropped = true;
          dropAt = s.seqNumber;
          return;
        }
        ab.push(toRepr(s));
      },
      event: () => undefined,
    },
    random: new SeededRandom(1),
    localPort: 1,
    remotePort: 2,
    iss: seq(12345),
  });
  let b: TcpConnection | undefined;
  const bHooks = { clock, transmit: (s: TcpSegmentOut) => ba.push(toRepr(s)), event: () => undefined };
  a.poll();
  b = TcpConnection.accept({ config, hooks: bHooks, random: new SeededRandom(2), localPort: 2, remotePort: 1, iss: seq(999), syn: ab.shift() as TcpRepr });
  const chunk = new Uint8Array(1 << 20);
  let written = 0;
  let received = 0;
  for (let round = 0; received < total && round < 5_000_000; round++) {
    while (written < total && a.sendQueueLength < config.sndBufSize && a.state === 'ESTABLISHED') {
      a.write(chunk);
      written += chunk.length;
    }
    a.poll();
    const toB = ab;
    ab = [];
    for (let i = 0; i < toB.length; i++) {
      b.input(toB[i] as TcpRepr);
      if (i % 32 === 31) b.poll();
    }
    for (let v = b.read(); v !== undefined; v = b.read()) received += v.length;
    b.poll();
    const toA = ba;
    ba = [];
    for (const r of toA) a.input(r);
    clock.t += 0.05;
    if (a.nextDeadline() <= clock.t) a.onTimer();
    if (b.nextDeadline() <= clock.t) b.onTimer();
  }
  expect(dropped).toBe(true);
  expect(dropAt).toBeGreaterThanOrEqual(0);
  expect(received).toBeGreaterThanOrEqual(total);
  const info = a.info();
  expect(info.fastRetransmits).toBe(1);
  expect(info.timeouts).toBe(0);
  expect(info.totalRetransmits).toBe(1);
});
