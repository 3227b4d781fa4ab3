"""Asking an inventory's hosts, over SSH, through ansible-runner: the playbooks of `playbooks/hosts/`.

Only the inventory backend's hosts are reached this way; the compose backend asks the Docker engine.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.errors import PlaybookFailed
from chaos.log import get_logger
from chaos.stack.ansible_data import extravars_text
from chaos.stack.compose import PROJECT_ROOT
from chaos.stack.inventory import InventoryStack

log = get_logger(__name__)

HOST_PLAYBOOKS = PROJECT_ROOT / "playbooks" / "hosts"


@dataclass(frozen=True)
class HostStatus:
    """One host as it answered: reachable or not, and each service's state (`running`, `stopped`)."""

    host: str
    datacenter: str
    reachable: bool
    services: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    cut_off: bool = False  # a fire's firewall cut is in force
    leftovers: tuple[str, ...] = ()  # the toolkit's faults in force on it (fire, partition, packet-loss, bandwidth)

    @property
    def healthy(self) -> bool:
        return (self.reachable and not self.cut_off and not self.leftovers
                and all(s == "running" for s in self.services.values()))

    def describe(self) -> str:
        if not self.reachable:
            return f"unreachable: {self.error or 'no answer'}"
        listed = ", ".join(f"{name} {state}" for name, state in sorted(self.services.items()))
        faults = [f for f in self.leftovers if f != "fire"]
        return (f"answers over SSH; {listed or 'no service'}"
                + ("; CUT OFF (a fire's firewall rules)" if self.cut_off else "")
                + (f"; FAULTS IN FORCE: {', '.join(faults)} (entchaos recover --inventory)" if faults else ""))


@dataclass(frozen=True)
class HostRun:
    """What a host playbook's run gave: per host, the results of each task it ran, and who was unreachable."""

    status: str
    rc: int
    results: Mapping[str, list[dict[str, Any]]]  # host -> the `res` of each task that ran on it
    unreachable: Mapping[str, str]  # host -> why
    failed: Mapping[str, str]  # host -> the failing task's message


def run_host_playbook(name: str, inventory: str | Path, *, extravars: Mapping[str, Any] | None = None,
                      limit: str | None = None, timeout_s: int = 300,
                      cancel: Callable[[], bool] | None = None) -> HostRun:
    """`playbooks/hosts/<name>.yml` on the inventory's hosts (or the `limit` pattern): every host's results.

    Stopped early once `cancel()` is True. A cancel callback is always given: without one ansible-runner installs
    its own SIGTERM and SIGINT handlers, for good, and the run's own guard (`chaos.engine.signals`) would never
    hear a signal again: a fleet run sent SIGTERM went on to its end instead of rolling back.
    """
    import ansible_runner  # heavy import, only when hosts are asked

    private = Path(tempfile.mkdtemp(prefix=f"entchaos-hosts-{name}-"))
    (private / "env").mkdir()
    (private / "env" / "extravars").write_text(extravars_text(dict(extravars or {})))
    started = time.monotonic()
    runner = ansible_runner.run(
        private_data_dir=str(private),
        playbook=str(HOST_PLAYBOOKS / f"{name}.yml"),
        inventory=str(Path(inventory).resolve()),
        limit=limit,
        envvars={
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "0",
            "ANSIBLE_FORKS": "20",
            "ANSIBLE_TIMEOUT": "10",
            "ANSIBLE_SSH_RETRIES": "2",
            "ANSIBLE_PIPELINING": "1",  # one SSH round trip per task, not three
        },
        quiet=True,
        timeout=timeout_s,
        cancel_callback=cancel or (lambda: False),
    )
    results: dict[str, list[dict[str, Any]]] = {}
    unreachable: dict[str, str] = {}
    failed: dict[str, str] = {}
    for event in runner.events:
        data = event.get("event_data") or {}
        host, res = data.get("host"), data.get("res") or {}
        if not host:
            continue
        if event.get("event") == "runner_on_ok":
            results.setdefault(host, []).append({"task": data.get("task"), **res})
        elif event.get("event") == "runner_on_unreachable":
            unreachable[host] = str(res.get("msg", "unreachable")).strip()[:300]
        elif event.get("event") == "runner_on_failed" and not data.get("ignore_errors"):
            failed[host] = str(res.get("stderr") or res.get("msg") or res)[:300].strip()
    log.info("host_playbook_finished", playbook=name, status=runner.status, hosts=len(results),
             unreachable=sorted(unreachable), failed=sorted(failed), seconds=round(time.monotonic() - started, 2))
    if runner.rc != 0 and not unreachable and not failed:  # the playbook itself is wrong, not a host
        tail = " | ".join(line.strip() for line in runner.stdout.read().splitlines()[-4:] if line.strip())
        shutil.rmtree(private, ignore_errors=True)
        raise PlaybookFailed(f"playbook hosts/{name} did not run (status {runner.status}): {tail}",
                             where=str(HOST_PLAYBOOKS / f"{name}.yml"), fix="a bug in the toolkit: please report it")
    done = HostRun(runner.status, runner.rc, results, unreachable, failed)
    shutil.rmtree(private, ignore_errors=True)  # its events are read: nothing of it is needed any more
    return done


@dataclass(frozen=True)
class ServiceState:
    """A service as its host said: init-system status (LSB code), main pid and its state letters (`T`: stopped
    by a signal, i.e. frozen), and whether the host is cut off."""

    code: int | None
    pid: str
    stat: str
    network: str

    @property
    def word(self) -> str:
        """running, frozen, stopped, unknown (host unreachable), or `status <code>`."""
        if self.code is None:
            return "unknown"
        if self.code == 0:
            return "frozen" if self.stat.startswith("T") else "running"
        return "stopped" if self.code == 3 else f"status {self.code}"

    @property
    def container_word(self) -> str:
        """`word` in the compose backend's words (a stopped service `exited`, a frozen one `paused`), so a fault's
        effect check reads the same on both backends."""
        return {"stopped": "exited", "frozen": "paused"}.get(self.word, self.word)


def _said(results: list[dict[str, Any]]) -> Mapping[str, object]:
    """What a host playbook's last `debug` task said on one host (its `msg`), or nothing."""
    return next((r["msg"] for r in reversed(results) if isinstance(r.get("msg"), dict)), {})


def states_of(run: HostRun) -> dict[str, ServiceState]:
    """`<host>/<service>` -> its state, from a run of `service-state` (hosts that did not answer are absent)."""
    found: dict[str, ServiceState] = {}
    for host, results in run.results.items():
        said = _said(results)
        network = str(said.get("network", "?"))
        services = said.get("services")
        for service, line in (services.items() if isinstance(services, dict) else []):
            code, pid, stat = [*str(line).split(), "-", "-", "-"][:3]
            found[f"{host}/{service}"] = ServiceState(int(code) if code.isdigit() else None, pid, stat, network)
    return found


def host_status(inventory: str | Path) -> list[HostStatus]:
    """Every host of the inventory: reachable over SSH, and its services running or stopped."""
    stack = InventoryStack.from_file(inventory)
    run = run_host_playbook("service-state", inventory)
    if run.failed:
        raise PlaybookFailed(f"asking the hosts failed on {', '.join(sorted(run.failed))}: "
                             f"{next(iter(run.failed.values()))}", where=str(HOST_PLAYBOOKS / "service-state.yml"))
    states = states_of(run)
    rows = []
    for host in stack.hosts:
        if host.name in run.unreachable or host.name not in run.results:
            rows.append(HostStatus(host.name, host.datacenter, False, error=run.unreachable.get(host.name)))
            continue
        words = {s.name: states[f"{host.name}/{s.name}"].word if f"{host.name}/{s.name}" in states else "unknown"
                 for s in host.services}
        said = _said(run.results[host.name])
        left = said.get("leftovers")
        rows.append(HostStatus(host.name, host.datacenter, True, words, cut_off=said.get("network") == "cut",
                               leftovers=tuple(sorted(map(str, left))) if isinstance(left, list) else ()))
    return rows
