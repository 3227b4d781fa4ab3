"""What a run announces, and the one bus that dispatches it.

Events are small dataclasses; listeners (journal, console view, reports) get every event through
one generic `Bus.emit` loop. A listener is any callable taking an event; it picks what it cares about.
The journal writes each event as one line (`Event.to_record`); `from_record` reads a line back into its event,
so the reports work on the same types the engine emitted.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from chaos.errors import Aborted
from chaos.log import get_logger

if TYPE_CHECKING:
    from chaos.faults.base import FaultRecord

log = get_logger(__name__)

# What a step's end means in the incident's story (a step's `milestone:`; chaos.report.incident_figures).
MILESTONES = ("detect", "declare", "mitigate", "recover")
EVENT_TYPES: dict[str, type[Event]] = {}  # kind -> event class, filled as each class below is defined


def _now() -> float:
    return time.time()


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened in a run, at `at` (epoch seconds); `kind` names it in the journal."""

    kind: ClassVar[str] = "event"
    durable: ClassVar[bool] = False  # the journal fsyncs durable events before the engine goes on
    at: float = field(default_factory=_now)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        EVENT_TYPES[cls.kind] = cls

    def to_record(self) -> dict[str, Any]:
        """The journal line: `{"event": kind, <field>: <JSON value> ...}`."""
        return {"event": self.kind, **{f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}}

    @classmethod
    def decode(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The constructor's arguments from a journal line's fields (events holding more than JSON convert here)."""
        return values


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """The run began; `folder` is where its journal and reports go."""
    kind: ClassVar[str] = "run_started"
    durable: ClassVar[bool] = True
    run_id: str
    runbook: str
    runbook_path: str
    project: str
    folder: str
    description: str = ""
    # per metric, the runbook's regression tolerance in its own words (`20%`, `0`, `{by: 5%, worse: lower}`)
    regression: dict[str, Any] = field(default_factory=dict)
    slo: dict[str, float] | None = None  # a game day's `gameday.slo`: the review counts the budget spent


@dataclass(frozen=True, kw_only=True)
class StepPlanned(Event):
    """A step the run will take (announced before anything starts), with the targets it resolved."""
    kind: ClassVar[str] = "step_planned"
    phase: str  # steps | rollback
    step_id: str
    step_kind: str
    description: str
    targets: list[dict[str, str]] = field(default_factory=list)
    role: str | None = None  # a manual step's: who acts
    milestone: str | None = None  # what its end means in the incident (detect, declare, mitigate, recover)


@dataclass(frozen=True, kw_only=True)
class PhaseStarted(Event):
    """The run entered a phase."""
    kind: ClassVar[str] = "phase_started"
    phase: str  # hypothesis-before | steps | verify | hypothesis-after | rollback


@dataclass(frozen=True, kw_only=True)
class LoadStarted(Event):
    """The load began (`profile`: its schedule's name; `source`: host or a client network)."""
    kind: ClassVar[str] = "load_started"
    profile: str | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class LoadStopped(Event):
    """The load ended: what it sent and how many failed."""
    kind: ClassVar[str] = "load_stopped"
    requests: int = 0
    failures: int = 0
    generators: dict[str, dict[str, Any]] = field(default_factory=dict)  # host -> its own figures (a fleet's)


@dataclass(frozen=True, kw_only=True)
class LoadSampled(Event):
    """One point of the timeline the report plots."""

    kind: ClassVar[str] = "load_sampled"
    requests: int
    availability: float | None
    p95_ms: float | None
    by_class: dict[str, int] = field(default_factory=dict)  # what users got: app, fallback, shed, error, ...


@dataclass(frozen=True, kw_only=True)
class StepStarted(Event):
    """A step began."""
    kind: ClassVar[str] = "step_started"
    phase: str
    step_id: str
    step_kind: str
    description: str


@dataclass(frozen=True, kw_only=True)
class StepFinished(Event):
    """A step ended (`ok`, or the `error` that stopped it)."""
    kind: ClassVar[str] = "step_finished"
    phase: str
    step_id: str
    step_kind: str
    started_at: float
    duration_s: float
    ok: bool
    error: str | None = None
    milestone: str | None = None  # what its end means in the incident (detect, declare, mitigate, recover)


@dataclass(frozen=True, kw_only=True)
class FaultInjecting(Event):
    """Written (and fsynced) BEFORE the fault is applied: `entchaos recover` reverts from it."""

    kind: ClassVar[str] = "fault_injecting"
    durable: ClassVar[bool] = True
    record: FaultRecord

    @classmethod
    def decode(cls, values: dict[str, Any]) -> dict[str, Any]:
        return _decode_record(values)


@dataclass(frozen=True, kw_only=True)
class FaultInjected(Event):
    """The fault is applied; its record now holds the state its revert needs."""
    kind: ClassVar[str] = "fault_injected"
    durable: ClassVar[bool] = True
    record: FaultRecord  # completed by inject
    duration_s: float

    @classmethod
    def decode(cls, values: dict[str, Any]) -> dict[str, Any]:
        return _decode_record(values)


def _decode_record(values: dict[str, Any]) -> dict[str, Any]:
    from chaos.faults.base import FaultRecord  # the faults' package is not needed to announce events

    return {**values, "record": FaultRecord.from_dict(values["record"])}


@dataclass(frozen=True, kw_only=True)
class FaultReverted(Event):
    """A fault's revert ended, by whom (`by`); a failed revert (`ok` False) leaves it pending."""
    kind: ClassVar[str] = "fault_reverted"
    durable: ClassVar[bool] = True
    step_id: str
    fault: str
    by: str  # "revert", "duration", a step id (reverted_by), "recover"
    duration_s: float
    ok: bool = True
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckDone(Event):
    """A hypothesis or verification check: what was expected, what was observed, passed or not."""
    kind: ClassVar[str] = "check_done"
    name: str
    phase: str
    expected: str
    observed: Any
    passed: bool
    message: str = ""
    metric: str | None = None  # the metric the observed value is (its name carries the unit: _s, _ms, ratio ...)


@dataclass(frozen=True, kw_only=True)
class MetricRecorded(Event):
    """A figure of the run (its name carries its unit); it goes to summary.json's `metrics`."""
    kind: ClassVar[str] = "metric_recorded"
    name: str
    value: float | int | None
    step_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class StopConditionBreached(Event):
    """A stop condition held out of bounds for `for_s` seconds: the run aborts."""
    kind: ClassVar[str] = "stop_condition_breached"
    durable: ClassVar[bool] = True
    name: str
    expected: str
    observed: Any
    for_s: float


@dataclass(frozen=True, kw_only=True)
class ManualPrompt(Event):
    """People are asked to act (a manual step), within `timeout_s` when set."""
    kind: ClassVar[str] = "manual_prompt"
    step_id: str
    instruction: str
    timeout_s: float | None = None
    role: str | None = None


@dataclass(frozen=True, kw_only=True)
class ManualAction(Event):
    """What the people did about a manual step: `done`, `skip` (with why), `abort` (the game day), by `role`,
    from `by` (the game-day page, the terminal, or nobody: `unattended`)."""
    kind: ClassVar[str] = "manual_action"
    durable: ClassVar[bool] = True
    step_id: str
    action: str  # done | skip | abort
    role: str | None = None
    text: str = ""
    by: str = "terminal"


@dataclass(frozen=True, kw_only=True)
class GamedayNote(Event):
    """A note written on the game-day page by someone in a role, journaled with its time for the review."""
    kind: ClassVar[str] = "gameday_note"
    role: str | None
    text: str


@dataclass(frozen=True, kw_only=True)
class FacilitatorAction(Event):
    """What the game day's facilitator did from the page: `inject` or `end` a surprise (`surprise`), `pause` or
    `resume` the load; `error` when it could not be done."""
    kind: ClassVar[str] = "facilitator_action"
    durable: ClassVar[bool] = True
    action: str  # inject | end | pause | resume
    role: str | None = None
    surprise: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunInterrupted(Event):
    """The run was stopped (a stop condition, Ctrl-C, SIGTERM, a crash): rollback follows."""
    kind: ClassVar[str] = "run_interrupted"
    durable: ClassVar[bool] = True
    reason: str


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    """The run's end: its verdict and exit code; the reports are written from here."""
    kind: ClassVar[str] = "run_finished"
    durable: ClassVar[bool] = True
    verdict: str  # pass | fail | aborted | error
    exit_code: int
    reason: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class FaultEffect(Event):
    """A fault's proof that it took effect (`phase="injected"`) or that its revert removed it (`"reverted"`)."""

    kind: ClassVar[str] = "fault_effect"
    durable: ClassVar[bool] = True
    step_id: str
    fault: str
    phase: str  # injected | reverted
    verified: bool
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class WindowMeasured(Event):
    """The load's figures over one exact window of intended send times, [since, until) in epoch seconds.

    `since`/`until` are the boundaries actually counted (whole 100 ms ticks inside the asked window)."""

    kind: ClassVar[str] = "window_measured"
    name: str  # baseline | steady | during:<step> | after:<step> | impact:<step> | run
    since: float
    until: float
    requests: int
    availability: float | None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    rps: float | None = None
    by_class: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ImpactMeasured(Event):
    """What one fault did to users: its impact window (injection -> availability back at the hypothesis' level
    for `hold_s`), the outage inside it, the failures by class. Times in epoch seconds."""

    kind: ClassVar[str] = "impact_measured"
    step_id: str
    fault: str
    injected_at: float
    recovered_at: float | None  # None: availability never came back before the load ended
    level: float
    hold_s: float
    impact_window_s: float | None
    impact_availability: float | None
    outage_s: float
    outage_since: float | None = None
    outage_until: float | None = None
    failed_requests: dict[str, int] = field(default_factory=dict)
    failed_journeys: dict[str, int] = field(default_factory=dict)
    recovered_p95_ratio: float | None = None


@dataclass(frozen=True, kw_only=True)
class LoadSeries(Event):
    """The load's whole series by intended send time, once, when the load stops (the report's timeline).

    Each row: `t` (s since `origin`, epoch), `sent`, `by_class` {app, fallback, shed, error, timeout, refused},
    `availability`, `p50_ms`, `p95_ms`, `p99_ms`; one row per `step_s`."""

    kind: ClassVar[str] = "load_series"
    origin: float
    step_s: float
    rows: list[dict[str, Any]] = field(default_factory=list)


Listener = Callable[[Event], None]


def from_record(record: Mapping[str, Any]) -> Event | None:
    """The typed event a journal line holds (what `Event.to_record` wrote, read back).

    None for a kind this version does not know (a later version's journal) or a line that lacks one of its
    event's fields (an earlier one's): a report is still made from the rest."""
    kind = record.get("event")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**cls.decode({k: v for k, v in record.items() if k in names}))
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        log.warning("journal_line_unreadable", event_kind=kind, error=str(exc))
        return None


def from_records(records: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Every journal line `from_record` can read, in order."""
    return [event for event in map(from_record, records) if event is not None]


class Bus:
    """Dispatch events to listeners, in the order they subscribed, one event at a time (threads share it)."""

    def __init__(self, *listeners: Listener) -> None:
        self._listeners: list[Listener] = list(listeners)
        self._lock = threading.RLock()

    def subscribe(self, listener: Listener) -> None:
        """Add a listener: it hears every event emitted from now on."""
        with self._lock:
            self._listeners.append(listener)

    def emit(self, event: Event) -> None:
        """Give `event` to each listener in turn; a listener's failure is logged, except when it must stop the run."""
        with self._lock:
            for listener in self._listeners:
                try:
                    listener(event)
                except Aborted:
                    raise  # a SIGTERM that lands inside a listener still stops the run
                except Exception as exc:
                    # A durable event that cannot be journaled must stop the run: we would lose track of a fault.
                    if event.durable and getattr(listener, "critical", False):
                        raise
                    log.warning("listener_failed", listener=repr(listener), event_kind=event.kind, error=str(exc))
