"""report.html: ONE self-contained file (inline CSS, inline SVG), openable from a CI artefact without a server.

Every number goes through `figures` (3 significant figures, with its unit); summary.json keeps full precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from chaos.report.figures import MISSING, evidence, figure, moment, number, observed, seconds, tidy
from chaos.report.markdown import post_incident_review
from chaos.report.timeline import timeline_svg

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{margin-top:2rem}.verdict{display:inline-block;padding:.15rem .6rem;border-radius:4px;
color:#fff;font-weight:600}
.pass{background:#2e7d32}.fail{background:#c62828}.aborted{background:#ef6c00}.error{background:#6a1b9a}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.num{text-align:right;white-space:nowrap}
td.no{color:#c62828;font-weight:600}td.yes{color:#2e7d32}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem;min-width:7rem}
.card b{display:block;font-size:1.3rem}.card.bad{border-color:#c62828;background:#ffebee}.card.bad b{color:#c62828}
.muted{color:#666}.small{font-size:12px}
"""


def _td(value: Any, cls: str = "") -> str:
    text = value if isinstance(value, str) else number(value)
    return f'<td class="{cls}">{escape(text)}</td>' if cls else f"<td>{escape(text)}</td>"


def _num(text: str) -> str:
    return f'<td class="num">{escape(text)}</td>'


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "") -> str:
    if not rows and empty:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _between(t0: float | None, t1: float | None) -> str:
    return f"{seconds(t0)} → {seconds(t1) if t1 is not None else 'end'}"


def cards_html(metrics: Mapping[str, Any], failed: frozenset[str] = frozenset()) -> str:
    """One card per figure; a figure a failed check judged is framed red."""
    return "".join(f'<div class="card{" bad" if k in failed else ""}"><span class="muted">{escape(k)}</span>'
                   f"<b>{escape(figure(k, v))}</b></div>" for k, v in metrics.items())


def impact_table(faults: Sequence[Mapping[str, Any]]) -> str:
    """Each fault's impact: window, served share, outage, failures, recovery."""
    rows = []
    for f in faults:
        i = f.get("impact")
        if not i:
            continue
        recovered = f"yes, at {seconds(i.get('t1_s'))}" if i.get("recovered") else "NOT recovered"
        outage = seconds(i.get("outage_s"))
        if i.get("outage_t0_s") is not None and i.get("outage_s"):
            outage += f" ({_between(i.get('outage_t0_s'), i.get('outage_t1_s'))})"
        rows.append([
            _td(f"{f['step_id']} ({f['fault']})"),
            _td(f"{seconds(i.get('impact_window_s'))} ({_between(i.get('t0_s'), i.get('t1_s'))})"),
            _num(figure("impact_availability", i.get("impact_availability"))), _td(outage),
            _td(figure("failed_requests", i.get("failed_requests") or None)),
            _td(figure("failed_journeys", i.get("failed_journeys") or None)),
            _num(figure("recovered_p95_ratio", i.get("recovered_p95_ratio"))),
            _td(f"{recovered}: ≥ {figure('availability', i.get('level'))} held {seconds(i.get('hold_s'))}",
                "yes" if i.get("recovered") else "no"),
        ])
    return _table(["fault", "impact window", "served in it", "outage (< 50 % served)", "failed requests",
                   "failed journeys", "p95 after / baseline", "recovered"], rows,
                  "No impact measured (no fault under load).")


def _effect_cells(effect: Mapping[str, Any] | None) -> list[str]:
    if effect is None:
        return [_td("not checked", "muted"), _td(MISSING)]
    verdict = ("verified" if effect.get("verified") else "NOT observed") + f" at {seconds(effect.get('t_s'))}"
    return [_td(verdict, "yes" if effect.get("verified") else "no"), _td(evidence(effect.get("evidence")), "small")]


def effect_table(faults: Sequence[Mapping[str, Any]]) -> str:
    """Whether each fault took effect, and was gone after its revert, with the evidence."""
    rows = [[_td(f["step_id"]), _td(f["fault"]), *_effect_cells(f.get("effect")),
             *_effect_cells(f.get("reverted_effect"))] for f in faults]
    return _table(["step", "fault", "effect", "evidence", "after the revert", "evidence"], rows,
                  "No fault was injected.")


def windows_table(windows: Sequence[Mapping[str, Any]]) -> str:
    """Each measured window and its figures."""
    rows = [[_td(w["name"]), _num(_between(w.get("t0_s"), w.get("t1_s"))),
             _num(seconds(None if w.get("t0_s") is None or w.get("t1_s") is None else w["t1_s"] - w["t0_s"])),
             _num(figure("requests", w.get("requests"))), _num(figure("availability", w.get("availability"))),
             _num(figure("p50_ms", w.get("p50_ms"))), _num(figure("p95_ms", w.get("p95_ms"))),
             _num(figure("p99_ms", w.get("p99_ms"))), _num(number(w.get("rps"), "req/s"))] for w in windows]
    return _table(["window", "span", "length", "requests", "availability", "p50", "p95", "p99", "rate"], rows,
                  "No window was measured.")


def report_html(summary: Mapping[str, Any]) -> str:
    """report.html from the summary: one self-contained page."""
    verdict = summary["verdict"]
    checks = _table(["check", "phase", "expected", "observed", "result"], [
        [_td(c["name"]), _td(c.get("phase") or ""), _td(c["expected"] if isinstance(c["expected"], str)
                                                         else number(c["expected"])),
         _num(observed(c)),
         _td("pass", "yes") if c["passed"] else _td(f"FAIL {tidy(c.get('message'))}".strip(), "no")]
        for c in summary["checks"]
    ], "No check was made.")
    faults = _table(["step", "fault", "targets", "injected at", "inject took", "reverted at", "revert took", "by"], [
        [_td(f["step_id"]), _td(f["fault"]), _td(", ".join(f["targets"])), _num(seconds(f["injected_t_s"])),
         _num(seconds(f["inject_duration_s"])),
         _num(seconds(f["reverted_t_s"])) if f["reverted_t_s"] is not None else _td("NOT REVERTED", "no"),
         _num(seconds(f["revert_duration_s"])), _td(f["reverted_by"] or "")]
        for f in summary["faults"]
    ], "No fault was injected.")
    steps = _table(["phase", "step", "kind", "what", "start", "took", "result"], [
        [_td(s["phase"]), _td(s["step_id"]), _td(s["kind"]), _td(s["description"]), _num(seconds(s["start_t_s"])),
         _num(seconds(s["duration_s"])), _td("ok", "yes") if s["ok"] else _td(tidy(s["error"]) or "?", "no")]
        for s in summary["steps"]
    ])
    reason = f"<p><b>Why:</b> {escape(tidy(summary['reason']))}</p>" if summary.get("reason") else ""
    stop = summary.get("stop_condition")
    if stop:
        reason += (f"<p><b>Stop condition:</b> {escape(str(stop.get('name')))} observed "
                   f"{escape(number(stop.get('observed')))}, expected {escape(str(stop.get('expected')))}, for "
                   f"{escape(seconds(stop.get('for_s')))} (at {escape(seconds(stop.get('t_s')))})</p>")
    failed = frozenset(c["metric"] for c in summary["checks"] if not c["passed"] and c.get("metric"))
    impacts = ""
    if summary["faults"]:
        impacts = (f"<h2>Impact of each fault</h2>{impact_table(summary['faults'])}"
                   f"<h2>Did each fault take effect?</h2>{effect_table(summary['faults'])}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(summary['runbook'])}: {escape(verdict)}</title>
<style>{CSS}</style></head><body>
<h1>{escape(summary['runbook'])} <span class="verdict {escape(verdict)}">{escape(verdict)}</span></h1>
<p class="muted">{escape(summary.get('description') or '')} · started {escape(moment(summary.get('started_at')))}
 · project {escape(str(summary.get('project')))} · exit code {summary['exit_code']}</p>
{reason}<div class="cards">{cards_html(summary['metrics'], failed)}</div>
<h2>Timeline</h2>{timeline_svg(summary)}
<h2>Checks</h2>{checks}{impacts}
<h2>Windows</h2>{windows_table(summary.get('windows') or [])}
<h2>Faults</h2>{faults}<h2>Steps</h2>{steps}{review_section(summary)}
</body></html>
"""


def review_section(summary: Mapping[str, Any]) -> str:
    """A game day's review (as in review.md, pre-filled from the journal), for the team to complete."""
    review = post_incident_review(summary)
    if not review:
        return ""
    return f"<h2>Post-incident review</h2><pre class=\"review\">{escape(chr(10).join(review[3:]))}</pre>"
