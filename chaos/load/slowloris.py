"""Slow clients (slowloris): connections that send their request headers a line at a time and never finish.

`python -m chaos.load.slowloris --host edge --port 80 --connections 200 --for 40 --json FILE` holds that
many such connections for `--for` seconds, opening a new one whenever the server cuts one, then stops by
itself and writes a summary: how long the server let each connection hang before cutting it. An edge with a
request-header timeout cuts them after seconds; one without keeps them (and their slots) for minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What the slow clients saw: connections opened, refused, cut by the server (after how long), still held."""

    opened: int = 0
    failed_to_connect: int = 0
    held_s: list[float] = field(default_factory=list)  # connections the server cut, after how long
    still_open_s: list[float] = field(default_factory=list)  # the age of those still held at the end

    def summary(self, for_s: float) -> dict:
        """The JSON summary the probe reads: counts, and how long the server held connections (median, max)."""
        cut, still_open = sorted(self.held_s), self.still_open_s
        return {
            "type": "summary", "for_s": for_s, "opened": self.opened, "failed_to_connect": self.failed_to_connect,
            "cut_by_server": len(cut), "still_open_at_end": len(still_open),
            "median_held_s": round(statistics.median(cut), 3) if cut else None,
            "max_held_s": round(max(cut + still_open), 3) if cut or still_open else None,
        }


async def one_slow_client(host: str, port: int, deadline: float, interval_s: float, tally: Tally) -> None:
    """One connection slot: a slow request, and a new one each time the server cuts it, until the deadline."""
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=3)
        except (OSError, TimeoutError):
            tally.failed_to_connect += 1
            await asyncio.sleep(0.5)
            continue
        tally.opened += 1
        started = time.monotonic()
        try:
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode())
            while time.monotonic() < deadline:
                await writer.drain()
                try:  # any answer (408) or a close: either way the server cut us
                    await asyncio.wait_for(reader.read(1024), timeout=interval_s)
                    break
                except TimeoutError:
                    writer.write(b"X-Slow: 1\r\n")  # one more header line: never the blank line that ends them
            else:  # the deadline: still held
                tally.still_open_s.append(time.monotonic() - started)
                return
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
        tally.held_s.append(time.monotonic() - started)


async def run(host: str, port: int, connections: int, for_s: float, interval_s: float) -> dict:
    """Hold `connections` slow clients against host:port for `for_s` seconds; their summary."""
    tally = Tally()
    deadline = time.monotonic() + for_s
    await asyncio.gather(*(one_slow_client(host, port, deadline, interval_s, tally) for _ in range(connections)))
    return tally.summary(for_s)


def main(argv: list[str] | None = None) -> int:
    """The command line (`python -m chaos.load.slowloris`); writes the summary as JSON."""
    parser = argparse.ArgumentParser(prog="python -m chaos.load.slowloris", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="edge")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--for", dest="for_s", type=float, default=30.0, help="stop by itself after this, s")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between header lines")
    parser.add_argument("--json", default=None, help="write the summary here (else stdout)")
    args = parser.parse_args(argv)
    if not (0 < args.for_s <= 900 and 0 < args.connections <= 5000 and args.interval > 0):
        parser.error("--for must be in (0, 900], --connections in (0, 5000], --interval > 0")
    summary = asyncio.run(run(args.host, args.port, args.connections, args.for_s, args.interval))
    text = json.dumps(summary)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
