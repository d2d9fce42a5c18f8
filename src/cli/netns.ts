/**
 * Network namespace and interface plumbing through iproute2 (`ip`), for `chimney run
 * --netns` and `chimney fetch`. A namespace this program creates is marked with a small
 * owner file under /run/chimney, so a later run can tell a namespace left behind by a
 * killed chimney (adopt it, remove it at exit) from one somebody else made (use it, leave it).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { UserError } from './errors.js';

const exec = promisify(execFile);
const OWNER_DIR = '/run/chimney';

export async function ip(args: readonly string[], netns?: string): Promise<string> {
  const full = netns === undefined ? [...args] : ['-n', netns, ...args];
  try {
    const { stdout } = await exec('ip', full, { timeout: 10_000 });
    return stdout;
  } catch (error) {
    const e = error as { code?: unknown; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new UserError('the `ip` command (iproute2) is not installed', 1);
    const detail = (e.stderr ?? '').trim().split('\n')[0] ?? e.message;
    throw new UserError(`ip ${full.join(' ')}: ${detail || e.message}`, 1);
  }
}

export function validNetnsName(name: string): boolean {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) && name !== '.' && name !== '..';
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

interface OwnerRecord {
  readonly pid: number;
  readonly tap: string;
}

function ownerPath(name: string): string {
  return `${OWNER_DIR}/netns-${name}.json`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

export interface NetnsClaim {
  readonly name: string;
  /** This run created (or adopted) the namespace and removes it at exit. */
  readonly owned: boolean;
  /** A message for the user when a stale namespace was adopted. */
  readonly note: string | undefined;
}

/** Creates the namespace, or adopts one a killed chimney left behind, or uses a foreign one. */
export async function claimNetns(name: string, tap: string): Promise<NetnsClaim> {
  if (!validNetnsName(name)) throw new UserError(`--netns: '${name}' is not a valid namespace name`);
  let note: string | undefined;
  let owned = false;
  if (netnsExists(name)) {
    const record = readOwner(name);
    if (record !== undefined && record.pid !== process.pid && pidAlive(record.pid)) {
      throw new UserError(`namespace ${name} is in use by another chimney (pid ${record.pid})`, 1);
    }
    if (record !== undefined) {
      owned = true;
      note = `reusing namespace ${name} left behind by an earlier chimney run (pid ${record.pid})`;
    }
  } else {
    await ip(['netns', 'add', name]);
    owned = true;
  }
  try {
    if (owned) writeOwner(name, { pid: process.pid, tap });
    await ip(['link', 'set', 'lo', 'up'], name);
  } catch (error) {
    // The caller registers the release only once we return: undo what this run set up here.
    if (owned) await releaseNetns({ name, owned, note }).catch(() => undefined);
    throw error;
  }
  return { name, owned, note };
}

export async function releaseNetns(claim: NetnsClaim): Promise<void> {
  if (!claim.owned) return;
  try {
    await ip(['netns', 'del', claim.name]);
  } finally {
    rmSync(ownerPath(claim.name), { force: true });
  }
}

/** Synchronous best-effort removal for exit paths where nothing asynchronous can run. */
export function releaseNetnsSync(claim: NetnsClaim): void {
  if (!claim.owned) return;
  try {
    // Synchronous: this runs from an 'exit' handler, where nothing asynchronous completes.
    execFileSync('ip', ['netns', 'del', claim.name], { stdio: 'ignore', timeout: 5000 });
  } catch {
    // Nothing more can be done on the way out; the next run adopts the namespace.
  }
  rmSync(ownerPath(claim.name), { force: true });
}

function readOwner(name: string): OwnerRecord | undefined {
  try {
    const parsed = JSON.parse(readFileSync(ownerPath(name), 'utf8')) as Partial<OwnerRecord>;
    if (typeof parsed.pid === 'number' && typeof parsed.tap === 'string') return { pid: parsed.pid, tap: parsed.tap };
  } catch {
    // No record: not ours.
  }
  return undefined;
}

function writeOwner(name: string, record: OwnerRecord): void {
  mkdirSync(OWNER_DIR, { recursive: true });
  writeFileSync(ownerPath(name), JSON.stringify(record));
}

/** True when a network device of that name exists in the namespace (or the current one). */
export async function linkExists(dev: string, netns?: string): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', dev], netns);
    return true;
  } catch {
    return false;
  }
}

export interface PeerConfig {
  readonly dev: string;
  readonly netns: string | undefined;
  readonly mtu: number;
  readonly ipv4: string | undefined;
  readonly ipv6: string | undefined;
}

/**
 * Configures the kernel side of the TAP: moves it into the namespace (when given), sets the
 * MTU and addresses and brings it up. IPv6 addresses skip DAD on the kernel side (`nodad`):
 * the emulator runs DAD for its own addresses; waiting for the kernel's would only delay use.
 */
export async function configurePeer(config: PeerConfig): Promise<void> {
  if (config.netns !== undefined) await ip(['link', 'set', 'dev', config.dev, 'netns', config.netns]);
  const ns = config.netns;
  await ip(['link', 'set', 'dev', config.dev, 'mtu', String(config.mtu)], ns);
  if (config.ipv4 !== undefined) await ip(['addr', 'replace', config.ipv4, 'dev', config.dev], ns);
  if (config.ipv6 !== undefined) await ip(['-6', 'addr', 'replace', config.ipv6, 'dev', config.dev, 'nodad'], ns);
  await ip(['link', 'set', 'dev', config.dev, 'up'], ns);
}
