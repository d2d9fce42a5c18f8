/** The `--serve http` service over the host stack, against requests a hostile or broken peer sends. */
import { describe, expect, it } from 'vitest';
import { startService } from '../../../src/cli/services.js';
import { net } from '../host/sim-net.js';

describe('--serve http', () => {
  it('answers a request-target that is not a valid URL with 400 and keeps serving', async () => {
    const n = net();
    const errors: Error[] = [];
    startService(n.b, { kind: 'http', port: 80 }, (e) => errors.push(e));
    const ask = async (target: string): Promise<string> => {
      const sock = n.a.connect({ host: '198.18.0.2', port: 80 });
      const got: Buffer[] = [];
      let closed = false;
      sock.on('data', (d: Buffer) => got.push(Buffer.from(d)));
      sock.on('error', () => undefined);
      sock.on('close', () => (closed = true));
      sock.end(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      await n.until(() => closed, 10_000);
      return Buffer.concat(got).toString('latin1');
    };
    for (const bad of ['http://[', 'http://%zz', '//[']) {
      expect(await ask(bad), bad).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(await ask('/')).toMatch(/^HTTP\/1\.1 200 /);
    expect(n.b.internalErrors).toBe(0);
    expect(errors).toEqual([]);
  });
});
