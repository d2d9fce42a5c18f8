/**
 * The wrappers must keep the Link contract of what they wrap: the same suite, run on each
 * wrapper around a SimLink pair with the wrapper doing nothing that changes delivery.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImpairLink } from '../../src/link/impair.js';
import type { Link } from '../../src/link/link.js';
import { PcapLink } from '../../src/link/pcapng.js';
import { SimLink } from '../../src/link/sim-link.js';
import { TraceLink } from '../../src/link/trace.js';
import { SimScheduler } from '../../src/wire/clock.js';
import { describeLinkContract } from './link-contract.js';

function wrapped(wrap: (link: Link, scheduler: SimScheduler, dir: string) => Link) {
  return async () => {
    const scheduler = new SimScheduler();
    const dir = mkdtempSync(join(tmpdir(), 'chimney-contract-'));
    const [sa, sb] = SimLink.pair(scheduler, { latencyMs: 1 });
    const a = wrap(sa, scheduler, dir);
    const b = wrap(sb, scheduler, dir);
    return {
      a,
      b,
      drive: async () => scheduler.advance(2),
      cleanup: async () => {
        await a.close();
        await b.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

describeLinkContract('ImpairLink without effects', wrapped((link, s) => new ImpairLink(link, s, {})));
describeLinkContract(
  'PcapLink',
  wrapped((link, s, dir) => new PcapLink(link, { path: join(dir, `${link.name}.pcapng`), writerOptions: { clock: s, flushIntervalMs: 0 } })),
);
describeLinkContract('TraceLink', wrapped((link, s) => new TraceLink(link, { sink: () => undefined, clock: s })));
