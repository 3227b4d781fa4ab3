"""The probe agent the network faults' effect checks run inside a namespace (stdlib only: `python3 -c` in nettools).

Not imported by the toolkit: `chaos.stack.netns.NetnsAgent` sends this file's source to a helper container.

    serve PORT [LIFETIME_S]         TCP and UDP on PORT; prints "ready" once bound; exits after LIFETIME_S
                                    (default 300: a caller killed before removing it leaves nothing for long).
                                    A TCP client's first line says what it wants: SINK (drain to EOF, answer
                                    the byte count) or COUNT <tag> (how many UDP datagrams tagged so
                                    arrived); anything else: closed.
    connect HOST PORT TIMEOUT_S     one TCP connect                        → {"ok", "ms", "error"}
    send HOST PORT BYTES TIMEOUT_S  BYTES through a SINK, timed to its answer → {"bytes", "seconds", "kbit_s"}
    udp HOST PORT N GAP_S TAG       N tagged datagrams, one every GAP_S      → {"sent", "send_errors"}
    count PORT TAG                  ask the local server (loopback)         → {"received"}
    syn HOST PORT N TIMEOUT_S BATCH N TCP connects, BATCH at a time: answered (accepted or refused) within
                                    TIMEOUT_S (below the 1 s SYN retransmission) → {"tried", "answered"}
    rtt HOST PORT N                 N TCP connects, their times               → {"median_ms", "min_ms"}
    ttfb HOST PORT N TIMEOUT_S      N fresh connections, each sends one small HTTP request and times its first
                                    answer byte (or the close)   → {"median_ms", "min_ms", "failed"}
    http HOST PORT N METHOD PATH TIMEOUT_S   N requests, one connection each → {"statuses": {code: n},
                                    "injected", "reset", "failed", "median_ms", "times_ms"}
    resolve NAME                    the name looked up as the namespace's resolver does (getaddrinfo, IPv4)
                                                               → {"addresses", "error", "ms"}
    reach PORT TIMEOUT_S N HOST...  N TCP connects to each HOST at once: whether any was answered (accepted or
                                    refused) within TIMEOUT_S          → {"answered": {HOST: true|false}}
"""

import errno
import json
import os
import select
import socket
import statistics
import struct
import sys
import threading
import time


def serve(port: int, lifetime_s: float = 300.0) -> None:
    """Listen on `port` (TCP: a byte sink and a datagram counter; UDP: tagged datagrams) until `lifetime_s`."""
    threading.Timer(lifetime_s, lambda: os._exit(0)).start()
    seen: dict = {}
    last = [0.0]
    lock = threading.Lock()

    def udp_loop(sock: socket.socket) -> None:
        while True:
            data, _ = sock.recvfrom(2048)
            tag, _, seq = data.decode(errors="replace").partition(" ")
            with lock:
                seen.setdefault(tag, set()).add(seq)
                last[0] = time.monotonic()

    def handle(conn: socket.socket) -> None:
        with conn:
            f = conn.makefile("rb")
            line = f.readline().decode(errors="replace").strip()
            if line == "SINK":
                n = 0
                while True:
                    chunk = f.read1(65536)
                    if not chunk:
                        break
                    n += len(chunk)
                conn.sendall(f"{n}\n".encode())
            elif line.startswith("COUNT "):
                quiet_until = time.monotonic() + 3.0  # the last datagrams may still be on their way: 0.2 s of quiet
                while time.monotonic() < quiet_until and time.monotonic() - last[0] < 0.2:
                    time.sleep(0.05)
                with lock:
                    n = len(seen.get(line[6:], ()))
                conn.sendall(f"{n}\n".encode())

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp.bind(("0.0.0.0", port))
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("0.0.0.0", port))
    tcp.listen(256)
    threading.Thread(target=udp_loop, args=(udp,), daemon=True).start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def connect(host: str, port: int, timeout_s: float) -> dict:
    """One TCP connect: whether it succeeded and how long it took."""
    t0 = time.monotonic()
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        return {"ok": False, "ms": round(1000 * (time.monotonic() - t0), 1), "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "ms": round(1000 * (time.monotonic() - t0), 1), "error": None}


def send(host: str, port: int, nbytes: int, timeout_s: float) -> dict:
    """Send `nbytes` to a sink over TCP: the bytes it received and the rate (kbit/s)."""
    sock = socket.create_connection((host, port), timeout=timeout_s)
    sock.settimeout(timeout_s)
    sock.sendall(b"SINK\n")
    block = b"\0" * 65536
    t0 = time.monotonic()
    left = nbytes
    while left > 0:
        left -= sock.send(block[: min(left, len(block))])
    sock.shutdown(socket.SHUT_WR)
    received = int(sock.makefile().readline() or 0)  # answered once the sink has read everything
    seconds = time.monotonic() - t0
    sock.close()
    return {"bytes": received, "seconds": round(seconds, 3), "kbit_s": round(received * 8 / 1000 / seconds, 1)}


def udp(host: str, port: int, n: int, gap_s: float, tag: str) -> dict:
    """Send `n` datagrams tagged `tag`, `gap_s` apart; how many the kernel refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    errors = 0
    due = time.monotonic()
    for i in range(n):
        try:
            sock.sendto(f"{tag} {i}".encode(), (host, port))
        except OSError:  # EPERM: an iptables DROP in OUTPUT refuses the datagram at once
            errors += 1
        due += gap_s
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return {"sent": n, "send_errors": errors}


def count(port: int, tag: str) -> dict:
    """How many datagrams tagged `tag` the local server received."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"COUNT {tag}\n".encode())
    return {"received": int(sock.makefile().readline() or 0)}


def answered(hosts: list, port: int, timeout_s: float) -> list:
    """One non-blocking TCP connect to each entry of `hosts` (repeats allowed), all at once: for each, whether it was
    answered (SYN-ACK or RST) within `timeout_s`. Closed with a RST (no TIME_WAIT left behind)."""
    pending = {}
    for i, host in enumerate(hosts):
        s = socket.socket()
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        except OSError:  # EPERM: dropped on the way out, or no route: not answered
            s.close()
            continue
        pending[s] = i
    socks = list(pending)
    seen = [False] * len(hosts)
    deadline = time.monotonic() + timeout_s
    while pending and deadline > time.monotonic():
        _, ready, _ = select.select([], list(pending), [], deadline - time.monotonic())
        for s in ready:
            i = pending.pop(s)
            seen[i] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) in (0, errno.ECONNREFUSED)
    for s in socks:
        s.close()
    return seen


def syn(host: str, port: int, n: int, timeout_s: float, batch: int) -> dict:
    """`n` TCP connects, `batch` at a time: how many were answered (SYN-ACK or RST) within `timeout_s`."""
    got = tried = 0
    while tried < n:
        size = min(batch, n - tried)
        got += sum(answered([host] * size, port, timeout_s))
        tried += size
    return {"tried": tried, "answered": got}


def reach(port: int, timeout_s: float, n: int, hosts: list) -> dict:
    """`n` TCP connects to each host, all at once: which hosts answered any of them within `timeout_s`."""
    tries = [host for host in hosts for _ in range(n)]
    found = {host: False for host in hosts}
    for host, ok in zip(tries, answered(tries, port, timeout_s), strict=True):
        found[host] = found[host] or ok
    return {"answered": found}


def ttfb(host: str, port: int, n: int, timeout_s: float) -> dict:
    """Median and minimum time from sending a small request to the first answer byte (or the close)."""
    times, failed = [], 0
    for _ in range(n):
        try:
            with socket.create_connection((host, port), timeout=timeout_s) as sock:
                t0 = time.monotonic()
                sock.sendall(b"GET / HTTP/1.0\r\nHost: entchaos\r\n\r\n")
                sock.recv(1)
                times.append(1000 * (time.monotonic() - t0))
        except OSError:
            failed += 1
    return {"median_ms": round(statistics.median(times), 2) if times else None,
            "min_ms": round(min(times), 2) if times else None, "failed": failed}


def http(host: str, port: int, n: int, method: str, path: str, timeout_s: float) -> dict:
    """`n` requests, a fresh connection each: the statuses, those the fault proxy answered (its header), the
    connections reset or failed, and the times to the whole answer."""
    statuses: dict = {}
    injected = reset = failed = 0
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=timeout_s) as sock:
                sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: entchaos\r\nConnection: close\r\n"
                             f"Content-Length: 0\r\n\r\n".encode())
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except ConnectionResetError:
            reset += 1
            continue
        except OSError:
            failed += 1
            continue
        if not data:
            reset += 1  # closed without a word: what an abort looks like once connected
            continue
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        code = head.split(" ")[1] if head.startswith("HTTP/") and " " in head else "?"
        statuses[code] = statuses.get(code, 0) + 1
        injected += "x-entchaos-fault:" in head.lower()
        times.append(round(1000 * (time.monotonic() - t0), 2))
    return {"statuses": statuses, "injected": injected, "reset": reset, "failed": failed,
            "median_ms": round(statistics.median(times), 2) if times else None, "times_ms": times}


def resolve(name: str) -> dict:
    """`name` looked up through the namespace's own resolver (its resolv.conf): addresses or the error."""
    t0 = time.monotonic()
    try:
        found = sorted({a[4][0] for a in socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)})
    except OSError as exc:
        return {"addresses": [], "error": f"{type(exc).__name__}: {exc}", "ms": round(1000 * (time.monotonic() - t0))}
    return {"addresses": found, "error": None, "ms": round(1000 * (time.monotonic() - t0))}


def rtt(host: str, port: int, n: int) -> dict:
    """Median and minimum of `n` TCP connect times (ms), and how many failed."""
    times = [connect(host, port, 5.0) for _ in range(n)]
    ok = [t["ms"] for t in times if t["ok"]]
    return {"median_ms": statistics.median(ok) if ok else None, "min_ms": min(ok) if ok else None,
            "failed": n - len(ok)}


def main(argv: list) -> None:
    """Run the probe `argv[0]` with its arguments and print its JSON answer (or serve)."""
    mode, args = argv[0], argv[1:]
    if mode == "serve":
        serve(int(args[0]), float(args[1]) if len(args) > 1 else 300.0)
        return
    result = {
        "connect": lambda: connect(args[0], int(args[1]), float(args[2])),
        "send": lambda: send(args[0], int(args[1]), int(args[2]), float(args[3])),
        "udp": lambda: udp(args[0], int(args[1]), int(args[2]), float(args[3]), args[4]),
        "count": lambda: count(int(args[0]), args[1]),
        "syn": lambda: syn(args[0], int(args[1]), int(args[2]), float(args[3]), int(args[4])),
        "rtt": lambda: rtt(args[0], int(args[1]), int(args[2])),
        "ttfb": lambda: ttfb(args[0], int(args[1]), int(args[2]), float(args[3])),
        "http": lambda: http(args[0], int(args[1]), int(args[2]), args[3], args[4], float(args[5])),
        "resolve": lambda: resolve(args[0]),
        "reach": lambda: reach(int(args[0]), float(args[1]), int(args[2]), args[3:]),
    }[mode]()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
