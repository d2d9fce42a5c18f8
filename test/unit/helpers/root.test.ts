/**
 * The privilege gate itself: without root it skips with one printed reason, and under CI=true
 * it fails instead (STYLE rule 12). The module decides at import, so each case re-imports it
 * with a stubbed uid.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

async function importAs(uid: number): Promise<typeof import('../../helpers/root.js')> {
  vi.resetModules();
  vi.spyOn(process as { getuid: () => number }, 'getuid').mockReturnValue(uid);
  return import('../../helpers/root.js');
}

describe('test/helpers/root.ts', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('names the missing privilege when not root', async () => {
    const gate = await importAs(1000);
    expect(gate.privileged).toBe(false);
    expect(gate.requireRootReason()).toBe('privileged tests need root (uid 0)');
  });

  it('throws under CI=true instead of skipping', async () => {
    vi.stubEnv('CI', 'true');
    const gate = await importAs(1000);
    expect(() => gate.describePrivileged('needs root', () => undefined)).toThrow(/needs root: privileged tests need root \(uid 0\), and CI=true makes that a failure/);
  });

  it('outside CI skips with one printed line saying why', async () => {
    vi.stubEnv('CI', '');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const gate = await importAs(1000);
    const body = vi.fn();
    gate.describePrivileged('skipped suite', body);
    gate.describePrivileged('another skipped suite', body);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]?.[0]).toBe('skipping privileged tests: privileged tests need root (uid 0)');
  });
});
