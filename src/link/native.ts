/**
 * The only file that loads the native TAP addon (`native/`, built by node-gyp or shipped as a
 * prebuild). It declares the addon's surface as a TypeScript interface and checks the loaded
 * object against it once, so nothing else in the project ever sees `any` (STYLE "Module
 * boundaries": the opposite of bindings-cpp's `as any`).
 *
 * The addon is small and dumb on purpose (STYLE rule 10): it opens and configures a TAP, polls
 * it, and moves batches of frames between the device and memory that JS owns. All policy
 * (queueing, drops, statistics, virtio-net header parsing) lives in `tap-link.ts`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const nativeTapHandleBrand: unique symbol;

/** An open TAP queue inside the addon: a type-tagged napi External, opaque to JS. */
export interface NativeTapHandle {
  readonly [nativeTapHandleBrand]: true;
}

/**
 * The errors the addon throws for failed system calls, shaped like Node's system errors:
 * `code` is the errno name ('EPERM', 'EBUSY', 'ENODEV'), `errno` the negative errno (as libuv
 * and Node report it), `syscall` the call ('ioctl(TUNSETIFF)'), `device` the TAP name.
 */
export interface NativeSystemError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly device?: string;
}

/** Constants the addon exports, so kernel values and the status layout have one source (the C headers). */
export interface NativeTapConstants {
  readonly TUN_F_CSUM: number;
  readonly TUN_F_TSO4: number;
  readonly TUN_F_TSO6: number;
  readonly IFNAMSIZ: number;
  /** Smallest receive slot `start` accepts. */
  readonly MIN_RX_SLOT: number;
  /** Slots of the `status` Float64Array (see native/poll.h `enum chn_status_slot`). */
  readonly ST_RX_ERRORS: number;
  readonly ST_RX_LAST_ERRNO: number;
  readonly ST_RX_FATAL_ERRNO: number;
  readonly ST_RX_BYTES: number;
  readonly ST_TX_ERRORS: number;
  readonly ST_TX_LAST_ERRNO: number;
  readonly ST_TX_FATAL_ERRNO: number;
  readonly ST_TX_BYTES: number;
  readonly ST_TX_WOULD_BLOCK: number;
  readonly ST_LEN: number;
}

/** The addon's exports (native/tap.c `init`). */
export interface NativeTap {
  /**
   * Opens /dev/net/tun non-blocking and attaches it to TAP `name` (IFF_TAP | IFF_NO_PI), creating
   * the device if needed. `vnetHdrLen` 0 means no virtio-net header, 10 or 12 turns on
   * IFF_VNET_HDR with that header size; `offloads` are TUN_F_* bits for TUNSETOFFLOAD.
   */
  open(name: string, vnetHdrLen: number, offloads: number, multiQueue: boolean): NativeTapHandle;
  /**
   * Hands the JS-owned arenas to C (once) and starts the libuv watcher. `onRead(count)` is called
   * once per received batch with the frames in slots 0..count-1 of `rxArena` and their lengths in
   * `rxLens` (and the batch outcome in `status`); `onWritable()` while writable interest is on.
   */
  start(
    handle: NativeTapHandle,
    rxArena: ArrayBuffer,
    rxSlotSize: number,
    rxSlots: number,
    rxLens: Uint32Array,
    txArena: ArrayBuffer,
    txOffs: Uint32Array,
    txLens: Uint32Array,
    status: Float64Array,
    onRead: (count: number) => void,
    onWritable: () => void,
  ): void;
  /** Writes queued frames first..first+count-1 (txOffs/txLens entries); returns how many were consumed. */
  write(handle: NativeTapHandle, first: number, count: number): number;
  /** Arms or disarms writable interest. */
  setWritable(handle: NativeTapHandle, on: boolean): void;
  /** Stops the watcher, closes the fd and releases the arenas. Idempotent. */
  close(handle: NativeTapHandle): void;
  /** The device name the kernel settled on at open. */
  name(handle: NativeTapHandle): string;
  /** The kernel side's MAC address (SIOCGIFHWADDR through the TAP fd). */
  hwAddr(handle: NativeTapHandle): Uint8Array;
  /** Whether the device is still in this process's network namespace (TUNGETDEVNETNS). */
  inOwnNetns(handle: NativeTapHandle): boolean;
  /** if_nametoindex in this namespace; 0 when there is no such device. */
  ifIndex(name: string): number;
  getMtu(name: string): number;
  setMtu(name: string, mtu: number): void;
  isUp(name: string): boolean;
  setUp(name: string, up: boolean): void;
  /** Builds (does not throw) a system error of the same shape as those the addon throws. */
  systemError(errno: number, syscall: string, device: string): NativeSystemError;
  readonly constants: NativeTapConstants;
}

const FUNCTIONS = [
  'open',
  'start',
  'write',
  'setWritable',
  'close',
  'name',
  'hwAddr',
  'inOwnNetns',
  'ifIndex',
  'getMtu',
  'setMtu',
  'isUp',
  'setUp',
  'systemError',
] as const satisfies readonly (keyof NativeTap)[];

const CONSTANTS = [
  'TUN_F_CSUM',
  'TUN_F_TSO4',
  'TUN_F_TSO6',
  'IFNAMSIZ',
  'MIN_RX_SLOT',
  'ST_RX_ERRORS',
  'ST_RX_LAST_ERRNO',
  'ST_RX_FATAL_ERRNO',
  'ST_RX_BYTES',
  'ST_TX_ERRORS',
  'ST_TX_LAST_ERRNO',
  'ST_TX_FATAL_ERRNO',
  'ST_TX_BYTES',
  'ST_TX_WOULD_BLOCK',
  'ST_LEN',
] as const satisfies readonly (keyof NativeTapConstants)[];

/** The addon could not be loaded, or what loaded is not the addon this code was written for. */
export class NativeAddonError extends Error {
  readonly code: 'ERR_CHIMNEY_NATIVE_UNAVAILABLE' | 'ERR_CHIMNEY_NATIVE_SHAPE';

  constructor(code: NativeAddonError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeAddonError';
    this.code = code;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null;
}

/**
 * Checks that `value` has every function and constant of {@link NativeTap}; returns it typed,
 * or throws a {@link NativeAddonError} naming what is missing. Exported for tests.
 */
export function checkNativeShape(value: unknown): NativeTap {
  if (!isRecord(value)) {
    throw new NativeAddonError('ERR_CHIMNEY_NATIVE_SHAPE', `the chimney_tap addon exported ${value === null ? 'null' : typeof value}, not an object`);
  }
  const missing: string[] = [];
  for (const f of FUNCTIONS) if (typeof value[f] !== 'function') missing.push(`${f}()`);
  const c = value['constants'];
  if (!isRecord(c)) {
    missing.push('constants');
  } else {
    for (const k of CONSTANTS) if (typeof c[k] !== 'number') missing.push(`constants.${k}`);
  }
  if (missing.length > 0) {
    throw new NativeAddonError(
      'ERR_CHIMNEY_NATIVE_SHAPE',
      `the chimney_tap addon does not match this version of chimney (missing: ${missing.join(', ')}); rebuild it with \`npm rebuild\``,
    );
  }
  // Every member named by the interface was checked above.
  return value as unknown as NativeTap;
}

/** Walks up from this file to the package root (the folder holding binding.gyp), from src/ and from dist/src/ alike. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) {
      throw new NativeAddonError('ERR_CHIMNEY_NATIVE_UNAVAILABLE', `cannot find the chimney package root (binding.gyp) above ${fileURLToPath(import.meta.url)}`);
    }
    dir = up;
  }
}

let loaded: NativeTap | undefined;
let loadError: NativeAddonError | undefined;

/**
 * Loads the addon once (node-gyp-build: build/Release, then prebuilds/) and checks its shape.
 * Throws a {@link NativeAddonError} with the reason and a hint when it cannot.
 */
export function loadNative(): NativeTap {
  if (loaded !== undefined) return loaded;
  if (loadError !== undefined) throw loadError;
  try {
    if (process.platform !== 'linux') {
      throw new NativeAddonError('ERR_CHIMNEY_NATIVE_UNAVAILABLE', `the chimney TAP addon is Linux-only (this is ${process.platform})`);
    }
    const root = packageRoot();
    const require = createRequire(import.meta.url);
    const nodeGypBuild: unknown = require('node-gyp-build');
    if (typeof nodeGypBuild !== 'function') {
      throw new NativeAddonError('ERR_CHIMNEY_NATIVE_UNAVAILABLE', 'node-gyp-build did not export a loader function');
    }
    let addon: unknown;
    try {
      addon = nodeGypBuild(root);
    } catch (cause) {
      throw new NativeAddonError(
        'ERR_CHIMNEY_NATIVE_UNAVAILABLE',
        `cannot load the chimney TAP addon from ${root} (${cause instanceof Error ? cause.message : String(cause)}); ` +
          'build it with `npm rebuild` (needs a C compiler, make, python3 and the Node headers)',
        { cause },
      );
    }
    loaded = checkNativeShape(addon);
    return loaded;
  } catch (e) {
    loadError =
      e instanceof NativeAddonError
        ? e
        : new NativeAddonError('ERR_CHIMNEY_NATIVE_UNAVAILABLE', `cannot load the chimney TAP addon: ${String(e)}`, { cause: e });
    throw loadError;
  }
}

/** Whether a caught value is one of the addon's system errors (has string `code` and `syscall`). */
export function isNativeSystemError(e: unknown): e is NativeSystemError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { syscall?: unknown }).syscall === 'string';
}
