"""Plan: which containers each fault step will hit, in what order. Nothing is injected.

A destructive fault names every container and volume it will destroy; a playbook step names what it acts on.

Every fault and probe is instantiated here (parameters typed); nothing is started, nothing is changed (`plan`
only reads the labels of the running containers). Whether each can run on this machine (a qdisc in the kernel,
a browser) is asked by `check_environment`, which starts helper containers: `run` calls it before anything is
injected, `plan` and `validate` never do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chaos.errors import EnvironmentProblem, InvalidInput, UnsupportedFault
from chaos.faults.base import FAULTS, Fault
from chaos.located import dotted
from chaos.model import runbook as m
from chaos.model.services import unknown_services
from chaos.probes.base import PROBES, Probe
from chaos.registry import Registry
from chaos.stack.interface import Stack, TargetRef


@dataclass(frozen=True)
class PlannedStep:
    """A step with what it will hit (targets) and its fault or probe instance, described for `plan`."""

    phase: str  # steps | rollback | surprise (a game day's facilitator's, injected only if asked)
    step: Any  # one of the model's step classes
    description: str
    targets: tuple[TargetRef, ...] = ()
    fault: Fault | None = None
    probe: Probe | None = None

    @property
    def step_id(self) -> str:
        return self.step.step_id


@dataclass
class Plan:
    """Every step of a runbook planned, in order (steps, then rollback), and the probes the run will use."""

    runbook: m.Runbook
    steps: list[PlannedStep] = field(default_factory=list)
    probes: dict[str, Probe] = field(default_factory=dict)  # keyed by `probe_key`
    unresolved: str | None = None  # why targets were not resolved (no engine): the plan of the runbook alone

    def step(self, step_id: str) -> PlannedStep:
        return next(p for p in self.steps if p.step_id == step_id)

    def phase(self, phase: str) -> list[PlannedStep]:
        return [p for p in self.steps if p.phase == phase]

    def render(self) -> str:
        surprises = len(self.phase("surprise"))
        lines = [f"runbook {self.runbook.name}: {len(self.phase('steps'))} steps, {len(self.phase('rollback'))} "
                 "rollback steps" + (f", {surprises} surprises the facilitator may inject" if surprises else "")]
        if self.unresolved:
            lines.append(f"  targets not resolved ({self.unresolved}): what each step selects by label is shown")
        for planned in self.steps:
            lines.append(f"  [{planned.phase}] {planned.step_id} ({planned.step.kind}): {planned.description}")
        return "\n".join(lines)


def probe_key(name: str, params: dict[str, Any]) -> str:
    """One probe instance per name and parameters: the key it is shared under."""
    return f"{name}:{sorted(params.items())!r}"


def select_targets(stack: Stack, step: m.FaultStep) -> tuple[TargetRef, ...]:
    """The containers a fault step hits now: chaos-allowed, matching its labels, the first `count` by service name."""
    found = sorted((TargetRef.of(t) for t in stack.select(step.target)), key=lambda t: (t.service, t.name))
    if not found:
        labels = ", ".join(f"{k}={v}" for k, v in step.target.items())
        raise EnvironmentProblem(
            f"step {step.step_id}: no container labelled entchaos.chaos=allowed matches {labels}",
            where=f"project {stack.project}",
            fix="is the stack up (`entchaos stack status`), and are its containers labelled?",
        )
    return tuple(found[: step.count]) if step.count else tuple(found)


class _Planner:
    def __init__(self, stack: Stack, faults: Registry[type[Fault]], probes: Registry[type[Probe]],
                 resolve: bool = True) -> None:
        self.stack, self.faults, self.probes, self.resolve = stack, faults, probes, resolve
        self.instances: dict[str, Probe] = {}

    def probe(self, name: str, params: dict[str, Any]) -> Probe:
        key = probe_key(name, params)
        if key not in self.instances:
            self.instances[key] = self.probes.get(name)(params)
        return self.instances[key]

    def step(self, phase: str, step: Any) -> PlannedStep:
        if isinstance(step, m.FaultStep):
            fault = self.faults.get(step.fault)(step.params)
            if not self.resolve:
                labels = ", ".join(f"{k}={v}" for k, v in step.target.items())
                count = f", the first {step.count}" if step.count else ""
                return PlannedStep(phase, step, f"{step.fault} on the containers labelled {labels}{count}",
                                   fault=fault)
            targets = select_targets(self.stack, step)
            return PlannedStep(phase, step, fault.describe(targets, self.stack), targets, fault=fault)
        if isinstance(step, m.WaitForStep):
            p = self.probe(step.wait_for, step.params)
            text = f"wait until {p.describe()} {step.until.describe()} (at most {step.timeout_s:g} s)"
            return PlannedStep(phase, step, text, probe=p)
        if isinstance(step, m.ProbeStep):
            p = self.probe(step.probe, step.params)
            expect = f" {step.expect.describe()}" if step.expect else ""
            return PlannedStep(phase, step, f"measure {p.describe()}{expect}", probe=p)
        if isinstance(step, m.PlaybookStep):
            return PlannedStep(phase, step, describe_playbook(step, self.stack if self.resolve else None))
        if isinstance(step, m.RevertStep):
            return PlannedStep(phase, step, f"revert the fault of step {step.revert}")
        return PlannedStep(phase, step, f"people: {step.manual}")


def describe_playbook(step: m.PlaybookStep, stack: Stack | None) -> str:
    """`run playbook <name> (<params>)`, and on a compose stack what it will act on (`playbook_hits`)."""
    params = ", ".join(f"{k}={v}" for k, v in sorted(step.extravars.items()))
    text = f"run playbook {step.playbook}" + (f" ({params})" if params else "")
    from chaos.stack.compose import ComposeStack
    from chaos.stack.inventory import InventoryStack

    if isinstance(stack, ComposeStack):
        from chaos.remediation.facts import playbook_hits

        text += f": {playbook_hits(step.playbook, dict(step.extravars), stack)}"
    elif isinstance(stack, InventoryStack):
        from chaos.remediation.host_runner import host_playbook_hits

        text += f": {host_playbook_hits(step.playbook, dict(step.extravars), stack)}"
    return text


def plan_step(
    phase: str,
    step: Any,
    stack: Stack,
    *,
    faults: Registry[type[Fault]] = FAULTS,
    probes: Registry[type[Probe]] = PROBES,
) -> PlannedStep:
    """One step alone (what `recover` needs to run a destructive fault's rebuild step)."""
    return _Planner(stack, faults, probes).step(phase, step)


def make_plan(
    runbook: m.Runbook,
    stack: Stack,
    *,
    faults: Registry[type[Fault]] = FAULTS,
    probes: Registry[type[Probe]] = PROBES,
    unresolved: str | None = None,
) -> Plan:
    """The plan; with `unresolved` (the reason: no Docker engine), the runbook's own selectors, nothing asked of
    the stack."""
    if unresolved is None:
        check_services(runbook, stack)
    planner = _Planner(stack, faults, probes, resolve=unresolved is None)
    for call in runbook.hypothesis.probes if runbook.hypothesis else []:
        planner.probe(call.probe, call.params)
    for check in runbook.verify:
        if isinstance(check, m.ProbeCheck):
            planner.probe(check.probe, check.params)
    for stop in runbook.stop_conditions:
        planner.probe(stop.probe, stop.params)
    steps = [planner.step("steps", s) for s in runbook.steps]
    steps += [planner.step("rollback", s) for s in runbook.rollback]
    steps += [planner.step("surprise", s) for s in runbook.surprises]  # checked like steps, run only if asked
    return Plan(runbook, steps, planner.instances, unresolved)


def check_services(runbook: m.Runbook, stack: Stack) -> None:
    """Every service the runbook names is one of the project's (InvalidInput before anything is injected)."""
    known = set(stack.services_by_label()) | {t.service for t in stack.targets()}
    if not known:
        return  # nothing of the project is up: selecting targets says so, with how to bring it up
    unknown = unknown_services(runbook.model_dump(by_alias=True, exclude_none=True), known)
    if unknown:
        listing = "; ".join(f"{dotted(loc)}: {message}" for loc, _, message in unknown[:10])
        raise InvalidInput(f"the runbook names services project {stack.project} does not have: {listing}",
                           where=runbook.source or runbook.name,
                           fix="name the compose file's services (entchaos stack status lists them)")


def check_environment(plan: Plan, stack: Stack) -> None:
    """Ask every fault and probe of the plan whether it can run here (`UnsupportedFault`, `EnvironmentProblem`).

    May start short-lived helper containers (a qdisc tried in a throwaway namespace): called by `run` after the
    plan and before anything is injected, never by `plan` or `validate`.
    """
    for planned in plan.steps:
        if planned.fault is not None:
            check_backend("fault", planned.fault.name, planned.fault.backends, planned.step_id, stack)
            planned.fault.check_supported(stack)
            try:
                planned.fault.check_targets(planned.targets, stack)
            except InvalidInput as exc:  # say which step asks it
                raise InvalidInput(f"step {planned.step_id}: {exc.what}", where=exc.where, fix=exc.fix) from None
        elif isinstance(planned.step, m.PlaybookStep) and stack.backend == "inventory":
            from chaos.remediation.host_runner import host_playbooks

            if planned.step.playbook not in host_playbooks():
                check_backend("playbook", planned.step.playbook, ("compose",), planned.step_id, stack)
    for probe in plan.probes.values():
        check_backend("probe", probe.name, probe.backends, None, stack)
        probe.check_supported(stack)


def check_backend(kind: str, name: str, backends: tuple[str, ...], step_id: str | None, stack: Stack) -> None:
    """`UnsupportedFault` when `name` has no implementation on the stack's backend."""
    if stack.backend in backends:
        return
    where = f"step {step_id}: " if step_id else ""
    raise UnsupportedFault(
        f"{where}{kind} {name} is not implemented on the {stack.backend} backend (only on: {', '.join(backends)})",
        where=f"project {stack.project}",
        fix="run this runbook on a compose stack; docs/fleet.md lists what the inventory backend runs today")
