/**
 * Two host stacks back to back over a simulated link in simulated time, optionally with the
 * impairment stage on A's side: the harness of the host socket tests.
 */
import { parseIpv4Address, parseIpv6Address } from '../../../src/wire/addr.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { SimLink } from '../../../src/link/sim-link.js';
import { ImpairLink, type ImpairConfig } from '../../../src/link/impair.js';
import type { Link } from '../../../src/link/link.js';
import { OffloadTarget } from '../../../src/target/target.js';
import { bindThroughDrivers } from '../../../src/im/stack.js';
import type { ImDriver } from '../../../src/im/im-driver.js';
import { HostStack } from '../../../src/host/stack.js';
import type { TcpConfig } from '../../../src/tcp/types.js';
import type { OffloadOptions } from '../../../src/host/offload.js';
import type { TargetCapabilities } from '../../../src/target/chimney.js';

export interface Net {
  scheduler: SimScheduler;
  a: HostStack;
  b: HostStack;
  linkA: SimLink;
  linkB: SimLink;
  tick(): Promise<void>;
  run(ms: number): Promise<void>;
  until(cond: () => boolean, limitMs?: number): Promise<void>;
}

export interface ChimneySetup {
  readonly offload: OffloadOptions;
  readonly capabilities?: Partial<TargetCapabilities>;
  /** Intermediate drivers between the stack and its target, top first. */
  readonly drivers?: readonly ImDriver[];
}

export function makeStack(scheduler: SimScheduler, link: Link, n: number, tcp: Partial<TcpConfig> = {}, chimney?: ChimneySetup): HostStack {
  const mac = Uint8Array.of(2, 0, 0, 0, 0, n);
  const target = new OffloadTarget({
    link,
    macAddress: mac,
    chimney: chimney === undefined ? undefined : { scheduler, random: new SeededRandom(100 + n), capabilities: chimney.capabilities },
  });
  const stack = new HostStack({
    interface: {
      mac,
      ipv4: { address: parseIpv4Address(`198.18.0.${n}`) as number, prefixLength: 24 },
      ipv6: { address: parseIpv6Address(`2001:2::${n}`) as Uint8Array, prefixLength: 64 },
    },
    scheduler,
    random: new SeededRandom(n),
    secret: new Uint8Array(32).fill(n),
    dadTransmits: 0,
    tcp,
    offload: chimney?.offload,
  });
  bindThroughDrivers(stack, chimney?.drivers ?? [], target);
  targets.set(stack, target);
  void stack.start();
  return stack;
}

/** The target under each stack made here (tests of the chimney look at it). */
export const targets = new WeakMap<HostStack, OffloadTarget>();

export function net(options: { latencyMs?: number; impair?: ImpairConfig; tcp?: Partial<TcpConfig>; vnet?: boolean; chimneyA?: ChimneySetup } = {}): Net {
  const scheduler = new SimScheduler();
  const [linkA, linkB] = SimLink.pair(scheduler, { latencyMs: options.latencyMs ?? 0.05, vnet: options.vnet ?? false });
  const la: Link = options.impair === undefined ? linkA : new ImpairLink(linkA, scheduler, options.impair);
  const a = makeStack(scheduler, la, 1, options.tcp, options.chimneyA);
  const b = makeStack(scheduler, linkB, 2, options.tcp);
  // Streams and the stack's end-of-turn flush run on the microtask and immediate queues:
  // let them run between every millisecond of simulated time.
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const run = async (ms: number): Promise<void> => {
    const end = scheduler.now() + ms;
    while (scheduler.now() < end) {
      await tick();
      scheduler.advance(Math.min(1, end - scheduler.now()));
    }
    await tick();
  };
  const until = async (cond: () => boolean, limitMs = 120_000): Promise<void> => {
    const end = scheduler.now() + limitMs;
    for (;;) {
      await tick();
      if (cond()) return;
      if (scheduler.now() >= end) throw new Error(`condition not met within ${limitMs} ms of simulated time`);
      scheduler.advance(1);
    }
  };
  return { scheduler, a, b, linkA, linkB, tick, run, until };
}

export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
