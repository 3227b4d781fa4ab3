"""How often each shipped runbook passes the CI gate, on this machine idle and with one core kept busy.

    python bench/bench_pass_rate.py [--runs 5] [--quick] [--only idle|busy] [RUNBOOK...]   (a gate: 4-5 minutes)

Each run is `entchaos gate` (the shipped runbooks on one fresh stack); the verdict of each runbook is read from the
gate's summary.json. "busy": one core held at 100 % for the whole gate by a bounded CPU hog (stress-ng when
installed, else a Python loop, pinned to the last core and stopped by its own timeout): the reference condition a
verdict must survive is ordinary noise, and this is the noise we can make on purpose. Results in
bench/results/pass_rate.json; the README reports them (issue 12, item 6).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "pass_rate.json"
ENTCHAOS = [sys.executable, "-m", "chaos.cli"]
HOG_BOUND_S = 900  # the hog stops by itself even if this script is killed


def hog() -> subprocess.Popen[bytes]:
    """One core kept busy, bounded in time, pinned to the last core."""
    core = str((os.cpu_count() or 1) - 1)
    if shutil.which("stress-ng"):
        cmd = ["stress-ng", "--cpu", "1", "--cpu-load", "100", "--timeout", f"{HOG_BOUND_S}s", "--quiet"]
    else:
        cmd = [sys.executable, "-c", f"import time\nend = time.monotonic() + {HOG_BOUND_S}\n"
               "while time.monotonic() < end: pass"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", core, *cmd]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def condition_of(name: str) -> Iterator[None]:
    """`idle`: nothing more; `busy`: the hog for the time of the block, stopped after it whatever happens."""
    busy = hog() if name == "busy" else None
    try:
        yield
    finally:
        if busy is not None:
            busy.terminate()
            busy.wait(10)


def conditions(only: str | None) -> list[str]:
    return [c for c in ("idle", "busy") if not only or c == only]


def one_gate(out: Path, quick: bool, runbooks: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    code = subprocess.run([*ENTCHAOS, "gate", "--out", str(out), *(["--quick"] if quick else []), *runbooks], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {"runs": []}
    return {"exit_code": code, "seconds": round(time.monotonic() - started, 1),
            "verdicts": {r["runbook"]: r["verdict"] for r in summary["runs"]},
            "reasons": {r["runbook"]: r.get("reason") for r in summary["runs"] if r["verdict"] != "pass"}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="the runbooks' quick variants (`gate --quick`)")
    parser.add_argument("--only", choices=("idle", "busy"))
    parser.add_argument("runbooks", nargs="*", help="runbook files (default: the gate's, the shipped ones)")
    args = parser.parse_args()
    os.environ.setdefault("ENTCHAOS_REPORTS_DIR", str(ROOT / "reports"))
    results: dict[str, list[dict[str, Any]]] = {}
    tag = "-".join(Path(r).stem for r in args.runbooks) or "gate"  # a subset's results apart from the gate's
    out = RESULTS if not args.runbooks else RESULTS.with_name(f"pass_rate-{tag}.json")
    for condition in conditions(args.only):
        results[condition] = []
        for i in range(args.runs):
            with condition_of(condition):
                run = one_gate(ROOT / "reports" / "bench-pass-rate" / tag / f"{condition}-{i}", args.quick,
                               args.runbooks)
            results[condition].append(run)
            print(f"{condition} run {i + 1}/{args.runs}: exit {run['exit_code']} in {run['seconds']} s "
                  f"{run['verdicts']}", flush=True)
    # The gate leaves its stack up for inspection: a benchmark leaves nothing behind.
    subprocess.run([*ENTCHAOS, "stack", "down"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("\npass rate per runbook (idle vs one core busy):")
    names = sorted({n for runs in results.values() for r in runs for n in r["verdicts"]})
    for name in names:
        cells = []
        for condition, runs in results.items():
            passed = sum(r["verdicts"].get(name) == "pass" for r in runs)
            cells.append(f"{condition} {passed}/{len(runs)}")
        print(f"  {name:22} " + "   ".join(cells))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"quick": args.quick, "runbooks": args.runbooks or "the gate's", "runs": results,
                                   "measured": time.strftime("%Y-%m-%d")}, indent=2))
    print(f"results in {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
