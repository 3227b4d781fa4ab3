"""The live console view: one human line per event, written to the stream it is given (stderr by default)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from chaos import events as ev
from chaos.report.figures import evidence, figure, number, observed, seconds, tidy
from chaos.report.markdown import impact_lines

if TYPE_CHECKING:
    from chaos.faults.base import FaultRecord

ICON = {"pass": "PASS", "fail": "FAIL", "aborted": "ABORTED", "error": "ERROR"}


def _targets(record: FaultRecord) -> str:
    return ", ".join(t.service or t.name for t in record.targets)


LINES: dict[type[ev.Event], Callable[[Any], str | None]] = {
    ev.RunStarted: lambda e: f"run {e.runbook} on project {e.project} → {e.folder}",
    ev.StepPlanned: lambda e: f"  plan [{e.phase}] {e.step_id}: {e.description}",
    ev.PhaseStarted: lambda e: f"── {e.phase}",
    ev.LoadStarted: lambda e: f"load started ({e.profile or 'schedule'} from {e.source})",
    ev.LoadStopped: lambda e: f"load stopped: {e.requests} requests, {e.failures} failed"
    + (f" (merged from {', '.join(e.generators)})" if e.generators else ""),
    ev.LoadSampled: lambda e: None,  # the report plots them; one a second would drown the view
    ev.StepStarted: lambda e: f"▶ {e.step_id} ({e.step_kind}): {e.description}",
    ev.StepFinished: lambda e: f"{'✓' if e.ok else '✗'} {e.step_id} in {e.duration_s:.1f} s"
    + (f": {tidy(e.error)}" if e.error else ""),
    ev.FaultInjecting: lambda e: f"  ! injecting {e.record.fault} into {_targets(e.record)}",
    ev.FaultInjected: lambda e: f"  ! {e.record.fault} injected in {e.duration_s:.2f} s",
    ev.FaultReverted: lambda e: f"  ↺ {e.fault} ({e.step_id}) reverted by {e.by} in {e.duration_s:.2f} s"
    if e.ok else f"  ✗ revert of {e.fault} ({e.step_id}) failed: {e.error}",
    ev.CheckDone: lambda e: f"  {'✓' if e.passed else '✗'} {e.name}: {figure(e.metric, e.observed)} "
    f"(expected {e.expected})" + (f" {tidy(e.message)}" if e.message else ""),
    ev.MetricRecorded: lambda e: f"  = {e.name} {figure(e.name, e.value)}",
    ev.FaultEffect: lambda e: f"  {'✓' if e.verified else '✗'} {e.fault} ({e.step_id}) "
    + ("took effect" if e.phase == "injected" else "is gone after the revert") + (": " if e.verified else
                                                                                  " NOT observed: ")
    + evidence(e.evidence, 100),
    ev.WindowMeasured: lambda e: f"  = window {e.name} [{seconds(e.until - e.since)}]: {e.requests} requests, "
    f"{figure('availability', e.availability)} served, p95 {figure('p95_ms', e.p95_ms)}",
    ev.ImpactMeasured: lambda e: f"  = impact of {e.step_id}: "
    + (seconds(e.impact_window_s) if e.recovered_at is not None else "not recovered")
    + f", {figure('impact_availability', e.impact_availability)} served, outage {seconds(e.outage_s)}",
    ev.LoadSeries: lambda e: None,  # the report plots it
    ev.StopConditionBreached: lambda e: f"STOP: {e.name} observed {number(e.observed)}, expected {e.expected}, "
    f"for {e.for_s:g} s: aborting",
    ev.ManualPrompt: lambda e: f"  >>> PEOPLE: {e.instruction}"
    + (f" (you have {e.timeout_s:g} s)" if e.timeout_s else ""),
    ev.RunInterrupted: lambda e: f"interrupted: {tidy(e.reason)}; rolling back",
    ev.RunFinished: lambda e: f"verdict {ICON.get(e.verdict, e.verdict)} (exit {e.exit_code}) after "
    f"{e.duration_s:.1f} s" + (f": {tidy(e.reason)}" if e.reason else ""),
}


class ConsoleView:
    """A bus listener writing one timestamped line per event (`LINES` says which words), and while the load runs a
    progress line (phase, step, availability and p95 now) whenever `progress_s` passed without one."""

    def __init__(self, stream: TextIO | None = None, *, show_plan: bool = True, progress_s: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.show_plan = show_plan
        self.progress_s = progress_s
        self._t0: float | None = None
        self._last_line_at: float | None = None
        self._phase, self._step = "", ""

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.StepPlanned) and not self.show_plan:
            return
        if isinstance(event, ev.PhaseStarted):
            self._phase, self._step = event.phase, ""
        elif isinstance(event, ev.StepStarted):
            self._step = event.step_id
        render = LINES.get(type(event))
        line = render(event) if render else event.kind
        if line is None and isinstance(event, ev.LoadSampled):
            line = self._progress(event)
        if line is None:
            return
        self._write(event.at, line)

    def _progress(self, sample: ev.LoadSampled) -> str | None:
        """A progress line when the view has been quiet for `progress_s`: never a silent minute in a CI log."""
        if self._last_line_at is not None and sample.at - self._last_line_at < self.progress_s:
            return None
        where = self._phase + (f" / {self._step}" if self._step else "")
        return (f"… {where or 'running'}: availability now {figure('availability', sample.availability)}, "
                f"p95 {figure('p95_ms', sample.p95_ms)}, {sample.requests} requests in the last sample")

    def _write(self, at: float, line: str) -> None:
        self._t0 = self._t0 if self._t0 is not None else at
        self._last_line_at = at
        stamp = time.strftime("%H:%M:%S", time.localtime(at))
        self.stream.write(f"{stamp} +{at - self._t0:6.1f}s {line}\n")
        self.stream.flush()


def verdict_text(summary: Mapping[str, Any]) -> str:
    """What a finished run prints: the verdict, the baseline, each fault's impact, every figure with its unit."""
    verdict = summary["verdict"]
    lines = [f"verdict: {verdict.upper()}" + (f" — {tidy(summary['reason'])}" if summary.get("reason") else "")]
    b = summary.get("baseline")
    if b:
        lines.append(f"  baseline ({seconds(_length(b))}): {figure('availability', b.get('availability'))} served, "
                     f"p50 {figure('p50_ms', b.get('p50_ms'))}, p95 {figure('p95_ms', b.get('p95_ms'))}, "
                     f"p99 {figure('p99_ms', b.get('p99_ms'))}, {number(b.get('rps'), 'req/s')}")
    for fault in summary.get("faults", []):
        body = impact_lines(fault)
        if body:
            lines.append(f"  {fault['step_id']} ({fault['fault']}):")
            lines += [f"    {line}" for line in body]
    failed = [c for c in summary.get("checks", []) if not c["passed"]]
    for c in failed:
        lines.append(f"  ✗ {c['name']}: observed {observed(c)}, expected {c['expected']}")
    if summary.get("metrics"):
        width = max(len(name) for name in summary["metrics"]) + 2
        lines.append("  figures:")
        lines += [f"    {name:{width}} {figure(name, value)}" for name, value in sorted(summary["metrics"].items())]
    return "\n".join(lines)


def _length(window: Mapping[str, Any]) -> float | None:
    t0, t1 = window.get("t0_s"), window.get("t1_s")
    return None if t0 is None or t1 is None else t1 - t0
