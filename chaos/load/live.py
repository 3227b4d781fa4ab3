"""Live statistics between processes: a generator elsewhere (a child process, a client container) appends what
changed each second to a JSON-lines file, and the engine replays the lines it has not read yet.

The first line is the header (`start_unix`, `tick_s`); each next line holds the ticks and ledger attempts
changed since the line before, whole (a later line replaces them). So the writer's cost per second is that of
the last seconds' answers, whatever the run's length (rewriting the whole run each second stalled the
generator by up to 55 ms near the end of a 75-s run at 800/s, and the stall was charged to the stack's
latencies). A reader takes complete lines only: a line still being written is read next time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from chaos.load.ledger import WriteAttempt, WriteLedger
from chaos.load.stats import TICK_S, LoadStats


class LiveWriter:
    """Appends one delta line per call to `path` (created, or emptied, at the first)."""

    def __init__(self, stats: LoadStats, ledger: WriteLedger, path: Path) -> None:
        self.stats, self.ledger, self.path = stats, ledger, path
        self._file: IO[str] | None = None

    def write(self, max_lag_ms: float = 0.0) -> None:
        """One delta line; `max_lag_ms`: the latest the generator has sent a request so far."""
        if self._file is None:
            self._file = self.path.open("w")
            self._line({"start_unix": self.stats.start_unix, "tick_s": TICK_S})
        self._line({"ticks": self.stats.take_changed(), "ledger": self.ledger.take_changed(),
                    "max_lag_ms": round(max_lag_ms, 1)})

    def _line(self, data: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(data, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class LiveReader:
    """What a live file says so far; `feed` it the file's whole content (or what follows `offset`)."""

    def __init__(self) -> None:
        self.offset = 0  # bytes consumed: complete lines only
        self.stats: LoadStats | None = None
        self.ledger = WriteLedger()
        self.max_lag_ms = 0.0  # the generator's own lateness so far: large = it measured itself, not the stack

    def feed(self, data: bytes, *, from_offset: bool = False) -> None:
        """Replay the complete lines after `offset`; `data` is the whole file unless `from_offset`."""
        chunk = data if from_offset else data[self.offset:]
        end = chunk.rfind(b"\n")
        if end < 0:
            return
        for line in chunk[: end + 1].splitlines():
            if line.strip():
                self._apply(json.loads(line))
        self.offset += end + 1

    def _apply(self, row: dict[str, Any]) -> None:
        if "start_unix" in row:
            # LoadStats.from_snapshot checks the tick size: a generator from another version says so clearly.
            self.stats = LoadStats.from_snapshot({**row, "ticks": {}})
            return
        if self.stats is None:
            raise ValueError("a live load file without its header line: was it written by this version?")
        self.stats.apply_ticks(row.get("ticks") or {})
        self.max_lag_ms = max(self.max_lag_ms, float(row.get("max_lag_ms") or 0.0))
        for a in row.get("ledger") or []:
            self.ledger.attempts[a["key"]] = WriteAttempt(**a)

    def read_file(self, path: Path) -> None:
        """Read what `path` gained since the last call (nothing when it does not exist yet)."""
        try:
            with path.open("rb") as f:
                f.seek(self.offset)
                self.feed(f.read(), from_offset=True)
        except FileNotFoundError:
            return
