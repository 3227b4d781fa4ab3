"""compare.html: two runs side by side (protected against unprotected, before and after a change): their figures
in one table with the change and, where the runbook declares one, the tolerance and whether it held; then both
timelines drawn on the same axes (time since each run's start, requests per second, latency), one above the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from chaos.report.figures import figure, moment, sig3
from chaos.report.html import CSS, _num, _table, _td
from chaos.report.timeline import shared_axes, timeline_svg


def _change(before: Any, after: Any) -> str:
    if not isinstance(before, int | float) or not isinstance(after, int | float) or isinstance(before, bool):
        return ""
    delta = after - before
    if not before:
        return f"{'+' if delta >= 0 else ''}{sig3(delta)}"
    return f"{'+' if delta >= 0 else ''}{sig3(delta / abs(before) * 100)} %"


def comparison_html(baseline: Mapping[str, Any], run: Mapping[str, Any],
                    judged: Mapping[str, tuple[str, bool]] | None = None, *, title: str = "") -> str:
    """The page. `judged`: per metric with a tolerance, the tolerance in words and whether it held."""
    judged = judged or {}
    names = [*baseline.get("metrics", {}), *(m for m in run.get("metrics", {}) if m not in baseline.get("metrics", {}))]
    rows = []
    for name in names:
        before, after = baseline["metrics"].get(name), run["metrics"].get(name)
        tolerance, held = judged.get(name, ("", True))
        verdict = (_td("within tolerance", "yes") if held else _td("REGRESSED", "no")) if tolerance else _td("")
        rows.append([_td(name), _num(figure(name, before)), _num(figure(name, after)),
                     _num(_change(before, after)), _td(tolerance), verdict])
    table = _table(["figure", "baseline", "run", "change", "tolerance", ""], rows, "Neither run has figures.")
    axes = shared_axes([baseline, run])
    regressed = [m for m, (_, held) in judged.items() if not held]
    head = (f"{len(regressed)} figure(s) regressed beyond tolerance: {', '.join(regressed)}" if regressed else
            "no figure regressed beyond its tolerance" if judged else "no tolerance declared: figures side by side")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title or 'entchaos comparison')}</title>
<style>{CSS}</style></head><body>
<h1>{escape(title or 'Two runs compared')}</h1>
<p>{escape(head)}</p>
{_run_line("baseline", baseline)}{_run_line("run", run)}
<h2>Figures</h2>{table}
<h2>Timelines, on the same axes</h2>
<h3>baseline: {escape(str(baseline.get('runbook')))} ({escape(str(baseline.get('verdict')))})</h3>
{timeline_svg(baseline, axes)}
<h3>run: {escape(str(run.get('runbook')))} ({escape(str(run.get('verdict')))})</h3>
{timeline_svg(run, axes)}
</body></html>
"""


def _run_line(label: str, summary: Mapping[str, Any]) -> str:
    verdict = str(summary.get("verdict"))
    return (f'<p class="muted"><b>{escape(label)}:</b> {escape(str(summary.get("runbook")))} '
            f'<span class="verdict {escape(verdict)}">{escape(verdict)}</span> · started '
            f'{escape(moment(summary.get("started_at")))} · project {escape(str(summary.get("project")))}</p>')

