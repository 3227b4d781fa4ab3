"""Hostile and broken runbooks (tests/unit/hostile/, expected line and message in INDEX): `entchaos validate`
exits 2 naming file:line, with no Docker engine, in bounded time and memory; nothing else ever escapes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from chaos.errors import RunbookInvalid
from chaos.model.loader import load_runbook
from chaos.remediation.runner import available

HOSTILE = Path(__file__).parent / "hostile"
CASES = [tuple(part.strip() for part in row.split("|")) for row in (HOSTILE / "INDEX").read_text().splitlines()
         if row.strip() and not row.startswith("#")]
NO_ENGINE = {**os.environ, "DOCKER_HOST": "unix:///nonexistent"}


def entchaos(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("entchaos")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "chaos.cli"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=60, env=NO_ENGINE)


def test_every_case_is_in_the_index() -> None:
    assert {c[0] for c in CASES} == {p.name for p in HOSTILE.iterdir() if p.name != "INDEX"}


@pytest.mark.parametrize(("name", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_loader_refuses_within_a_second_and_bounded_memory(name: str, line: str, fragment: str) -> None:
    tracemalloc.start()
    started = time.process_time()
    with pytest.raises(RunbookInvalid) as info:
        load_runbook(HOSTILE / name, playbooks=available())
    cpu_s = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    text = info.value.message
    print(f"{name}: {cpu_s * 1000:.0f} ms CPU, peak {peak / 1e6:.1f} MB: {text[:100]}")
    assert f"{name}:{line}:" in text and fragment in text, text
    assert len(text) < 2000 and cpu_s < 1.0 and peak < 50e6


def test_the_cli_exits_2_with_file_line_for_every_case_without_docker() -> None:
    slowest = (0.0, "")
    for name, line, fragment in CASES:
        started = time.monotonic()
        done = entchaos("validate", str(HOSTILE / name))
        took = time.monotonic() - started
        slowest = max(slowest, (took, name))
        assert done.returncode == 2, (name, done.stderr)
        assert f"{name}:{line}:" in done.stderr and fragment in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.stderr
    print(f"{len(CASES)} cases, slowest process (interpreter start included) {slowest[0]:.2f} s: {slowest[1]}")


def test_not_a_regular_file_or_too_big(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nobody writes to it: reading it would block forever
    big = tmp_path / "big.yaml"
    big.write_text("metadata: {name: t}\n# " + "x" * (1 << 20) + "\n")
    for path, said in ((fifo, "found a FIFO"), (tmp_path, "found a directory"), (Path("/dev/zero"), "found a device"),
                       (big, "at most 1048576 bytes (1024 KiB)"), (tmp_path / "none.yaml", "No such file")):
        done = entchaos("validate", str(path))
        assert done.returncode == 2 and said in done.stderr and str(path) in done.stderr, done.stderr


def test_a_huge_string_is_never_formatted_whole(tmp_path: Path) -> None:
    """A 900 KB string in a field, repeated through aliases: the message quotes 60 characters of it."""
    rb = tmp_path / "rb.yaml"
    rb.write_text("x: &s '" + "y" * 900_000 + "'\nmetadata: {name: t}\nsteps:\n" +
                  "".join(f"  - {{id: s{i}, revert: *s}}\n" for i in range(200)))
    started = time.process_time()
    with pytest.raises(RunbookInvalid) as info:
        load_runbook(rb)
    assert time.process_time() - started < 1.0 and len(info.value.message) < 10_000


def test_validate_and_plan_need_no_engine(tmp_path: Path) -> None:
    for rb in sorted(Path("runbooks").glob("*.yaml")):
        done = entchaos("validate", str(rb))
        assert done.returncode == 0, done.stderr
