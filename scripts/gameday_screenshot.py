"""The README's picture of the game-day page, taken during a real game day on the bundled stack.

    .venv/bin/python scripts/gameday_screenshot.py [--port 8800] [--out docs/img/gameday-page.png]

Needs the bundled stack up (`make stack-up`). Runs `entchaos gameday runbooks/gameday-datacenter-fire.yaml --web`,
plays both roles and the facilitator in Debian's Chromium (Playwright): the facilitator injects a surprise (one rbx
replica 300 ms late) while the commander's step waits, and the facilitator's view is photographed while the
communications step waits, with the fire and the surprise on the timeline. About four minutes (the whole game day).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "gameday-page.png"))
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}/"
    proc = subprocess.Popen([sys.executable, "-m", "chaos.cli", "gameday", "runbooks/gameday-datacenter-fire.yaml",
                             "--web", str(args.port)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "state", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the game-day page did not come up") from None
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            commander = browser.new_page(viewport={"width": 1280, "height": 900})
            comms = browser.new_page(viewport={"width": 1280, "height": 900})
            facilitator = browser.new_page(viewport={"width": 1280, "height": 900})
            commander.goto(url + "?role=incident-commander")
            comms.goto(url + "?role=communications")
            facilitator.goto(url + "?role=facilitator")
            commander.locator('.instruction[data-step="declare"]').wait_for(timeout=300_000)
            facilitator.locator('.surprise[data-surprise="slow-rbx-replica"] button[data-action="inject"]').click()
            time.sleep(8)  # the outage and the surprise on the timeline
            commander.fill("#note-text", "sbg gone at once: edge took it out in seconds; bridge opened")
            commander.click("#note-send")
            commander.locator('.instruction[data-step="declare"] button[data-action="done"]').click()
            comms.locator('.instruction[data-step="announce"]').wait_for(timeout=300_000)
            time.sleep(10)  # users served again, the surprise's late answers on the p95 line
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            facilitator.screenshot(path=args.out, full_page=True)
            comms.locator('.instruction[data-step="announce"] button[data-action="done"]').click()
            comms.locator("#verdict", has_text="verdict").wait_for(timeout=300_000)
            browser.close()
        sys.stdout.write(f"written {args.out}; game day exit code {proc.wait(timeout=300)}\n")
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
