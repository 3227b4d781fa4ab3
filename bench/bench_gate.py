"""The CI gate's wall time: `entchaos gate` (the shipped runbooks on one fresh stack) against the reference, the
same runbooks one after the other the way `make chaos-all` runs them (each: `stack up` with its settings, then
`entchaos run`), measured in the same run on the default stack (project `entchaos`, ports 8080...).

    python bench/bench_gate.py [--trials 1]     (about 10 minutes a trial; results in bench/results/gate.json)

Goal (issue 12): the whole gate in at most 5 minutes on this 2-core machine once images are built.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "gate.json"
ENTCHAOS = [sys.executable, "-m", "chaos.cli"]
RUNBOOKS = ("overload-0902", "flood-abroad", "broadcast-fallback", "datacenter-fire")
GOAL_S = 300.0


def sh(args: list[str], **kw: object) -> int:
    return subprocess.run(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw).returncode


def gate() -> tuple[float, int]:
    started = time.monotonic()
    code = sh([*ENTCHAOS, "gate", "--out", str(ROOT / "reports" / "bench-gate")])
    return time.monotonic() - started, code


def one_by_one() -> tuple[float, int]:
    """The reference: a fresh stack, then per runbook `stack up [--settings]` and `run` (as `make chaos-all`)."""
    started = time.monotonic()
    sh([*ENTCHAOS, "stack", "down"])
    worst = 0
    for name in RUNBOOKS:
        settings = ROOT / "runbooks" / f"{name}.env"
        sh([*ENTCHAOS, "stack", "up", *(["--settings", str(settings)] if settings.is_file() else [])])
        worst = max(worst, sh([*ENTCHAOS, "run", str(ROOT / "runbooks" / f"{name}.yaml")]))
    return time.monotonic() - started, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("ENTCHAOS_REPORTS_DIR", str(ROOT / "reports"))
    ours, ref = [], []
    for trial in range(args.trials):
        g, g_code = gate()
        r, r_code = one_by_one()
        ours.append(g)
        ref.append(r)
        print(f"trial {trial + 1}: gate {g:.0f} s (exit {g_code}), one by one {r:.0f} s (exit {r_code})", flush=True)
    result = {"gate_s": ours, "one_by_one_s": ref, "gate_median_s": statistics.median(ours),
              "one_by_one_median_s": statistics.median(ref),
              "ratio": round(statistics.median(ours) / statistics.median(ref), 3), "goal_s": GOAL_S}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    verdict = "within" if result["gate_median_s"] <= GOAL_S else "OVER"
    print(f"gate: {result['gate_median_s']:.0f} s median ({verdict} the {GOAL_S:.0f}-s goal); one by one: "
          f"{result['one_by_one_median_s']:.0f} s; ratio gate/one-by-one {result['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
