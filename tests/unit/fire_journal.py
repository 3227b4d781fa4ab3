"""A realistic journal of a `datacenter-fire` run, written event by event as the engine would, for report tests.

A 10 s baseline at 50 req/s, the fire at t = 11.29 s, about 6 s in which almost nobody is served (the edge's
fallback answers some reads), a failover, a slower spell, then the rebuild; every figure at full precision,
as the measurement leaves it (0.9180035650623886 ...), so the reports must round them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from chaos import events as ev
from chaos.faults.base import FaultRecord
from chaos.stack.interface import TargetRef

T0 = 1_790_000_000.0  # run start (epoch s)
ORIGIN = T0 + 0.213  # the load's t = 0
FIRE = 11.29  # s since the run started
OUTAGE = (11.4, 17.3)  # nobody but the fallback's readers is served
RECOVERED = 20.1
REBUILT = 36.42
END = 45.0
RATE = 50
CLASSES = ("app", "fallback", "shed", "error", "timeout", "refused")


def _row(t: float, rng: random.Random) -> dict[str, Any]:
    """One second of load by intended send time (t since the load's origin)."""
    run_t = ORIGIN - T0 + t
    classes = dict.fromkeys(CLASSES, 0)
    down = max(0.0, min(run_t + 1, OUTAGE[1]) - max(run_t, OUTAGE[0]))  # the share of this second in the outage
    if down > 0:
        failing = round(down * (RATE - 4))
        classes.update(fallback=round(down * rng.randint(2, 5)), error=round(failing * rng.uniform(0.4, 0.55)),
                       timeout=round(failing * rng.uniform(0.15, 0.25)))
        classes["refused"] = max(0, failing - classes["error"] - classes["timeout"])
        p50, p95, p99 = 1800 * down + rng.random() * 300, 4800 + rng.random() * 400, 9800 + rng.random() * 150
    elif OUTAGE[1] <= run_t < RECOVERED:
        classes.update(error=rng.randint(0, 3))
        p50, p95, p99 = 31 + rng.random() * 5, 85 + rng.random() * 30, 160 + rng.random() * 40
    else:
        classes.update(error=1 if rng.random() < 0.1 else 0)
        p50, p95, p99 = 11 + rng.random() * 3, 28 + rng.random() * 18, 55 + rng.random() * 20
    classes["app"] = RATE - sum(classes.values())
    served = classes["app"] + classes["fallback"]
    return {"type": "second", "t": round(t, 3), "sent": RATE, "by_class": classes, "availability": served / RATE,
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}


def _window(name: str, t0: float, t1: float, **figures: Any) -> ev.WindowMeasured:
    return ev.WindowMeasured(at=T0 + t1 + 0.01, name=name, since=T0 + t0, until=T0 + t1, **figures)


def fire_events(*, passed: bool = True) -> list[ev.Event]:
    rng = random.Random(9)
    targets = tuple(TargetRef(f"id{i}", f"fake-{s}-1", s, "sbg", role)
                    for i, (s, role) in enumerate([("sbg-app-1", "app"), ("sbg-app-2", "app"), ("sbg-db", "db")]))
    record = FaultRecord("datacenter-fire", "fire", targets, {"datacenter": "sbg"}, destructive=True,
                         reverted_by="rebuild")
    at = lambda t: T0 + t  # noqa: E731
    steps = [("fire", "fault", "datacenter-fire on sbg-app-1, sbg-app-2, sbg-db", FIRE, 0.31, True),
             ("detect", "wait-for", "wait until the edge marks sbg down", 11.6, 3.2134, True),
             ("failover", "playbook", "run playbook failover-database", 14.82, 2.6511, True),
             ("rebuild", "playbook", "run playbook rebuild-datacenter", 24.1, 12.32, True)]
    out: list[ev.Event] = [
        ev.RunStarted(at=T0, run_id="r1", runbook="datacenter-fire", runbook_path="runbooks/datacenter-fire.yaml",
                      project="entchaos", folder="reports/datacenter-fire/x",
                      description="Lose the sbg datacenter under load; fail over to rbx; rebuild sbg"),
        ev.PhaseStarted(at=at(0.05), phase="hypothesis-before"),
        ev.LoadStarted(at=at(0.2), profile="morning", source="host"),
        _window("baseline", 0.3, 10.3, requests=500, availability=0.998, p50_ms=12.3456, p95_ms=41.73219,
                p99_ms=63.2187, rps=49.96, by_class={"app": 499, "error": 1}),
        ev.CheckDone(at=at(10.4), name="availability (baseline)", phase="hypothesis-before", expected=">= 0.99",
                     observed=0.998, passed=True, metric="baseline_availability"),
        ev.CheckDone(at=at(10.4), name="p95 latency (baseline)", phase="hypothesis-before", expected="<= 150",
                     observed=41.73219, passed=True, metric="baseline_p95_ms"),
        ev.PhaseStarted(at=at(10.5), phase="steps"),
    ]
    for name, value in [("baseline_availability", 0.998), ("baseline_p50_ms", 12.3456), ("baseline_p95_ms", 41.73219),
                        ("baseline_p99_ms", 63.2187), ("baseline_rps", 49.96)]:
        out.append(ev.MetricRecorded(at=at(10.4), name=name, value=value))
    for step_id, kind, what, start, took, ok in steps:
        out.append(ev.StepStarted(at=at(start), phase="steps", step_id=step_id, step_kind=kind, description=what))
        if kind == "fault":
            out += [ev.FaultInjecting(at=at(start), record=record),
                    ev.FaultInjected(at=at(start + took), record=record, duration_s=took),
                    ev.FaultEffect(at=at(start + took + 0.05), step_id="fire", fault="datacenter-fire",
                                   phase="injected", verified=True,
                                   evidence={"not_running": ["sbg-app-1", "sbg-app-2", "sbg-db"],
                                             "states": {"sbg-app-1": "exited", "sbg-app-2": "exited",
                                                        "sbg-db": "exited"}, "checked_in_s": 0.04321987})]
        out.append(ev.StepFinished(at=at(start + took), phase="steps", step_id=step_id, step_kind=kind,
                                   started_at=at(start), duration_s=took, ok=ok))
        if step_id == "detect":
            out.append(ev.MetricRecorded(at=at(start + took), name="ttd_s", value=3.2134, step_id="detect"))
        if step_id == "rebuild":
            out += [ev.MetricRecorded(at=at(start + took), name="rebuild_s", value=11.96, step_id="rebuild"),
                    ev.FaultReverted(at=at(REBUILT), step_id="fire", fault="datacenter-fire", by="rebuild",
                                     duration_s=12.32),
                    ev.FaultEffect(at=at(REBUILT + 0.05), step_id="fire", fault="datacenter-fire", phase="reverted",
                                   verified=True, evidence={"running": ["sbg-app-1", "sbg-app-2", "sbg-db"]})]
    for t in range(1, int(END)):
        out.append(ev.LoadSampled(at=at(t), requests=RATE, availability=0.3 if OUTAGE[0] <= t < OUTAGE[1] else 1.0,
                                  p95_ms=4900.0 if OUTAGE[0] <= t < OUTAGE[1] else 40.0))
    rows = [_row(t, rng) for t in range(int(END - 1))]
    out += [
        ev.PhaseStarted(at=at(38.0), phase="verify"),
        ev.ImpactMeasured(at=at(43.9), step_id="fire", fault="datacenter-fire", injected_at=at(FIRE),
                          recovered_at=at(RECOVERED), level=0.99, hold_s=5.0, impact_window_s=RECOVERED - FIRE,
                          impact_availability=0.37123456789, outage_s=5.9043, outage_since=at(OUTAGE[0]),
                          outage_until=at(OUTAGE[1] - 0.0957), failed_requests={"error": 152, "timeout": 61,
                                                                               "refused": 58},
                          failed_journeys={"error": 41, "timeout": 17}, recovered_p95_ratio=1.2134567),
        _window("impact:fire", FIRE, RECOVERED, requests=440, availability=0.37123456789, p50_ms=812.3,
                p95_ms=4912.77, p99_ms=9876.5, rps=49.9, by_class={"app": 149, "fallback": 14, "error": 152,
                                                                   "timeout": 61, "refused": 58}),
        _window("during:fire", FIRE, REBUILT, requests=1256, availability=0.9180035650623886 * 0.85,
                p50_ms=14.2, p95_ms=1543.2, p99_ms=9801.0, rps=49.98),
        _window("after:rebuild", REBUILT, END - 1, requests=380, availability=0.99934, p50_ms=12.1, p95_ms=44.71,
                p99_ms=66.02, rps=50.01),
        _window("run", 0.2, END - 1, requests=2200, availability=0.9180035650623886, p50_ms=12.9, p95_ms=1543.2,
                p99_ms=9750.3, rps=49.99),
        ev.LoadSeries(at=at(44.0), origin=ORIGIN, step_s=1.0, rows=rows),
        ev.LoadStopped(at=at(44.0), requests=2200, failures=180),
    ]
    for name, value in [("fire.impact_window_s", RECOVERED - FIRE), ("fire.impact_availability", 0.37123456789),
                        ("fire.outage_s", 5.9043), ("fire.recovered_p95_ratio", 1.2134567), ("availability",
                        0.9180035650623886), ("p95_ms", 1543.2), ("lost_acked_writes", 0),
                        ("availability_after_rebuild", 0.99934), ("p95_ratio_to_baseline", 1.0712)]:
        out.append(ev.MetricRecorded(at=at(44.1), name=name, value=value))
    out += [
        ev.CheckDone(at=at(44.2), name="ttd_s", phase="verify", expected="<= 10", observed=3.2134, passed=True,
                     metric="ttd_s"),
        ev.CheckDone(at=at(44.2), name="lost_acked_writes", phase="verify", expected="== 0", observed=0, passed=True,
                     metric="lost_acked_writes"),
        ev.CheckDone(at=at(44.2), name="availability (after:rebuild)", phase="verify", expected=">= 0.99",
                     observed=0.99934, passed=True, metric="availability_after_rebuild"),
        ev.CheckDone(at=at(44.2), name="p95 latency vs baseline (after:recovered)", phase="verify",
                     expected="<= 1.5", observed=1.0712, passed=True, metric="p95_ratio_to_baseline"),
        ev.CheckDone(at=at(44.2), name="outage", phase="verify", expected="<= 8",
                     observed=5.9043 if passed else 11.96000001, passed=passed, metric="fire.outage_s"),
        ev.CheckDone(at=at(44.2), name="edge backends up", phase="verify", expected=">= 4", observed=0.1234567,
                     passed=True),
        ev.RunFinished(at=at(END), verdict="pass" if passed else "fail", exit_code=0 if passed else 1,
                       duration_s=END, reason="" if passed else "outage: expected <= 8, observed 11.96000001"),
    ]
    return out


def write_fire_journal(folder: Path, *, passed: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "journal.jsonl"
    path.write_text("".join(json.dumps(e.to_record(), default=str) + "\n" for e in fire_events(passed=passed)))
    return path
