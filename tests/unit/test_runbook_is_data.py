"""Nothing in a runbook is code: playbook parameters are typed and reach Ansible as data; every text sent to
HAProxy's runtime API is a checked plain name; SQL takes values as parameters."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest
import yaml

from chaos.errors import InvalidInput, RunbookInvalid
from chaos.model.loader import parse_runbook
from chaos.remediation import params
from chaos.remediation import runner as playbook
from chaos.remediation.params import PLAYBOOKS, RESERVED
from chaos.stack.compose import ComposeStack
from chaos.stack.haproxy_runtime import MAP_PATH, EdgeAPI, plain_line, plain_name

ROOT = Path(__file__).resolve().parents[2]
PWN = "{{ lookup('pipe', 'touch /tmp/pwned') }}"
# Each separator or metacharacter a line protocol, a shell or a template could act on.
SEPARATORS = [";", "\n", "\r", " ", "\t", "#", "'", '"', "\\", "\x00", "|", "&", "`", "$(", "{{", "{%", ",", "/"]
HEAD = "metadata: {name: t}\nsteps:\n"


def parse(steps: str):
    return parse_runbook(HEAD + steps, "rb.yaml", playbooks=playbook.available())


def problems(steps: str) -> list[str]:
    with pytest.raises(RunbookInvalid) as info:
        parse(steps)
    return [str(p) for p in info.value.problems]


# ---- playbook parameters ----------------------------------------------------------------------------------------


def test_every_shipped_playbook_has_a_parameter_model_and_the_runbooks_fit() -> None:
    assert PLAYBOOKS.names() == playbook.available()
    runbook = parse("  - {playbook: rebuild-datacenter, extravars: {datacenter: sbg}}\n"
                    "  - {playbook: failover-database, extravars: {failed_datacenter: sbg}}\n"
                    "  - {playbook: geo-filter-on}\n")
    assert [s.extravars for s in runbook.steps] == [{"datacenter": "sbg"}, {"failed_datacenter": "sbg"}, {}]


@pytest.mark.parametrize("key", ["compose_cmd", "datacenter_volumes", "datacenter_services", "stack_services",
                                 "compose_env", "project", "edge_api_host", "ansible_python_interpreter",
                                 "ansible_connection", "targets", "command"])
def test_reserved_facts_cannot_be_set_by_a_runbook(key: str) -> None:
    found = problems(f"  - playbook: rebuild-datacenter\n    extravars:\n      datacenter: sbg\n      {key}: [x]\n")
    assert found == [f"rb.yaml:6: steps[0].extravars.{key}: expected no field `{key}` here, found it: reserved, "
                     "computed by the toolkit from the labelled stack"]


def test_unknown_and_missing_parameters_are_errors_with_file_line() -> None:
    found = problems("  - playbook: rebuild-datacenter\n    extravars: {datacentre: sbg}\n")
    assert any(p.startswith("rb.yaml:4: steps[0].extravars.datacentre: expected no field") for p in found)
    assert any("steps[0].extravars.datacenter: expected the field `datacenter`" in p for p in found)
    found = problems("  - playbook: geo-filter-on\n    extravars: {state: 'on'}\n")
    assert found[0].startswith("rb.yaml:4: steps[0].extravars.state: expected no field `state`")


@pytest.mark.parametrize("value", [PWN, "sbg; rm -rf /", "sbg\nx", "SBG", "", "a" * 64, "-x", "sbg' or '1'='1"])
def test_a_playbook_parameter_is_a_plain_word(value: str) -> None:
    found = problems(f"  - playbook: failover-database\n    extravars: {{failed_datacenter: {value!r}}}\n")
    assert len(found) == 1 and found[0].startswith("rb.yaml:4: steps[0].extravars.failed_datacenter: expected ")
    assert "match pattern '^[a-z0-9][a-z0-9_.-]{0,62}$'" in found[0]


def test_every_reserved_fact_is_one_the_toolkit_computes() -> None:
    computed = {"project", "compose_file", "compose_cmd", "compose_env", "stack_services", "services_by_datacenter",
                "sync_replication", "edge_api_host", "edge_api_port", "datacenter_services", "datacenter_volumes"}
    assert computed <= RESERVED


def test_run_time_check_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever built the step (a test, a script), the runner checks the parameters before Ansible starts."""
    with pytest.raises(InvalidInput, match="extravars do not fit"):
        params.typed_params("rebuild-datacenter", {"datacenter": "sbg", "datacenter_volumes": ["other_vol"]})
    with pytest.raises(InvalidInput, match="extravars do not fit"):
        params.typed_params("rebuild-datacenter", {"datacenter": PWN})
    with pytest.raises(InvalidInput, match="no parameter model"):
        params.typed_params("nope", {})


def test_extravars_are_written_unsafe_everywhere() -> None:
    text = playbook.extravars_text({"a": PWN, "b": [PWN, 3, True], "c": {PWN: {"k": PWN}}, "d": None, "e": "",
                                    "f": "on", "g": "%x", "h": "#x"})
    assert text.count("!unsafe") == 6
    # no template without `{`, `%` or `#`: plain (ansible-core 2.19 types `!unsafe 'on'` as True, `!unsafe ''` None)
    assert "e: ''" in text and "f: 'on'" in text
    with pytest.raises(InvalidInput):
        playbook.extravars_text({"bad name": 1})


TEST_PLAY = """
- hosts: toolkit
  gather_facts: false
  tasks:
    - name: "name {{ datacenter }}"
      ansible.builtin.debug: {msg: "{{ datacenter }} {{ compose_env }} {{ datacenter_volumes }}"}
    - ansible.builtin.command:
        argv: "{{ ['echo'] + datacenter_volumes + [datacenter] }}"
      register: echoed
      when: datacenter != ''
    - ansible.builtin.copy:
        content: "{{ echoed.stdout }}\\n{{ compose_env | dict2items | map(attribute='key') | list }}"
        dest: "{{ out }}"
"""


def test_a_jinja_lookup_in_any_value_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real runner (ansible-runner, ansible-playbook, local): each value is used as it is."""
    marker = tmp_path / "pwned"
    lookup = PWN.replace("/tmp/pwned", str(marker))
    play = tmp_path / "probe.yml"
    play.write_text(TEST_PLAY)
    out = tmp_path / "out.txt"
    facts = {"datacenter": lookup, "datacenter_volumes": [lookup], "compose_env": {lookup: lookup},
             "out": str(out)}
    monkeypatch.setattr(playbook, "playbook_path", lambda name: play)
    monkeypatch.setattr(playbook, "typed_params", lambda name, extravars: None)
    monkeypatch.setattr(playbook, "playbook_facts", lambda name, params, stack: facts)
    stack = ComposeStack.from_env("entchaos-unused", tmp_path / "compose.yaml")  # the facts above replace its own
    result = playbook.run_playbook("probe", stack=stack, artifacts_root=tmp_path / "runs", timeout_s=120)
    assert result.ok, result.message
    assert not marker.exists()
    echoed, keys = out.read_text().splitlines()
    assert echoed == f"{lookup} {lookup}" and lookup in keys  # used as they are, never rendered


# ---- HAProxy's runtime API ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", SEPARATORS)
def test_every_runtime_api_entry_point_refuses_each_separator(sep: str) -> None:
    bad = f"ent{sep}show"
    for what in ("backend", "server", "table"):
        with pytest.raises(InvalidInput):
            plain_name(bad, what)
    with pytest.raises(InvalidInput):
        EdgeAPI("127.0.0.1", 9).set_server_state("ent_app", bad, "drain")  # nothing is sent: port 9 unused
    with pytest.raises(InvalidInput):
        EdgeAPI("127.0.0.1", 9).set_server_state(bad, "app-1", "drain")
    with pytest.raises(InvalidInput):
        EdgeAPI("127.0.0.1", 9).servers(bad)
    with pytest.raises(InvalidInput):
        EdgeAPI("127.0.0.1", 9).set_server_state("ent_app", "app-1", f"drain{sep}")
    if sep not in (" ", ",", "/"):  # these three are word separators inside one plain command
        with pytest.raises(InvalidInput):
            plain_line(f"show stat{sep}set server ent_app/app-1 state maint")


@pytest.mark.parametrize("sep", SEPARATORS)
def test_runbook_values_for_the_runtime_api_are_refused_at_load_time(sep: str) -> None:
    value = repr(f"ent{sep}x")
    steps = (f"  - {{probe: edge-source-rate, params: {{table: {value}}}}}\n"
             f"  - {{probe: edge-servers-up, params: {{backend: {value}}}}}\n"
             f"  - {{probe: edge-servers-up, params: {{datacenter: {value}}}}}\n"
             f"  - {{probe: edge-source-rate, params: {{network: {'10.0.0.0/8' + sep!r}}}}}\n")
    found = problems(steps)
    assert [p.split(":")[1] for p in found] == ["3", "4", "5", "6"], found


def test_the_edge_client_sends_nothing_it_refuses() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    got: list[bytes] = []

    def accept() -> None:
        try:
            conn, _ = server.accept()
            got.append(conn.recv(1024))
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    with pytest.raises(InvalidInput):
        EdgeAPI("127.0.0.1", server.getsockname()[1]).command("show table ent;set map /m filter off")
    thread.join()
    server.close()
    assert got == []


@pytest.mark.parametrize("sep", SEPARATORS)
def test_the_ansible_modules_refuse_each_separator(sep: str) -> None:
    # The modules (playbooks/library) send through the toolkit's client: its checks, and the map path's.
    with pytest.raises(InvalidInput):
        plain_name(f"app-1{sep}x", "server")
    with pytest.raises(InvalidInput):
        plain_name(f"/usr/local/etc/haproxy/geo.map{sep}x", "map", MAP_PATH) if sep != "/" else plain_name(
            "/usr/../etc/x", "map", MAP_PATH)
    if sep not in (" ", ",", "/"):
        with pytest.raises(InvalidInput):
            EdgeAPI("127.0.0.1", 9).command(f"show stat{sep}show info")
    assert plain_name("app-sbg-1", "server") == "app-sbg-1"


# ---- SQL and commands in the playbooks --------------------------------------------------------------------------


def test_the_playbooks_run_argv_lists_and_pass_sql_values_as_variables() -> None:
    for path in sorted((ROOT / "playbooks").glob("*.yml")):
        for play in yaml.safe_load(path.read_text()):
            for task in play.get("tasks", []):
                command = task.get("ansible.builtin.command")
                if command is not None:
                    assert isinstance(command, dict) and "argv" in command, f"{path.name}: {task['name']}"
                    sql = " ".join(map(str, command["argv"])) + str(command.get("stdin", ""))
                    assert not re.search(r"'\{\{", sql), f"{path.name}: {task['name']} splices a value into SQL"


def test_the_sql_probes_never_format_a_query() -> None:
    source = "".join((ROOT / "chaos" / path).read_text() for path in ("probes/sql.py", "stack/database.py"))
    assert not re.search(r"execute\(\s*f[\"']|query\([^)]*,\s*f[\"']|%\s*\(|\.format\(", source)
