/** `chimney` argument handling that needs no privileges. */
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli/main.js';
import { CommanderError } from 'commander';
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

describe('chimney run --im', () => {
  /** Parses a `run` command line with the action replaced, so nothing starts; returns flags.im. */
  async function imOf(list: string): Promise<unknown> {
    const program = buildProgram();
    program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    let im: unknown = 'action not reached';
    const run = program.commands.find((c) => c.name() === 'run');
    run?.action((flags: { im?: unknown }) => {
      im = flags.im;
    });
    await program.parseAsync(['node', 'chimney', 'run', '--im', list]);
    return im;
  }

  it('takes a list top first, with a fault:SPEC last keeping its own commas', async () => {
    expect(await imOf('passthrough')).toEqual(['passthrough']);
    expect(await imOf('passthrough,block')).toEqual(['passthrough', 'block']);
    expect(await imOf('passthrough,passthrough,fault:initiate=0.5,send=0.01,seed=7')).toEqual(['passthrough', 'passthrough', 'fault:initiate=0.5,send=0.01,seed=7']);
    expect(await imOf('fault')).toEqual(['fault']);
  });

  it('stacks 8 drivers, and up to 64', async () => {
    expect(await imOf(Array(8).fill('passthrough').join(','))).toHaveLength(8);
    expect(await imOf(Array(64).fill('passthrough').join(','))).toHaveLength(64);
  });

  for (const [list, message] of [
    ['nope', /'nope' is not passthrough, block or fault:SPEC/],
    ['passthrough,bridge', /'bridge' is not passthrough/],
    ['passthrough,,block', /empty entry/],
    ['', /empty entry/],
    ['fault:send=0.1,passthrough', /'passthrough' follows fault:SPEC; a fault driver must be last/],
    ['fault,block', /'block' follows fault:SPEC/],
    ['fault:send=2', /probability/],
    ['fault:terminate=0.5', /terminate cannot be faulted/],
    ['fault:send=0.1,,seed=1', /'' is not key=number/],
    [Array(65).fill('passthrough').join(','), /65 drivers; at most 64/],
  ] as const) {
    it(`refuses '${list.length > 40 ? `${list.slice(0, 30)}…` : list}' as an argument error naming the problem`, async () => {
      const run = imOf(list);
      await expect(run).rejects.toThrow(CommanderError);
      await expect(run).rejects.toThrow(message);
    });
  }
});
