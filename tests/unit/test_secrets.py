"""Passwords and session keys never appear in logs, journals or reports: a whole run with fakes, grepped."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import structlog

from chaos.errors import PlaybookFailed
from chaos.journal import read_journal
from chaos.log import RedactingStream, redact_event, redact_text, redact_value
from chaos.report.console import ConsoleView
from tests.fakes import FakePlaybooks, FakeWorld

APP_SECRET = "app-session-key-4f1c9a"  # ENTCHAOS_APP_SECRET: signs the sessions
DB_PASSWORD = "db-pw-77aa31"  # in a libpq conninfo
LOGIN_PASSWORD = "pupil-pw-5e2b"  # a log-in body
TOKEN = "eyJ1c2VyIjoicHVwaWwwMDAxIn0.c2lnbmF0dXJl"  # a session token (Bearer)
SECRETS = (APP_SECRET, DB_PASSWORD, LOGIN_PASSWORD, TOKEN)

ANSIBLE_OUTPUT = (  # what a failing task prints: its command, its environment, a request it made
    f'fatal: [localhost]: FAILED! => {{"cmd": "psql \'host=db-sbg user=ent password={DB_PASSWORD}\'", '
    f'"env": {{"ENT_SECRET": "{APP_SECRET}"}}, "stderr": "curl -H \'Authorization: Bearer {TOKEN}\' '
    f'-d {{\\"login\\": \\"pupil0001\\", \\"password\\": \\"{LOGIN_PASSWORD}\\"}}"}}'
)

RUNBOOK = f"""\
metadata: {{name: leaky}}
steps:
  - id: kill
    fault: fake-kill
    target: {{datacenter: sbg, role: app}}
    params: {{sets: {{dsn: "host=db-rbx password={DB_PASSWORD}"}}}}
  - id: seen
    probe: fake-value
    params: {{key: dsn}}
    expect: {{eq: nothing}}
    continue_on_failure: true
  - id: failover
    playbook: edge-undrain
    continue_on_failure: true
verify:
  - {{name: app secret, probe: fake-value, params: {{key: secret}}, expect: {{eq: 0}}}}
"""


class LeakyPlaybooks(FakePlaybooks):
    def run(self, name: str, extravars: Mapping[str, Any], *, timeout_s: float, cancel: Callable[[], bool]) -> None:
        if name == "edge-undrain":
            raise PlaybookFailed(f"playbook edge-undrain failed at task 'promote': {ANSIBLE_OUTPUT}")
        super().run(name, extravars, timeout_s=timeout_s, cancel=cancel)


def assert_clean(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in {where}"


def test_a_whole_run_writes_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENTCHAOS_APP_SECRET", APP_SECRET)
    world = FakeWorld(tmp_path)
    world.playbooks = LeakyPlaybooks(world.stack)
    world.stack.values["secret"] = f"ENT_SECRET={APP_SECRET}"
    runbook = world.parse(RUNBOOK, "leaky.yaml")
    console = io.StringIO()
    result = world.engine(runbook, listeners=[ConsoleView(RedactingStream(console))]).run()
    assert result.verdict == "fail"

    journal = read_journal(result.folder)
    text = json.dumps(journal)
    assert "password=***" in text and "Bearer ***" in text, "the evidence is still there, masked"
    assert any(r["event"] == "step_failed" or "failover" in json.dumps(r) for r in journal)
    for path in sorted(result.folder.rglob("*")):
        if path.is_file():
            assert_clean(str(path.relative_to(tmp_path)), path.read_text(errors="replace"))
    assert_clean("the console", console.getvalue())
    assert "failover" in console.getvalue()


def test_the_log_processor_masks_every_value() -> None:
    out = io.StringIO()
    log = structlog.wrap_logger(structlog.PrintLogger(out),
                                processors=[redact_event, structlog.processors.JSONRenderer()])
    log.error("playbook_failed", message=ANSIBLE_OUTPUT, extravars={"password": LOGIN_PASSWORD, "token": TOKEN},
              env=[f"ENTCHAOS_APP_SECRET={APP_SECRET}"])
    assert_clean("the log", out.getvalue())
    assert "playbook_failed" in out.getvalue()


@pytest.mark.parametrize(("text", "expected"), [
    ("host=db-sbg,db-rbx port=5432,5432 dbname=ent user=ent password=ent target_session_attrs=read-write",
     "host=db-sbg,db-rbx port=5432,5432 dbname=ent user=ent password=*** target_session_attrs=read-write"),
    ("postgresql://ent:s3cret@db-sbg:5432/ent", "postgresql://ent:***@db-sbg:5432/ent"),
    ('{"login": "pupil0001", "password": "ent"}', '{"login": "pupil0001", "password": "***"}'),
    ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
    ("ENT_SECRET=entchaos-dev-secret PGPASSWORD=x1", "ENT_SECRET=*** PGPASSWORD=***"),
    ("the token bucket holds 3 tokens=3", "the token bucket holds 3 tokens=3"),  # words alone are not secrets
])
def test_patterns(text: str, expected: str) -> None:
    assert redact_text(text, secrets=[]) == expected


def test_keys_named_like_a_secret_and_known_values() -> None:
    assert redact_value({"ENT_SECRET": "x", "password": "ent", "tokens": 3, "step_id": "kill", "secret": True},
                        secrets=[]) == {"ENT_SECRET": "***", "password": "***", "tokens": 3, "step_id": "kill",
                                        "secret": True}
    assert redact_text(f"signed with {APP_SECRET}.", secrets=[APP_SECRET]) == "signed with ***."


def test_the_stream_masks_a_secret_written_in_pieces() -> None:
    out = io.StringIO()
    stream = RedactingStream(out)
    stream.write("password=")
    stream.write("hunter2 and more\nnext ")
    stream.flush()
    assert out.getvalue() == "password=*** and more\nnext "


def test_playbook_artefacts_are_masked_on_disk(tmp_path) -> None:
    from chaos.remediation.runner import redact_artifacts

    env = tmp_path / "env"
    env.mkdir()
    (env / "extravars").write_text("compose_env:\n  ENTCHAOS_APP_SECRET: s3cr3t-session-key-1234\n"
                                   "conninfo: host=db password=hunter2-long user=ent\n")
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "stdout").write_text("ok: Bearer abcdef0123456789abcdef\n")
    redact_artifacts(tmp_path)
    text = (env / "extravars").read_text() + (tmp_path / "artifacts" / "stdout").read_text()
    assert "s3cr3t-session-key-1234" not in text and "hunter2-long" not in text and "abcdef0123456789" not in text
    assert "***" in text
