"""Figures against the truth: the engine's impact and baseline figures, measured on the reference server whose
behaviour is known exactly, with the real load generator (no Docker).

    python bench/bench_figures.py [--runs 3]     (about 1 minute; results in bench/results/figures.json)

- outage: the server refuses (HTTP 500, not the app) every request arriving during exactly 3.0 s; the truth is
  3.0 s, and for the impact window, the moment the refusals end;
- impact availability: the truth is what the server's own log says it served of the requests that arrived in
  the window the engine counted (its bounds are journaled);
- baseline p95: the server answers every request after exactly 100 ms (in its own process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.unit.reference import BASELINE_ONLY, RUNBOOK, run_reference  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "figures.json"


def refusal_run(folder: Path) -> dict[str, float]:
    result, server, journal = run_reference(folder, RUNBOOK, delay_s=0.020)
    impact = next(r for r in journal if r["event"] == "impact_measured")
    window = next(r for r in journal if r["event"] == "window_measured" and r["name"] == "impact:refuse")
    offset = time.time() - time.monotonic()
    inside = [ok for at, ok in server.log if window["since"] <= at + offset < window["until"]]
    refused_until = server.refusing[1] + offset
    m = result.metrics
    return {
        "outage_s": m["outage_s"], "outage_truth_s": 3.0,
        "impact_window_s": m["impact_window_s"], "impact_window_truth_s": refused_until - impact["injected_at"],
        "impact_availability": m["impact_availability"], "impact_availability_truth": sum(inside) / len(inside),
    }


def baseline_run(folder: Path) -> dict[str, float]:
    result, _, _ = run_reference(folder, BASELINE_ONLY.replace("BOUND", "150"), delay_s=0.100, process=True)
    return {"baseline_p95_ms": result.metrics["baseline_p95_ms"], "baseline_p95_truth_ms": 100.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    rows: dict[str, list[dict[str, float]]] = {"refusal": [], "baseline": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            rows["refusal"].append(refusal_run(Path(tmp) / f"r{i}"))
            rows["baseline"].append(baseline_run(Path(tmp) / f"b{i}"))
    print(f"figures against the reference server's truth, {runs} runs")
    print(f"{'figure':<22}{'measured':>28}{'truth':>28}{'ratio':>22}")
    for kind, name, truth in (("refusal", "outage_s", "outage_truth_s"),
                              ("refusal", "impact_window_s", "impact_window_truth_s"),
                              ("refusal", "impact_availability", "impact_availability_truth"),
                              ("baseline", "baseline_p95_ms", "baseline_p95_truth_ms")):
        measured = [r[name] for r in rows[kind]]
        truths = [r[truth] for r in rows[kind]]
        ratios = [m / t for m, t in zip(measured, truths, strict=True) if t]
        print(f"{name:<22}{_span(measured):>28}{_span(truths):>28}{_span(ratios):>22}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": runs, **rows}, indent=2) + "\n")
    print(f"results: {RESULTS.relative_to(ROOT)}")


def _span(values: list[float]) -> str:
    lo, mid, hi = min(values), statistics.median(values), max(values)
    return f"{lo:.4g} / {mid:.4g} / {hi:.4g}"


if __name__ == "__main__":
    main()
