/**
 * The hand-over record is complete by construction: every field of a live engine is classified
 * in src/tcp/handover.ts (carried in the chimney record, carried by the path, derived on import,
 * deliberately restarted, or per-engine). Adding engine state without deciding what the
 * hand-over does with it fails here.
 */
import { describe, expect, it } from 'vitest';
import { TcpConnection } from '../../../src/tcp/connection.js';
import { HANDOVER } from '../../../src/tcp/handover.js';
import { DEFAULT_TCP_CONFIG } from '../../../src/tcp/types.js';
import { SimScheduler } from '../../../src/wire/clock.js';
import { SeededRandom } from '../../../src/wire/random.js';
import { seq } from '../../../src/wire/seq.js';

function liveEngine(): TcpConnection {
  const clock = new SimScheduler(0);
  return TcpConnection.connect({
    config: DEFAULT_TCP_CONFIG,
    hooks: { clock, transmit: () => {}, event: () => {} },
    random: new SeededRandom(1),
    localPort: 40000,
    remotePort: 80,
    iss: seq(1000),
  });
}

describe('the hand-over record', () => {
  it('classifies every field of the engine, and names no field the engine does not have', () => {
    const fields = Object.keys(liveEngine()).sort();
    const classified = Object.keys(HANDOVER).sort();
    const unclassified = fields.filter((f) => !(f in HANDOVER));
    const stale = classified.filter((f) => !fields.includes(f));
    expect({ unclassified, stale }).toEqual({ unclassified: [], stale: [] });
  });

  it('says for every carried or derived field where it travels', () => {
    for (const [field, entry] of Object.entries(HANDOVER)) {
      expect([field, entry.via.length > 0]).toEqual([field, true]);
    }
  });
});
