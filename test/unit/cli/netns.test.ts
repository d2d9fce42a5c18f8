/**
 * claimNetns undoes its own work when a later step fails: a namespace it created (and its
 * owner marker) must not stay behind, since startEmulator only registers the cleanup once
 * claimNetns has returned. `ip` and the owner directory are replaced by stand-ins.
 */
import { describe, expect, it, vi } from 'vitest';

const calls: string[][] = [];
const files = new Map<string, string>();

vi.mock('node:child_process', () => {
  const execFile = (cmd: string, args: string[], _opts: unknown, cb: (e: Error | null, r?: { stdout: string; stderr: string }) => void): void => {
    calls.push([cmd, ...args]);
    if (args.includes('lo')) {
      const e = Object.assign(new Error('Command failed'), { stderr: 'Cannot find device "lo"\n', code: 1 });
      cb(e);
      return;
    }
    cb(null, { stdout: '', stderr: '' });
  };
  // promisify(execFile) must resolve with { stdout, stderr }.
  (execFile as unknown as Record<symbol, unknown>)[Symbol.for('nodejs.util.promisify.custom')] = (cmd: string, args: string[], opts: unknown) =>
    new Promise((resolve, reject) => execFile(cmd, args, opts, (e, r) => (e ? reject(e) : resolve(r))));
  return { execFile, execFileSync: (cmd: string, args: string[]) => calls.push([cmd, ...args]) };
});

vi.mock('node:fs', () => ({
  existsSync: (p: string) => files.has(p),
  mkdirSync: () => undefined,
  readFileSync: (p: string) => {
    const v = files.get(p);
    if (v === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return v;
  },
  rmSync: (p: string) => void files.delete(p),
  writeFileSync: (p: string, v: string) => void files.set(p, v),
}));

describe('claimNetns', () => {
  it('removes the namespace it created and its owner marker when setting it up fails', async () => {
    const { claimNetns } = await import('../../../src/cli/netns.js');
    await expect(claimNetns('chr-claim', 'chrtap0')).rejects.toThrow(/lo/);
    expect(calls.map((c) => c.join(' '))).toContain('ip netns del chr-claim');
    expect(files.has('/run/chimney/netns-chr-claim.json')).toBe(false);
  });
});
