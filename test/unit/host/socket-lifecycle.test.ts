/**
 * Socket lifecycle edge cases of the host stack against node:net semantics: state of accepted
 * sockets, data that arrived before the connection closed, events after destroy(), and the
 * idle timeout after it has fired once.
 */
import { describe, expect, it } from 'vitest';
import type { TcpSocket } from '../../../src/host/socket.js';
import { net, pattern } from './sim-net.js';

describe('host socket lifecycle', () => {
  it('an accepted socket is not connecting and its readyState is open', async () => {
    const n = net();
    let accepted: TcpSocket | undefined;
    n.b.createServer((s) => (accepted = s)).listen(7);
    const client = n.a.connect({ host: '198.18.0.2', port: 7 });
    await n.until(() => accepted !== undefined && !client.connecting);
    expect(accepted?.connecting).toBe(false);
    expect(accepted?.readyState).toBe('open');
    expect(client.readyState).toBe('open');
  });

  it('hands over data that arrived before the connection closed, even when read only afterwards', async () => {
    const n = net();
    const data = pattern(20_000);
    let accepted: TcpSocket | undefined;
    n.b.createServer((s) => (accepted = s)).listen(7);
    const client = n.a.connect({ host: '198.18.0.2', port: 7 });
    client.on('data', () => undefined);
    client.end(data);
    await n.until(() => accepted !== undefined);
    const server = accepted as TcpSocket;
    // The server does not read yet, answers and ends: its FIN is acknowledged and the
    // connection closes (LAST-ACK -> CLOSED) with the request still unread.
    await n.run(50);
    let closed = false;
    server.on('close', () => (closed = true));
    server.end('bye');
    await n.run(50);
    expect(server.readableLength + (server as unknown as { tcb: { engine: { readableLength: number } } }).tcb.engine.readableLength).toBe(data.length);
    const got: Buffer[] = [];
    let ended = false;
    server.on('data', (d: Buffer) => got.push(Buffer.from(d)));
    server.on('end', () => (ended = true));
    await n.until(() => ended && closed);
    expect(Buffer.concat(got).equals(data)).toBe(true);
  });

  it("emits 'timeout' again after activity once it has fired (node:net refreshes the timer on activity)", async () => {
    const n = net();
    let server: TcpSocket | undefined;
    n.b.createServer((s) => {
      server = s;
      s.resume();
    }).listen(21);
    const sock = n.a.connect({ host: '198.18.0.2', port: 21 });
    await n.until(() => server !== undefined);
    let timeouts = 0;
    sock.on('timeout', () => timeouts++);
    sock.setTimeout(1000);
    await n.run(1100);
    expect(timeouts).toBe(1);
    await n.run(3000);
    expect(timeouts).toBe(1);
    sock.write('activity');
    await n.run(1100);
    expect(timeouts).toBe(2);
    sock.destroy();
  });

  it('setTimeout rejects what node:net rejects (negative, NaN, Infinity, non-numbers)', () => {
    const n = net();
    const sock = n.a.connect({ host: '198.18.0.2', port: 7 });
    sock.on('error', () => undefined);
    for (const bad of [-1, Number.NaN, Infinity]) {
      expect(() => sock.setTimeout(bad), String(bad)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    }
    expect(() => sock.setTimeout('5' as unknown as number)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(sock.timeout).toBeUndefined();
    sock.destroy();
  });

  it("end() while connecting: 'finish' follows 'connect', and a refused connection never finishes (node:net _final)", async () => {
    const n = net();
    n.b.createServer((s) => s.resume()).listen(7);
    const track = (sock: TcpSocket): string[] => {
      const seen: string[] = [];
      for (const e of ['connect', 'finish', 'error', 'close']) sock.on(e, (x: unknown) => seen.push(e === 'error' ? `error:${(x as NodeJS.ErrnoException).code}` : e));
      return seen;
    };
    const ok = n.a.connect({ host: '198.18.0.2', port: 7 });
    const okSeen = track(ok);
    ok.resume();
    ok.end('request');
    const refused = n.a.connect({ host: '198.18.0.2', port: 8 });
    const refusedSeen = track(refused);
    refused.end('request');
    await n.run(100);
    expect(okSeen.slice(0, 2)).toEqual(['connect', 'finish']);
    expect(refusedSeen).toEqual(['error:ECONNREFUSED', 'close']);
    ok.destroy();
  });

  it('a connecting socket closes when the stack stops', async () => {
    const n = net({ latencyMs: 20 });
    n.b.createServer((s) => s.resume()).listen(7);
    const sock = n.a.connect({ host: '198.18.0.2', port: 7 });
    sock.end('request');
    let closed = false;
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined);
    await n.tick();
    n.a.stop();
    await n.run(10);
    expect(closed).toBe(true);
  });

  it('a refused connection is no longer connecting and its readyState is closed', async () => {
    const n = net();
    const sock = n.a.connect({ host: '198.18.0.2', port: 8 });
    let closed = false;
    sock.on('error', () => undefined);
    sock.on('close', () => (closed = true));
    await n.until(() => closed, 1000);
    expect(sock.connecting).toBe(false);
    expect(sock.readyState).toBe('closed');
  });

  it("write() while connecting calls back after 'connect', and with the error when the connection is refused (node:net)", async () => {
    const n = net({ latencyMs: 5 });
    n.b.createServer((s) => s.resume()).listen(7);
    const order: string[] = [];
    const ok = n.a.connect({ host: '198.18.0.2', port: 7 });
    ok.on('connect', () => order.push('connect'));
    ok.write('request', (err) => order.push(err ? `write:${(err as NodeJS.ErrnoException).code}` : 'write'));
    const refused = n.a.connect({ host: '198.18.0.2', port: 8 });
    const refusedOutcome: string[] = [];
    refused.on('error', (e: NodeJS.ErrnoException) => refusedOutcome.push(`error:${e.code}`));
    refused.write('request', (err) => refusedOutcome.push(err ? `write:${(err as NodeJS.ErrnoException).code}` : 'write'));
    await n.tick();
    expect(order).toEqual([]);
    await n.run(100);
    expect(order).toEqual(['connect', 'write']);
    expect(refusedOutcome).toContain('write:ECONNREFUSED');
    expect(refusedOutcome).not.toContain('write');
    ok.destroy();
  });
});
