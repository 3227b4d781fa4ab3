"""`entchaos load` / `python -m chaos.load`: arguments, live progress line, final table. Printing lives here."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from chaos.errors import ChaosError
from chaos.load.child import end_with_parent, raise_priority
from chaos.load.classify import CLASSES
from chaos.load.journeys import parse_mix
from chaos.load.ledger import check_database
from chaos.load.live import LiveWriter
from chaos.load.runner import LoadResult, LoadRunner, LoadSpec, Progress, run_load
from chaos.load.schedule import from_spec


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The load options, shared by `entchaos load` and `python -m chaos.load`."""
    parser.add_argument("--target", default="http://127.0.0.1:8080", help="base URL (default: the edge)")
    parser.add_argument(
        "--profile",
        default="constant:50",
        help="constant:RATE | ramp:FROM:TO | surge:BASE:SURGE:AT_S:FOR_S | file:PATH (YAML/JSON [[t_s, rate], ...])",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="hard bound, seconds (default 30)")
    parser.add_argument("--max-requests", type=int, default=None, help="hard bound on arrivals (journey starts)")
    parser.add_argument(
        "--mix", default="flood", help="weighted journeys, e.g. pupil=8,teacher=1 (the ENT's: pupil, teacher, "
        "virtual_class, login, flood); '' for the journeys file's own weights")
    parser.add_argument("--journeys", metavar="FILE", default=None,
                        help="journeys declared in YAML (docs/journeys.md; default: the bundled ENT's)")
    parser.add_argument("--path", default=None, help="URL path of a one-request journey, the flood (default: its own)")
    parser.add_argument("--timeout", type=float, default=5.0, help="per-request timeout from the intended time, s")
    parser.add_argument("--connect-timeout", type=float, default=3.0, help="TCP connect timeout, s")
    parser.add_argument("--connections", type=int, default=512, help="cap on open connections (default 512)")
    parser.add_argument("--served-by", choices=("markers", "status"), default="markers",
                        help="what counts as served: the ENT's marker headers (default) or any 2xx/3xx (another stack)")
    parser.add_argument("--drain", type=float, default=None,
                        help="how long to wait for answers after the last arrival, s (default: timeout + 1)")
    parser.add_argument("--think", type=float, default=0.0, help="think time between journey steps, s")
    parser.add_argument("--seed", type=int, default=None, help="random seed (journey choice, users, keys)")
    parser.add_argument("--json", metavar="PATH", default=None, help="write the per-second series + summary (JSONL)")
    parser.add_argument("--live", metavar="PATH", default=None,
                        help="append what changed in the statistics and acknowledged writes each second (JSONL)")
    parser.add_argument("--nice", type=int, default=None,
                        help="scheduling priority of the generator (e.g. -10: sooner; needs root or CAP_SYS_NICE)")
    parser.add_argument("--parent-pid", type=int, default=None, help="stop cleanly when this process (the engine) dies")
    parser.add_argument("--ledger", metavar="PATH", default=None, help="write the acknowledged-write ledger (JSONL)")
    parser.add_argument(
        "--check-db", metavar="CONNINFO", default=None, help="after the run, check the ledger against this database"
    )
    parser.add_argument("--quiet", action="store_true", help="no live progress line")
    parser.add_argument("--start-at", type=float, default=None, metavar="EPOCH",
                        help="start the schedule at this wall-clock instant (generators on several hosts together)")


def spec_from_args(args: argparse.Namespace) -> LoadSpec:
    """The LoadSpec the parsed options describe."""
    return LoadSpec(
        schedule=from_spec(args.profile, args.duration, max_requests=args.max_requests),
        target=args.target,
        mix=parse_mix(args.mix),
        timeout_s=args.timeout,
        connect_timeout_s=args.connect_timeout,
        max_connections=args.connections,
        think_s=args.think,
        flood_path=args.path,
        journeys_file=args.journeys,
        seed=args.seed,
        drain_s=args.drain,
        served_by=args.served_by,
        start_at=args.start_at,
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Run the load the options describe; progress, the table and the files asked for; the exit code."""
    out = sys.stdout
    try:
        spec = spec_from_args(args)
        printer = None if args.quiet else _progress_printer(out)
        runner = LoadRunner(spec)
        # SIGINT/SIGTERM end the run early but cleanly: the outputs below are still written. SIGUSR1/2 pause and
        # resume it (a game day's facilitator), in place before the live file exists: the engine waits for it.
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: runner.stop())
            signal.signal(signal.SIGUSR1, lambda *_: runner.pause())
            signal.signal(signal.SIGUSR2, lambda *_: runner.resume())
        live = LiveWriter(runner.stats, runner.ledger, Path(args.live)) if args.live else None
        runner.progress = _with_live(live, printer) if live else printer
        if args.nice is not None:
            raise_priority(args.nice)
        if args.parent_pid is not None:
            end_with_parent(args.parent_pid)
        result = run_load(spec, runner=runner)
        if live:
            live.write(max_lag_ms=result.max_lag_ms)
            live.close()
        if not args.quiet and out.isatty():
            out.write("\n")
        print_table(result, out)
        if args.json:
            path = result.stats.write_jsonl(args.json)
            out.write(f"series written to {path}\n")
        if args.ledger:
            path = result.ledger.write_jsonl(args.ledger)
            out.write(f"ledger written to {path}\n")
        if args.check_db:
            check = check_database(result.ledger, args.check_db)
            out.write("ledger check: " + json.dumps(check.as_dict()) + "\n")
            return 0 if check.ok else 1
    except ChaosError as exc:
        sys.stderr.write(f"entchaos load: {exc.message}\n")
        return exc.exit_code
    return 0


def _with_live(live: LiveWriter, printer: Callable[[Progress], None] | None) -> Callable[[Progress], None]:
    def tick(p: Progress) -> None:
        live.write(max_lag_ms=p.max_lag_ms)
        if printer is not None:
            printer(p)

    return tick


def format_progress(p: Progress) -> str:
    """One line of progress: elapsed, rate, answers by class, p95, in flight, connections, lateness."""
    classes = " ".join(f"{k} {v}" for k, v in p.by_class.items())
    p95 = f"{p.p95_ms:.1f} ms" if p.p95_ms is not None else "-"
    lag = f"  GENERATOR LATE {p.lag_ms:.0f} ms" if p.lag_ms > 50 else ""
    return (
        f"{p.elapsed_s:6.1f}s  sent {p.sent_rate:7.0f}/s  {classes}  p95 {p95}  "
        f"in-flight {p.in_flight}  conns {p.connections}{lag}"
    )


def _progress_printer(out: TextIO) -> Callable[[Progress], None]:
    tty = out.isatty()

    def show(p: Progress) -> None:
        line = format_progress(p)
        out.write(("\r\x1b[2K" + line) if tty else line + "\n")
        out.flush()

    return show


def _fmt(v: float | None) -> str:
    return f"{v:9.2f}" if v is not None else f"{'-':>9}"


def print_table(result: LoadResult, out: TextIO) -> None:
    """The end-of-run table: answers by class and by step with latency percentiles, availability, writes."""
    s = result.summary()
    total = s["total"] or 1
    out.write(
        f"sent {s['sent']} arrivals in {s['elapsed_s']:.1f} s ({s['achieved_rate']:.0f}/s), "
        f"{s['total']} requests answered or timed out, max dispatch lag {s['max_lag_ms']:.1f} ms\n"
    )
    out.write(f"{'class':<24}{'count':>9}{'%':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}\n")
    for name in CLASSES:
        c = s["classes"][name]
        if c["count"]:
            out.write(
                f"{name:<24}{c['count']:>9}{100 * c['count'] / total:>7.1f}"
                f"{_fmt(c['p50_ms'])}{_fmt(c['p95_ms'])}{_fmt(c['p99_ms'])}{_fmt(c['max_ms'])}\n"
            )
    for name, c in s["steps"].items():
        if c["count"]:
            ok = c["by_class"]["app"] + c["by_class"]["fallback"]
            out.write(
                f"{name:<24}{c['count']:>9}{100 * ok / c['count']:>7.1f}"
                f"{_fmt(c['p50_ms'])}{_fmt(c['p95_ms'])}{_fmt(c['p99_ms'])}{_fmt(c['max_ms'])}\n"
            )

    def pct(v: float | None) -> str:
        return f"{100 * v:.2f} %" if v is not None else "-"

    out.write(
        f"availability: all {pct(s['availability'])}  reads {pct(s['availability_read'])}  "
        f"writes {pct(s['availability_write'])}\n"
    )
    ledger = result.ledger
    if ledger.attempts:
        out.write(f"writes: {len(ledger.attempts)} attempted, {len(ledger.acknowledged_keys)} acknowledged\n")
