import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlRequest, defaultControlPath, jsonSafe, parseRequest, startControlServer, type ControlledEmulator } from '../../../src/cli/control.js';

describe('control protocol parsing', () => {
  it('accepts list and stats without a connection, and show with one', () => {
    expect(parseRequest('{"id":1,"op":"list"}')).toEqual({ request: { id: 1, op: 'list' } });
    expect(parseRequest('{"id":"a","op":"stats"}')).toEqual({ request: { id: 'a', op: 'stats' } });
    expect(parseRequest('{"id":2,"op":"show","conn":7}')).toEqual({ request: { id: 2, op: 'show', conn: 7 } });
  });

  it('answers a malformed line with an error carrying id null', () => {
    expect(parseRequest('{"id":1,"op":')).toEqual({ error: { id: null, ok: false, error: 'malformed request: not JSON' } });
    expect(parseRequest('[1,2]')).toEqual({ error: { id: null, ok: false, error: 'malformed request: expected a JSON object' } });
    expect(parseRequest('{"id":3}')).toEqual({ error: { id: 3, ok: false, error: 'malformed request: "op" must be a string' } });
  });

  it('refuses an unknown op and a missing or bad connection ID', () => {
    const r = parseRequest('{"id":4,"op":"reboot"}');
    expect('error' in r && r.error.ok === false && r.error.error).toMatch(/^unknown op 'reboot'/);
    const s = parseRequest('{"id":5,"op":"offload","conn":-1}');
    expect('error' in s && s.error.ok === false && s.error.error).toMatch(/"conn" must be a connection ID/);
    const t = parseRequest('{"id":6,"op":"query"}');
    expect('error' in t).toBe(true);
  });

  it('makes bigints and bytes JSON-safe', () => {
    expect(jsonSafe({ a: 5n, b: new Uint8Array(3), c: [1n], f: () => 1 })).toEqual({ a: '5', b: { bytes: 3 }, c: ['1'] });
  });

  it('picks XDG_RUNTIME_DIR for the default path', () => {
    expect(defaultControlPath({ XDG_RUNTIME_DIR: '/run/user/1000/' })).toBe('/run/user/1000/chimney.sock');
  });
});

describe('control server over a Unix socket', () => {
  const emulator: ControlledEmulator = {
    stack: {
      stats: { toJSON: () => ({ rxFrames: 1 }) },
      tcp: {
        connections: () => [],
        offloads: {
          options: { policy: 'manual' },
          stats: { offloads: 0 },
          offload: () => false,
          upload: () => false,
          query: () => false,
          onTransition: () => () => undefined,
        },
      },
    },
    target: { stats: { sentFrames: 2 } },
  };

  it('listens with mode 0600, answers, survives garbage, removes its file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chimney-ctl-'));
    const path = join(dir, 'c.sock');
    try {
      const server = await startControlServer(path, emulator, () => undefined);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const bad = await controlRequest(path, { id: 9, op: 'nope' });
      expect(bad).toMatchObject({ id: 9, ok: false });
      const unknown = await controlRequest(path, { id: 10, op: 'show', conn: 42 });
      expect(unknown).toEqual({ id: 10, ok: false, error: 'unknown connection 42' });
      const stats = await controlRequest(path, { id: 11, op: 'stats' });
      expect(stats).toMatchObject({ id: 11, ok: true, result: { host: { rxFrames: 1 }, target: { sentFrames: 2 }, drivers: [] } });
      const list = await controlRequest(path, { id: 12, op: 'list' });
      expect(list).toEqual({ id: 12, ok: true, result: [] });
      await server.close();
      expect(() => statSync(path)).toThrow();
      await expect(controlRequest(path, { id: 1, op: 'list' })).rejects.toThrow(/no emulator listening on .* \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
