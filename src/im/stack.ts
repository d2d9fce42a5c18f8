/**
 * Stacks intermediate drivers between a protocol (the host) and a miniport (the target), each
 * gap bound with `bindProtocol` (reference §6; seeds 000 and 002).
 */
import { bindProtocol, type BindableProtocol, type BindingOptions, type NdisBinding } from '../ndis/binding.js';
import type { MiniportEdge } from '../ndis/edges.js';
import { ImDriver, type ImDriverKind, type ImDriverStats } from './im-driver.js';

/** What `emulator.drivers` shows (`chimney ctl stats`). */
export interface ImDriverInfo {
  readonly name: string;
  readonly kind: ImDriverKind;
  readonly stats: ImDriverStats;
}

/**
 * Binds `protocol` → drivers[0] → … → drivers[n-1] → `miniport`, from the bottom up (a driver's
 * attributes come from the layer below). Returns the bindings, top first.
 */
export function bindThroughDrivers(protocol: BindableProtocol, drivers: readonly ImDriver[], miniport: MiniportEdge, options: BindingOptions = {}): NdisBinding[] {
  const bindings: NdisBinding[] = [];
  let below: MiniportEdge = miniport;
  for (let i = drivers.length - 1; i >= 0; i--) {
    const d = drivers[i] as ImDriver;
    bindings.unshift(bindProtocol(d, below, options));
    below = d;
  }
  bindings.unshift(bindProtocol(protocol, below, options));
  return bindings;
}

/** Drivers from their specs (`--im passthrough,fault:send=0.01`). */
export function driversFromSpecs(specs: readonly string[]): ImDriver[] {
  return specs.map((s, i) => ImDriver.fromSpec(s, i));
}
