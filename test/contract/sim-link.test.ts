import { SimLink } from '../../src/link/sim-link.js';
import { SimScheduler } from '../../src/wire/clock.js';
import { describeLinkContract } from './link-contract.js';

function simPair(options: Parameters<typeof SimLink.pair>[1] = {}) {
  return async () => {
    const scheduler = new SimScheduler();
    const [a, b] = SimLink.pair(scheduler, options);
    return {
      a,
      b,
      drive: async () => scheduler.advance((options.latencyMs ?? 0) + 1),
      cleanup: async () => {
        await a.close();
        await b.close();
      },
    };
  };
}

describeLinkContract('SimLink', simPair());
describeLinkContract('SimLink with latency, vnet and small batches', simPair({ latencyMs: 5, vnet: true, batchSize: 3 }));
