/**
 * The single privilege gate of the test suites (STYLE rule 12).
 *
 * Privileged tests (network namespaces, TAP devices, real Linux peers) need root and
 * /dev/net/tun. Under CI=true a missing privilege fails the run, so a CI that silently lost its
 * privileges cannot pass by skipping; elsewhere the suite is skipped with one printed line that
 * says why. `.ci/run` sets CI=true itself, since `sudo` drops the caller's. Tests are never
 * wrapped in `if`.
 */
import { accessSync, constants } from 'node:fs';
import { describe } from 'vitest';

/** Why privileged tests cannot run here, or undefined when they can. */
export function requireRootReason(): string | undefined {
  if (process.platform !== 'linux') return `privileged tests need Linux (this is ${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'privileged tests need root (uid 0)';
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return 'privileged tests need read/write access to /dev/net/tun';
  }
  return undefined;
}

const reason = requireRootReason();

/** True when privileged tests can run. */
export const privileged: boolean = reason === undefined;

let announced = false;

/**
 * `describe` for privileged suites: runs them when privileged; under CI=true throws when not;
 * otherwise skips them and prints one line saying why (once per test file).
 */
export function describePrivileged(name: string, fn: () => void): void {
  if (reason !== undefined && process.env['CI'] === 'true') {
    throw new Error(`${name}: ${reason}, and CI=true makes that a failure, not a skip`);
  }
  if (reason !== undefined && !announced) {
    announced = true;
    console.log(`skipping privileged tests: ${reason}`);
  }
  describe.skipIf(reason !== undefined)(name, fn);
}
