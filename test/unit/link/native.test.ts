/**
 * The native addon's JS-visible behaviour that needs no privileges: its shape, argument checks
 * (TypeError / RangeError with Node's codes) and the shape of its system errors.
 */
import { describe, expect, it } from 'vitest';
import { checkNativeShape, isNativeSystemError, loadNative, NativeAddonError, type NativeTapHandle } from '../../../src/link/native.js';
import { TapLink } from '../../../src/link/tap-link.js';

const native = loadNative();
const notAHandle = {} as unknown as NativeTapHandle;

describe('loadNative', () => {
  it('loads the addon once and returns the same checked object', () => {
    expect(loadNative()).toBe(native);
    expect(typeof native.open).toBe('function');
    expect(native.constants.IFNAMSIZ).toBe(16);
    // include/uapi/linux/if_tun.h
    expect([native.constants.TUN_F_CSUM, native.constants.TUN_F_TSO4, native.constants.TUN_F_TSO6]).toEqual([1, 2, 4]);
    expect(native.constants.ST_LEN).toBeGreaterThan(native.constants.ST_TX_WOULD_BLOCK);
  });

  it('freezes the constants', () => {
    expect(Object.isFrozen(native.constants)).toBe(true);
  });
});

describe('checkNativeShape', () => {
  it('accepts the real addon', () => {
    expect(checkNativeShape(native)).toBe(native);
  });

  it('names every missing function and constant', () => {
    const partial = { ...native, write: undefined, constants: { ...native.constants, ST_LEN: 'x' } };
    let caught: unknown;
    try {
      checkNativeShape(partial);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(NativeAddonError);
    expect((caught as NativeAddonError).code).toBe('ERR_CHIMNEY_NATIVE_SHAPE');
    expect((caught as Error).message).toContain('write()');
    expect((caught as Error).message).toContain('constants.ST_LEN');
  });

  it('refuses a non-object', () => {
    expect(() => checkNativeShape(null)).toThrow(NativeAddonError);
    expect(() => checkNativeShape(42)).toThrow(/number, not an object/);
  });
});

describe('argument checks', () => {
  it('open with a non-string name throws TypeError ERR_INVALID_ARG_TYPE', () => {
    expect(() => native.open(5 as unknown as string, 0, 0, false)).toThrow(TypeError);
    expect(() => native.open(5 as unknown as string, 0, 0, false)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });

  it('open with missing arguments throws TypeError ERR_MISSING_ARGS', () => {
    const open = native.open as unknown as (...a: unknown[]) => unknown;
    expect(() => open('chnx')).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_MISSING_ARGS' }));
  });

  it('open with a too-long name throws RangeError naming the IFNAMSIZ limit', () => {
    expect(() => native.open('chn-name-too-long', 0, 0, false)).toThrow(RangeError);
    expect(() => native.open('chn-name-too-long', 0, 0, false)).toThrow(/at most 15 bytes \(IFNAMSIZ - 1\), got 17/);
  });

  it('open with a bad vnet header length or offload bits throws RangeError', () => {
    expect(() => native.open('chnx', 11, 0, false)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    expect(() => native.open('chnx', 12, 1 << 20, false)).toThrow(RangeError);
    expect(() => native.open('chnx', 12, 0.5, false)).toThrow(RangeError);
  });

  it('open with a non-boolean multiQueue throws TypeError', () => {
    expect(() => native.open('chnx', 0, 0, 1 as unknown as boolean)).toThrow(TypeError);
  });

  it('a name with an embedded NUL is refused', () => {
    expect(() => native.getMtu('chn\0x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  it('handle-taking calls refuse anything but a TAP handle', () => {
    for (const call of [
      () => native.write(notAHandle, 0, 0),
      () => native.close(notAHandle),
      () => native.hwAddr(notAHandle),
      () => native.inOwnNetns(notAHandle),
      () => native.setWritable(notAHandle, true),
      () => native.name(42 as unknown as NativeTapHandle),
    ]) {
      expect(call).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    }
  });

  it('setMtu refuses an MTU outside [68, 65535]', () => {
    expect(() => native.setMtu('chnx', 67)).toThrow(RangeError);
    expect(() => native.setMtu('chnx', 70000)).toThrow(RangeError);
  });
});

describe('system errors', () => {
  it('a failed ioctl on a missing device is a Node-style system error', () => {
    let caught: unknown;
    try {
      native.getMtu('chnnodev0');
    } catch (e) {
      caught = e;
    }
    expect(isNativeSystemError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'ENODEV', errno: -19, syscall: 'ioctl(SIOCGIFMTU)', device: 'chnnodev0' });
    expect((caught as Error).message).toBe("ENODEV: no such device, ioctl(SIOCGIFMTU) on TAP device 'chnnodev0'");
  });

  it('ifIndex answers 0 for a missing device instead of throwing', () => {
    expect(native.ifIndex('chnnodev0')).toBe(0);
    expect(native.ifIndex('lo')).toBeGreaterThan(0);
  });

  it('systemError builds the same shape without throwing, also for errnos outside its table', () => {
    expect(native.systemError(77, 'read', 'chntapA')).toMatchObject({ code: 'EBADFD', errno: -77, syscall: 'read', device: 'chntapA' });
    const e = native.systemError(110, 'write', 'chntapA');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ETIMEDOUT');
    // Outside the table, libuv gives both the name and the text.
    expect(e.message).toBe("ETIMEDOUT: connection timed out, write on TAP device 'chntapA'");
    expect(native.systemError(38, 'ioctl', 'chntapA').message).toBe("ENOSYS: function not implemented, ioctl on TAP device 'chntapA'");
  });
});

describe('TapLink.open option checks (before any system call)', () => {
  it('refuses a too-long name with a clear TypeError', () => {
    expect(() => TapLink.open({ name: 'chn-name-too-long' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => TapLink.open({ name: 'chn-name-too-long' })).toThrow(/1\.\.15 bytes/);
  });

  it('refuses names the kernel would refuse, and bad option types', () => {
    expect(() => TapLink.open({ name: 'chn/a' })).toThrow(TypeError);
    expect(() => TapLink.open({ name: '' })).toThrow(TypeError);
    expect(() => TapLink.open({ name: 'chna', vnet: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => TapLink.open({ name: 'chna', vnet: true, vnetHdrLen: 11 as 10 })).toThrow(/10 or 12/);
    expect(() => TapLink.open({ name: 'chna', mtu: 10 })).toThrow(/\[68, 65535\]/);
    expect(() => TapLink.open({ name: 'chna', offloads: { tso4: true } })).toThrow(/need vnet: true/);
    expect(() => TapLink.open(null as unknown as { name: string })).toThrow(TypeError);
  });
});
