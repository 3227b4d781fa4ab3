"""The runbook commands on a real compose stack: validate, plan, run, recover (one run, or every dead one).

This is where the engine meets its real parts: the compose stack, the load generator, ansible-runner,
the console view and, on a game day, the people at the console.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from chaos.engine.engine import Engine
from chaos.engine.manual import Operator, Unattended
from chaos.engine.plan import Plan, make_plan
from chaos.engine.recover import Recovery, RecoveryAll, recover, recover_all
from chaos.engine.result import RunResult
from chaos.errors import ChaosError, InvalidInput, UnsupportedFault
from chaos.events import Listener
from chaos.gameday.operator import ConsoleOperator
from chaos.gate.suite import GateResult, run_gate
from chaos.journal import RunView
from chaos.load.fleet_load import FleetLoad, loadgen_hosts
from chaos.load.handle import DEFAULT_MAX_DURATION_S, HostProcessLoad, RemoteLoad
from chaos.load.ledger_sources import present_keys
from chaos.load.runner import LoadSpec
from chaos.load.schedule import from_spec, profile
from chaos.log import get_logger
from chaos.model import runbook as m
from chaos.model.loader import load_runbook
from chaos.remediation.host_runner import HostPlaybooks
from chaos.remediation.runner import AnsiblePlaybooks, available
from chaos.report.console import ConsoleView
from chaos.stack.compose import PROJECT_ROOT, ComposeStack, compose_file_of
from chaos.stack.endpoint import host_url, inside_url
from chaos.stack.interface import Stack
from chaos.stack.inventory import InventoryStack

log = get_logger(__name__)

STATE_DIR = PROJECT_ROOT / ".entchaos"
RUNBOOKS_DIR = PROJECT_ROOT / "runbooks"


def reports_root(given: str | Path | None = None) -> Path:
    """Where runs write their reports: `--reports-dir`, else `ENTCHAOS_REPORTS_DIR`, else `./reports` of the
    directory the command runs from (never the toolkit's own checkout unless run from there)."""
    return Path(given or os.environ.get("ENTCHAOS_REPORTS_DIR") or Path.cwd() / "reports")


def served_by(load: m.LoadSpec | None, stack: Stack) -> str:
    """How answers are told apart: as the runbook says, else by the ENT's markers on the bundled stack and by
    status on any other (whose answers carry no marker)."""
    if load is not None and load.served_by is not None:
        return load.served_by
    return "markers" if getattr(stack, "is_bundled", True) else "status"


def spec_from_runbook(load: m.LoadSpec, target: str, served: str = "markers") -> LoadSpec:
    """The generator's LoadSpec for a runbook's load section, sent to `target`."""
    duration = load.duration_s or DEFAULT_MAX_DURATION_S
    if load.schedule:
        points = [[s.at_s, s.rps] for s in load.schedule]
        schedule = profile(points, duration_s=max(duration, points[-1][0]))
    else:
        assert load.profile is not None
        schedule = from_spec(load.profile, duration)
    if load.scale != 1.0:
        schedule = dataclasses.replace(schedule, points=tuple((t, r * load.scale) for t, r in schedule.points))
    # The loader checked the names against the journeys file; without a file and a mix, the ENT's pupils.
    mix = dict(load.journeys) or ({} if load.journeys_file else {"pupil": 1.0})
    return LoadSpec(schedule=schedule, target=target, mix=mix, served_by=served, journeys_file=load.journeys_file)


def load_factory(load: m.LoadSpec, stack: Stack) -> HostProcessLoad | RemoteLoad | FleetLoad:
    """The handle the runbook's load asks for: a child process on the host (`source: host`) or in a client
    container; on an inventory with load generators (`role_loadgen`), `source: host` is all of them at once."""
    handle: HostProcessLoad | RemoteLoad
    if load.source != "host" and stack.backend != "compose":
        raise UnsupportedFault(f"load from {load.source!r} (a client container) needs a compose stack",
                               where=f"project {stack.project}", fix="use `load: {source: host}` on an inventory")
    if load.source == "host" and isinstance(stack, InventoryStack) and loadgen_hosts(stack):
        spec = spec_from_runbook(load, "http://placeholder", served_by(load, stack))  # the target: the inventory's
        fleet = FleetLoad(spec, stack)
        fleet.present_keys = present_keys(stack, load.ledger)
        return fleet
    if load.source == "host":
        spec = spec_from_runbook(load, host_url(stack, load.target), served_by(load, stack))
        spec.validate()
        handle = HostProcessLoad(spec, stack)
    else:
        spec = spec_from_runbook(load, inside_url(load.target), served_by(load, stack))
        spec.validate()
        handle = RemoteLoad(spec, stack, load.source)
    handle.present_keys = present_keys(stack, load.ledger)
    return handle


def console_view() -> ConsoleView:
    """The live view: on the terminal's stderr; outside a terminal (CI) on stdout, where the verdict goes too, while
    the structured log goes to the run's log.jsonl (chaos.log): one stream, plain lines, never JSON between them."""
    return ConsoleView(sys.stderr if sys.stderr.isatty() else sys.stdout)


def validate(path: str | Path, *, quick: bool = False) -> m.Runbook:
    """The typed runbook of `path` (its `quick:` variant if asked), checked against the faults, probes and
    playbooks this toolkit has."""
    return load_runbook(path, playbooks=available(), quick=quick)


def stack_for(runbook: m.Runbook, project: str | None = None, compose_file: str | None = None) -> ComposeStack:
    """Command-line options first, then the runbook's `stack:`, then the environment's defaults."""
    spec = runbook.stack
    file = compose_file or (spec.compose_file if spec else None)
    if file and spec and spec.compose_file and not compose_file and runbook.source:
        file = str((Path(runbook.source).parent / file).resolve())
    return ComposeStack.from_env(project or (spec.project if spec else None), file)


def stack_of(runbook: m.Runbook, project: str | None = None, compose_file: str | None = None,
             inventory: str | None = None) -> Stack:
    """`stack_for`, or with `inventory` the inventory backend (an Ansible inventory of hosts)."""
    if inventory:
        if compose_file:
            raise InvalidInput("--inventory and --compose-file name two different stacks", where="command line",
                               fix="give one of them")
        return InventoryStack.from_file(inventory, project)
    return stack_for(runbook, project, compose_file)


def plan(runbook: m.Runbook, stack: Stack) -> Plan:
    """What will be hit, resolved on the running stack; with no Docker engine, the runbook's selectors only."""
    from chaos.stack.docker_api import DockerUnavailable, docker_client

    if stack.backend != "compose":  # an inventory says what it has without asking anything
        return make_plan(runbook, stack)
    try:
        docker_client()
    except DockerUnavailable as exc:
        return make_plan(runbook, stack, unresolved=exc.message.split(" (")[0])
    return make_plan(runbook, stack)


def playbooks_for(stack: Stack) -> AnsiblePlaybooks | HostPlaybooks | None:
    """The remediation playbooks of the stack's backend: through Docker on compose, over SSH on an inventory."""
    if isinstance(stack, ComposeStack):
        return AnsiblePlaybooks(stack, STATE_DIR / "playbooks")
    if isinstance(stack, InventoryStack):
        return HostPlaybooks(stack)
    return None


def run(runbook: m.Runbook, stack: Stack, *, gameday: bool = False,
        reports_dir: Path | None = None, web_port: int | None = None) -> RunResult:
    """Run `runbook` on `stack` with the real parts: the journal and reports land in `reports_dir`. With `web_port`
    (a game day), the game-day page is served on 127.0.0.1 and the people answer manual steps there."""
    operator: Operator = ConsoleOperator() if gameday else Unattended()
    listeners: list[Listener] = [console_view()]
    server = None
    if web_port is not None:
        from chaos.gameday.console import GameState, PageOperator
        from chaos.gameday.web import GamedayServer

        spec = runbook.gameday
        state = GameState(list(spec.roles), spec.facilitator) if spec else GameState([])
        operator = PageOperator(state)
        listeners.append(state)
        server = GamedayServer(state, operator, web_port)
        server.start()
        log.info("gameday_page", url=server.url, roles=state.roles)
    try:
        return Engine(
            runbook,
            stack,
            load_factory=load_factory,
            playbooks=playbooks_for(stack),
            operator=operator,
            listeners=listeners,
            reports_dir=reports_dir or reports_root(),
            state_dir=STATE_DIR,
        ).run()
    finally:
        if server is not None:
            server.stop()


def recover_run(folder: str | Path, stack: Stack) -> Recovery:
    """Revert what the run in `folder` left in `stack`, from its journal."""
    return recover(folder, stack, playbooks=playbooks_for(stack),
                   listeners=[console_view()], state_dir=STATE_DIR, known_playbooks=available())


def stack_of_run(run_project: str | None, runbook_path: str | None, *, project: str | None = None,
                 compose_file: str | None = None) -> ComposeStack:
    """Command-line options first, then what the run's project and runbook say."""
    name = project or run_project
    file: str | Path | None = compose_file or (compose_file_of(name) if name else None)
    if file is None and runbook_path and Path(runbook_path).is_file():
        try:
            file = stack_for(validate(runbook_path), name).compose_file
        except ChaosError as exc:
            log.warning("recover_runbook_unreadable", runbook=runbook_path, error=exc.message)
    return ComposeStack.from_env(name, file)


def recover_everything(reports_dir: Path, *, project: str | None = None, compose_file: str | None = None,
                       inventory: str | None = None,
                       on_found: Callable[[RunView], None] | None = None) -> RecoveryAll:
    """`recover_all` on the real parts: the compose stack of each run (or the inventory's hosts, for the runs of
    its project), ansible-runner, the console view."""
    if inventory:
        hosts = InventoryStack.from_file(inventory, project)
        return recover_all(reports_dir, lambda run: hosts, project=hosts.project, playbooks_for=HostPlaybooks,
                           listeners=[console_view()], state_dir=STATE_DIR, known_playbooks=available(),
                           on_found=on_found)
    return recover_all(
        reports_dir,
        lambda run: stack_of_run(run.project, run.runbook_path, project=project, compose_file=compose_file),
        project=project,
        playbooks_for=lambda stack: AnsiblePlaybooks(stack, STATE_DIR / "playbooks"),
        listeners=[console_view()],
        state_dir=STATE_DIR,
        known_playbooks=available(),
        on_found=on_found,
    )


# The shipped runbooks a gate runs by default: the fire last, as it leaves the primary in rbx (the game day is a
# rehearsal for people, not a CI check).
GATE_RUNBOOKS = ("overload-0902", "flood-abroad", "broadcast-fallback", "datacenter-fire")


def settings_of(runbook_path: str | Path) -> Path | None:
    """A runbook's stack settings: `<name>.env` beside it (e.g. runbooks/overload-0902.env), when there is one."""
    path = Path(runbook_path).with_suffix(".env")
    return path if path.is_file() else None


def gate(paths: list[str], out: Path, *, project: str | None = None, compose_file: str | None = None,
         profile: str | None = None, baseline: Path | None = None, update_baseline: bool = False,
         quick: bool = False) -> GateResult:
    """Every runbook validated first; a fresh stack once; each runbook run with its settings applied by compose
    (only what they change is recreated); the combined reports in `out`."""
    from chaos.stack.health import wait_ready
    from chaos.stack.images import build_all
    from chaos.stack.profiles import profile_env, settings_env

    runbooks = [validate(p, quick=quick) for p in paths]  # RunbookInvalid (exit 2) before anything is touched
    stacks = [stack_for(rb, project, compose_file) for rb in runbooks]
    if len({(s.project, str(s.compose_file)) for s in stacks}) > 1:
        raise InvalidInput("the gate's runbooks name different stacks",
                           fix="gate runbooks of one stack at a time, or give --project and --compose-file")
    base = stacks[0]
    if base.is_bundled:
        build_all()
    log.info("gate_stack_fresh", project=base.project)
    base.down()
    profile_vars = profile_env(profile) if profile else {}

    def run_one(runbook: m.Runbook, reports: Path) -> tuple[int, Path | None, dict[str, object]]:
        settings = settings_of(runbook.source)
        stack = dataclasses.replace(base, env={**base.env, **profile_vars,
                                               **(settings_env(settings) if settings else {})})
        stack.up()
        wait_ready(stack)
        result = run(runbook, stack, reports_dir=reports)
        summary_file = result.folder / "summary.json"
        summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {
            "runbook": runbook.name, "verdict": result.verdict, "reason": result.reason, "metrics": result.metrics}
        return result.exit_code, result.folder, summary

    return run_gate(runbooks, run_one, out, baseline=baseline, update_baseline=update_baseline)
