"""The `entchaos` command: parse, call, print. Logic lives in the packages."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.errors import ChaosError, RunbookInvalid
from chaos.load.interface import SOURCES
from chaos.log import LOG_FORMATS, configure, protect_output
from chaos.report import github

if TYPE_CHECKING:  # the commands import what they use when they run: `entchaos --help` stays quick
    from chaos.engine.recover import Recovery
    from chaos.journal import RunView
    from chaos.stack.compose import ComposeStack
    from chaos.stack.interface import Stack


# `--project` and `--compose-file`, declared once for every command that takes them; each help says where the
# command takes its default from: the environment, the runbook's `stack:`, or the journal of each run.
STACK_OPTIONS = ("--project", "--compose-file")
STACK_OPTION_HELP = {
    "env": ("compose project name (default: entchaos)", "compose file (default: the bundled ENT stack)"),
    "runbook": ("compose project (default: the runbook's, or entchaos)",
                "compose file (default: the runbook's, or the bundled)"),
    "journal": ("compose project (default: the one each run's journal names)",
                "compose file (default: the one the project's containers were made from)"),
}


DEFAULT_FLEET = "entchaos-fleet"
REPORTS_HELP = "where runs write their reports (default: $ENTCHAOS_REPORTS_DIR, else ./reports here)"


def add_stack_options(parser: argparse.ArgumentParser, defaults: str) -> None:
    """`--project` and `--compose-file` on `parser`, helped as `STACK_OPTION_HELP[defaults]` says."""
    project, compose_file = STACK_OPTION_HELP[defaults]
    parser.add_argument("--project", default=None, help=project)
    parser.add_argument("--compose-file", default=None, help=compose_file)


def _stack(args: argparse.Namespace) -> ComposeStack:
    from chaos.stack.compose import ComposeStack

    return ComposeStack.from_env(args.project, args.compose_file)


def cmd_stack_build(args: argparse.Namespace) -> int:
    """`entchaos stack build`: the bundled stack's images, those out of date only (unless --force)."""
    from chaos.stack.images import build_all

    built = build_all(force=args.force, no_cache=args.no_cache)
    print(f"built: {', '.join(built)}" if built else "all images up to date")
    return 0


def cmd_stack_up(args: argparse.Namespace) -> int:
    """`entchaos stack up`: images built if needed, the stack started, then healthy, then shown."""
    from chaos.stack.health import wait_ready
    from chaos.stack.status import stack_status

    stack = _stack(args)
    if args.profile or args.settings:
        import dataclasses

        from chaos.stack.profiles import profile_env, settings_env

        extra = {**(profile_env(args.profile) if args.profile else {}),
                 **(settings_env(args.settings) if args.settings else {})}
        stack = dataclasses.replace(stack, env={**stack.env, **extra})
    if stack.is_bundled and not args.no_build:
        from chaos.stack.images import build_all

        build_all()
    stack.up()
    wait_ready(stack, deadline_s=args.timeout)
    status = stack_status(stack)
    print(status.render())
    print(f"\nready: the portal answers at {status.edge_url}/" if status.edge_url else "\nready")
    return 0


def cmd_stack_down(args: argparse.Namespace) -> int:
    """`entchaos stack down`: every container, network and volume of the project removed."""
    stack = _stack(args)
    stack.down()
    print(f"project {stack.project}: every container, network and volume removed")
    return 0


def cmd_stack_status(args: argparse.Namespace) -> int:
    """`entchaos stack status`: each container by datacenter and role, and the edge's view."""
    from chaos.stack.status import stack_status

    print(stack_status(_stack(args)).render())
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """`entchaos load`: open-model load from this host, or from a client container (`--from`)."""
    from chaos.load.cli_args import run_from_args
    from chaos.load.remote import run_remote

    if args.inventory:
        from chaos.load.fleet_cli import run_fleet_from_args
        from chaos.stack.inventory import InventoryStack

        if args.source != "host" or args.compose_file:
            print("entchaos load: --inventory sends from the inventory's load generators (role_loadgen): "
                  "not with --from or --compose-file", file=sys.stderr)
            return 2
        return run_fleet_from_args(args, InventoryStack.from_file(args.inventory, args.project))
    stack = _stack(args)
    if args.source != "host":
        passthrough = [a for a in args.raw_argv if a not in ("load",)]
        passthrough = _strip_options(passthrough, {"--from", *STACK_OPTIONS, "--target", "--json", "--ledger",
                                                   "--log-level", "--journeys"})
        return run_remote(stack, args.source, passthrough, json_path=args.json, ledger_path=args.ledger,
                          journeys_file=args.journeys)
    if args.target is None:
        args.target = stack.edge_url()
    return run_from_args(args)


def cmd_faults(args: argparse.Namespace) -> int:
    """`entchaos faults`: every fault, its parameters, where it runs, what it needs and whether this machine has it."""
    from chaos.faults.catalogue import catalogue, render

    print(render(catalogue(try_here=not args.no_try)), end="")
    return 0


def cmd_fleet_up(args: argparse.Namespace) -> int:
    """`entchaos fleet up`: the test fleet built, started, ready; its inventory written and printed."""
    from chaos.stack.fleet import Fleet, fleet_up

    inventory = fleet_up(Fleet(args.project or DEFAULT_FLEET))
    print(f"fleet ready: inventory {inventory}")
    print(f"next: entchaos plan runbooks/datacenter-fire.yaml --inventory {inventory}")
    return 0


def cmd_fleet_down(args: argparse.Namespace) -> int:
    """`entchaos fleet down`: every host, network and volume of the test fleet removed, its key and inventory."""
    from chaos.stack.fleet import Fleet, fleet_down

    fleet = Fleet(args.project or DEFAULT_FLEET)
    fleet_down(fleet)
    print(f"fleet {fleet.project}: every host, network and volume removed")
    return 0


def cmd_fleet_status(args: argparse.Namespace) -> int:
    """`entchaos fleet status`: each host asked over SSH (Ansible) whether it answers and its service runs."""
    from chaos.stack.fleet import Fleet
    from chaos.stack.hosts import host_status

    fleet = Fleet(args.project or DEFAULT_FLEET)
    if not fleet.inventory.is_file():
        print(f"entchaos: fleet {fleet.project} is not up (no {fleet.inventory}): `entchaos fleet up`", file=sys.stderr)
        return 4
    rows = host_status(fleet.inventory)
    width = max(len(r.host) for r in rows)
    for row in rows:
        print(f"{row.host:<{width}}  {row.datacenter:<12} {row.describe()}")
    return 0 if all(r.healthy for r in rows) else 1


def _strip_options(argv: list[str], names: set[str]) -> list[str]:
    """Drop `--name value` and `--name=value` for the given options (they are set for the container)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in names:
            skip = "=" not in arg
            continue
        kept.append(arg)
    return kept


def cmd_validate(args: argparse.Namespace) -> int:
    """`entchaos validate`: each runbook checked, nothing touched; `RunbookInvalid` says file:line."""
    from chaos.launch import validate

    for path in args.runbooks:
        runbook = validate(path)
        print(f"{path}: valid ({runbook.name}: {len(runbook.steps)} steps, {len(runbook.verify)} verifications)")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """`entchaos compare BASELINE RUN [--html FILE]`: 1 when a figure regressed beyond its tolerance, else 0."""
    from chaos.gate.compare import compare_runs, comparison_page

    if args.html:
        judged = comparison_page(args.baseline, args.run, args.html)
        print(f"comparison page: {args.html}")
        if judged is None:
            print("no regression tolerances in the run's runbook: figures shown side by side, nothing judged")
            return 0
        result = judged
    else:
        result = compare_runs(args.baseline, args.run)
    print("\n".join(result.lines()))
    return 0 if result.ok else 1


def cmd_plan(args: argparse.Namespace) -> int:
    """`entchaos plan`: what the runbook will hit, in what order, resolved on the running stack."""
    from chaos.launch import plan, stack_of, validate

    runbook = validate(args.runbook)
    print(plan(runbook, stack_of(runbook, args.project, args.compose_file, args.inventory)).render())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """`entchaos run`: the runbook run, its verdict printed; the exit code is the verdict's."""
    from chaos.launch import reports_root, run, stack_of, validate

    runbook = validate(args.runbook, quick=args.quick)
    from chaos.report.console import verdict_text

    web = getattr(args, "web", None)
    if web is not None:
        print(f"game-day page: http://127.0.0.1:{web}/ (each role: ?role=<role>)", flush=True)
    result = run(runbook, stack_of(runbook, args.project, args.compose_file, args.inventory),
                 gameday=args.gameday or args.command == "gameday", reports_dir=reports_root(args.reports_dir),
                 web_port=web)
    summary_path = result.folder / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {
        "verdict": result.verdict, "reason": result.reason, "metrics": result.metrics}
    print("\n" + verdict_text(summary))
    print(f"report: {result.folder}/report.html")
    if github.active():  # the failed checks on the workflow's page, the summary in the job's
        print("\n".join(github.check_annotations(summary, str(args.runbook))))
        summary_md = result.folder / "summary.md"
        if summary_md.exists():
            github.append_step_summary(summary_md.read_text(encoding="utf-8"))
    return result.exit_code


def cmd_gate(args: argparse.Namespace) -> int:
    """`entchaos gate`: runbooks (default: the shipped ones) on one fresh stack, combined reports, worst exit code."""
    import time

    from chaos.launch import GATE_RUNBOOKS, RUNBOOKS_DIR, gate, reports_root

    paths = args.runbooks or [str(RUNBOOKS_DIR / f"{name}.yaml") for name in GATE_RUNBOOKS]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = Path(args.out) if args.out else reports_root(args.reports_dir) / "gate" / stamp
    if args.update_baseline and not args.baseline:
        print("entchaos: --update-baseline needs --baseline DIR (where to write it)", file=sys.stderr)
        return 2
    result = gate(paths, out, project=args.project, compose_file=args.compose_file, profile=args.profile,
                  baseline=Path(args.baseline) if args.baseline else None, update_baseline=args.update_baseline,
                  quick=args.quick)
    print("\n" + "\n".join(result.lines()))
    print(f"gate reports: {out}/summary.md, {out}/junit.xml, {out}/summary.json")
    if github.active():
        for run in result.runs:
            print("\n".join(github.check_annotations(run.summary, str(run.path))))
        github.append_step_summary((out / "summary.md").read_text(encoding="utf-8"))
    return result.exit_code


def cmd_init(args: argparse.Namespace) -> int:
    """`entchaos init`: the project surveyed, labels proposed, a starter runbook written and validated."""
    from chaos.launch import validate
    from chaos.onboard import report, starter_journeys, starter_runbook, survey
    from chaos.stack.compose import ComposeStack

    compose = Path(args.compose_file)
    found = survey(ComposeStack(project=args.project or "entchaos-init", compose_file=compose).config(), compose)
    out = Path(args.out) if args.out else Path(f"{found.name}-starter.yaml")
    journeys = out.with_name(out.stem.removesuffix("-starter") + "-journeys.yaml")
    for path in (out, journeys):
        if path.exists() and not args.force:
            print(f"entchaos: {path} exists; --force to replace it, or --out another path", file=sys.stderr)
            return 2
    print(report(found))
    journeys.write_text(starter_journeys(found), encoding="utf-8")
    out.write_text(starter_runbook(found, out.parent, journeys.name), encoding="utf-8")
    runbook = validate(out)
    print(f"\nwrote {out}: valid ({len(runbook.steps)} steps, {len(runbook.verify)} verifications), and its "
          f"journeys {journeys}")
    unlabelled = [s.name for s in found.services if not s.labelled]
    if unlabelled:
        print(f"before it can hit anything, label: {', '.join(unlabelled)} (proposals above)")
    print(f"next: entchaos plan {out}   then: entchaos run {out}")
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    """`entchaos recover`: revert what killed runs left, from their journals (one run, or every one)."""
    from chaos.journal import read_run
    from chaos.launch import recover_everything, recover_run, reports_root, stack_of_run

    if args.run is None:  # every run of the project with a fault left, killed at any moment
        reports = reports_root(args.reports_dir)
        everything = recover_everything(reports, project=args.project, compose_file=args.compose_file,
                                        inventory=args.inventory, on_found=_print_found)
        for holder in everything.busy.values():
            print(f"entchaos: not recovered: {holder}; a live run rolls back itself when it ends "
                  "(or on SIGTERM): run `entchaos recover` again after it", file=sys.stderr)
        if not everything.found:
            print(f"{reports}: nothing left to revert (no run has a fault not reverted)")
        for folder, recovery in everything.recovered.items():
            _print_recovery(folder, recovery)
        return 0 if everything.ok else 4
    folder = Path(args.run)
    run = read_run(folder if folder.is_dir() else folder.parent)
    stack: Stack
    if args.inventory:
        from chaos.stack.inventory import InventoryStack

        stack = InventoryStack.from_file(args.inventory, args.project)
    else:
        stack = stack_of_run(run.project, run.runbook_path, project=args.project, compose_file=args.compose_file)
    recovery = recover_run(folder, stack)
    if not recovery.reverted and not recovery.gone and recovery.ok:
        print(f"{folder}: nothing left to revert")
    _print_recovery(folder, recovery)
    return 0 if recovery.ok else 4


def _print_found(run: RunView) -> None:
    from datetime import UTC, datetime

    def when(at: float | None) -> str:
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if at else "at an unknown time"

    state = "finished" if run.finished else "killed (no end in its journal)"
    print(f"found {run.folder}: {run.runbook or '?'} on project {run.project or '?'}, started {when(run.started_at)},"
          f" {state}")
    for pending in run.pending:
        targets = ", ".join(f"{t.service or t.name} ({t.datacenter}/{t.role})" for t in pending.record.targets)
        print(f"  {pending.record.fault} (step {pending.record.step_id}) on {targets or 'no target'}, "
              f"injected {when(pending.at)}")


def _print_recovery(folder: Path, recovery: Recovery) -> None:
    for record in recovery.reverted:
        print(f"reverted {record.fault} ({record.step_id}) of {folder}")
    for record in recovery.gone:
        print(f"{record.fault} ({record.step_id}) of {folder}: the stack was removed, nothing left to revert")
    for record, why in recovery.failed:
        print(f"could not revert {record.fault} ({record.step_id}) of {folder}: {why}", file=sys.stderr)


Command = tuple[str, Callable[[argparse.Namespace], int], str]


def command_group(sub: argparse._SubParsersAction, name: str, text: str,
                  commands: tuple[Command, ...]) -> dict[str, argparse.ArgumentParser]:
    """`entchaos <name> <command>`: one parser per (command, function, help); by command, for their options."""
    group = sub.add_parser(name, help=text).add_subparsers(dest=f"{name}_command", required=True)
    parsers = {}
    for command, func, helptext in commands:
        parsers[command] = group.add_parser(command, help=helptext)
        parsers[command].set_defaults(func=func)
    return parsers


def build_parser() -> argparse.ArgumentParser:
    """Every `entchaos` command and its options."""
    parser = argparse.ArgumentParser(prog="entchaos", description="Resilience runbooks for an ENT stack.")
    parser.add_argument("--log-level", default=None, help="debug, info, warning (default: info)")
    parser.add_argument("--log-format", default=None, choices=LOG_FORMATS,
                        help="structured log on stderr: console lines, json lines, or auto (default: console on a "
                        "terminal; outside one, a run's log goes to its folder's log.jsonl, stderr gets plain lines)")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, p in command_group(sub, "stack", "bring the stack under test up, down, or show it", (
        ("build", cmd_stack_build, "build the bundled stack's images (skips those up to date)"),
        ("up", cmd_stack_up, "start the stack and wait until every service is healthy"),
        ("down", cmd_stack_down, "remove every container, network and volume of the project"),
        ("status", cmd_stack_status, "each container by datacenter and role, and the edge's view"),
    )).items():
        add_stack_options(p, "env")
        if name == "build":
            p.add_argument("--force", action="store_true", help="rebuild even when up to date")
            p.add_argument("--no-cache", action="store_true", help="rebuild every layer (a cold build)")
        if name == "up":
            p.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for health")
            p.add_argument("--no-build", action="store_true", help="do not build missing images")
            p.add_argument("--profile", default=None,
                           help="protection profile: protected (default) or unprotected (fixtures/edge/profiles)")
            p.add_argument("--settings", default=None, metavar="FILE",
                           help="KEY=VALUE compose variables a runbook needs, e.g. runbooks/overload-0902.env")

    v = sub.add_parser("validate", help="check runbooks without touching anything (errors with file:line)")
    v.add_argument("runbooks", nargs="+")
    v.set_defaults(func=cmd_validate)
    for name, func, text in (
        ("plan", cmd_plan, "what the runbook will hit, in what order (nothing injected)"),
        ("run", cmd_run, "run a runbook: load, steady state, steps, verify, rollback, reports"),
        ("gameday", cmd_run, "a game day: the run with people in the loop, at the terminal or on a live page (--web)"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("runbook")
        add_stack_options(p, "runbook")
        p.add_argument("--inventory", default=None, metavar="FILE",
                       help="the stack is this Ansible inventory of hosts, not a compose project (docs/fleet.md)")
        p.set_defaults(func=func)
        if name == "gameday":
            p.add_argument("--web", type=int, default=None, metavar="PORT",
                           help="serve the game-day page on 127.0.0.1:PORT; the people answer there, by role")
            p.set_defaults(gameday=True, quick=False)
            p.add_argument("--reports-dir", default=None, help=REPORTS_HELP)
        if name == "run":
            p.add_argument("--gameday", action="store_true", help="pause at manual steps for people, and time them")
            p.add_argument("--quick", action="store_true",
                           help="the runbook's `quick:` variant (shorter phases, the same checks), if it has one")
            p.add_argument("--reports-dir", default=None, help=REPORTS_HELP)
    f = sub.add_parser("faults", help="every fault: parameters, stacks, kernel needs, supported on this machine")
    f.add_argument("--no-try", action="store_true", help="do not try the kernel's capabilities (no helper container)")
    f.set_defaults(func=cmd_faults)
    c = sub.add_parser("compare", help="two runs' figures against the run's regression tolerances (exit 1: regressed)")
    c.add_argument("baseline", help="the baseline run: its report folder or summary.json")
    c.add_argument("run", help="the run to judge: its report folder or summary.json (its runbook's `regression:`)")
    c.add_argument("--html", metavar="FILE", default=None,
                   help="also write both runs side by side, timelines on the same axes (works without tolerances)")
    c.set_defaults(func=cmd_compare)
    g = sub.add_parser("gate", help="CI gate: runbooks on one fresh stack, one junit.xml/summary, worst exit code")
    g.add_argument("runbooks", nargs="*", help="runbook files (default: the shipped runbooks but the game day)")
    g.add_argument("--out", default=None, help="folder for the gate's reports (default: reports/gate/<time>)")
    g.add_argument("--profile", default=None, help="protection profile of the bundled stack (default: protected)")
    g.add_argument("--baseline", default=None, metavar="DIR",
                   help="fail a runbook whose figures regressed against DIR/<runbook>.json beyond its tolerances")
    g.add_argument("--quick", action="store_true",
                   help="each runbook's `quick:` variant (shorter phases, the same checks) where it declares one")
    g.add_argument("--update-baseline", action="store_true",
                   help="then write each run that passed (and did not regress) into --baseline DIR")
    g.add_argument("--reports-dir", default=None, help=REPORTS_HELP)
    add_stack_options(g, "runbook")
    g.set_defaults(func=cmd_gate)
    i = sub.add_parser("init", help="survey a compose project, propose labels, write a starter runbook")
    i.add_argument("--compose-file", required=True, help="the project's compose file")
    i.add_argument("--project", default=None, help="compose project name (only to read the file)")
    i.add_argument("--out", default=None, help="where to write the runbook (default: ./<project>-starter.yaml)")
    i.add_argument("--force", action="store_true", help="replace the file if it exists")
    i.set_defaults(func=cmd_init)
    r = sub.add_parser("recover", help="revert what killed runs left behind, from their journals")
    r.add_argument("run", nargs="?", default=None,
                   help="one run's report folder (default: every run under the reports dir with a fault left)")
    r.add_argument("--reports-dir", default=None, help="where to look for killed runs (default: as `run` writes)")
    add_stack_options(r, "journal")
    r.add_argument("--inventory", default=None, metavar="FILE",
                   help="the runs were on this Ansible inventory's hosts (their faults are reverted over SSH)")
    r.set_defaults(func=cmd_recover)

    for p in command_group(sub, "fleet", "the test fleet: the ENT stack as SSH hosts, with its Ansible inventory", (
        ("up", cmd_fleet_up, "build, start and wait for the test fleet; write its inventory"),
        ("down", cmd_fleet_down, "remove the test fleet: hosts, networks, volumes, its key and inventory"),
        ("status", cmd_fleet_status, "each host: does it answer over SSH, is its service running"),
    )).values():
        p.add_argument("--project", default=None, help="the fleet's compose project (default: entchaos-fleet)")

    from chaos.load.cli_args import add_load_arguments

    load = sub.add_parser("load", help="open-model load against the stack, with a live progress line")
    add_load_arguments(load)
    load.set_defaults(func=cmd_load, target=None)
    load.add_argument("--from", dest="source", default="host", choices=SOURCES,
                      help="where the load comes from: this host, or a client container on that network")
    add_stack_options(load, "env")
    load.add_argument("--inventory", default=None, metavar="FILE",
                      help="from every load generator (role_loadgen) of this Ansible inventory at once, merged")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The `entchaos` console script; exit codes (DESIGN.md): 0 pass, 1 fail, 2 invalid, 3 aborted, 4 environment."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.raw_argv = list(sys.argv[1:] if argv is None else argv)
    protect_output()  # no password or session key on stdout/stderr, whoever writes it
    # A run has its own console view; the log says only what goes wrong unless asked for more.
    quiet = args.command in ("run", "recover", "gate")
    configure(args.log_level or ("warning" if quiet else None), log_format=args.log_format)
    try:
        return int(args.func(args) or 0)
    except ChaosError as exc:
        print(f"entchaos: {exc.message}", file=sys.stderr)
        if isinstance(exc, RunbookInvalid) and github.active():
            print("\n".join(github.problem_annotations(exc.problems)), flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("entchaos: interrupted", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
