"""Reports that read well: every figure with 3 significant figures and its unit, the run drawn as one figure.

Built from a realistic journal (tests/unit/fire_journal.py), folded by `summarize` and written by `write_reports`.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from chaos.report.console import ConsoleView, verdict_text
from chaos.report.figures import evidence, figure, observed, sig3, tidy, unit_of
from chaos.report.timeline import CLASSES, rows_of, timeline_svg
from chaos.report.writer import write_reports
from tests.unit.fire_journal import fire_events, write_fire_journal

LONG_FLOAT = re.compile(r"(?<![\d.])(?!0\.0)\d+\.\d{4,}")  # 0.9180035650623886, 1543.2000; not 0.0432


def unrounded(text: str) -> list[str]:
    """Numbers people read (tags and styles left out) with more than 3 significant figures; a percentage may
    have 4 (99.95 %: a failure must not round away)."""
    visible = re.sub(r"<style>.*?</style>|<[^>]+>", " ", text, flags=re.S)
    found = []
    for m in re.finditer(r"\d+\.\d+( %)?", visible):
        digits = m.group(0).split(" ")[0].replace(".", "").lstrip("0")
        if len(digits) > (4 if m.group(1) else 3):
            found.append(m.group(0))
    return found
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("name", "value", "text"), [
    ("availability", 0.9180035650623886, "91.8 %"),
    ("p95_ms", 1543.2, "1540 ms"),
    ("outage_s", 11.96, "12.0 s"),
    ("lost_acked_writes", 3, "3"),
    ("lost_acked_writes", 3.0, "3"),
    ("fire.outage_s", 5.9043, "5.90 s"),  # a step id in front
    ("fire.impact_availability", 0.37123456789, "37.1 %"),
    ("during_fire_availability", 0.78, "78.0 %"),
    ("legit_success_ratio", 1, "100 %"),
    ("baseline_rps", 49.96, "50.0 req/s"),
    ("recovered_p95_ratio", 1.2134567, "1.21\u00d7"),
    ("p95_ratio_to_baseline", 1.0, "1.00\u00d7"),
    ("ttd_s", 9.996, "10.0 s"),  # rounding up adds a digit: still 3 significant figures
    ("ttd_s", 3, "3 s"),  # an integer stays one
    ("baseline_p50_ms", 0.04567, "0.0457 ms"),
    ("capacity_rps", 123456.7, "123000 req/s"),  # never 1.23e+05
    ("app_cpu_max", 0.81234, "0.812"),  # no unit in the name: 3 significant figures
    ("simulated_logins", 120.0, "120"),
    ("failed_requests", {"error": 152, "timeout": 61}, "error 152, timeout 61"),
    ("rto_s", None, "—"),
    ("rto_s", float("nan"), "—"),
])
def test_a_figure_has_3_significant_figures_and_its_unit(name: str, value: object, text: str) -> None:
    assert figure(name, value) == text


def test_an_availability_short_of_100_percent_never_reads_100_percent() -> None:
    assert figure("availability", 0.9995) == "99.95 %"
    assert figure("availability", 0.999996) == "> 99.99 %"
    assert figure("availability", 1.0) == "100 %"


def test_units_come_from_the_name() -> None:
    assert [unit_of(n) for n in ("rebuild_s", "p99_ms", "capacity_rps", "availability", "x.impact_availability",
                                 "goodput_ratio", "recovered_p95_ratio", "lost_acked_writes", "surge")] == [
        "s", "ms", "req/s", "%", "%", "%", "\u00d7", "count", ""]
    assert [sig3(v) for v in (0.0, -3.14159, 99.96, 0.000123456)] == ["0", "-3.14", "100", "0.000123"]


def test_a_checks_observed_value_takes_its_metrics_unit() -> None:
    assert observed({"observed": 0.99934, "metric": "availability_after_rebuild"}) == "99.9 %"
    assert observed({"observed": 0.99934, "metric": None}) == "0.999"
    assert observed({"observed": "degraded", "metric": None}) == "degraded"
    assert observed({"observed": None, "metric": "ttd_s"}) == "—"


def test_free_text_from_the_engine_is_rounded_too() -> None:
    assert tidy("availability: expected >= 0.99, observed 0.9180035650623886") == (
        "availability: expected >= 0.99, observed 0.918")
    assert tidy("p95 1543.2000001 ms, v1.2.3456 stays, at 2026-04-06T09:02:00.123456") == (
        "p95 1540 ms, v1.2.3456 stays, at 2026-04-06T09:02:00.123456")
    assert tidy(None) == ""


def test_evidence_in_short() -> None:
    text = evidence({"not_running": ["a", "b"], "measured_rate_bps": 123456.789, "took_s": 0.043219})
    assert text == "not_running: a, b; measured_rate_bps: 123000; took_s: 0.0432 s"
    assert len(evidence({"k": "x" * 500})) == 160


@pytest.fixture(scope="module")
def fire(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("fire")
    write_fire_journal(folder)
    return folder, write_reports(folder)


def test_summary_json_keeps_full_precision(fire: tuple[Path, dict]) -> None:
    folder, summary = fire
    assert json.loads((folder / "summary.json").read_text())["metrics"]["availability"] == 0.9180035650623886
    assert summary["series"] and summary["baseline"]["name"] == "baseline"


def test_no_unrounded_number_in_what_people_read(fire: tuple[Path, dict]) -> None:
    folder, summary = fire
    for name in ("report.html", "summary.md"):
        text = (folder / name).read_text()
        assert not LONG_FLOAT.findall(text), name
        assert not unrounded(text), (name, unrounded(text))
        assert "91.8 %" in text and "1540 ms" in text and "12.0 s" in text and "1.21\u00d7" in text, name
    assert not LONG_FLOAT.findall(verdict_text(summary)) and not unrounded(verdict_text(summary))
    assert "  figures:" in verdict_text(summary) and "lost_acked_writes" in verdict_text(summary)


def test_the_html_tables_show_impact_and_effect(fire: tuple[Path, dict]) -> None:
    html = (fire[0] / "report.html").read_text()
    impact = html[html.index("<h2>Impact of each fault</h2>"):html.index("<h2>Did each fault take effect?</h2>")]
    for text in ("fire (datacenter-fire)", "8.81 s (11.3 s → 20.1 s)", "37.1 %", "5.90 s (11.4 s → 17.2 s)",
                 "error 152, timeout 61, refused 58", "1.21\u00d7", "yes, at 20.1 s"):
        assert text in impact, text
    effect = html[html.index("<h2>Did each fault take effect?</h2>"):html.index("<h2>Windows</h2>")]
    assert "verified at 11.7 s" in effect and "not_running: sbg-app-1, sbg-app-2, sbg-db" in effect
    assert "verified at 36.5 s" in effect
    checks = html[html.index("<h2>Checks</h2>"):html.index("<h2>Impact of each fault</h2>")]
    assert ">&gt;= 0.99<" in checks and ">99.8 %<" in checks and ">0.123<" in checks  # expected as written


def _svg(html: str) -> ET.Element:
    return ET.fromstring(html[html.index("<svg"): html.index("</svg>") + 6])  # well-formed


def test_the_chart_stacks_every_class_beside_availability_and_latency(fire: tuple[Path, dict]) -> None:
    svg = _svg((fire[0] / "report.html").read_text())
    polygons = {p.get("data-class"): p for p in svg.iter(f"{SVG}polygon")}
    assert set(polygons) == set(CLASSES)
    for name in CLASSES:  # every second of the series, stacked
        total = sum(row["by_class"][name] for row in fire[1]["series"])
        assert polygons[name].findtext(f"{SVG}title") == f"{name}: {total} requests"
        assert len(polygons[name].get("points", "").split()) == 4 * len(fire[1]["series"])
    lines = [p.get("class") for p in svg.iter(f"{SVG}polyline")]
    assert {"availability", "lat p50", "lat p95", "lat p99"} <= set(lines)
    legend = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert set(CLASSES) <= set(legend) and {"p50", "p95", "p99"} <= set(legend)


def test_the_chart_shades_the_baseline_and_each_impact_with_its_figures(fire: tuple[Path, dict]) -> None:
    svg = _svg((fire[0] / "report.html").read_text())
    rects = list(svg.iter(f"{SVG}rect"))
    impact = [r for r in rects if r.get("class") == "impact" and r.get("data-step") == "fire"]
    assert len(impact) == 3  # over each chart
    shaded = [r.get("class") for r in rects if r.find(f"{SVG}title") is not None]  # the legend's swatches have none
    assert shaded.count("baseline-window") == 3 and shaded.count("outage") == 3
    texts = [t.text or "" for t in svg.iter(f"{SVG}text")]
    assert "fire impact 8.81 s: 37.1 % served, outage 5.90 s" in texts
    assert any(t.startswith("baseline 10.0 s: 99.8 % served, p95 41.7 ms") for t in texts)
    assert "baseline p95 41.7 ms" in texts and "baseline 99.8 %" in texts
    # The impact window spans [injection, recovery) on the time axis, the same as the fault's red line.
    x0, width = float(impact[0].get("x", 0)), float(impact[0].get("width", 0))
    inject = next(ln for ln in svg.iter(f"{SVG}line") if ln.get("class") == "inject")
    assert abs(float(inject.get("x1", 0)) - x0) < 0.2 and width > 100
    assert [r for r in rects if r.get("class") == "fault"]  # the fault's span, in its step's lane


def test_an_impact_that_never_recovered_says_so(tmp_path: Path) -> None:
    write_fire_journal(tmp_path)
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    changed = [json.loads(line) for line in lines]
    for r in changed:
        if r["event"] == "impact_measured":
            r["recovered_at"] = None
    (tmp_path / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in changed))
    summary = write_reports(tmp_path)
    html, md = (tmp_path / "report.html").read_text(), (tmp_path / "summary.md").read_text()
    assert "not recovered" in html and "NOT recovered" in html
    assert "availability NEVER came back" in md
    assert not unrounded(html + md + verdict_text(summary))


def test_an_old_journal_without_a_series_still_draws_its_samples(fire: tuple[Path, dict]) -> None:
    summary = {**fire[1], "series": [], "baseline": None, "windows": []}
    svg = _svg(timeline_svg(summary))
    assert [p.get("data-class") for p in svg.iter(f"{SVG}polygon")] == ["sent"]
    assert {p.get("class") for p in svg.iter(f"{SVG}polyline")} == {"availability", "lat p95"}


def test_summary_md_has_an_impact_section_per_fault(fire: tuple[Path, dict]) -> None:
    md = (fire[0] / "summary.md").read_text()
    section = md[md.index("## Impact"):md.index("## Windows")]
    assert "### fire (datacenter-fire)" in section
    assert "- impact window: 8.81 s (11.3 s → 20.1 s), until availability held ≥ 99.0 % for 5.00 s" in section
    assert "- served in it: 37.1 %" in section and "- outage (< 50 % served): 5.90 s (11.4 s → 17.2 s)" in section
    assert "- effect: verified at 11.7 s" in section
    assert "| baseline | 0.300 s → 10.3 s | 500 | 99.8 % | 12.3 ms | 41.7 ms | 63.2 ms | 50.0 req/s |" in md
    assert "| outage | <= 8 | 5.90 s | pass |" in md


def test_junit_failure_message_carries_the_unit(tmp_path: Path) -> None:
    write_fire_journal(tmp_path, passed=False)
    summary = write_reports(tmp_path)
    (failure,) = ET.parse(tmp_path / "junit.xml").getroot().iter("failure")
    assert failure.get("message") == "expected <= 8, observed 12.0 s"
    md = (tmp_path / "summary.md").read_text()
    assert "| outage | <= 8 | 12.0 s | FAIL |" in md
    assert summary["reason"] == "outage: expected <= 8, observed 11.96000001"  # as the engine words it
    assert "**Why:** outage: expected <= 8, observed 12.0" in md
    assert "<b>Why:</b> outage: expected &lt;= 8, observed 12.0<" in (tmp_path / "report.html").read_text()
    assert '<div class="card bad"><span class="muted">fire.outage_s</span>' in (tmp_path / "report.html").read_text()
    assert verdict_text(summary).startswith("verdict: FAIL — outage: expected <= 8, observed 12.0\n")


def test_console_lines_round_with_units() -> None:
    out = io.StringIO()
    view = ConsoleView(out)
    for event in fire_events():
        view(event)
    text = out.getvalue()
    assert not unrounded(text), unrounded(text)
    assert "= availability 91.8 %" in text and "= p95_ms 1540 ms" in text and "= rebuild_s 12.0 s" in text
    assert "✓ availability (after:rebuild): 99.9 % (expected >= 0.99)" in text
    assert "= impact of fire: 8.81 s, 37.1 % served, outage 5.90 s" in text
    assert "✓ datacenter-fire (fire) took effect: not_running: sbg-app-1" in text
    assert "✓ datacenter-fire (fire) is gone after the revert" in text


def test_a_long_run_is_merged_for_the_plot_without_hiding_a_spike() -> None:
    row = {"sent": 10, "by_class": {"app": 9, "error": 1}, "availability": 0.9, "p50_ms": 10.0, "p95_ms": 20.0,
           "p99_ms": 30.0}
    series = [{**row, "t_s": i * 0.1} for i in range(3600)]
    series[1801] = {**row, "t_s": 180.1, "p99_ms": 9000.0, "availability": 0.0, "by_class": {"timeout": 10}}
    rows, classes = rows_of({"series": series, "series_step_s": 0.1})
    assert classes and len(rows) == 900 and rows[-1].t1 == pytest.approx(360.0)
    assert sum(r.sent for r in rows) == 36000 and sum(r.by_class["timeout"] for r in rows) == 10
    spike = next(r for r in rows if r.t0 <= 180.1 < r.t1)
    assert spike.values["p99_ms"] == 9000.0 and spike.values["availability"] == pytest.approx(0.675)
