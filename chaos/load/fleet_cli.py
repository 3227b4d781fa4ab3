"""`entchaos load --inventory FILE`: the load from every load generator of an inventory at once, as a runbook's is
(`chaos.load.fleet_load`), with a progress line each second, the merged table, and each generator's own figures."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TextIO

from chaos.errors import ChaosError
from chaos.load.cli_args import print_table, spec_from_args
from chaos.load.fleet_load import START_AHEAD_S, FleetLoad
from chaos.load.runner import LoadResult
from chaos.stack.inventory import InventoryStack

STOP_GRACE_S = 5.0  # after the schedule: the last answers and live lines arrive


def run_fleet_from_args(args: argparse.Namespace, stack: InventoryStack, out: TextIO = sys.stdout) -> int:
    """Run the load the options describe from the inventory's generators; the table; the exit code."""
    try:
        args.target = args.target or "http://inventory.invalid/"  # each generator sends to the inventory's target
        handle = FleetLoad(spec_from_args(args), stack)
        stopped = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):  # end early but cleanly: the generators are stopped
                signal.signal(sig, lambda *_: stopped.set())
        out.write(f"load from {handle.where} to {handle.spec.target}, starting together in {START_AHEAD_S:g} s\n")
        handle.start()
        try:
            _follow(handle, stopped, out)
        finally:
            handle.stop()
        stats, ledger = handle.raw_stats(), handle.ledger()
        generators = handle.generators()
        result = LoadResult(spec=handle.spec, stats=stats, ledger=ledger, sent=stats.window().sent,
                            elapsed_s=stats.window().duration_s,
                            max_lag_ms=max((g["max_lag_ms"] or 0.0 for g in generators.values()), default=0.0),
                            stopped_early=stopped.is_set())
        print_table(result, out)
        out.write("generators (their own figures; the table above is their series merged tick by tick):\n")
        for name, g in sorted(generators.items()):
            availability = f"{100 * g['availability']:.2f} %" if g["availability"] is not None else "-"
            p95 = f"{g['p95_ms']:.1f} ms" if g["p95_ms"] is not None else "-"
            out.write(f"  {name:<16} {g['requests']:>8} requests  availability {availability}  p95 {p95}  "
                      f"clock offset {g.get('offset_ms', 0):+.2f} ± {g.get('error_ms', 0):.2f} ms\n")
        if args.json:
            out.write(f"series written to {stats.write_jsonl(args.json)}\n")
        if args.ledger:
            out.write(f"ledger written to {ledger.write_jsonl(args.ledger)}\n")
    except ChaosError as exc:
        sys.stderr.write(f"entchaos load: {exc.message}\n")
        return exc.exit_code
    return 0


def _follow(handle: FleetLoad, stopped: threading.Event, out: TextIO) -> None:
    """A line each second with the merged last second, until the schedule's end (or a stop)."""
    assert handle.start_at is not None
    end = handle.start_at + handle.spec.schedule.duration_s + (handle.spec.drain_s or 0) + STOP_GRACE_S
    while not stopped.wait(1.0) and time.time() < end:
        stats = handle.raw_stats()
        elapsed = time.time() - handle.start_at
        if elapsed < 1 or stats.total == 0:
            out.write(f"{elapsed:6.1f} s  waiting for the generators' first second\n")
            continue
        last = stats.window(max(0.0, elapsed - 2), elapsed - 1)
        p95 = last.percentile_ms(95)
        out.write(f"{elapsed:6.1f} s  {last.total:>6} answers/s  "
                  f"p95 {f'{p95:.1f} ms' if p95 is not None else '-':>10}  total {stats.total}\n")
        out.flush()
