"""report.html: ONE self-contained file (inline CSS, inline SVG), openable from a CI artefact without a server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from chaos.report.timeline import timeline_svg

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:960px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}.verdict{display:inline-block;padding:.15rem .6rem;border-radius:4px;color:#fff;font-weight:600}
.pass{background:#2e7d32}.fail{background:#c62828}.aborted{background:#ef6c00}.error{background:#6a1b9a}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}td.no{color:#c62828;font-weight:600}td.yes{color:#2e7d32}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem}
.card b{display:block;font-size:1.3rem}.muted{color:#666}
"""


def _v(value: Any) -> str:
    return escape(value if isinstance(value, str) else json.dumps(value))


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(summary: Mapping[str, Any]) -> str:
    verdict = summary["verdict"]
    cards = "".join(f'<div class="card"><span class="muted">{escape(k)}</span><b>{_v(v)}</b></div>'
                    for k, v in summary["metrics"].items())
    checks = _table(["check", "phase", "expected", "observed", "result"], [
        [f"<td>{_v(c['name'])}</td>", f"<td>{_v(c.get('phase') or '')}</td>", f"<td>{_v(c['expected'])}</td>",
         f"<td>{_v(c['observed'])}</td>",
         '<td class="yes">pass</td>' if c["passed"] else f'<td class="no">FAIL {_v(c.get("message") or "")}</td>']
        for c in summary["checks"]
    ])
    faults = _table(["step", "fault", "targets", "injected at", "inject took (s)", "reverted at", "revert took (s)",
                     "by"], [
        [f"<td>{_v(f['step_id'])}</td>", f"<td>{_v(f['fault'])}</td>", f"<td>{_v(', '.join(f['targets']))}</td>",
         f"<td>{_v(f['injected_t_s'])} s</td>", f"<td>{_v(f['inject_duration_s'])}</td>",
         f"<td>{_v(f['reverted_t_s'])} s</td>" if f["reverted_t_s"] is not None else '<td class="no">NOT REVERTED</td>',
         f"<td>{_v(f['revert_duration_s'])}</td>", f"<td>{_v(f['reverted_by'] or '')}</td>"]
        for f in summary["faults"]
    ])
    steps = _table(["phase", "step", "kind", "what", "start (s)", "took (s)", "result"], [
        [f"<td>{_v(s['phase'])}</td>", f"<td>{_v(s['step_id'])}</td>", f"<td>{_v(s['kind'])}</td>",
         f"<td>{_v(s['description'])}</td>", f"<td>{_v(s['start_t_s'])}</td>", f"<td>{_v(s['duration_s'])}</td>",
         '<td class="yes">ok</td>' if s["ok"] else f'<td class="no">{_v(s["error"] or "?")}</td>']
        for s in summary["steps"]
    ])
    reason = f"<p><b>Why:</b> {escape(summary['reason'])}</p>" if summary.get("reason") else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(summary['runbook'])}: {escape(verdict)}</title>
<style>{CSS}</style></head><body>
<h1>{escape(summary['runbook'])} <span class="verdict {escape(verdict)}">{escape(verdict)}</span></h1>
<p class="muted">{escape(summary.get('description') or '')} · started {escape(summary.get('started_at') or '?')}
 · project {escape(str(summary.get('project')))} · exit code {summary['exit_code']}</p>
{reason}<div class="cards">{cards}</div>
<h2>Timeline</h2>{timeline_svg(summary)}
<h2>Checks</h2>{checks}<h2>Faults</h2>{faults}<h2>Steps</h2>{steps}
</body></html>
"""
