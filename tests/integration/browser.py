"""A real browser for the tests: headless Chromium (Debian's `chromium`) renders a page, keeps a screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")


@dataclass(frozen=True)
class Rendered:
    url: str
    dom: str  # the DOM after the page's scripts ran, serialised
    screenshot: Path


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(binary: str, profile: str, *args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=timeout_s, check=True)


def render(url: str, screenshot: Path, *, timeout_s: float = 60.0, size: str = "1024,900") -> Rendered:
    """Load `url`, dump its rendered DOM, and save a PNG screenshot (two runs: the flags do not mix)."""
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed: apt-get install -y chromium")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="entchaos-chromium-") as profile:
        dom = _run(binary, profile, "--dump-dom", url, timeout_s=timeout_s).stdout
        _run(binary, profile, f"--screenshot={screenshot}", f"--window-size={size}", url, timeout_s=timeout_s)
    return Rendered(url, dom, screenshot)
