"""The DNS responder the `dns` fault places in a target's network namespace (stdlib only: `python3 -c` in nettools).
Not imported by the toolkit: `chaos.faults.dns` sends this file's source to a helper sharing the namespace, where
an iptables REDIRECT sends it the target's DNS queries.

    python3 dns_agent.py PORT UPSTREAM PATTERN ADDRESS MARK

A query for a name that ends with PATTERN (a whole label match; PATTERN `.` matches every name) is answered at once:
with ADDRESS (an A record, TTL 0) for an A query, with no record for any other type. Every other query is passed to
UPSTREAM (the resolver the target had, e.g. Docker's 127.0.0.11) from a socket marked MARK, which the REDIRECT
lets through (no loop), and its answer relayed. Prints "ready" once bound.
"""

import json
import socket
import struct
import sys
import threading


def qname(packet: bytes) -> tuple:
    """The question's name (lower case, no trailing dot), its type, and where the question ends."""
    labels, i = [], 12
    while packet[i]:
        n = packet[i]
        labels.append(packet[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    qtype = struct.unpack("!H", packet[i + 1:i + 3])[0]
    return ".".join(labels), qtype, i + 5


def matches(name: str, pattern: str) -> bool:
    return pattern == "." or name == pattern or name.endswith("." + pattern)


def answer(packet: bytes, address: str, end: int, qtype: int) -> bytes:
    """The query turned into its answer: flags QR, RD, RA; one A record (type A) or none."""
    ident = packet[:2]
    with_record = qtype == 1
    header = ident + struct.pack("!HHHHH", 0x8180, 1, 1 if with_record else 0, 0, 0)
    question = packet[12:end]
    record = (struct.pack("!HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(address)) if with_record else b""
    return header + question + record


def main(port: int, upstream: str, pattern: str, address: str, mark: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("0.0.0.0", port))
    counts = {"answered": 0, "passed": 0}
    lock = threading.Lock()

    def pass_on(packet: bytes, client: tuple) -> None:
        out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        out.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        out.settimeout(5)
        try:
            out.sendto(packet, (upstream, 53))
            server.sendto(out.recv(4096), client)
        except OSError:
            pass
        finally:
            out.close()

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        packet, client = server.recvfrom(4096)
        try:
            name, qtype, end = qname(packet)
        except (IndexError, struct.error):
            continue
        with lock:
            if matches(name, pattern):
                server.sendto(answer(packet, address, end, qtype), client)
                counts["answered"] += 1
            else:
                counts["passed"] += 1
                threading.Thread(target=pass_on, args=(packet, client), daemon=True).start()
            sys.stderr.write(json.dumps(counts) + "\n")
            sys.stderr.flush()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3].lower().rstrip(".") or ".", sys.argv[4], int(sys.argv[5], 0))
