"""The engine on a fake stack: verdicts, exit codes, and rollback whatever happens."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from chaos.engine.lock import StackLock
from chaos.errors import EnvironmentProblem
from chaos.journal import pending_faults, read_journal
from chaos.load.interface import LoadStats
from tests.fakes import FakeLoad, FakeWorld

DATA = Path(__file__).parent / "data"

KILL_THEN_WAIT = """\
metadata: {name: kill-then-wait}
hypothesis:
  probes:
    - {name: up, probe: fake-value, params: {key: up}, expect: {eq: true}}
  check_after: false
steps:
  - id: kill
    fault: fake-kill
    target: {datacenter: sbg, role: app}
    params: {sets: {up: false}}
  - id: never
    wait-for: fake-value
    params: {key: up}
    until: {eq: true}
    timeout_s: 20
    interval_s: 0.02
rollback:
  - id: undrain
    playbook: edge-undrain
"""


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def all_running(world: FakeWorld) -> bool:
    return set(world.stack.states().values()) == {"running"}


def events(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["event"] for r in read_journal(result.journal)]


def test_datacenter_fire_passes_with_figures(world: FakeWorld) -> None:
    result = world.engine(world.load_file(DATA / "datacenter-fire.yaml")).run()
    assert (result.verdict, result.exit_code, result.rc) == ("pass", 0, 0)
    assert {"ttd_s", "ttm_s", "rto_s", "lost_acked_writes", "during_fire_availability", "p95_ms",
            "baseline_p95_ms", "outage_s", "failed_requests"} <= set(result.metrics)
    assert world.playbooks.ran == ["failover-database", "rebuild", "edge-undrain"]
    assert all_running(world)
    assert pending_faults(result.journal) == []
    assert (world.root / "reports" / "latest").resolve() == result.folder.resolve()


def test_failed_remediation_gives_fail_with_reason_and_still_rebuilds(world: FakeWorld) -> None:
    text = (DATA / "datacenter-fire.yaml").read_text().replace("playbook: failover-database", "playbook: fail")
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("fail", 1)
    assert "step failover" in result.reason and "pg_ctl promote" in result.reason
    assert world.playbooks.ran == ["fail", "rebuild", "edge-undrain"]  # rebuild ran in the rollback
    assert all_running(world) and world.stack.values["fire_cleaned"]
    assert pending_faults(result.journal) == []


def test_a_failed_verification_fails_the_verdict(world: FakeWorld) -> None:
    text = (DATA / "datacenter-fire.yaml").read_text().replace("rto_s: {lte: 30}", "rto_s: {lte: 0}")
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("fail", 1)
    assert result.reason.startswith("rto_s: expected <= 0")
    failed = [c for c in result.checks if not c.passed]
    assert [c.name for c in failed] == ["rto_s"]


def test_steady_state_not_met_injects_nothing(world: FakeWorld) -> None:
    world.stack.values["up"] = False
    result = world.engine(world.parse(KILL_THEN_WAIT)).run()
    assert (result.verdict, result.exit_code) == ("fail", 1)
    assert "fault_injecting" not in events(result)
    assert world.playbooks.ran == ["edge-undrain"]


def test_stop_condition_aborts_with_exit_3_and_rolls_back(world: FakeWorld) -> None:
    stack = world.stack
    world.load = FakeLoad(stack, availability=lambda values: 1.0 if values["up"] else 0.0)
    text = KILL_THEN_WAIT.replace("metadata: {name: kill-then-wait}", "metadata: {name: kill-then-wait}\n"
                                  "load: {profile: 'constant:1', sample_s: 0.05}") + (
        "stop_conditions:\n  - name: portal gone\n    probe: load-availability\n    params: {window_s: 0.1}\n"
        "    bound: {gte: 0.5}\n    for_s: 0.2\n    interval_s: 0.02\n"
    )
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("aborted", 3)
    assert "stop condition portal gone" in result.reason
    kinds = events(result)
    assert "stop_condition_breached" in kinds and kinds.index("stop_condition_breached") < kinds.index("fault_reverted")
    assert all_running(world) and stack.values["up"] is True
    assert world.playbooks.ran == ["edge-undrain"]
    assert pending_faults(result.journal) == []


def test_exception_while_injecting_still_reverts(world: FakeWorld) -> None:
    text = KILL_THEN_WAIT.replace("params: {sets: {up: false}}", "params: {sets: {up: false}, fail_inject: true}")
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("error", 4)
    assert "told to fail half-way" in result.reason
    assert all_running(world) and world.stack.values["up"] is True
    assert world.playbooks.ran == ["edge-undrain"]


def test_unexpected_exception_mid_step_still_rolls_back(world: FakeWorld) -> None:
    calls = {"n": 0}

    def availability(values: object) -> float:
        calls["n"] += 1
        if calls["n"] > 1:  # the steady state passes; the probe step after the fault crashes
            raise RuntimeError("boom")
        return 1.0

    world.load = FakeLoad(availability=availability)
    text = KILL_THEN_WAIT.replace("  - id: never", "  - id: crash\n    probe: load-availability\n  - id: never") \
        .replace("metadata: {name: kill-then-wait}",
                 "metadata: {name: crash}\nload: {profile: constant:1, sample_s: 60}") \
        .replace("{name: up, probe: fake-value, params: {key: up}", "{name: up, probe: load-availability, params: {}")
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("error", 4)
    assert "RuntimeError: boom" in result.reason
    assert all_running(world) and pending_faults(result.journal) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_step_rolls_back(world: FakeWorld, signum: int) -> None:
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signum))
    timer.start()
    try:
        result = world.engine(world.parse(KILL_THEN_WAIT)).run()
    finally:
        timer.cancel()
    assert (result.verdict, result.exit_code) == ("aborted", 3)
    assert "run_interrupted" in events(result)
    assert all_running(world) and world.stack.values["up"] is True
    assert world.playbooks.ran == ["edge-undrain"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_fault_with_duration_reverts_by_itself(world: FakeWorld) -> None:
    text = KILL_THEN_WAIT.replace("params: {sets: {up: false}}", "params: {sets: {up: false}}\n    duration_s: 0.1")
    result = world.engine(world.parse(text)).run()
    assert result.verdict == "pass"
    reverted = [r for r in read_journal(result.journal) if r["event"] == "fault_reverted"]
    assert [r["by"] for r in reverted] == ["duration"]


def test_failed_revert_makes_an_error_and_stays_pending(world: FakeWorld) -> None:
    text = KILL_THEN_WAIT.replace("params: {sets: {up: false}}", "params: {sets: {up: false}, fail_revert: true}") \
        .replace("timeout_s: 20", "timeout_s: 0.1")
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("error", 4)
    assert "rollback: revert kill" in result.reason
    assert [f.step_id for f in pending_faults(result.journal)] == ["kill"]


def test_wait_for_timeout_is_a_fail(world: FakeWorld) -> None:
    result = world.engine(world.parse(KILL_THEN_WAIT.replace("timeout_s: 20", "timeout_s: 0.1"))).run()
    assert (result.verdict, result.exit_code) == ("fail", 1)
    assert "did not reach == True within 0.1 s" in result.reason


def test_lock_stops_a_second_run_on_the_same_stack(world: FakeWorld) -> None:
    lock = StackLock(world.root / "state", world.stack.project)
    lock.acquire(owner="another run")
    try:
        with pytest.raises(EnvironmentProblem, match="another run holds stack 'fake'"):
            world.engine(world.parse(KILL_THEN_WAIT)).run()
    finally:
        lock.release()
    assert world.stack.states()["sbg-app1"] == "running"
    result = world.engine(world.parse(KILL_THEN_WAIT.replace("timeout_s: 20", "timeout_s: 0.05"))).run()
    assert result.exit_code == 1  # the lock is free again


def test_no_matching_target_is_an_environment_problem(world: FakeWorld) -> None:
    result = world.engine(world.parse(KILL_THEN_WAIT.replace("datacenter: sbg", "datacenter: gra"))).run()
    assert (result.verdict, result.exit_code) == ("error", 4)
    assert "no container labelled entchaos.chaos=allowed matches datacenter=gra" in result.reason


EVERY_STEP_SLOW = """\
metadata: {name: slow-steps}
hypothesis:
  probes:
    - {name: up, probe: fake-value, params: {key: up}, expect: {eq: true}}
steps:
  - id: fire
    fault: fake-fire
    target: {datacenter: sbg}
    params: {sets: {up: false}, slow_s: 0.4}
    reverted_by: rebuild
  - id: detect
    wait-for: fake-value
    params: {key: up, slow_s: 0.4}
    until: {eq: false}
    timeout_s: 5
  - id: failover
    playbook: failover-database
    extravars: {seconds: 0.4, sets: {up: true}}
  - id: announce
    manual: Tell the schools
  - id: rebuild
    playbook: rebuild
    extravars: {seconds: 0.4, sets: {up: true}}
rollback:
  - id: undrain
    playbook: edge-undrain
"""


@pytest.mark.parametrize("step", ["fire", "detect", "failover", "announce", "rebuild"])
def test_sigterm_at_any_step_leaves_the_stack_as_it_was(world: FakeWorld, step: str) -> None:
    from chaos.events import StepStarted
    from tests.fakes import FakeOperator

    def kill_during(event: object) -> None:
        if isinstance(event, StepStarted) and event.step_id == step and event.phase == "steps":
            threading.Timer(0.15, os.kill, (os.getpid(), signal.SIGTERM)).start()

    result = world.engine(world.parse(EVERY_STEP_SLOW), operator=FakeOperator(0.4), listeners=[kill_during]).run()
    assert (result.verdict, result.exit_code) == ("aborted", 3), result.reason
    assert all_running(world) and world.stack.values["up"] is True
    assert pending_faults(result.journal) == []
    assert world.playbooks.ran[-2:] == ["rebuild", "edge-undrain"]
    finished = [r for r in read_journal(result.journal) if r["event"] == "step_finished" and r["phase"] == "steps"]
    assert finished[-1]["step_id"] == step and not finished[-1]["ok"]


def test_a_revert_step_ends_a_held_fault_before_the_next_steps(world: FakeWorld) -> None:
    text = KILL_THEN_WAIT.replace("  - id: never\n", "  - id: undo\n    revert: kill\n  - id: never\n")
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("pass", 0), result.reason
    reverted = [r for r in read_journal(result.journal) if r["event"] == "fault_reverted"]
    assert [(r["step_id"], r["by"]) for r in reverted] == [("kill", "undo")]
    assert all_running(world) and pending_faults(result.journal) == []


DEFERRED_LOAD = """\
metadata: {name: deferred-load}
load: {profile: "constant:2", start_after: size, scale_by: capacity_rps, duration_s: 30}
steps:
  - id: size
    probe: fake-value
    params: {key: capacity}
    record: capacity_rps
  - id: later
    probe: fake-value
    params: {key: capacity}
"""


def test_a_deferred_load_starts_after_its_step_scaled_by_the_metric(world: FakeWorld) -> None:
    world.stack.values["capacity"] = 40.0
    made = []

    def started_steps() -> list[str]:
        journal = next(world.root.glob("reports/*/*/journal.jsonl"))
        return [r["step_id"] for r in read_journal(journal) if r["event"] == "step_started"]

    def factory(spec, stack):  # type: ignore[no-untyped-def]
        made.append((spec.scale, started_steps()))
        return world.load

    result = world.engine(world.parse(DEFERRED_LOAD), load_factory=factory).run()
    assert (result.verdict, result.exit_code) == ("pass", 0), result.reason
    assert made == [(40.0, ["size"])]  # once, after `size` (not at the start), rates x 40
    assert world.load.started_at is not None and world.load.stopped_at is not None


def test_a_deferred_load_without_its_metric_fails_the_step(world: FakeWorld) -> None:
    world.stack.values["capacity"] = 0.0
    result = world.engine(world.parse(DEFERRED_LOAD)).run()
    assert (result.verdict, result.exit_code) == ("fail", 1)
    assert "capacity_rps" in result.reason and "not measured" in result.reason
    assert world.load.started_at is None


def test_continue_on_failure_records_the_failure_and_goes_on(world: FakeWorld) -> None:
    text = KILL_THEN_WAIT.replace("    timeout_s: 20\n", "    timeout_s: 0.2\n    continue_on_failure: true\n") + \
        "  - id: after\n    probe: fake-value\n    params: {key: up}\n    record: up_after\n"
    text = text.replace("rollback:\n  - id: undrain\n    playbook: edge-undrain\n", "") + \
        "rollback:\n  - id: undrain\n    playbook: edge-undrain\n"
    result = world.engine(world.parse(text)).run()
    assert (result.verdict, result.exit_code) == ("fail", 1)
    assert "step never" in result.reason
    started = [r["step_id"] for r in read_journal(result.journal) if r["event"] == "step_started"]
    assert "after" in started  # the step after the failed one still ran


RATIO_TO_BASELINE = """\
metadata: {name: ratio}
load: {profile: "constant:100", sample_s: 0.1}
hypothesis:
  probes:
    - {name: served, probe: load-availability, params: {window_s: 0.2}, expect: {gte: 0.99}}
  baseline_s: 0.3
  check_after: false
steps:
  - {id: slower, fault: fake-kill, target: {datacenter: sbg, role: app}, params: {sets: {slow: true}}}
  - {id: wait, playbook: failover-database, extravars: {seconds: 0.4}}
verify:
  - {name: p95 against the baseline, latency: {percentile: 95, max_ratio_to_baseline: 3}, window: after:slower}
"""


@pytest.mark.parametrize(("slowed_ms", "verdict"), [(110.0, "pass"), (130.0, "fail")])
def test_latency_against_the_measured_baseline(world: FakeWorld, slowed_ms: float, verdict: str) -> None:
    world.load = FakeLoad(world.stack, p95_ms=lambda values: slowed_ms if values.get("slow") else 40.0)
    result = world.engine(world.parse(RATIO_TO_BASELINE)).run()
    assert result.verdict == verdict, result.reason
    assert result.metrics["baseline_p95_ms"] == 40.0
    assert result.metrics["after_slower_p95_ratio_to_baseline"] == pytest.approx(slowed_ms / 40.0)
    check = next(c for c in result.checks if c.name == "p95 against the baseline")
    assert check.expected == "<= 3 x the baseline (40 ms)" and check.observed == slowed_ms


def test_a_latency_window_that_held_no_request_says_so(world: FakeWorld) -> None:
    # A wait-for that holds at once (people took long before it): its `during:` window is empty, not "no baseline".
    text = RATIO_TO_BASELINE.replace("window: after:slower", "window: during:blink").replace(
        "verify:", "  - {id: blink, probe: fake-value, params: {key: up}}\nverify:")
    class Sparse(FakeLoad):  # a real load's window shorter than its requests' spacing holds none
        def stats(self, since: float | None = None, until: float | None = None) -> LoadStats:
            if since is not None and until is not None and until - since < 0.05:
                return LoadStats(since=since, until=until)
            return super().stats(since, until)

    world.load = Sparse(world.stack, p95_ms=lambda values: 40.0)
    result = world.engine(world.parse(text)).run()
    check = next(c for c in result.checks if c.name == "p95 against the baseline")
    assert not check.passed and check.observed is None
    assert check.message.startswith("the window during:blink held no request (it lasted 0.00 s)"), check.message


AFTER_LAST_STEP = """\
metadata: {name: after-last}
load: {profile: "constant:100", sample_s: 0.1}
steps:
  - {id: last, fault: fake-kill, target: {datacenter: sbg, role: app}, params: {sets: {slow: true}}}
verify:
  - {name: served after the last step, availability: {gte: 0.99}, window: after:last, min_requests: 30}
"""


def test_an_after_window_judged_right_after_its_step_waits_for_its_requests(world: FakeWorld) -> None:
    """Verify runs as the last step ends: its `after:` window would hold nothing yet (observed None, a failed
    check, once on a busy machine); it is judged once it holds `min_requests`."""
    result = world.engine(world.parse(AFTER_LAST_STEP)).run()
    assert result.verdict == "pass", result.reason
    windows = [r for r in read_journal(result.journal) if r["event"] == "window_measured"]
    after = next(w for w in windows if w["name"] == "after:last")
    assert after["requests"] >= 30 and after["availability"] == 1.0


def test_an_after_window_that_never_fills_fails_saying_so(world: FakeWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    import chaos.engine.engine as engine_module

    monkeypatch.setattr(engine_module, "AFTER_WAIT_S", 0.3)
    result = world.engine(world.parse(AFTER_LAST_STEP.replace("min_requests: 30", "min_requests: 5000"))).run()
    assert result.verdict == "fail"
    check = next(c for c in result.checks if c.name == "served after the last step")
    assert "(min_requests 5000)" in check.message and check.observed is None


PEOPLE = """\
metadata: {name: people}
steps:
  - {id: declare, manual: Declare the incident, record: time_to_declare_s}
  - {id: after, probe: fake-value, params: {key: up}}
"""


@pytest.mark.parametrize(("fallback", "verdict", "action"), [
    (None, "fail", None), ("done", "pass", "done"), ("skip", "pass", "skip")])
def test_an_unattended_manual_step_follows_its_declared_fallback_or_fails(
        world: FakeWorld, fallback: str | None, verdict: str, action: str | None) -> None:
    text = PEOPLE if fallback is None else PEOPLE.replace("record: time_to_declare_s}",
                                                         f"record: time_to_declare_s, unattended: {fallback}}}")
    result = world.engine(world.parse(text)).run()  # no operator: nobody in the loop
    assert result.verdict == verdict, result.reason
    journal = read_journal(result.journal)
    actions = [(r["action"], r["by"]) for r in journal if r["event"] == "manual_action"]
    if fallback is None:
        assert actions == [] and "manual step declare is for people and nobody is in the loop" in result.reason
    else:
        assert actions == [(action, "unattended")]
        assert ("time_to_declare_s" in result.metrics) is (fallback == "done")  # a skipped step took no time
