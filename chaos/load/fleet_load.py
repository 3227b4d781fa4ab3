"""The load from every load generator of an inventory (`role_loadgen`) at once, merged into one series.

Each generator gets the same schedule divided by their number and the same start instant (`--start-at`, a few
seconds ahead), so their 100 ms ticks coincide and add up (`chaos.load.merge`). They are started and stopped
together by Ansible (`playbooks/hosts/load-start.yml`: an async task bounded by `timeout`, so each stops by
itself even if this process dies), and each one's live file is followed over SSH (`tail -F`) while it runs.
Each host's clock is compared with this one's before the start (`clock_offsets`): the merged series is exact
when the offsets are small against a tick (100 ms); they are journaled either way.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from chaos.errors import EnvironmentProblem, InvalidInput
from chaos.load.handle import _LiveHandle, _load_args
from chaos.load.ledger import WriteLedger
from chaos.load.live import LiveReader
from chaos.load.merge import merge_ledgers, merge_stats
from chaos.load.runner import LoadSpec
from chaos.load.stats import LoadStats as RawStats
from chaos.log import get_logger
from chaos.stack.hosts import run_host_playbook
from chaos.stack.inventory import Host, InventoryStack

log = get_logger(__name__)

LIVE = "/tmp/entchaos-fleet-load.jsonl"
START_AHEAD_S = 5.0  # the shared start instant: after every generator has been started by Ansible
TARGET_VAR = "entchaos_load_target"
PYTHON_VAR = "entchaos_loadgen_python"


def loadgen_hosts(stack: InventoryStack) -> list[Host]:
    """The inventory's load generators (group `role_loadgen`)."""
    return stack.with_role("loadgen")


def ssh_command(host: Host) -> list[str]:
    """`ssh` to the host as Ansible reaches it (its address, port, user, key and common arguments)."""
    v = host.variables
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    if v.get("ansible_port"):
        argv += ["-p", str(v["ansible_port"])]
    if v.get("ansible_ssh_private_key_file"):
        argv += ["-i", str(v["ansible_ssh_private_key_file"])]
    argv += shlex.split(str(v.get("ansible_ssh_common_args") or ""))
    user = v.get("ansible_user")
    address = str(v.get("ansible_host") or host.name)
    return [*argv, f"{user}@{address}" if user else address]


def clock_offset(host: Host, samples: int = 7) -> dict[str, float]:
    """The host's clock minus this one's (ms), and the half round trip that bounds the error (ms): asked several
    times over one SSH session (the handshake is not in any round trip), the fastest exchange kept."""
    proc = subprocess.Popen([*ssh_command(host), "while read -r _; do date +%s.%N; done"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    assert proc.stdin is not None and proc.stdout is not None
    best: tuple[float, float] | None = None  # (round trip, offset)
    try:
        for _ in range(samples):
            before = time.time()
            proc.stdin.write("t\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            after = time.time()
            if not line:
                break
            sample = (after - before, float(line) - (before + after) / 2)
            best = sample if best is None or sample[0] < best[0] else best
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    if best is None:
        error = proc.stderr.read().strip()[-200:] if proc.stderr else ""
        raise EnvironmentProblem(f"load generator {host.name} does not answer over SSH: {error}",
                                 fix="check it with `ansible -i INVENTORY HOST -m ping`")
    return {"offset_ms": round(best[1] * 1000, 2), "error_ms": round(best[0] / 2 * 1000, 2)}


class FleetLoad(_LiveHandle):
    """The generators of `role_loadgen`, driven as one (`LoadHandle`)."""

    def __init__(self, spec: LoadSpec, stack: InventoryStack) -> None:
        super().__init__()
        self.stack = self.inventory = stack
        self.hosts = loadgen_hosts(stack)
        if not self.hosts:
            raise InvalidInput(f"inventory {stack.path} has no load generator (group role_loadgen)")
        target = next((h.variables[TARGET_VAR] for h in stack.hosts if h.variables.get(TARGET_VAR)), None)
        if not target:
            raise InvalidInput(f"inventory {stack.path} names no `{TARGET_VAR}`: the URL its load generators send to",
                               where=str(stack.path), fix=f"e.g. `{TARGET_VAR}: http://edge.example:80` in all.vars")
        share = 1 / len(self.hosts)
        schedule = dataclasses.replace(spec.schedule, points=tuple((t, r * share) for t, r in spec.schedule.points))
        self.spec = dataclasses.replace(spec, schedule=schedule, target=str(target))
        self.spec.validate()
        self.where = ", ".join(h.name for h in self.hosts)
        self._dir = Path(tempfile.mkdtemp(prefix="entchaos-fleet-load-"))
        self._readers = {h.name: LiveReader() for h in self.hosts}
        self._tails: dict[str, subprocess.Popen[bytes]] = {}
        self.offsets: dict[str, dict[str, float]] = {}
        self.shifts: dict[str, int] = {}
        self.start_at: float | None = None

    def start(self) -> None:
        self.offsets = {h.name: clock_offset(h) for h in self.hosts}
        self.start_at = time.time() + START_AHEAD_S
        spec = dataclasses.replace(self.spec, start_at=self.start_at)
        journeys = "/tmp/entchaos-fleet-journeys.yaml" if spec.journeys_file else None
        args = _load_args(spec, spec.target, "/tmp/entchaos-fleet-profile.json", journeys)
        args += ["--start-at", f"{self.start_at:.6f}", "--live", LIVE]
        bound = int(spec.schedule.duration_s + START_AHEAD_S + 60)
        run = run_host_playbook("load-start", self.inventory.path, limit=",".join(h.name for h in self.hosts),
                                extravars={"load_args": args, "bound_s": bound, "live_file": LIVE,
                                           "profile_json": json.dumps({"points": [list(p) for p in
                                                                                  spec.schedule.points]}),
                                           "journeys_yaml": Path(spec.journeys_file).read_text()
                                           if spec.journeys_file else ""})
        trouble = {**run.unreachable, **run.failed}
        if trouble:
            self.stop()
            raise EnvironmentProblem(f"starting the load generators failed: "
                                     f"{'; '.join(f'{h}: {why}' for h, why in sorted(trouble.items()))}",
                                     fix=f"each of {self.where} needs `python3 -m chaos.load` (set `{PYTHON_VAR}`)")
        for host in self.hosts:
            out = (self._dir / f"{host.name}.jsonl").open("wb")
            self._tails[host.name] = subprocess.Popen([*ssh_command(host), "tail", "-c", "+1", "-F", LIVE],
                                                      stdin=subprocess.DEVNULL, stdout=out,
                                                      stderr=subprocess.DEVNULL)
            out.close()
        log.info("load_started_fleet", generators=[h.name for h in self.hosts], start_at=self.start_at,
                 clock_offsets_ms={k: v["offset_ms"] for k, v in self.offsets.items()})

    def stop(self) -> None:
        """SIGINT to every generator (they drain and write their last changes), then their whole files read."""
        run_host_playbook("load-stop", self.inventory.path, limit=",".join(h.name for h in self.hosts),
                          extravars={"live_file": LIVE})
        for name, tail in self._tails.items():
            tail.terminate()
            tail.wait(10)
            host = next(h for h in self.hosts if h.name == name)
            done = subprocess.run([*ssh_command(host), "cat", LIVE], capture_output=True, timeout=60)
            if done.returncode == 0:
                (self._dir / f"{name}.jsonl").write_bytes(done.stdout)
        self._tails = {}
        self._read_live()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _read_live(self) -> None:
        for name, reader in self._readers.items():
            reader.read_file(self._dir / f"{name}.jsonl")

    def _read(self) -> tuple[RawStats, WriteLedger]:
        now = time.monotonic()
        if now - self._read_at > 0.5:
            self._read_live()
            self._read_at = now
        parts = {n: r.stats for n, r in self._readers.items() if r.stats is not None}
        if not parts:
            return RawStats(start=0.0, start_unix=self.start_at or time.time()), WriteLedger()
        merged, shifts = merge_stats(list(parts.values()))
        self.shifts = dict(zip(parts, shifts, strict=True))
        return merged, merge_ledgers({n: r.ledger for n, r in self._readers.items()})

    def generators(self) -> dict[str, dict[str, Any]]:
        """Each generator's own figures over its whole run, its clock offset and its shift in the merged series."""
        found = {}
        for name, reader in self._readers.items():
            stats = reader.stats
            whole = stats.window() if stats is not None else None
            found[name] = {
                "requests": whole.total if whole else 0,
                "availability": whole.availability() if whole else None,
                "p95_ms": whole.percentile_ms(95) if whole else None,
                **self.offsets.get(name, {}),
                "shift_ticks": self.shifts.get(name, 0),
                "max_lag_ms": reader.max_lag_ms,
            }
        return found
