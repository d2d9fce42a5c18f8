/**
 * A FIN that arrives ahead of data still missing is remembered and processed the moment
 * RCV.NXT reaches it (RFC 9293 §3.10.7.4, eighth step: the FIN is processed once the data
 * before it has been received), whether or not the reassembly queue held anything in between.
 */
import { describe, expect, it } from 'vitest';
import { ACK, DATA, EngineHarness, FIN, TCP_ACK, TCP_FIN } from '../../helpers/segments.js';

const ISS = 1000;
const PEER = 5000;

describe('a FIN ahead of missing data', () => {
  it('issue 9 defect 5: a FIN that arrives ahead of the last data segment is processed when the data arrives', () => {
    const h = EngineHarness.established();
    // A bare FIN at 5101: the data [5001, 5101) before it is still on its way.
    h.send(FIN(PEER + 101, ISS + 1));
    expect(h.conn.state).toBe('ESTABLISHED');
    h.sent.length = 0;
    h.send(DATA(PEER + 1, ISS + 1, 100));
    // The data fills the gap up to the FIN: both are acknowledged at once, without waiting
    // for the peer to retransmit its FIN after a timeout.
    h.expect({ flags: TCP_ACK, ack: PEER + 102 });
    expect(h.conn.state).toBe('CLOSE-WAIT');
    expect(h.eventTypes()).toEqual(['readable', 'peer-fin']);
    expect(h.readAll().length).toBe(100);
  });

  it('processes a FIN carried by an out-of-order segment once the gap before it fills', () => {
    const h = EngineHarness.established();
    h.send(DATA(PEER + 51, ISS + 1, 50, { flags: TCP_ACK | TCP_FIN }));
    expect(h.conn.state).toBe('ESTABLISHED');
    h.sent.length = 0;
    h.send(DATA(PEER + 1, ISS + 1, 50));
    h.expect({ flags: TCP_ACK, ack: PEER + 102 });
    expect(h.conn.state).toBe('CLOSE-WAIT');
    expect(h.readAll().length).toBe(100);
  });

  it('issue 9 defect 5: in FIN-WAIT-2, a FIN ahead of the last data segment leads to TIME-WAIT when the data arrives', () => {
    const h = EngineHarness.established();
    h.conn.shutdown();
    h.poll();
    h.send(ACK(PEER + 1, ISS + 2));
    expect(h.conn.state).toBe('FIN-WAIT-2');
    h.send(FIN(PEER + 101, ISS + 2));
    h.sent.length = 0;
    h.send(DATA(PEER + 1, ISS + 2, 100));
    h.expect({ flags: TCP_ACK, ack: PEER + 102 });
    expect(h.conn.state).toBe('TIME-WAIT');
  });
});
