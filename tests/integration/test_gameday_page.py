"""The game-day page in a real browser (Debian's Chromium driven by Playwright, no browser download): two people in
two windows play their roles to the end of a game day on the small non-ENT project, the facilitator injects a
surprise from a third, one writes a note, and the journal has who did what, when, with the human figures; the page's
JavaScript console stays free of errors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright  # a dev dependency: `make setup` installs it
from tenacity import retry, stop_after_delay, wait_fixed

from chaos.stack.compose import PROJECT_ROOT, ComposeStack
from tests.integration.conftest import TINY, compose_stack

pytestmark = pytest.mark.docker

ENTCHAOS = [sys.executable, "-m", "chaos.cli"]
RUNBOOK = """\
metadata: {name: tiny-gameday, description: two people and one outage on the small project}
gameday:
  roles: [incident-commander, communications]
  surprises:
    - {id: frozen-west, description: web-west freezes, fault: pause, target: {service: web-west}, duration_s: 3}
steps:
  - id: outage
    fault: kill
    target: {service: web-east}
    duration_s: 2
  - id: declare
    role: incident-commander
    manual: web-east went down. Declare the incident.
    timeout_s: 120
    record: time_to_declare_s
    milestone: declare
  - id: announce
    role: communications
    manual: Tell the shop's customers that orders go on in the west.
    timeout_s: 120
    record: time_to_announce_s
"""


@pytest.fixture(scope="module")
def tiny() -> Iterator[ComposeStack]:
    with compose_stack("entchaos-gameday") as stack:
        yield stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@retry(stop=stop_after_delay(60), wait=wait_fixed(0.2), reraise=True)
def served(url: str) -> dict:
    with urllib.request.urlopen(url + "state", timeout=2) as answer:
        return dict(json.loads(answer.read()))


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_two_roles_play_a_game_day_in_two_browser_windows(tiny: ComposeStack, tmp_path: Path) -> None:
    browser_path = shutil.which("chromium")
    assert browser_path, "Debian's chromium: `make setup` installs it"
    runbook = tmp_path / "tiny-gameday.yaml"
    runbook.write_text(RUNBOOK)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([*ENTCHAOS, "gameday", str(runbook), "--web", str(port), "--project", tiny.project,
                             "--compose-file", str(TINY), "--reports-dir", str(tmp_path / "reports")],
                            cwd=PROJECT_ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    errors: list[str] = []
    try:
        served(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            commander = browser.new_context().new_page()
            comms = browser.new_context().new_page()
            facilitator = browser.new_context().new_page()
            for page in (commander, comms, facilitator):
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(str(e)))
            commander.goto(url + "?role=incident-commander")
            comms.goto(url + "?role=communications")
            facilitator.goto(url + "?role=facilitator")
            declare = commander.locator('.instruction[data-step="declare"]')
            declare.wait_for(timeout=60_000)
            assert comms.locator(".instruction").count() == 0  # not theirs
            assert commander.locator("#facilitator").is_hidden()  # the hand is the facilitator's alone
            status, said = post(url + "facilitate", {"role": "incident-commander", "action": "inject",
                                                     "surprise": "frozen-west"})
            assert status == 409 and "only the facilitator" in said["error"]
            surprise = facilitator.locator('.surprise[data-surprise="frozen-west"]')
            surprise.locator('button[data-action="inject"]').click()
            surprise.locator("text=in force").wait_for(timeout=30_000)
            status, said = post(url + "facilitate", {"role": "facilitator", "action": "pause"})
            assert status == 409 and said["error"] == "the load is not running"  # this game day has none
            status, said = post(url + "act", {"step_id": "declare", "role": "communications", "action": "done"})
            assert status == 409 and "is for incident-commander" in said["error"]
            declare.locator('button[data-action="done"]').click()
            commander.locator('#figures tr[data-milestone="declare"] td:nth-child(2)', has_text=".").wait_for(
                timeout=30_000)  # time to declare, by people, from the outage (the surprise is not the incident)
            surprise.locator("text=over").wait_for(timeout=30_000)
            announce = comms.locator('.instruction[data-step="announce"]')
            announce.wait_for(timeout=60_000)
            comms.fill("#note-text", "customers told by mail at once")
            comms.click("#note-send")
            comms.locator("#people", has_text="customers told by mail").wait_for(timeout=10_000)
            announce.locator('button[data-action="done"]').click()
            comms.locator("#verdict", has_text="verdict: pass").wait_for(timeout=60_000)
            comms.screenshot(path=str(tmp_path / "gameday-page.png"), full_page=True)
            browser.close()
        assert proc.wait(timeout=120) == 0, proc.stdout.read().decode() if proc.stdout else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    assert errors == [], errors
    folder = next((tmp_path / "reports" / "tiny-gameday").iterdir())
    journal = [json.loads(line) for line in (folder / "journal.jsonl").open()]
    actions = [(e["step_id"], e["role"], e["action"], e["by"]) for e in journal if e["event"] == "manual_action"]
    assert actions == [("declare", "incident-commander", "done", "page"),
                       ("announce", "communications", "done", "page")]
    hand = [(e["action"], e["role"], e["surprise"], e["error"]) for e in journal if e["event"] == "facilitator_action"]
    assert hand == [("inject", "facilitator", "frozen-west", None), ("pause", "facilitator", None,
                                                                     "the load is not running")]
    faults = [(e["record"]["step_id"], e["record"]["fault"]) for e in journal if e["event"] == "fault_injected"]
    assert faults == [("outage", "kill"), ("frozen-west", "pause")]
    assert sorted((e["step_id"], e["by"]) for e in journal if e["event"] == "fault_reverted") == [
        ("frozen-west", "duration"), ("outage", "duration")]  # each after its own time: in either order
    notes = [(e["role"], e["text"]) for e in journal if e["event"] == "gameday_note"]
    assert notes == [("communications", "customers told by mail at once")]
    summary = json.loads((folder / "summary.json").read_text())
    metrics = summary["metrics"]
    assert metrics["time_to_declare_s"] > 0 and metrics["time_to_announce_s"] > 0, metrics
    assert summary["incident_figures"]["people"]["declare"] > 0, summary["incident_figures"]
    assert (tmp_path / "gameday-page.png").stat().st_size > 10_000
    review = (folder / "review.md").read_text()  # the review, pre-filled from the journal, sections for the team
    assert "| declare | incident-commander |" in review and "| announce | communications |" in review
    assert "communications: customers told by mail at once" in review and "### Actions" in review
    assert "the facilitator: injected surprise frozen-west" in review and "| declare the incident |" in review
