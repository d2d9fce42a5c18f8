/** `chimney` argument handling that needs no privileges. */
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/main.js';
import { UserError } from '../../../src/cli/errors.js';

describe('chimney run --serve', () => {
  it('refuses the same port twice as a user error, before anything starts', async () => {
    const program = buildProgram();
    program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    // --ip bogus: should the check be missing, start-up fails on the address before touching the system.
    const run = program.parseAsync(['node', 'chimney', 'run', '--ip', 'bogus', '--serve', 'echo:7', '--serve', 'http:7']);
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(/--serve: port 7/);
  });
});
