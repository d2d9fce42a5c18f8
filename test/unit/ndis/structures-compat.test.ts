/**
 * `tcp/offload-state.ts` declares the TCP state structures for the engine (which may not import
 * `ndis/`), `ndis/structures.ts` for the contract. This file fails to type-check (npm test runs
 * the test type-check) when the two stop being assignable both ways.
 */
import { describe, expect, it } from 'vitest';
import type * as ndis from '../../../src/ndis/structures.js';
import * as ndisValues from '../../../src/ndis/structures.js';
import type * as tcp from '../../../src/tcp/offload-state.js';
import * as tcpValues from '../../../src/tcp/offload-state.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const constSame: Same<ndis.TCP_OFFLOAD_STATE_CONST, tcp.TCP_OFFLOAD_STATE_CONST> = true;
const cachedSame: Same<ndis.TCP_OFFLOAD_STATE_CACHED, tcp.TCP_OFFLOAD_STATE_CACHED> = true;
const delegatedSame: Same<ndis.TCP_OFFLOAD_STATE_DELEGATED, tcp.TCP_OFFLOAD_STATE_DELEGATED> = true;

describe('the TCP state structures of tcp/ and ndis/', () => {
  it('are the same shapes and the same constants', () => {
    expect([constSame, cachedSame, delegatedSame]).toEqual([true, true, true]);
    const names = [
      'TcpConnectionClosed',
      'TcpConnectionEstablished',
      'TcpConnectionTimeWait',
      'TCP_FLAG_TIMESTAMP_ENABLED',
      'TCP_FLAG_SACK_ENABLED',
      'TCP_FLAG_WINDOW_SCALING_ENABLED',
      'TCP_FLAG_KEEP_ALIVE_ENABLED',
      'TCP_FLAG_NAGLING_ENABLED',
      'TCP_FLAG_KEEP_ALIVE_RESTART',
      'TCP_FLAG_MAX_RT_RESTART',
      'TCP_FLAG_UPDATE_RCV_WND',
      'TIMER_NOT_RUNNING',
    ] as const;
    for (const name of names) expect([name, ndisValues[name]]).toEqual([name, tcpValues[name]]);
  });
});
