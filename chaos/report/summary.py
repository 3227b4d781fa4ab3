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
        {k: r.get(k) for k in ("name", "expected", "observed", "passed", "phase", "message")}
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
    for r in records:
        kind = r["event"]
        if kind in ("fault_injecting", "fault_injected"):
            rec = r["record"]
            entry = faults.setdefault(rec["step_id"], {
                "step_id": rec["step_id"], "fault": rec["fault"], "destructive": rec.get("destructive", False),
                "targets": [t.get("service") or t.get("name") for t in rec.get("targets", [])],
                "params": rec.get("params", {}), "injected_at": _iso(r["at"]), "injected_t_s": round(r["at"] - t0, 3),
                "inject_duration_s": None, "reverted_at": None, "reverted_t_s": None, "reverted_by": None,
                "revert_duration_s": None, "revert_error": None,
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
    }
