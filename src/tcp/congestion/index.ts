/** Picks the congestion controller a connection's configuration names. */
import type { CongestionControlName } from '../types.js';
import type { CongestionControl } from './congestion-control.js';
import { Cubic } from './cubic.js';
import { NewReno } from './newreno.js';

export type { CongestionControl } from './congestion-control.js';

export function createCongestionControl(name: CongestionControlName, initialCwnd: number): CongestionControl {
  switch (name) {
    case 'newreno':
      return new NewReno(initialCwnd);
    case 'cubic':
      return new Cubic(initialCwnd);
  }
}
