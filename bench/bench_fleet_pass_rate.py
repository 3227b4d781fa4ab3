"""How often the datacenter fire passes on the test fleet, on this machine idle and with one core kept busy.

    python bench/bench_fleet_pass_rate.py [--runs 4] [--only idle|busy]      (about 70 s a run)

The fleet (10 SSH hosts, Ansible, two load generators) is brought up once in its own project; each run is
`entchaos run runbooks/datacenter-fire.yaml --inventory` as a user types it, its verdict and figures read from
summary.json. "busy" is bench_pass_rate's bounded CPU hog (one core at 100 %). Results in
bench/results/pass_rate-fleet.json; the README reports them beside the compose gate's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_pass_rate import ENTCHAOS, ROOT, condition_of, conditions
from chaos.stack.fleet import Fleet, fleet_down, fleet_up

RESULTS = ROOT / "bench" / "results" / "pass_rate-fleet.json"
PROJECT = "entchaos-fleet-bench"
FIGURES = ("ttd_s", "rto_s", "rebuild_s", "lost_acked_writes", "during_stable_p95_ratio_to_baseline", "run_duration_s")


def one_run(inventory: Path, out: Path) -> dict[str, Any]:
    started = time.monotonic()
    code = subprocess.run([*ENTCHAOS, "run", str(ROOT / "runbooks" / "datacenter-fire.yaml"), "--inventory",
                           str(inventory), "--reports-dir", str(out)], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900).returncode
    found = sorted(out.glob("datacenter-fire/*/summary.json"))
    summary = json.loads(found[-1].read_text()) if found else {"verdict": "no summary", "metrics": {}}
    metrics = summary.get("metrics", {})
    failed = [c for c in summary.get("checks", []) if c.get("passed") is False]
    return {"exit_code": code, "seconds": round(time.monotonic() - started, 1), "verdict": summary["verdict"],
            "reason": summary.get("reason"),
            "figures": {k: metrics.get(k) for k in FIGURES},
            "failed_checks": [{"name": c.get("name"), "observed": c.get("observed"), "expected": c.get("expected")}
                              for c in failed]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--only", choices=("idle", "busy"))
    args = parser.parse_args()
    fleet = Fleet(PROJECT)
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        inventory = fleet_up(fleet)
        for condition in conditions(args.only):
            results[condition] = []
            for i in range(args.runs):
                with condition_of(condition):
                    run = one_run(inventory, ROOT / "reports" / "bench-pass-rate" / "fleet" / f"{condition}-{i}")
                results[condition].append(run)
                print(f"{condition} run {i + 1}/{args.runs}: {run['verdict']} in {run['seconds']} s "
                      f"{run['figures']} {run['failed_checks'] or ''}", flush=True)
    finally:
        fleet_down(fleet)  # a benchmark leaves nothing behind
    print("\nfleet datacenter-fire pass rate:")
    for condition, runs in results.items():
        print(f"  {condition:5} {sum(r['verdict'] == 'pass' for r in runs)}/{len(runs)}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": results, "measured": time.strftime("%Y-%m-%d"),
                                   "cpus": os.cpu_count()}, indent=2))
    print(f"results in {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
