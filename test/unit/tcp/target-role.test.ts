/**
 * The engine in the offload target's role (config.role 'target', reference §5.1.3, §7.5,
 * §4.7.2, §4.9, §11 item 1): where a host engine would end the connection itself, it asks to be
 * uploaded and freezes; it never originates an RST except for an abortive disconnect.
 */
import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../src/tcp/connection.js';
import type { TcpOffloadSnapshot } from '../../../src/tcp/offload-state.js';
import { TCP_RST, TCP_URG } from '../../../src/wire/tcp.js';
import { ACK, DATA, EngineHarness, FIN, TCP_ACK, TCP_FIN } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

function target(config: Record<string, unknown> = {}) {
  return EngineHarness.established({ iss: ISS, peerIss: PEER, config: { role: 'target', ...config } });
}

function uploadRequests(h: EngineHarness): string[] {
  return h.events.flatMap((e) => (e.type === 'upload-request' ? [e.reason] : []));
}

function rsts(h: EngineHarness): number {
  return h.sent.filter((s) => (s.flags & TCP_RST) !== 0).length;
}

describe('TcpConnection in the target role', () => {
  it('the retransmission limit asks for an upload (TimeoutExpiration) instead of resetting, and the engine freezes', () => {
    const h = target({ maxRetransmits: 3 });
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.runUntil(h.now + 600_000);
    expect(uploadRequests(h)).toEqual(['retransmit-limit']);
    expect(rsts(h)).toBe(0);
    expect(h.conn.state).toBe('ESTABLISHED');
    const sent = h.sent.length;
    expect(h.send(ACK(PEER + 1, ISS + 1))).toBe('tcp-upload-pending');
    h.runUntil(h.now + 600_000);
    expect(h.sent.length).toBe(sent);
    expect(h.conn.nextDeadline()).toBe(Infinity);
    // The frozen state still exports, with the outstanding data.
    const snap = h.conn.exportState();
    expect(snap.sendData.reduce((n, c) => n + c.length, 0)).toBe(100);
  });

  it('exhausted keepalive probes ask for an upload; no RST', () => {
    const h = target({ keepAlive: { enabled: true, idleMs: 1000, intervalMs: 500, probes: 2 } });
    h.runUntil(h.now + 10_000);
    expect(uploadRequests(h)).toEqual(['keepalive-exhausted']);
    expect(rsts(h)).toBe(0);
  });

  it('FIN-WAIT-2 runs its timer without an orphan; on expiry the state is CLOSED and an upload is asked for', () => {
    const h = target({ finWait2TimeoutMs: 120_000 });
    h.conn.shutdown();
    h.poll();
    h.expect({ flags: TCP_FIN | TCP_ACK });
    h.send(ACK(PEER + 1, ISS + 2));
    expect(h.conn.state).toBe('FIN-WAIT-2');
    h.runUntil(h.now + 119_000);
    expect(uploadRequests(h)).toEqual([]);
    h.runUntil(h.now + 2_000);
    expect(uploadRequests(h)).toEqual(['fin-wait-2-timeout']);
    expect(h.conn.state).toBe('CLOSED');
    expect(rsts(h)).toBe(0);
  });

  it('entering TIME-WAIT asks for an upload; the target runs no 2 MSL timer', () => {
    const h = target();
    h.conn.shutdown();
    h.poll();
    h.send(ACK(PEER + 1, ISS + 2));
    h.send(FIN(PEER + 1, ISS + 2));
    expect(h.conn.state).toBe('TIME-WAIT');
    expect(uploadRequests(h)).toEqual(['time-wait']);
    expect(h.conn.nextDeadline()).toBe(Infinity);
  });

  it('urgent data is neither processed nor acknowledged: ReceivedUrgentData, and later segments are held too', () => {
    const h = target();
    h.send(DATA(PEER + 1, ISS + 1, 10));
    h.sent.length = 0;
    const verdict = h.send({ seq: PEER + 11, ack: ISS + 1, flags: TCP_ACK | TCP_URG, payload: 5 });
    expect(verdict).toBe('tcp-upload-pending');
    expect(uploadRequests(h)).toEqual(['urgent-data']);
    expect(h.send(DATA(PEER + 16, ISS + 1, 5))).toBe('tcp-upload-pending');
    expect(h.sent.filter((s) => s.ackNumber === PEER + 16 || s.ackNumber === PEER + 21)).toEqual([]);
    expect(h.conn.readableLength).toBe(10);
  });

  it('the host role keeps ending connections itself (ETIMEDOUT after the retransmission limit)', () => {
    const h = EngineHarness.established({ iss: ISS, peerIss: PEER, config: { maxRetransmits: 3 } });
    h.conn.write(new Uint8Array(100));
    h.poll();
    h.runUntil(h.now + 600_000);
    expect(h.conn.state).toBe('CLOSED');
    expect(uploadRequests(h)).toEqual([]);
  });
});

describe('QueryOffload and the validating import', () => {
  it('queryState reads the live values and changes nothing: the connection goes on sending', () => {
    const h = EngineHarness.established({ iss: ISS, peerIss: PEER });
    h.conn.write(new Uint8Array(3000));
    h.poll();
    h.send(DATA(PEER + 1, ISS + 1 + 1460, 200), false);
    const q = h.conn.queryState();
    expect(q.delegated.SndUna).toBe(ISS + 1 + 1460);
    expect(q.delegated.RcvNxt).toBe(PEER + 201);
    expect(q.delegated.ReceiveBacklogSize).toBe(200);
    expect(q.delegated.SendBacklogSize).toBeGreaterThan(0);
    // The query sent nothing, not even the ACK owed for the 200 bytes; the engine still owns
    // the connection and sends it when its delayed-ACK timer fires.
    expect(h.sent.filter((s) => s.ackNumber === PEER + 201)).toEqual([]);
    h.runUntil(h.now + 500);
    expect(h.sent.filter((s) => s.ackNumber === PEER + 201).length).toBeGreaterThan(0);
    const exported = h.conn.exportState();
    expect(exported.delegated.SendBacklogSize).toBeUndefined();
  });

  it('importOffloadState answers a broken record with its reason and a good one with an engine', () => {
    const h = EngineHarness.established({ iss: ISS, peerIss: PEER });
    const snap = h.conn.exportState();
    const bad = structuredClone(snap);
    bad.delegated.SndNxt = (bad.delegated.SndUna - 5) >>> 0;
    const args = { config: { ...h.config, role: 'target' as const }, hooks: h.hooks, random: h.random };
    const refused = EngineHarnessImport(args, bad);
    expect(refused.reason).toContain('SndNxt');
    const ok = EngineHarnessImport(args, snap);
    expect(ok.connection?.state).toBe('ESTABLISHED');
  });
});

function EngineHarnessImport(args: Parameters<typeof TcpConnection.importOffloadState>[0] extends infer A ? Omit<A, 'snapshot'> : never, snapshot: TcpOffloadSnapshot) {
  return TcpConnection.importOffloadState({ ...args, snapshot });
}
