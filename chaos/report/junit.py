"""junit.xml: one testcase per check, so CI shows a runbook like a test suite."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from chaos.report.figures import observed, tidy


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def junit_xml(summary: Mapping[str, Any]) -> str:
    """junit.xml from the summary: one testcase per check, the run itself when it did not finish normally."""
    suite = junit_suite(summary)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def junit_suites(summaries: Sequence[Mapping[str, Any]]) -> str:
    """Several runs in one junit.xml (the gate's): a <testsuite> per runbook under one <testsuites>."""
    root = ET.Element("testsuites", name="entchaos gate")
    root.extend(junit_suite(s) for s in summaries)
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(suite.get(key, "0")) for suite in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def junit_suite(summary: Mapping[str, Any]) -> ET.Element:
    """One run as a <testsuite>."""
    runbook = summary["runbook"]
    checks = summary.get("checks") or []
    suite = ET.Element("testsuite", name=f"entchaos.{runbook}", timestamp=summary.get("started_at") or "",
                       time=str((summary.get("metrics") or {}).get("run_duration_s", 0)))
    failures = errors = 0
    for check in checks:
        case = ET.SubElement(suite, "testcase", classname=f"entchaos.{runbook}.{check.get('phase') or 'check'}",
                             name=check["name"])
        if not check["passed"]:
            failures += 1
            text = f"expected {_text(check['expected'])}, observed {observed(check)}"
            if check.get("message"):
                text += f" ({tidy(check['message'])})"
            failure = ET.SubElement(case, "failure", message=text, type="CheckFailed")
            failure.text = text
    if summary["verdict"] in ("aborted", "error") or not checks:
        # The run itself is a testcase when it did not finish normally, or when nothing else would show.
        case = ET.SubElement(suite, "testcase", classname=f"entchaos.{runbook}", name="run")
        if summary["verdict"] in ("aborted", "error"):
            errors += 1
            error = ET.SubElement(case, "error", message=tidy(summary.get("reason")) or summary["verdict"],
                                  type=summary["verdict"])
            error.text = tidy(summary.get("reason"))
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    props = ET.Element("properties")
    for name, value in sorted((summary.get("metrics") or {}).items()):  # full precision: for tools, not for reading
        ET.SubElement(props, "property", name=name, value=str(value))
    ET.SubElement(props, "property", name="verdict", value=summary["verdict"])
    suite.insert(0, props)
    return suite
