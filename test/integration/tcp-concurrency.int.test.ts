/**
 * 1,000 concurrent connections from a node:net client in the namespace to the host stack's
 * echo service, each sending 64 KB of its own random data and checking the echo byte for
 * byte. Exercises the listener (SYN backlog), the demultiplexer, the shared timer queue and
 * memory under many simultaneous streams.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startService } from '../../src/cli/services.js';
import { describePrivileged } from '../helpers/root.js';
import { CleanupStack } from '../helpers/tap-netns.js';
import { nsh, startTestEmulator } from '../helpers/emulator.js';

const NS = 'chc-ns';
const TAP = 'chctap0';

const CLIENT = `
const net = require('node:net');
const crypto = require('node:crypto');
const [host, count, size] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
let ok = 0, bad = 0, errors = 0, finished = 0;
const started = Date.now();
for (let i = 0; i < count; i++) {
  const data = crypto.randomBytes(size);
  const chunks = [];
  const s = net.connect({ host, port: 7 });
  s.on('connect', () => s.end(data));
  s.on('data', (d) => chunks.push(d));
  s.on('end', () => { Buffer.concat(chunks).equals(data) ? ok++ : bad++; done(); });
  s.on('error', (e) => { errors++; console.error(i, e.code || e.message); done(); });
}
function done() {
  if (++finished === count) console.log(JSON.stringify({ ok, bad, errors, ms: Date.now() - started }));
}
`;

let cleanup: CleanupStack;

beforeEach(() => {
  cleanup = new CleanupStack();
});

afterEach(async () => {
  await cleanup.run();
});

describePrivileged('many concurrent connections', () => {
  it('echoes 64 KB on each of 1,000 concurrent connections, all byte-exact', async () => {
    const emulator = await startTestEmulator({ tap: TAP, netns: NS }, cleanup);
    const echo = startService(emulator.stack, { kind: 'echo', port: 7 }, (e) => {
      throw e;
    });
    cleanup.defer(() => echo.close());
    // The kernel client needs file descriptors for 1,000 sockets.
    const r = await nsh(NS, ['sh', '-c', `ulimit -n 4096 && exec node -e "$0" 198.18.0.2 1000 65536`, CLIENT], { timeoutMs: 170_000, allowFail: true });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: 1000, bad: 0, errors: 0 });
    expect(emulator.stack.stats.tcpPassiveOpens).toBe(1000);
    expect(emulator.stack.internalErrors).toBe(0);
  }, 180_000);
});
