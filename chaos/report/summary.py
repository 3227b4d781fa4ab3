"""The journal, folded into the summary every report is drawn from (and summary.json itself)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    records = list(records)
    start = next((r for r in records if r["event"] == "run_started"), None)
    end = next((r for r in records if r["event"] == "run_finished"), None)
    t0 = start["at"] if start else (records[0]["at"] if records else 0.0)
    last_at = records[-1]["at"] if records else t0

    checks = [
        {k: r.get(k) for k in ("name", "expected", "observed", "passed", "phase", "message", "metric")}
        for r in records if r["event"] == "check_done"
    ]
    metrics: dict[str, float] = {}
    for r in records:
        if r["event"] == "metric_recorded" and _number(r.get("value")):
            metrics[r["name"]] = r["value"]
    faults: dict[str, dict[str, Any]] = {}
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    timeline: list[dict[str, Any]] = []
    breach = None
    windows: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    series_step_s: float | None = None
    for r in records:
        kind = r["event"]
        if kind in ("fault_injecting", "fault_injected"):
            rec = r["record"]
            entry = faults.setdefault(rec["step_id"], {
                "step_id": rec["step_id"], "fault": rec["fault"], "destructive": rec.get("destructive", False),
                "targets": [t.get("service") or t.get("name") for t in rec.get("targets", [])],
                "params": rec.get("params", {}), "injected_at": _iso(r["at"]), "injected_t_s": round(r["at"] - t0, 3),
                "inject_duration_s": None, "reverted_at": None, "reverted_t_s": None, "reverted_by": None,
                "revert_duration_s": None, "revert_error": None, "effect": None, "reverted_effect": None,
                "impact": None,
            })
            if kind == "fault_injected":
                entry["inject_duration_s"] = round(r.get("duration_s", 0.0), 3)
        elif kind == "fault_reverted" and r["step_id"] in faults:
            entry = faults[r["step_id"]]
            if r.get("ok", True):
                entry.update(reverted_at=_iso(r["at"]), reverted_t_s=round(r["at"] - t0, 3), reverted_by=r["by"],
                             revert_duration_s=round(r.get("duration_s", 0.0), 3), revert_error=None)
            else:
                entry["revert_error"] = r.get("error")
        elif kind == "step_started":
            steps[(r["phase"], r["step_id"])] = {
                "step_id": r["step_id"], "kind": r["step_kind"], "phase": r["phase"],
                "description": r.get("description", ""), "start_t_s": round(r["at"] - t0, 3),
                "duration_s": None, "ok": None, "error": None,
            }
        elif kind == "step_finished" and (r["phase"], r["step_id"]) in steps:
            steps[(r["phase"], r["step_id"])].update(duration_s=round(r["duration_s"], 3), ok=r["ok"],
                                                     error=r.get("error"))
        elif kind == "load_sampled":
            timeline.append({"t_s": round(r["at"] - t0, 3), "requests": r["requests"],
                             "availability": r.get("availability"), "p95_ms": r.get("p95_ms")})
        elif kind == "fault_effect" and r["step_id"] in faults:
            key = "effect" if r["phase"] == "injected" else "reverted_effect"
            faults[r["step_id"]][key] = {"verified": r["verified"], "evidence": r.get("evidence") or {},
                                         "t_s": round(r["at"] - t0, 3)}
        elif kind == "impact_measured" and r["step_id"] in faults:
            faults[r["step_id"]]["impact"] = _impact(r, t0)
        elif kind == "window_measured":
            windows.append(_window(r, t0))
        elif kind == "load_series":
            series = [{**row, "t_s": round(r["origin"] + row["t"] - t0, 3)} for row in r.get("rows", [])]
            series_step_s = r.get("step_s")
        elif kind == "stop_condition_breached":
            breach = {k: r.get(k) for k in ("name", "expected", "observed", "for_s")} | {"t_s": round(r["at"] - t0, 3)}

    if end is not None:
        verdict, exit_code, reason = end["verdict"], end["exit_code"], end.get("reason", "")
    else:  # the process died: what the journal holds is all we know
        verdict, exit_code = "error", 4
        reason = "the run did not finish (killed?): `entchaos recover` reverts its faults"
    metrics.setdefault("run_duration_s", round((end["at"] if end else last_at) - t0, 3))
    return {
        "runbook": start["runbook"] if start else "unknown",
        "verdict": verdict,
        "exit_code": exit_code,
        "reason": reason,
        "run_id": start.get("run_id") if start else None,
        "project": start.get("project") if start else None,
        "description": start.get("description", "") if start else "",
        "started_at": _iso(t0),
        "finished_at": _iso(end["at"]) if end else None,
        "checks": checks,
        "metrics": metrics,
        "faults": list(faults.values()),
        "steps": list(steps.values()),
        "stop_condition": breach,
        "timeline": timeline,
        "series": series,
        "series_step_s": series_step_s,
        "windows": windows,
        "baseline": next((w for w in reversed(windows) if w["name"] == "baseline"), None),
    }


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 3)


def _window(r: Mapping[str, Any], t0: float) -> dict[str, Any]:
    """A window as the reports show it: times relative to the run start (`t0_s`, `t1_s`)."""
    keep = ("name", "requests", "availability", "p50_ms", "p95_ms", "p99_ms", "rps", "by_class")
    return {k: r.get(k) for k in keep} | {"t0_s": _rel(r["since"], t0), "t1_s": _rel(r["until"], t0)}


def _impact(r: Mapping[str, Any], t0: float) -> dict[str, Any]:
    keep = ("level", "hold_s", "impact_window_s", "impact_availability", "outage_s", "failed_requests",
            "failed_journeys", "recovered_p95_ratio")
    return {k: r.get(k) for k in keep} | {
        "recovered": r.get("recovered_at") is not None,
        "t0_s": _rel(r["injected_at"], t0), "t1_s": _rel(r.get("recovered_at"), t0),
        "outage_t0_s": _rel(r.get("outage_since"), t0), "outage_t1_s": _rel(r.get("outage_until"), t0),
    }
