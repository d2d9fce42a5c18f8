/**
 * The delivery algorithm (reference §4.2-§4.4) against a scripted host: posts, arriving data,
 * push-timer expiries, and a host that accepts all, a prefix or nothing of an indication.
 */
import { describe, expect, it } from 'vitest';
import type { BytesConsumed } from '../../../src/ndis/chimney-edges.js';
import type { NET_BUFFER_LIST } from '../../../src/ndis/nbl.js';
import { linkNetBufferLists, netBufferListsOf, newNetBufferList } from '../../../src/ndis/nbl.js';
import type { NdisStatus } from '../../../src/ndis/status.js';
import {
  NDIS_STATUS_INVALID_STATE,
  NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED,
  NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED,
  NDIS_STATUS_REQUEST_ABORTED,
  NDIS_STATUS_SUCCESS,
  NDIS_STATUS_UPLOAD_IN_PROGRESS,
  ndisStatusName,
} from '../../../src/ndis/status.js';
import type { DeliveryPort, ReceiveSource } from '../../../src/target/delivery.js';
import { ReceiveDelivery } from '../../../src/target/delivery.js';
import { SeededRandom } from '../../../src/wire/random.js';

/** An in-order byte stream the test appends to: stream byte i is (i * 7 + 3) & 0xff. */
class StreamSource implements ReceiveSource {
  private buf = new Uint8Array(0);
  private start = 0;
  /** Stream offset of the first byte held. */
  base = 0;
  received = 0;
  get length(): number {
    return this.buf.length - this.start;
  }
  append(n: number): void {
    const next = new Uint8Array(this.length + n);
    next.set(this.buf.subarray(this.start));
    for (let i = 0; i < n; i++) next[this.length + i] = ((this.received + i) * 7 + 3) & 0xff;
    this.buf = next;
    this.start = 0;
    this.received += n;
  }
  peek(dst: Uint8Array, dstOffset: number, offset: number, length: number): number {
    const n = Math.max(0, Math.min(length, this.length - offset));
    dst.set(this.buf.subarray(this.start + offset, this.start + offset + n), dstOffset);
    return n;
  }
  consume(n: number): void {
    if (n > this.length) throw new Error('consume past the end');
    this.start += n;
    this.base += n;
  }
}

const streamByte = (i: number): number => (i * 7 + 3) & 0xff;

type Answer = 'all' | 'none' | number;

/** The host side: records completions and indications, answers indications as told. */
class Host implements DeliveryPort {
  readonly log: string[] = [];
  /** Bytes the application has, in order: from completed buffers and accepted indications. */
  readonly app: number[] = [];
  answer: Answer = 'all';
  pushTimer = false;
  pushStarts = 0;
  depth = 0;
  maxDepth = 0;
  onComplete: ((chain: NET_BUFFER_LIST) => void) | undefined;
  completeReceives(chain: NET_BUFFER_LIST): void {
    this.enter();
    try {
      for (const nbl of netBufferListsOf(chain)) {
        const n = nbl.Info.TcpOffloadBytesTransferred;
        this.log.push(`complete ${n} ${ndisStatusName(nbl.Status).replace('NDIS_STATUS_', '')}`);
        const nb = nbl.FirstNetBuffer;
        const mdl = nb.MdlChain[0] as Uint8Array;
        const prefilled = (nbl.ProtocolReserved[0] as number | null) ?? 0;
        for (let i = prefilled; i < n; i++) this.app.push(mdl[nb.DataOffset - n + i] as number);
      }
      this.onComplete?.(chain);
    } finally {
      this.depth--;
    }
  }
  indicate(nbl: NET_BUFFER_LIST, consumed: BytesConsumed): NdisStatus {
    this.enter();
    try {
      const nb = nbl.FirstNetBuffer;
      const data = (nb.MdlChain[0] as Uint8Array).subarray(nb.DataOffset, nb.DataOffset + nb.DataLength);
      const take = this.answer === 'all' ? data.length : this.answer === 'none' ? 0 : Math.min(this.answer, data.length);
      this.log.push(`indicate ${data.length} took ${take}`);
      for (let i = 0; i < take; i++) this.app.push(data[i] as number);
      consumed.value = take;
      if (take === data.length) return NDIS_STATUS_SUCCESS;
      return take === 0 ? NDIS_STATUS_OFFLOAD_DATA_NOT_ACCEPTED : NDIS_STATUS_OFFLOAD_DATA_PARTIALLY_ACCEPTED;
    } finally {
      this.depth--;
    }
  }
  allocateIndication(length: number): NET_BUFFER_LIST {
    return newNetBufferList(new Uint8Array(length));
  }
  startPushTimer(): void {
    this.pushTimer = true;
    this.pushStarts++;
  }
  stopPushTimer(): void {
    this.pushTimer = false;
  }
  private enter(): void {
    this.depth++;
    this.maxDepth = Math.max(this.maxDepth, this.depth);
  }
}

/** Posted receive buffers of the given sizes, as one chain (push mode unless `noPush`). */
function buffers(sizes: number[], noPush = false, prefilled: number[] = []): NET_BUFFER_LIST {
  const nbls = sizes.map((n, i) => {
    const nbl = newNetBufferList(new Uint8Array(n));
    nbl.Info.TcpReceiveNoPush = noPush;
    const pre = prefilled[i] ?? 0;
    nbl.Info.TcpReceiveBytesTransferred = pre;
    nbl.ProtocolReserved[0] = pre;
    for (let k = 0; k < pre; k++) (nbl.FirstNetBuffer.MdlChain[0] as Uint8Array)[k] = 0xee;
    return nbl;
  });
  return linkNetBufferLists(nbls) as NET_BUFFER_LIST;
}

function setup(indicationSize = 0) {
  const source = new StreamSource();
  const host = new Host();
  const delivery = new ReceiveDelivery(source, host, indicationSize);
  const arrive = (n: number, psh = false): void => {
    source.append(n);
    delivery.dataArrived(psh);
  };
  const expectStreamExact = (): void => {
    expect(host.app.length).toBe(source.base);
    for (let i = 0; i < host.app.length; i++) if (host.app[i] !== streamByte(i)) throw new Error(`byte ${i} wrong`);
  };
  return { source, host, delivery, arrive, expectStreamExact };
}

describe('receive delivery (reference §4.4)', () => {
  it('posted buffers are filled FIFO and completed when full', () => {
    const { host, delivery, arrive, expectStreamExact } = setup();
    delivery.post(buffers([4096, 4096, 4096]));
    for (let i = 0; i < 12; i++) arrive(1024);
    expect(host.log).toEqual(['complete 4096 SUCCESS', 'complete 4096 SUCCESS', 'complete 4096 SUCCESS']);
    expectStreamExact();
  });

  it('push mode completes a partial buffer on PSH at once, and without PSH when the push timer fires', () => {
    const { host, delivery, arrive } = setup();
    delivery.post(buffers([4096, 4096]));
    arrive(100, true);
    expect(host.log).toEqual(['complete 100 SUCCESS']);
    arrive(100, false);
    expect(host.log).toHaveLength(1);
    expect(host.pushTimer).toBe(true);
    delivery.pushTimerExpired();
    expect(host.log).toEqual(['complete 100 SUCCESS', 'complete 100 SUCCESS']);
  });

  it('non-push mode ignores PSH and the push timer, and completes only when full', () => {
    const { host, delivery, arrive } = setup();
    delivery.post(buffers([300], true));
    arrive(100, true);
    arrive(100, true);
    delivery.pushTimerExpired();
    expect(host.log).toEqual([]);
    expect(host.pushStarts).toBe(0);
    arrive(100, true);
    expect(host.log).toEqual(['complete 300 SUCCESS']);
  });

  it('row 63: a pre-filled push buffer starts the push timer at once and completes with its bytes; data is appended after them', () => {
    const { host, delivery, arrive } = setup();
    delivery.post(buffers([64], false, [10]));
    expect(host.pushTimer).toBe(true);
    delivery.pushTimerExpired();
    expect(host.log).toEqual(['complete 10 SUCCESS']);
    const second = setup();
    second.delivery.post(buffers([20], true, [10]));
    second.arrive(10);
    expect(second.host.log).toEqual(['complete 20 SUCCESS']);
    expect(second.host.app).toEqual(Array.from({ length: 10 }, (_, i) => streamByte(i)));
  });

  it('new data restarts a running push timer', () => {
    const { host, delivery, arrive } = setup();
    delivery.post(buffers([4096]));
    arrive(10);
    expect(host.pushStarts).toBe(1);
    arrive(10);
    arrive(10);
    expect(host.pushStarts).toBe(3);
    expect(host.log).toEqual([]);
  });

  it('with nothing posted, data is indicated one NBL at a time, sized by RcvIndicationSize', () => {
    const { host, arrive, expectStreamExact } = setup(1000);
    arrive(2500);
    expect(host.log).toEqual(['indicate 1000 took 1000', 'indicate 1000 took 1000', 'indicate 500 took 500']);
    expectStreamExact();
  });

  it('a partial accept keeps the remainder, which later goes into posted buffers; nothing lost or repeated', () => {
    const { host, delivery, arrive, expectStreamExact, source } = setup();
    host.answer = 100;
    arrive(1000);
    expect(host.log).toEqual(['indicate 1000 took 100']);
    expect(delivery.backlog).toBe(900);
    host.answer = 'all';
    delivery.post(buffers([600, 600]));
    expect(host.log.slice(1)).toEqual(['complete 600 SUCCESS']);
    expect(source.length).toBe(0);
    expect(host.pushTimer).toBe(true);
    delivery.pushTimerExpired();
    expect(host.log.slice(2)).toEqual(['complete 300 SUCCESS']);
    expectStreamExact();
  });

  it('after a refusal nothing is indicated until a post; a zero-byte receive re-enables indications', () => {
    const { host, delivery, arrive, expectStreamExact } = setup();
    host.answer = 'none';
    arrive(500);
    arrive(500);
    arrive(500);
    expect(host.log).toEqual(['indicate 500 took 0']);
    host.answer = 'all';
    delivery.post(buffers([0]));
    expect(host.log.slice(1)).toEqual(['complete 0 SUCCESS', 'indicate 1500 took 1500']);
    arrive(10);
    expect(host.log.slice(3)).toEqual(['indicate 10 took 10']);
    expectStreamExact();
  });

  it('posts after the disconnect indication complete INVALID_STATE; an upload completes them UPLOAD_IN_PROGRESS or with their data; an abort REQUEST_ABORTED', () => {
    const a = setup();
    a.delivery.markDisconnectIndicated();
    a.delivery.post(buffers([100]));
    expect(a.host.log).toEqual(['complete 0 INVALID_STATE']);
    const b = setup();
    b.delivery.post(buffers([100, 100, 100]));
    b.arrive(150);
    b.delivery.flushForUpload();
    expect(b.host.log).toEqual(['complete 100 SUCCESS', 'complete 50 SUCCESS', 'complete 0 UPLOAD_IN_PROGRESS']);
    const c = setup();
    c.delivery.post(buffers([100, 100]));
    c.arrive(30);
    c.delivery.abort();
    expect(c.host.log).toEqual(['complete 30 REQUEST_ABORTED', 'complete 0 REQUEST_ABORTED']);
    expect([NDIS_STATUS_INVALID_STATE, NDIS_STATUS_UPLOAD_IN_PROGRESS, NDIS_STATUS_REQUEST_ABORTED]).toHaveLength(3);
  });

  it('row 70: a post from inside the completion handler is handled after it returns, never nested; order is kept', () => {
    const { host, delivery, arrive, expectStreamExact } = setup();
    let reposts = 3;
    host.onComplete = () => {
      if (reposts-- > 0) delivery.post(buffers([100]));
    };
    delivery.post(buffers([100]));
    arrive(400);
    expect(host.maxDepth).toBe(1);
    expect(host.log).toEqual(['complete 100 SUCCESS', 'complete 100 SUCCESS', 'complete 100 SUCCESS', 'complete 100 SUCCESS']);
    expectStreamExact();
  });

  it('random interleavings of arrivals, posts, push expiries and host answers deliver the stream exactly, in order, with no nested call', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const rnd = new SeededRandom(seed);
      const pick = (n: number): number => Math.floor(rnd.nextFloat() * n);
      const { host, delivery, arrive, source, expectStreamExact } = setup(pick(3) === 0 ? 0 : 1 + pick(2000));
      host.onComplete = () => {
        if (pick(4) === 0) delivery.post(buffers([pick(3000)], pick(2) === 0));
      };
      for (let step = 0; step < 60; step++) {
        const what = pick(5);
        if (what <= 1) arrive(1 + pick(3000), pick(2) === 0);
        else if (what === 2) delivery.post(buffers(Array.from({ length: 1 + pick(3) }, () => pick(4000)), pick(3) === 0));
        else if (what === 3) delivery.pushTimerExpired();
        else host.answer = (['all', 'none', pick(2000)] as Answer[])[pick(3)] as Answer;
      }
      // Drain: an accepting host and a zero-byte post, then buffers for whatever is left.
      host.answer = 'all';
      delivery.post(buffers([0]));
      delivery.post(buffers([source.length + 1]));
      delivery.pushTimerExpired();
      delivery.flushForUpload();
      expect([seed, source.length]).toEqual([seed, 0]);
      expect([seed, host.maxDepth]).toEqual([seed, 1]);
      expectStreamExact();
    }
  });
});
