import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../src/tcp/connection.js';
import { cookieTsClock, decodeSynCookie, encodeSynCookie, synCookieSynAck, type SynCookieTuple } from '../../../src/tcp/syn-cookie.js';
import { DEFAULT_TCP_CONFIG, type TcpEvent, type TcpSegmentOut } from '../../../src/tcp/types.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq, seqAdd } from '../../../src/wire/seq.js';
import { TCP_ACK, TCP_SYN, type TcpOptions, type TcpRepr } from '../../../src/wire/tcp.js';
import { capture, type Captured } from '../../helpers/segments.js';

const SECRET = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const TUPLE: SynCookieTuple = { localAddr: Uint8Array.of(198, 18, 0, 1), localPort: 80, remoteAddr: Uint8Array.of(198, 18, 0, 2), remotePort: 40000 };
const CONFIG = DEFAULT_TCP_CONFIG;

function syn(options: TcpOptions, isn = 0x12345678): TcpRepr {
  return { srcPort: 40000, dstPort: 80, seqNumber: seq(isn), ackNumber: seq(0), flags: TCP_SYN, windowLen: 65535, urgentPointer: 0, options, payload: new Uint8Array(0) };
}

function ackFor(s: TcpRepr, iss: number, tsEcr?: number, tsVal = 777): TcpRepr {
  return {
    srcPort: 40000,
    dstPort: 80,
    seqNumber: seqAdd(s.seqNumber, 1),
    ackNumber: seqAdd(seq(iss), 1),
    flags: TCP_ACK,
    windowLen: 1000,
    urgentPointer: 0,
    options: tsEcr !== undefined ? { timestamps: { tsVal, tsEcr } } : {},
    payload: new Uint8Array(0),
  };
}

const FULL: TcpOptions = { mss: 1460, windowScale: 7, sackPermitted: true, timestamps: { tsVal: 555, tsEcr: 0 } };

describe('SYN cookies (Linux scheme)', () => {
  it('round-trips MSS, window scale and SACK-permitted through the timestamp', () => {
    const now = 10 * 60_000 + 1234;
    const s = syn(FULL);
    const c = encodeSynCookie(SECRET, now, TUPLE, s, CONFIG);
    expect(c.peerMss).toBe(1460);
    expect(c.windowScaling).toBe(true);
    expect(c.sackPermitted).toBe(true);
    const d = decodeSynCookie(SECRET, now + 500, TUPLE, ackFor(s, c.iss, c.tsVal), CONFIG);
    expect(d).toEqual({ iss: c.iss, irs: s.seqNumber, peerMss: 1460, peerWindowScale: 7, sackPermitted: true, tsRecent: 777 });
  });

  it('encodes the largest table MSS not above the offered one', () => {
    for (const [offered, want] of [
      [1460, 1460],
      [1452, 1440],
      [1400, 1300],
      [1000, 536],
      [200, 536],
    ] as const) {
      const s = syn({ mss: offered });
      const c = encodeSynCookie(SECRET, 0, TUPLE, s, CONFIG);
      expect(c.peerMss).toBe(want);
      expect(decodeSynCookie(SECRET, 0, TUPLE, ackFor(s, c.iss), CONFIG)?.peerMss).toBe(want);
    }
  });

  it('uses the IPv6 MSS table for 16-byte addresses', () => {
    const v6: SynCookieTuple = { ...TUPLE, localAddr: new Uint8Array(16).fill(1), remoteAddr: new Uint8Array(16).fill(2) };
    const s = syn({ mss: 1430 });
    const c = encodeSynCookie(SECRET, 0, v6, s, CONFIG);
    expect(c.peerMss).toBe(1400);
    expect(decodeSynCookie(SECRET, 0, v6, ackFor(s, c.iss), CONFIG)?.peerMss).toBe(1400);
  });

  it('drops window scale and SACK when the SYN has no timestamps', () => {
    const s = syn({ mss: 1460, windowScale: 7, sackPermitted: true });
    const c = encodeSynCookie(SECRET, 0, TUPLE, s, CONFIG);
    expect(c.tsVal).toBeUndefined();
    expect(c.windowScaling).toBe(false);
    expect(c.sackPermitted).toBe(false);
    const reply = synCookieSynAck(CONFIG, s, c);
    expect(reply.options.windowScale).toBeUndefined();
    expect(reply.options.sackPermitted).toBeUndefined();
    expect(reply.options.timestamps).toBeUndefined();
    const d = decodeSynCookie(SECRET, 0, TUPLE, ackFor(s, c.iss), CONFIG);
    expect(d?.peerWindowScale).toBeUndefined();
    expect(d?.sackPermitted).toBe(false);
  });

  it('never puts a TSval ahead of the timestamp clock', () => {
    for (let t = 0; t < 200; t += 7) {
      const c = encodeSynCookie(SECRET, 1_000_000 + t, TUPLE, syn(FULL), CONFIG);
      const clock = cookieTsClock(1_000_000 + t, CONFIG.ticksPerSecond);
      expect(((clock - (c.tsVal as number)) | 0) >= 0).toBe(true);
      expect(((clock - (c.tsVal as number)) | 0) < 128).toBe(true);
    }
  });

  it('accepts a cookie in the next minute and rejects it two minutes later', () => {
    const s = syn(FULL);
    const made = 5 * 60_000 + 59_000;
    const c = encodeSynCookie(SECRET, made, TUPLE, s, CONFIG);
    expect(decodeSynCookie(SECRET, made + 60_000, TUPLE, ackFor(s, c.iss, c.tsVal), CONFIG)).toBeDefined();
    expect(decodeSynCookie(SECRET, made + 121_000, TUPLE, ackFor(s, c.iss, c.tsVal), CONFIG)).toBeUndefined();
  });

  it('rejects forged cookies: a wrong ACK number, another tuple, another secret, another peer ISN', () => {
    // (As in Linux, the peer ISN enters the cookie additively next to the 2-bit MSS index, so
    // an ISN off by less than 4 can decode to a neighbouring index; a different ISN cannot.)
    const s = syn(FULL);
    const c = encodeSynCookie(SECRET, 0, TUPLE, s, CONFIG);
    expect(decodeSynCookie(SECRET, 0, TUPLE, ackFor(s, (c.iss + 1) >>> 0, c.tsVal), CONFIG)).toBeUndefined();
    expect(decodeSynCookie(SECRET, 0, { ...TUPLE, remotePort: 40001 }, ackFor(s, c.iss, c.tsVal), CONFIG)).toBeUndefined();
    expect(decodeSynCookie(SECRET.map((b) => b ^ 1), 0, TUPLE, ackFor(s, c.iss, c.tsVal), CONFIG)).toBeUndefined();
    expect(decodeSynCookie(SECRET, 0, TUPLE, ackFor(syn(FULL, 0x12355678), c.iss, c.tsVal), CONFIG)).toBeUndefined();
  });

  it('rejects random guesses except at the designed rate (about 4 in 2^24)', () => {
    const r = new SeededRandom(5);
    const s = syn(FULL);
    let passed = 0;
    for (let i = 0; i < 20000; i++) if (decodeSynCookie(SECRET, 0, TUPLE, ackFor(s, r.nextU32()), CONFIG)) passed++;
    expect(passed).toBe(0);
  });

  it('rejects segments other than a plain ACK', () => {
    const s = syn(FULL);
    const c = encodeSynCookie(SECRET, 0, TUPLE, s, CONFIG);
    const a = ackFor(s, c.iss, c.tsVal);
    expect(decodeSynCookie(SECRET, 0, TUPLE, { ...a, flags: TCP_ACK | TCP_SYN }, CONFIG)).toBeUndefined();
  });

  it('builds an ESTABLISHED connection that honours what the SYN-ACK promised', () => {
    const clock = new SimScheduler(3 * 60_000);
    const s = syn(FULL);
    const c = encodeSynCookie(SECRET, clock.now(), TUPLE, s, CONFIG);
    const synAck = synCookieSynAck(CONFIG, s, c);
    expect(synAck.flags).toBe(TCP_SYN | TCP_ACK);
    expect(synAck.options.windowScale).toBe(5);
    clock.advance(20);
    const ack = ackFor(s, c.iss, c.tsVal);
    const d = decodeSynCookie(SECRET, clock.now(), TUPLE, ack, CONFIG);
    if (d === undefined) throw new Error('cookie rejected');
    const sent: Captured[] = [];
    const events: TcpEvent[] = [];
    const conn = TcpConnection.fromSynCookie({
      config: CONFIG,
      hooks: { clock, transmit: (x: TcpSegmentOut) => sent.push(capture(x, clock.now())), event: (e) => events.push(e) },
      random: new SeededRandom(1),
      localPort: 80,
      remotePort: 40000,
      ack,
      ...d,
    });
    expect(conn.state).toBe('ESTABLISHED');
    expect(events).toEqual([]);
    expect(conn.input(ack)).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['established']);
    conn.write(new Uint8Array(3000));
    conn.poll();
    const first = sent[0] as Captured;
    expect(first.seqNumber).toBe(seqAdd(c.iss, 1));
    expect(first.ackNumber).toBe(seqAdd(s.seqNumber, 1));
    expect(first.payload.length).toBe(1448);
    // The peer's window of 1000 is scaled by its shift of 7.
    expect(conn.info().sndWnd).toBe(1000 << 7);
    // TSvals continue from the cookie's timestamp clock: never below the SYN-ACK's TSval.
    expect(((first.options.timestamps?.tsVal as number) - (c.tsVal as number)) | 0).toBeGreaterThanOrEqual(0);
    expect(first.options.timestamps?.tsEcr).toBe(777);
    expect(conn.info().sack).toBe(true);
  });
});
