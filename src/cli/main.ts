/**
 * The `chimney` command.
 *
 *   chimney run    an emulated offload NIC with its host stack on a TAP, until SIGINT/SIGTERM
 *   chimney fetch  one HTTP GET through the host stack, then exit
 */
import { createWriteStream } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { request as httpRequest } from 'node:http';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { parseIpAddress } from '../wire/addr.js';
import { type Emulator, type EmulatorOptions, startEmulator } from './emulator.js';
import { UserError } from './errors.js';
import { createLogger, type LogFormat, type Logger } from './log.js';
import type { OffloadPolicy } from '../host/offload.js';
import { parseImList } from '../im/im-driver.js';
import { controlRequest, defaultControlPath, startControlServer, type ControlServer } from './control.js';
import { parseServiceSpec, startService, type RunningService, type ServiceSpec } from './services.js';

interface NetworkFlags {
  tap: string;
  ip: string;
  ip6: string;
  mtu: number;
  netns?: string;
  peerIp: string;
  peerIp6: string;
  pcap?: string;
  impair?: string;
  mac?: string;
  vnet: boolean;
  dad: number;
  offload: OffloadPolicy;
  cycle?: number;
  im?: string[];
  log: LogFormat;
}

function integer(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return n;
  };
}

function addNetworkOptions(cmd: Command): Command {
  return cmd
    .option('--tap <name>', 'TAP device (created if missing, removed at exit if created)', 'chimney0')
    .option('--ip <cidr>', "the emulator's IPv4 address", '198.18.0.2/24')
    .option('--ip6 <cidr>', "the emulator's IPv6 address", '2001:2::2/64')
    .option('--mtu <n>', 'link MTU', integer('--mtu'), 1500)
    .option('--netns <name>', "move the TAP's kernel side into this network namespace (created if missing, removed at exit if created)")
    .option('--peer-ip <cidr>', "the kernel side's IPv4 address", '198.18.0.1/24')
    .option('--peer-ip6 <cidr>', "the kernel side's IPv6 address", '2001:2::1/64')
    .option('--pcap <file>', 'write a pcapng capture of every frame on the wire')
    .option('--impair <spec>', 'impair the link, e.g. loss=0.01,dup=0.001,reorder=0.02,corrupt=0.001,seed=7')
    .option('--mac <mac>', "the emulator's MAC address (default: derived from the TAP name)")
    .option('--no-vnet', 'plain frames: no virtio-net header, no checksum offload, no TSO')
    .option('--dad <n>', 'IPv6 duplicate address detection probes per address (0 skips DAD)', integer('--dad'), 1)
    .option('--offload <policy>', 'when connections go to the offload target: never, handshake, manual or after:BYTES', offloadPolicy, 'handshake' as OffloadPolicy)
    .option('--cycle <ms>', 'upload and re-offload every offloaded connection at this interval', integer('--cycle'))
    .option('--im <drivers>', 'intermediate drivers between host and target, top first: passthrough, block, fault:SPEC (comma-separated; fault:SPEC last)', imList)
    .addOption(new Option('--log <format>', 'output format').choices(['text', 'json']).default('text'));
}

function emulatorOptions(flags: NetworkFlags): EmulatorOptions {
  return {
    tap: flags.tap,
    ip: flags.ip,
    ip6: flags.ip6,
    mtu: flags.mtu,
    netns: flags.netns,
    peerIp: flags.peerIp,
    peerIp6: flags.peerIp6,
    pcap: flags.pcap,
    impair: flags.impair,
    mac: flags.mac,
    vnet: flags.vnet,
    dadTransmits: flags.dad,
    offload: flags.offload,
    cycleMs: flags.cycle,
    im: flags.im,
  };
}

/** Parses --im (src/im/im-driver.ts parseImList) into commander's argument error. */
function imList(value: string): string[] {
  try {
    return parseImList(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

/** Parses --offload: never | handshake | manual | after:BYTES. */
function offloadPolicy(value: string): OffloadPolicy {
  if (value === 'never' || value === 'handshake' || value === 'manual') return value;
  const m = /^after:(\d+)$/.exec(value);
  if (m !== null) return { afterBytes: Number(m[1]) };
  throw new InvalidArgumentError(`--offload: expected never, handshake, manual or after:BYTES, got '${value}'`);
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface HeldSignals {
  /** Calls `fn` with the first stop signal: at once if one has arrived already, else when it does. */
  whenSignalled(fn: (signal: NodeJS.Signals) => void): void;
  /** The first stop signal that arrived, if any. */
  readonly received: NodeJS.Signals | undefined;
  release(): void;
}

/**
 * Takes over SIGINT/SIGTERM/SIGHUP while the emulator starts (and, for fetch, while it runs):
 * their default action ends the process at once, without 'exit' handlers, which would leave
 * the namespace this run created (and its owner marker) behind.
 */
function holdSignals(): HeldSignals {
  let received: NodeJS.Signals | undefined;
  let callback: ((signal: NodeJS.Signals) => void) | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    if (received !== undefined) return;
    received = signal;
    callback?.(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return {
    whenSignalled(fn) {
      callback = fn;
      if (received !== undefined) fn(received);
    },
    get received() {
      return received;
    },
    release() {
      for (const s of STOP_SIGNALS) process.off(s, handler);
    },
  };
}

/** Stops the emulator on SIGINT/SIGTERM and on a crash, and always on exit (synchronous remainder). */
function installShutdown(emulator: Emulator, log: Logger, extra: () => Promise<void>): { exit: Promise<number>; stop: (code: number, reason: string) => void } {
  let stopNow: (code: number, reason: string) => void = () => undefined;
  const exit = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number, reason: string): void => {
      if (stopping) return;
      stopping = true;
      log.event('stopping', { reason });
      void (async () => {
        try {
          await extra();
          await emulator.stop();
        } catch (error) {
          log.warn(`shutdown: ${error instanceof Error ? error.message : String(error)}`);
          code = code === 0 ? 1 : code;
        }
        log.event('stopped', {
          stats: emulator.stack.stats.toJSON(),
          target: { ...emulator.target.stats, chimney: emulator.target.chimneyProvider?.stats, offload: emulator.stack.tcp.offloads.stats },
        });
        resolve(code);
      })();
    };
    process.on('SIGINT', () => stop(0, 'SIGINT'));
    process.on('SIGTERM', () => stop(0, 'SIGTERM'));
    process.on('SIGHUP', () => stop(0, 'SIGHUP'));
    process.on('uncaughtException', (error) => {
      if (!stopping) process.stderr.write(`chimney: internal error: ${error.stack ?? String(error)}\n`);
      stop(70, 'internal error');
    });
    process.on('exit', () => emulator.stopSync());
    stopNow = stop;
  });
  return { exit, stop: stopNow };
}

async function runCommand(flags: NetworkFlags & { serve: ServiceSpec[]; control?: string }): Promise<number> {
  const log = createLogger(flags.log);
  const held = holdSignals();
  let emulator: Emulator;
  const services: RunningService[] = [];
  let control: ControlServer | undefined;
  try {
    emulator = await startEmulator(emulatorOptions(flags), log);
  } catch (error) {
    held.release();
    throw error;
  }
  try {
    if (flags.control !== undefined) {
      control = await startControlServer(flags.control, emulator, (m) => log.warn(m));
      const c = control;
      process.on('exit', () => c.closeSync());
    }
    for (const spec of flags.serve) {
      services.push(startService(emulator.stack, spec, (error) => log.warn(`--serve ${spec.kind}:${spec.port}: ${error.message}`)));
    }
  } catch (error) {
    held.release();
    await control?.close();
    await emulator.stop();
    throw error;
  }
  const { exit, stop } = installShutdown(emulator, log, async () => {
    await control?.close();
    await Promise.all(services.map((s) => s.close()));
  });
  held.release();
  if (held.received !== undefined) {
    // Interrupted while starting: undo everything instead of announcing readiness.
    stop(0, held.received);
    return exit;
  }
  log.event('ready', { ...emulator.readyInfo, control: control?.path, serve: flags.serve.map((s) => `${s.kind}:${s.port}`) });
  return exit;
}

async function fetchCommand(url: string, flags: NetworkFlags & { output?: string; timeout: number }): Promise<number> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new UserError(`'${url}' is not a URL`);
  }
  if (target.protocol !== 'http:') throw new UserError(`only http:// URLs are supported, got ${target.protocol}`);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parseIpAddress(host) === undefined) throw new UserError(`the host of ${url} must be an IP address literal (the host stack has no resolver)`);
  const log = createLogger(flags.log);
  const held = holdSignals();
  let emulator: Emulator;
  try {
    emulator = await startEmulator(emulatorOptions(flags), log);
  } catch (error) {
    held.release();
    throw error;
  }
  process.on('exit', () => emulator.stopSync());
  try {
    const port = target.port === '' ? 80 : Number(target.port);
    const result = await new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new UserError(`fetch ${url}: timed out after ${flags.timeout} ms`, 1)), flags.timeout);
      // Ctrl-C: give up the transfer, then remove what this run created (the finally below).
      let req: ReturnType<typeof httpRequest> | undefined;
      held.whenSignalled((signal) => {
        clearTimeout(timer);
        req?.destroy();
        reject(new UserError(`fetch ${url}: interrupted by ${signal}`, 128 + (osConstants.signals[signal] ?? 0)));
      });
      if (held.received !== undefined) return;
      req = httpRequest(
        {
          host,
          port,
          path: `${target.pathname}${target.search}`,
          method: 'GET',
          headers: { 'User-Agent': 'chimney-fetch' },
          createConnection: () => emulator.stack.connect({ host, port }) as unknown as import('node:net').Socket,
        },
        (res) => {
          let bytes = 0;
          const sink = flags.output === undefined ? process.stdout : createWriteStream(flags.output);
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
          });
          res.pipe(sink);
          sink.on('error', (error) => reject(new UserError(`cannot write ${flags.output ?? 'stdout'}: ${error.message}`, 1)));
          const finish = (): void => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, bytes });
          };
          if (sink === process.stdout) res.on('end', finish);
          else sink.on('finish', finish);
          res.on('error', (error) => reject(new UserError(`fetch ${url}: ${error.message}`, 1)));
        },
      );
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(new UserError(`fetch ${url}: ${error.message}`, 1));
      });
      req.end();
    });
    log.event('fetched', { url, status: result.status, bytes: result.bytes, output: flags.output });
    return result.status >= 200 && result.status < 300 ? 0 : 1;
  } finally {
    held.release();
    await emulator.stop();
  }
}

/** `chimney ctl`: one request, the result as pretty JSON on stdout, an error as one line on stderr. */
async function ctlCommand(op: string, id: string | undefined, path: string): Promise<number> {
  const request: Record<string, unknown> = { id: 1, op };
  if (id !== undefined) {
    if (!/^\d+$/.test(id)) throw new UserError(`ctl ${op}: '${id}' is not a connection ID`, 2);
    request['conn'] = Number(id);
  }
  const response = await controlRequest(path, request);
  if (!response.ok) throw new UserError(`ctl ${op}${id === undefined ? '' : ` ${id}`}: ${response.error}`, 1);
  process.stdout.write(`${JSON.stringify(response.result, null, 2)}\n`);
  return 0;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('chimney')
    .description('A userspace emulator of a TCP Chimney offload NIC on a Linux TAP interface')
    .showHelpAfterError()
    .exitOverride();

  addNetworkOptions(program.command('run').description('run the emulated NIC and host stack until SIGINT/SIGTERM'))
    .option(
      '--serve <kind:port>',
      'serve echo, discard, chargen or http on the host stack (repeatable)',
      (value: string, previous: ServiceSpec[]) => {
        const spec = parseServiceSpec(value);
        // Both services share the host stack's TCP ports: the second would fail to listen after 'ready'.
        const taken = previous.find((p) => p.port === spec.port);
        if (taken !== undefined) throw new UserError(`--serve: port ${spec.port} is given twice (${taken.kind}:${taken.port}, ${value})`);
        return [...previous, spec];
      },
      [] as ServiceSpec[],
    )
    .option('--control <path>', `serve the NDJSON control API on this Unix socket (mode 0600); \`chimney ctl\` talks to it (its default: ${defaultControlPath()})`)
    .action(async (flags: NetworkFlags & { serve: ServiceSpec[]; control?: string }) => {
      process.exitCode = await runCommand(flags);
    });

  program
    .command('ctl')
    .description('ask a running `chimney run --control` emulator: list | show ID | offload ID | upload ID | query ID | stats (JSON on stdout)')
    .argument('<op>', 'list, show, offload, upload, query or stats')
    .argument('[id]', 'connection ID (from list) for show, offload, upload and query')
    .option('--control <path>', 'the control socket', defaultControlPath())
    .action(async (op: string, id: string | undefined, flags: { control: string }) => {
      process.exitCode = await ctlCommand(op, id, flags.control);
    });

  addNetworkOptions(program.command('fetch').description('HTTP GET through the host stack, then exit').argument('<url>', 'http:// URL with an IP address literal'))
    .option('-o, --output <file>', 'write the body here instead of stdout')
    .option('--timeout <ms>', 'give up after this long', integer('--timeout'), 120_000)
    .action(async (url: string, flags: NetworkFlags & { output?: string; timeout: number }) => {
      process.exitCode = await fetchCommand(url, flags);
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that went away (a closed pipe) must not turn logging into a crash or a busy
  // loop of EPIPE errors: the emulator keeps running and shuts down cleanly on its signal.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed its one-line message.
      process.exitCode = error.exitCode === 0 ? 0 : 2;
      return;
    }
    if (error instanceof UserError) {
      process.stderr.write(`chimney: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`chimney: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 70;
  }
}
