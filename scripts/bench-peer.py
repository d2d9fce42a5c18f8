#!/usr/bin/env python3
"""Kernel-side peer for `npm run bench` (scripts/bench.ts), run inside the benchmark's network
namespace with `ip netns exec`. Every mode is bounded in time and bytes and prints exactly one
JSON object on stdout (the `hold` mode prints a second one when it is done).

  bench-peer.py cps HOST PORT SECS WORKERS SIZE
      WORKERS processes each loop for SECS seconds: connect, send SIZE bytes, read SIZE bytes
      back (an echo service), close. Counts completed cycles and failures by cause, and the
      latency of one cycle (connect to close).

  bench-peer.py hold HOST PORT N SECS [SIZE]
      Opens N connections one after another and keeps them idle until stdin closes (or SECS
      pass), then closes them all. Prints {"opened": ..} when the N are open (or failed).
      With SIZE > 0 (an echo service), each connection first sends SIZE bytes and reads them
      back, so the idle connections have carried data both ways.

  bench-peer.py verify-chargen HOST PORT BYTES
      Reads BYTES bytes from a chargen service (RFC 864 lines, the pattern of
      src/cli/services.ts) and checks every byte.

  bench-peer.py verify-echo HOST PORT BYTES
      Sends BYTES pseudo-random bytes to an echo service while reading them back, and
      compares.
"""
import errno
import json
import os
import random
import resource
import select
import socket
import sys
import time


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def err_name(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, OSError) and e.errno is not None:
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def recv_exact(s, n):
    got = bytearray()
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            raise ConnectionError("peer closed early (%d of %d bytes)" % (len(got), n))
        got += chunk
    return bytes(got)


# ---- cps ----------------------------------------------------------------------------------------

def cps_worker(host, port, secs, size, wfd):
    payload = bytes(random.getrandbits(8) for _ in range(size))
    done = 0
    failures = {}
    lat = []
    t_end = time.monotonic() + secs
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        s = None
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(payload)
            back = recv_exact(s, size)
            if back != payload:
                raise ValueError("echo mismatch")
            s.close()
            s = None
            done += 1
            if len(lat) < 200000:
                lat.append(time.monotonic() - t0)
        except Exception as e:  # counted, the loop goes on
            k = err_name(e)
            failures[k] = failures.get(k, 0) + 1
            if s is not None:
                s.close()
            time.sleep(0.001)
    os.write(wfd, json.dumps({"done": done, "failures": failures, "lat": lat}).encode())
    os.close(wfd)


def cps(host, port, secs, workers, size):
    pipes = []
    pids = []
    t0 = time.monotonic()
    for _ in range(workers):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                cps_worker(host, port, secs, size, w)
            finally:
                os._exit(0)
        os.close(w)
        pipes.append(r)
        pids.append(pid)
    results = []
    for r in pipes:
        data = b""
        while True:
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            data += chunk
        os.close(r)
        if data:
            results.append(json.loads(data))
    for pid in pids:
        os.waitpid(pid, 0)
    elapsed = time.monotonic() - t0
    done = sum(x["done"] for x in results)
    failures = {}
    lat = []
    for x in results:
        lat += x["lat"]
        for k, v in x["failures"].items():
            failures[k] = failures.get(k, 0) + v
    lat.sort()

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 3) if lat else None

    out({"mode": "cps", "workers": workers, "size": size, "elapsed": round(elapsed, 3), "connections": done,
         "cps": round(done / elapsed, 1), "failures": failures, "workersReported": len(results),
         "latencyMs": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)}})


# ---- hold ---------------------------------------------------------------------------------------

def hold(host, port, n, secs, size):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, n + 64)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    socks = []
    failures = {}
    payload = bytes(random.getrandbits(8) for _ in range(size))
    t0 = time.monotonic()
    deadline = t0 + secs
    for _ in range(n):
        if time.monotonic() > deadline:
            failures["deadline"] = failures.get("deadline", 0) + 1
            break
        s = None
        try:
            s = socket.create_connection((host, port), timeout=5)
            if size > 0:
                s.sendall(payload)
                if recv_exact(s, size) != payload:
                    raise ValueError("echo mismatch")
            socks.append(s)
        except Exception as e:
            if s is not None:
                s.close()
            k = err_name(e)
            failures[k] = failures.get(k, 0) + 1
    out({"mode": "hold", "opened": len(socks), "failures": failures, "openSeconds": round(time.monotonic() - t0, 3)})
    # Idle until the benchmark closes our stdin (or the bound passes).
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.monotonic()))
        if r and not os.read(sys.stdin.fileno(), 4096):
            break
    # A peer that closed a connection would have an EOF or RST pending: count them.
    dead = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                dead += 1
        except BlockingIOError:
            pass
        except OSError:
            dead += 1
        s.close()
    out({"mode": "hold", "closed": len(socks), "deadBeforeClose": dead})


# ---- verification -------------------------------------------------------------------------------

def chargen_cycle():
    # RFC 864 lines as src/cli/services.ts builds them: 95 lines of 72 printable characters + CRLF.
    b = bytearray()
    for line in range(95):
        for i in range(72):
            b.append(32 + (line + i) % 95)
        b += b"\r\n"
    return bytes(b)


def verify_chargen(host, port, total):
    cycle = chargen_cycle()
    big = cycle * ((1 << 20) // len(cycle) + 2)
    s = socket.create_connection((host, port), timeout=10)
    buf = bytearray(1 << 20)
    got = 0
    bad_at = None
    t0 = time.monotonic()
    while got < total:
        k = s.recv_into(buf, min(len(buf), total - got))
        if k == 0:
            break
        pos = got % len(cycle)
        if buf[:k] != big[pos:pos + k]:
            for i in range(k):
                if buf[i] != big[pos + i]:
                    bad_at = got + i
                    break
            break
        got += k
    s.close()
    out({"mode": "verify-chargen", "bytes": got, "ok": got == total and bad_at is None, "firstBadOffset": bad_at,
         "elapsed": round(time.monotonic() - t0, 3)})


def verify_echo(host, port, total):
    rnd = random.Random(7)
    data = rnd.randbytes(total)
    s = socket.create_connection((host, port), timeout=10)
    s.setblocking(False)
    sent = 0
    back = bytearray()
    t_end = time.monotonic() + 30
    while len(back) < total and time.monotonic() < t_end:
        want_w = [s] if sent < total else []
        r, w, _ = select.select([s], want_w, [], 1.0)
        if w:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        if r:
            try:
                chunk = s.recv(1 << 20)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                break
            if chunk:
                back += chunk
    s.close()
    ok = bytes(back) == data
    bad_at = None
    if not ok:
        bad_at = next((i for i in range(min(len(back), total)) if back[i] != data[i]), min(len(back), total))
    out({"mode": "verify-echo", "bytes": len(back), "ok": ok, "firstBadOffset": bad_at})


def main():
    mode = sys.argv[1]
    a = sys.argv[2:]
    if mode == "cps":
        cps(a[0], int(a[1]), float(a[2]), int(a[3]), int(a[4]))
    elif mode == "hold":
        hold(a[0], int(a[1]), int(a[2]), float(a[3]), int(a[4]) if len(a) > 4 else 0)
    elif mode == "verify-chargen":
        verify_chargen(a[0], int(a[1]), int(a[2]))
    elif mode == "verify-echo":
        verify_echo(a[0], int(a[1]), int(a[2]))
    else:
        sys.exit("unknown mode %r" % mode)


if __name__ == "__main__":
    main()
