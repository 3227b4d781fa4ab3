"""The edge's configuration, checked without Docker: profiles, figures, contract, geo map, subnets."""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.unit.test_edge_api import FakeRuntimeAPI

ROOT = Path(__file__).resolve().parents[2]
EDGE = ROOT / "fixtures" / "edge"
CFG = (EDGE / "haproxy.cfg").read_text()
COMPOSE = yaml.safe_load((ROOT / "fixtures" / "compose.yaml").read_text())
ENV_WITH_DEFAULT = re.compile(r"\$\{(ENTCHAOS_[A-Z_]+)(?:-([^}]*))?\}")
COMPOSE_DEFAULT = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")
DURATION = re.compile(r"^\d+(ms|s|m)?$")


def active_lines(profile: str) -> list[str]:
    """The config lines HAProxy keeps for a profile: a tiny evaluator of this file's `.if streq` blocks."""
    kept: list[str] = []
    stack: list[tuple[bool, bool]] = []  # (this branch active, some branch already taken)
    for raw in CFG.splitlines():
        line = raw.strip()
        cond = re.match(r'\.(if|elif) streq\("\$\{ENTCHAOS_PROFILE-protected\}",(\w+)\)', line)
        if cond and cond.group(1) == "if":
            hit = cond.group(2) == profile
            stack.append((hit, hit))
        elif cond:
            taken = stack[-1][1]
            stack[-1] = (not taken and cond.group(2) == profile, taken or cond.group(2) == profile)
        elif line == ".else":
            stack[-1] = (not stack[-1][1], True)
        elif line == ".endif":
            stack.pop()
        elif line and not line.startswith("#") and all(active for active, _ in stack):
            kept.append(line)
    assert not stack, "unbalanced .if/.endif"
    return kept


SECTION = re.compile(r"^(frontend|backend|resolvers) |^(defaults|global)$")


def section(lines: list[str], name: str) -> list[str]:
    start = lines.index(name)
    end = next((i for i in range(start + 1, len(lines)) if SECTION.match(lines[i])), len(lines))
    return lines[start + 1 : end]


def test_every_conditional_names_a_known_profile():
    for profile in re.findall(r'streq\("\$\{ENTCHAOS_PROFILE-protected\}",(\w+)\)', CFG):
        assert profile in ("protected", "unprotected")
    assert ".alert" in CFG, "an unknown profile must stop the edge, not run it half-configured"


@pytest.mark.parametrize("profile", ["protected", "unprotected"])
def test_the_contract_holds_in_both_profiles(profile):
    lines = active_lines(profile)
    backend = section(lines, "backend ent_app")
    assert "http-check send meth GET uri /readyz" in backend
    assert any("inter 1s" in ln and "fall 2 rise 2" in ln for ln in backend if ln.startswith("default-server"))
    servers = {ln.split()[1]: ln for ln in backend if ln.startswith("server ")}
    apps = {n for n, s in COMPOSE["services"].items() if s.get("labels", {}).get("entchaos.role") == "app"}
    # The broadcast fallback is a protection: the edge of 2021 (unprotected) has none.
    fallback = {"fallback"} if profile == "protected" else set()
    assert set(servers) == apps | fallback, "server names are the compose service names"
    assert profile != "protected" or " backup" in servers["fallback"]
    assert "stats socket ipv4@0.0.0.0:9999 level admin expose-fd listeners" in lines
    assert "bind :8404" in section(lines, "frontend stats")
    assert "http-after-response set-header X-ENT-Edge edge" in section(lines, "frontend ent")


def test_protected_has_admission_control_rate_limits_and_the_geo_filter():
    lines = active_lines("protected")
    front = "\n".join(section(lines, "frontend ent"))
    assert "track-sc0 src" in front and "sc0_conn_rate gt" in front
    assert "use_backend rate_limited if { sc0_http_req_rate gt" in front
    assert "use_backend waiting_room if { queue(ent_app) ge" in front
    assert "use_backend geo_refused if geo_filter_on from_abroad" in front
    backend = section(lines, "backend ent_app")
    assert any('maxconn "${ENTCHAOS_EDGE_SERVER_MAXCONN-' in ln for ln in backend if ln.startswith("default-server"))
    # The fallback must never queue: a queue would send reads to the waiting room when no replica is up.
    assert next(ln for ln in backend if ln.startswith("server fallback")).endswith("maxconn 0")
    assert any(ln.startswith("http-error status 503") and "X-ENT-Shed waiting-room" in ln for ln in backend)
    assert any(ln.startswith('timeout http-request "${ENTCHAOS_EDGE_HTTP_REQUEST_TIMEOUT-') for ln in lines)


def test_unprotected_has_none_of_it():
    lines = active_lines("unprotected")
    front = "\n".join(section(lines, "frontend ent"))
    assert "use_backend" not in front and "track-sc" not in front and "stick-table" not in front
    assert not any("maxconn" in ln for ln in section(lines, "backend ent_app") if ln.startswith("default-server"))
    assert "timeout http-request 5m" in lines and "timeout client 5m" in lines


@pytest.mark.parametrize(
    ("backend", "status", "shed"),
    [
        ("waiting_room", "503", "waiting-room"),
        ("rate_limited", "429", "rate-limit"),
        ("geo_refused", "403", "geo-filter"),
    ],
)
def test_each_refusal_answers_with_its_status_and_shed_header(backend, status, shed):
    (rule,) = section(active_lines("protected"), f"backend {backend}")
    assert f"status {status}" in rule and f"hdr X-ENT-Shed {shed}" in rule
    assert ("hdr Retry-After" in rule) == (status != "403"), "shed answers say when to come back"


def test_waiting_room_page_is_small_and_static():
    page = (EDGE / "errors" / "waiting-room.html").read_bytes()
    assert len(page) < 2048 and b"<script" not in page
    assert "errors/waiting-room.html" in CFG


def test_every_figure_has_a_valid_default_and_is_passed_through_by_compose():
    figures = {name: default for name, default in ENV_WITH_DEFAULT.findall(CFG) if name != "ENTCHAOS_PROFILE"}
    assert figures, "the figures are env variables with defaults"
    for name, default in figures.items():
        assert default and DURATION.match(default), (name, default)
    edge_env = COMPOSE["services"]["edge"]["environment"]
    assert set(figures) <= set(edge_env), "compose must pass every figure through to the edge"
    assert all(edge_env[name] is None for name in figures), "unset means HAProxy's default, never an empty value"
    assert edge_env["ENTCHAOS_PROFILE"] == "${ENTCHAOS_PROFILE:-protected}"


def _env_file(path: Path) -> dict[str, str]:
    pairs = (ln.split("=", 1) for ln in path.read_text().splitlines() if ln and not ln.startswith("#"))
    return {k: v for k, v in pairs}


def test_profile_env_files_switch_edge_and_app_together():
    protected = _env_file(EDGE / "profiles" / "protected.env")
    unprotected = _env_file(EDGE / "profiles" / "unprotected.env")
    assert protected["ENTCHAOS_PROFILE"] == "protected" and unprotected["ENTCHAOS_PROFILE"] == "unprotected"
    assert unprotected["ENTCHAOS_APP_MAX_CONCURRENCY"] == "0"
    app_env = COMPOSE["x-app-env"]["ENT_MAX_CONCURRENCY"]
    (compose_default,) = COMPOSE_DEFAULT.findall(app_env)
    assert protected["ENTCHAOS_APP_MAX_CONCURRENCY"] == compose_default, "protected is the compose default"
    assert int(compose_default) > 0


def _geo_ranges() -> dict[ipaddress.IPv4Network, str]:
    rows = [ln.split() for ln in (EDGE / "geo.map").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return {ipaddress.ip_network(net): value for net, value in rows}


def _subnet_default(network: str) -> ipaddress.IPv4Network:
    (default,) = COMPOSE_DEFAULT.findall(COMPOSE["networks"][network]["ipam"]["config"][0]["subnet"])
    return ipaddress.ip_network(default)


def test_geo_map_covers_the_abroad_network_and_not_the_french_one():
    ranges = _geo_ranges()
    assert set(ranges.values()) == {"abroad"}
    abroad, fr = _subnet_default("internet-abroad"), _subnet_default("internet-fr")
    assert any(abroad.subnet_of(net) for net in ranges)
    assert not any(fr.overlaps(net) for net in ranges)
    # Parallel test stacks pick 10.99.N.0/24: still inside a mapped range.
    assert any(ipaddress.ip_network("10.99.250.0/24").subnet_of(net) for net in ranges)


def _load(name: str, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _geo_module():
    path = ROOT / "playbooks" / "library" / "haproxy_geo_filter.py"
    return _load("haproxy_geo_filter", path)


def test_geo_module_reads_the_switch_from_show_map():
    module = _geo_module()
    path = "/usr/local/etc/haproxy/geo-switch.map"
    on = FakeRuntimeAPI({"show map": "0x55a91c316570 filter on\n\n"})
    assert module.current("127.0.0.1", on.port, path) == "on"
    assert on.received == [f"show map {path}"]
    empty = FakeRuntimeAPI({"show map": "\n"})
    assert module.current("127.0.0.1", empty.port, path) is None
    unknown = FakeRuntimeAPI({"show map": "Unknown map identifier. Please use #<id> or <file>.\n"})
    with pytest.raises(ValueError, match="Unknown map"):
        module.current("127.0.0.1", unknown.port, path)
