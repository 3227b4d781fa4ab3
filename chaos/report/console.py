"""The live console view: one human line per event, written to the stream it is given (stderr by default)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from chaos import events as ev

ICON = {"pass": "PASS", "fail": "FAIL", "aborted": "ABORTED", "error": "ERROR"}


def _targets(record: Any) -> str:
    return ", ".join(t.get("service") or t.get("name", "?") for t in record.to_dict()["targets"])


LINES: dict[type[ev.Event], Callable[[Any], str | None]] = {
    ev.RunStarted: lambda e: f"run {e.runbook} on project {e.project} → {e.folder}",
    ev.StepPlanned: lambda e: f"  plan [{e.phase}] {e.step_id}: {e.description}",
    ev.PhaseStarted: lambda e: f"── {e.phase}",
    ev.LoadStarted: lambda e: f"load started ({e.profile or 'schedule'} from {e.source})",
    ev.LoadStopped: lambda e: f"load stopped: {e.requests} requests, {e.failures} failed",
    ev.LoadSampled: lambda e: None,  # the report plots them; one a second would drown the view
    ev.StepStarted: lambda e: f"▶ {e.step_id} ({e.step_kind}): {e.description}",
    ev.StepFinished: lambda e: f"{'✓' if e.ok else '✗'} {e.step_id} in {e.duration_s:.1f} s"
    + (f": {e.error}" if e.error else ""),
    ev.FaultInjecting: lambda e: f"  ! injecting {e.record.fault} into {_targets(e.record)}",
    ev.FaultInjected: lambda e: f"  ! {e.record.fault} injected in {e.duration_s:.2f} s",
    ev.FaultReverted: lambda e: f"  ↺ {e.fault} ({e.step_id}) reverted by {e.by} in {e.duration_s:.2f} s"
    if e.ok else f"  ✗ revert of {e.fault} ({e.step_id}) failed: {e.error}",
    ev.CheckDone: lambda e: f"  {'✓' if e.passed else '✗'} {e.name}: {e.observed!r} (expected {e.expected})"
    + (f" {e.message}" if e.message else ""),
    ev.MetricRecorded: lambda e: f"  = {e.name} {e.value}",
    ev.StopConditionBreached: lambda e: f"STOP: {e.name} observed {e.observed!r}, expected {e.expected}, "
    f"for {e.for_s:g} s: aborting",
    ev.ManualPrompt: lambda e: f"  >>> PEOPLE: {e.instruction}"
    + (f" (you have {e.timeout_s:g} s)" if e.timeout_s else ""),
    ev.RunInterrupted: lambda e: f"interrupted: {e.reason}; rolling back",
    ev.RunFinished: lambda e: f"verdict {ICON.get(e.verdict, e.verdict)} (exit {e.exit_code}) after "
    f"{e.duration_s:.1f} s" + (f": {e.reason}" if e.reason else ""),
}


class ConsoleView:
    def __init__(self, stream: TextIO | None = None, *, show_plan: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.show_plan = show_plan
        self._t0: float | None = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.StepPlanned) and not self.show_plan:
            return
        render = LINES.get(type(event))
        line = render(event) if render else event.kind
        if line is None:
            return
        self._t0 = self._t0 if self._t0 is not None else event.at
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        self.stream.write(f"{stamp} +{event.at - self._t0:6.1f}s {line}\n")
        self.stream.flush()
