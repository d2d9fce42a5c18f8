import { describe, expect, it } from 'vitest';
import type { OffloadContextValue } from '../../../src/ndis/structures.js';
import { ContextTable } from '../../../src/target/context-table.js';

describe('ContextTable: the only place that mints MiniportOffloadContext values', () => {
  it('a minted value finds its context; a freed one never does again, even when its slot is reused', () => {
    const table = new ContextTable<string>();
    const a = table.mint('tcp', 'A') as OffloadContextValue;
    expect(table.lookup(a, 'tcp')).toBe('A');
    expect(table.free(a)).toBe(true);
    // Stale: kept after its terminate completed.
    expect(table.lookup(a, 'tcp')).toBeUndefined();
    expect(table.free(a)).toBe(false);
    // Reused: the same slot now holds another object under a new generation.
    const b = table.mint('tcp', 'B') as OffloadContextValue;
    expect(b).not.toBe(a);
    expect(table.lookup(b, 'tcp')).toBe('B');
    expect(table.lookup(a, 'tcp')).toBeUndefined();
    expect(table.stats).toEqual({ live: { neighbor: 0, path: 0, tcp: 1 }, minted: 2, freed: 1, rejected: 2 });
  });

  it('forged values, values of another layer and values that are not numbers are refused, never thrown on', () => {
    const table = new ContextTable<string>();
    const path = table.mint('path', 'P') as OffloadContextValue;
    const forged: unknown[] = [0, -1, 1, 2 ** 24, path + 1, path + 2 ** 24, 1.5, Number.NaN, 2 ** 60, '1', null, undefined, {}, path.toString()];
    for (const v of forged) {
      expect(table.lookup(v, 'path')).toBeUndefined();
      expect(table.free(v)).toBe(false);
    }
    expect(table.lookup(path, 'tcp')).toBeUndefined();
    expect(table.lookup(path, 'neighbor')).toBeUndefined();
    expect(table.lookup(path, 'path')).toBe('P');
    expect(table.layerOf(path)).toBe('path');
  });

  it('minting past the capacity answers undefined; freeing makes room again', () => {
    const table = new ContextTable<number>(3);
    const values = [table.mint('neighbor', 1), table.mint('path', 2), table.mint('tcp', 3)];
    expect(values.every((v) => v !== undefined)).toBe(true);
    expect(table.mint('tcp', 4)).toBeUndefined();
    expect(table.free(values[2])).toBe(true);
    expect(table.mint('tcp', 5)).not.toBeUndefined();
    expect(() => new ContextTable(-1)).toThrow(RangeError);
  });

  it('holds 10,000 TCP contexts; every lookup is one array read, and values stay unique across 10,000 reuses', () => {
    const table = new ContextTable<{ id: number }>();
    const values: OffloadContextValue[] = [];
    for (let i = 0; i < 10_000; i++) values.push(table.mint('tcp', { id: i }) as OffloadContextValue);
    expect(table.count('tcp')).toBe(10_000);
    for (let i = 0; i < 10_000; i++) expect(table.lookup(values[i], 'tcp')?.id).toBe(i);
    const seen = new Set<number>(values);
    for (let i = 0; i < 10_000; i++) {
      table.free(values[i]);
      const v = table.mint('tcp', { id: -i }) as OffloadContextValue;
      expect(seen.has(v)).toBe(false);
      seen.add(v);
      expect(table.lookup(values[i], 'tcp')).toBeUndefined();
    }
    expect([...table.values()]).toHaveLength(10_000);
  });
});
