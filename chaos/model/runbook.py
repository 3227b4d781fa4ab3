"""The runbook, typed: what the YAML says, validated once, then passed around as objects (no dicts of dicts).

Steps, verifications and stop conditions are tagged by the key that names them (`fault: kill`,
`wait-for: <probe>`, `playbook: <name>` …), which reads well in YAML and selects the model here.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from chaos.errors import InvalidInput
from chaos.limits import (
    MAX_DURATION_S,
    MAX_MS,
    MAX_NAME,
    MAX_RATE,
    MAX_SCALE,
    MIN_INTERVAL_S,
    Name,
    Seconds,
    integer,
    number,
    seconds,
)
from chaos.load.interface import Percentile, Source
from chaos.load.ledger_sources import LedgerSource
from chaos.model.regression_tolerance import RegressionTolerance, tolerance_field
from chaos.stack.endpoint import Endpoint
from chaos.stack.labels import ROLES

Scalar = float | int | bool | str
Bound = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # a tolerance's bound: finite
SELECTOR_KEYS = ("datacenter", "role", "service")  # chaos.stack.labels: the short keys a target is chosen by
LabelValue = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


def _selector_key(key: str) -> str:
    if key not in SELECTOR_KEYS:
        raise ValueError("a label key: datacenter, role or service (containers are chosen by their labels, never "
                         "by name or id)")
    return key


def _selector(target: dict[str, str]) -> dict[str, str]:
    if "role" in target and target["role"] not in ROLES:
        raise ValueError(f"role one of {', '.join(ROLES)}")
    return target


Selector = Annotated[dict[Annotated[str, AfterValidator(_selector_key)], LabelValue], AfterValidator(_selector)]


class Strict(BaseModel):
    """Every runbook model: unknown fields refused, frozen, fields by name or YAML alias."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Tolerance(Strict):
    """Bounds a measurement must respect; every bound given must hold. `{gte: 0.99}`, `{eq: 0}`, `{lte: 30}`."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    gt: Bound | None = None
    gte: Bound | None = None
    lt: Bound | None = None
    lte: Bound | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _one_bound_at_least(self) -> Tolerance:
        if not self.bounds():
            raise ValueError("a tolerance needs at least one of eq, ne, gt, gte, lt, lte, in")
        return self

    def bounds(self) -> dict[str, Any]:
        """The bounds given, by their YAML name (`in`, not `in_`)."""
        return {k: v for k, v in self.model_dump(by_alias=True).items() if v is not None}

    def describe(self) -> str:
        signs = {"eq": "==", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "in": "in"}
        return " and ".join(f"{signs[k]} {v}" for k, v in self.bounds().items())

    def holds(self, value: Any) -> bool:
        """False for a missing or NaN measurement: what cannot be measured does not pass."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        checks = {
            "eq": lambda b: value == b,
            "ne": lambda b: value != b,
            "gt": lambda b: _num(value) is not None and _num(value) > b,
            "gte": lambda b: _num(value) is not None and _num(value) >= b,
            "lt": lambda b: _num(value) is not None and _num(value) < b,
            "lte": lambda b: _num(value) is not None and _num(value) <= b,
            "in": lambda b: value in b,
        }
        return all(checks[k](b) for k, b in self.bounds().items())


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, int | float) else None


class Metadata(Strict):
    """The runbook's name (its reports folder) and what it tells."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=MAX_NAME, description="used in reports/<name>/")
    description: str = ""
    story: str = ""


class StackSpec(Strict):
    """Which compose stack to run against: a file and a project name, or the bundled ENT stack."""

    compose_file: str | None = None  # None: the bundled ENT stack
    project: str | None = None
    profile: str | None = None


class ScheduleStage(Strict):
    """From `at_s` on, the load sends `rps` requests a second."""

    at_s: float = seconds(ge=0)
    rps: float = number(ge=0, le=MAX_RATE, description="requests per second (x the metric with `scale_by`)")


class LoadSpec(Strict):
    """Open-model traffic: a named profile, or an explicit schedule of request rates over time."""

    profile: str | None = None
    schedule: list[ScheduleStage] | None = None
    journeys: dict[str, Annotated[float, number(ge=0, le=1e6)]] = Field(default_factory=dict)  # name -> share
    journeys_file: str | None = Field(default=None, max_length=1024, description="journeys declared in YAML, "
                                      "relative to the runbook's folder (default: the bundled ENT's journeys)")
    ledger: LedgerSource | None = Field(default=None, description="where acknowledged writes are looked for after "
                                        "the run: {sql: {service, database, user, query}} or {http: {path}} "
                                        "(default: the bundled ENT's submissions)")
    source: Source = "host"
    target: Endpoint | None = Field(default=None, description="{service, port} or {url}; default: the edge")
    served_by: Literal["markers", "status"] | None = Field(
        default=None, description="what counts as served: the ENT's marker headers, or any 2xx/3xx (default: "
        "markers on the bundled stack, status on any other)")
    duration_s: float | None = seconds(None, gt=0)
    sample_s: float = seconds(1.0, ge=MIN_INTERVAL_S, le=60, description="timeline resolution in the report")
    start_after: Name | None = Field(default=None, description="start once this step has finished (default: at once)")
    scale_by: Name | None = Field(
        default=None, description="a metric recorded before the load starts: the profile's rates are multiples of it"
    )
    scale: float = number(1.0, gt=0, le=MAX_RATE, description="rates times this; the engine sets it from `scale_by`")

    @model_validator(mode="after")
    def _profile_or_schedule(self) -> LoadSpec:
        if (self.profile is None) == (self.schedule is None):
            raise ValueError("give exactly one of `profile` or `schedule`")
        if self.scale_by is not None and self.start_after is None:
            raise ValueError("`scale_by` needs `start_after`: the step that records the metric must run first")
        if self.profile is not None and self.scale_by:
            _check_profile(self.profile, MAX_SCALE, f" (x `{self.scale_by}`, with `scale_by`)")
        if self.scale_by and self.schedule and any(stage.rps > MAX_SCALE for stage in self.schedule):
            raise ValueError(f"schedule rates at most {MAX_SCALE:g} (x `{self.scale_by}`) with `scale_by`")
        return self

    @field_validator("profile")
    @classmethod
    def _profile(cls, profile: str | None) -> str | None:
        if profile is not None:  # parsed now, not when the load starts (a file is read by the loader)
            _check_profile(profile, MAX_RATE)
        return profile

    @field_validator("journeys")
    @classmethod
    def _shares(cls, journeys: dict[str, float]) -> dict[str, float]:
        if any(v < 0 for v in journeys.values()):
            raise ValueError("journey shares must be >= 0")
        if journeys and sum(journeys.values()) <= 0:
            raise ValueError("journey shares must not all be 0")
        return journeys


def _check_profile(profile: str, max_rate: float, unit: str = "") -> None:
    from chaos.load.schedule import parse_spec  # the load generator's own parser

    try:
        parse_spec(profile, max_rate=max_rate)
    except InvalidInput as exc:
        raise ValueError(exc.what.removeprefix("expected ").rsplit(", found ", 1)[0] + unit) from None


class ProbeCall(Strict):
    """A probe with its parameters and the tolerance that says the service is fine."""

    name: str
    probe: str
    params: dict[str, Any] = Field(default_factory=dict)
    expect: Tolerance


class Hypothesis(Strict):
    """The steady state: checked before the steps and again after them."""

    probes: list[ProbeCall] = Field(min_length=1)
    check_after: bool = True
    warmup_s: float = seconds(0.0, ge=0, description="before the steps, keep probing this long before failing")
    settle_s: float = seconds(0.0, ge=0, description="after the steps, keep probing this long before failing")
    baseline_s: float = seconds(
        10.0, ge=0,
        description="once steady, the load runs this long with no fault: the hypothesis is judged over it and "
        "its figures are the baseline (0: no baseline)",
    )
    hold_s: float = seconds(
        3.0, ge=1,
        description="a fault's impact ends when availability stays at the hypothesis' level this long",
    )

    def level(self) -> float:
        """The availability users should get: the bound of the first load-availability probe, else 0.99."""
        for call in self.probes:
            if call.probe == "load-availability":
                for bound in (call.expect.gte, call.expect.gt):
                    if isinstance(bound, int | float):
                        return float(bound)
        return 0.99


# ---- steps ---------------------------------------------------------------------------------------------------

# What a step's end means in the incident's story: the human figures (time to detect, declare, mitigate, recover)
# are read from the steps that carry one, by people (manual steps) and by automation (the others) separately.
Milestone = Literal["detect", "declare", "mitigate", "recover"]
MILESTONE_HELP = "what this step's end means in the incident: detect, declare, mitigate or recover (game-day figures)"


class StepBase(Strict):
    """What every step has: an id (the loader names those without) and `continue_on_failure`."""

    id: Name | None = None
    continue_on_failure: bool = Field(
        default=False, description="a failure is recorded (the verdict fails) but the next steps still run"
    )

    @property
    def kind(self) -> str:
        raise NotImplementedError

    @property
    def step_id(self) -> str:
        assert self.id is not None, "the loader names every step"
        return self.id


RepairSteps = Annotated[  # one step id, or a list of them: one error for what was written, not one per member
    Annotated[Name, Tag("<id>")] | Annotated[list[Name], Field(min_length=1, max_length=20), Tag("<ids>")],
    Discriminator(lambda value: "<id>" if isinstance(value, str) else "<ids>" if isinstance(value, list) else None,
                  custom_error_type="repair_steps", custom_error_message="a step id, or a list of step ids"),
]


class FaultStep(StepBase):
    """Inject a fault into the containers chosen by label; reverted after `duration_s`, by `revert`, by its repair
    steps (`reverted_by`) or by the rollback."""

    fault: str
    target: Selector = Field(min_length=1, description="labels: {datacenter: sbg, role: app}")
    count: int | None = Field(default=None, gt=0, le=1000, strict=True, description="hit this many of the matches")
    params: dict[str, Any] = Field(default_factory=dict)
    duration_s: float | None = seconds(None, gt=0, description="revert by itself after this long")
    reverted_by: RepairSteps | None = Field(
        default=None,
        description="the step (or steps, in the runbook's order) that repair a destructive fault: the rollback and "
        "`recover` run those that have not succeeded yet; the fault is reverted once the last succeeds",
    )

    @property
    def kind(self) -> str:
        return "fault"

    @property
    def repair_steps(self) -> tuple[str, ...]:
        """`reverted_by` as a tuple of step ids, in order (empty: the fault reverts by itself)."""
        if self.reverted_by is None:
            return ()
        return (self.reverted_by,) if isinstance(self.reverted_by, str) else tuple(self.reverted_by)


class WaitForStep(StepBase):
    """Poll a probe until its value is within `until`, or fail after `timeout_s`; `record` the time it took."""

    wait_for: str = Field(alias="wait-for", description="a probe name")
    params: dict[str, Any] = Field(default_factory=dict)
    until: Tolerance
    timeout_s: float = seconds(gt=0)
    interval_s: float = seconds(0.5, ge=MIN_INTERVAL_S)
    since: Name | None = Field(default=None, description="measure from the start of this step (default: this one)")
    record: Name | None = Field(default=None, description="metric name for the time it took, e.g. ttd_s")
    milestone: Milestone | None = Field(default=None, description=MILESTONE_HELP)

    @property
    def kind(self) -> str:
        return "wait-for"


class ProbeStep(StepBase):
    """Measure a probe once; check it against `expect` and/or `record` it as a metric."""

    probe: str
    params: dict[str, Any] = Field(default_factory=dict)
    expect: Tolerance | None = None
    record: Name | None = None

    @property
    def kind(self) -> str:
        return "probe"


class PlaybookStep(StepBase):
    """Run a remediation playbook (Ansible) with its typed parameters."""

    playbook: str
    extravars: dict[str, Scalar | list[Scalar] | dict[str, Scalar]] = Field(
        default_factory=dict,
        description="the playbook's typed parameters (chaos.remediation.params), checked when loaded; facts "
        "the toolkit computes (targets, volumes, commands) are reserved",
    )
    timeout_s: int = Field(default=600, ge=1, le=int(MAX_DURATION_S), strict=True,
                           description="whole seconds (ansible-runner's timeout): never truncated to 0, no timeout")
    record: Name | None = Field(default=None, description="metric name for its duration, e.g. ttm_s")
    milestone: Milestone | None = Field(default=None, description=MILESTONE_HELP)

    @property
    def kind(self) -> str:
        return "playbook"


class ManualStep(StepBase):
    """People act (a game day): the run waits for them, timed."""

    manual: str = Field(description="what the people on the game day must do")
    role: Name | None = Field(default=None, description="who acts: one of the runbook's `gameday.roles`")
    unattended: Literal["done", "skip", "fail"] = Field(
        default="fail", description="with nobody in the loop (`entchaos run` without --gameday, CI): go on as done, "
        "go on as skipped (no time recorded), or fail the step (the default: people's work is not done by nobody)")
    timeout_s: float | None = seconds(None, gt=0)
    record: Name | None = Field(default=None, description="metric name for the time they took")
    milestone: Milestone | None = Field(default=None, description=MILESTONE_HELP)

    @property
    def kind(self) -> str:
        return "manual"


class Surprise(FaultStep):
    """A fault the game day's facilitator may inject from the page, unplanned: validated, planned, journaled and
    reverted like a fault step; it comes back by itself after `duration_s` (or earlier, from the page)."""

    id: Name = Field(description="how the page and the journal name it")
    description: str = Field(default="", max_length=500, description="what the room will see, for the facilitator")
    duration_s: float = seconds(gt=0, description="reverted by itself after this long")

    @model_validator(mode="after")
    def _comes_back(self) -> Surprise:
        if self.reverted_by is not None:
            raise ValueError("a surprise comes back by itself after `duration_s`: no `reverted_by` (a destructive "
                             "fault belongs in the steps, with its rebuild)")
        return self


class SloSpec(Strict):
    """The service level the game day spends budget of: availability over a rolling window."""

    availability: float = Field(gt=0, lt=1, strict=True, allow_inf_nan=False,
                                description="e.g. 0.999: 99.9 % of requests served")
    window_days: float = number(30, gt=0, le=366, description="the SLO's rolling window")


class GamedaySpec(Strict):
    """The people of a game day: the roles its manual steps name (each sees its own on the game-day page), the
    facilitator's surprises, and the SLO whose budget the review counts."""

    roles: list[Name] = Field(min_length=1, max_length=20,
                              description="e.g. incident-commander, communications, operations")
    facilitator: Name = Field(default="facilitator", description="the role that injects surprises and pauses the load")
    surprises: list[Surprise] = Field(default_factory=list, max_length=20,
                                      description="faults the facilitator may inject from the page, unplanned")
    slo: SloSpec = Field(default_factory=lambda: SloSpec(availability=0.999),
                         description="the review says how much of its error budget the game day spent")


class RevertStep(StepBase):
    """Revert a held fault now (one with neither `duration_s` nor `reverted_by`)."""

    revert: Name = Field(description="id of an earlier fault step, still active: revert it now")

    @property
    def kind(self) -> str:
        return "revert"


STEP_KEYS = {"fault": "fault", "wait-for": "wait-for", "wait_for": "wait-for", "probe": "probe",
             "playbook": "playbook", "manual": "manual", "revert": "revert"}


def _tag_by_key(keys: dict[str, str], by_type: dict[type, str]) -> Any:
    """Pick the union member from the key present in the YAML mapping (or the type of a built model)."""

    def pick(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            return by_type.get(type(value))
        if isinstance(value, dict):
            found = [tag for key, tag in keys.items() if key in value]
            return f"<{found[0]}>" if len(found) == 1 else None
        return None

    return pick


Step = Annotated[
    Annotated[FaultStep, Tag("<fault>")]
    | Annotated[WaitForStep, Tag("<wait-for>")]
    | Annotated[ProbeStep, Tag("<probe>")]
    | Annotated[PlaybookStep, Tag("<playbook>")]
    | Annotated[ManualStep, Tag("<manual>")]
    | Annotated[RevertStep, Tag("<revert>")],
    Discriminator(
        _tag_by_key(
            STEP_KEYS,
            {FaultStep: "<fault>", WaitForStep: "<wait-for>", ProbeStep: "<probe>", PlaybookStep: "<playbook>",
             ManualStep: "<manual>", RevertStep: "<revert>"},
        ),
        custom_error_type="step_kind",
        custom_error_message="a step needs exactly one of: fault, wait-for, probe, playbook, manual, revert",
    ),
]


# ---- verifications ---------------------------------------------------------------------------------------------

WINDOW_KINDS = ("during", "after", "impact")


def _check_window(value: str) -> str:
    if value in ("run", "steady", "baseline") or (
            value.partition(":")[0] in WINDOW_KINDS and value.partition(":")[2]):
        return value
    raise ValueError("window is `run`, `baseline` (or `steady`), `during:<step id>`, `after:<step id>` or "
                     "`impact:<fault step id>`")


# "run" | "steady" | "baseline" | "during:<step>" | "after:<step>" | "impact:<step>" (the loader checks the step)
Window = Annotated[str, Field(max_length=2 * MAX_NAME), AfterValidator(_check_window)]


# An `after:<step>` window is open (it ends now): judged at once after the last step, it may hold no request yet.
AFTER_MIN_HELP = "an `after:` window is judged once it holds this many requests (waited for, 30 s at most)"


class AvailabilityCheck(Strict):
    """The share of the load's requests served over a window."""

    name: str | None = None
    availability: Tolerance
    window: Window = "run"
    record: Name | None = None
    min_requests: int = integer(20, ge=1, description=AFTER_MIN_HELP)


class LatencyBound(Strict):
    """An absolute bound (`lte_ms`), a bound relative to the measured baseline (`max_ratio_to_baseline`), or both."""

    percentile: Percentile = 95.0
    lte_ms: float | None = number(None, gt=0, le=MAX_MS)
    max_ratio_to_baseline: float | None = number(None, gt=0, le=1000)

    @model_validator(mode="after")
    def _one_bound(self) -> LatencyBound:
        if self.lte_ms is None and self.max_ratio_to_baseline is None:
            raise ValueError("a latency check needs `lte_ms`, `max_ratio_to_baseline`, or both")
        return self


class LatencyCheck(Strict):
    """A percentile of the load's latency over a window."""

    name: str | None = None
    latency: LatencyBound
    window: Window = "run"
    record: Name | None = None
    min_requests: int = integer(20, ge=1, description=AFTER_MIN_HELP)


METRIC_SUGAR = ("rto_s", "ttd_s", "ttm_s", "lost_acked_writes", "impact_window_s", "impact_availability",
                "outage_s", "failed_requests", "failed_journeys", "recovered_p95_ratio", "baseline_availability",
                "baseline_p50_ms", "baseline_p95_ms", "baseline_p99_ms", "baseline_rps")


class MetricCheck(Strict):
    """A metric recorded during the run. `rto_s: {lte: 30}` is short for `metric: rto_s, expect: {lte: 30}`."""

    name: str | None = None
    metric: str
    expect: Tolerance

    @model_validator(mode="before")
    @classmethod
    def _sugar(cls, data: Any) -> Any:
        if isinstance(data, dict) and "metric" not in data:
            for key in METRIC_SUGAR:
                if key in data:
                    rest = {k: v for k, v in data.items() if k != key}
                    return {**rest, "metric": key, "expect": data[key]}
        return data


class ProbeCheck(Strict):
    """Any probe with a tolerance. `replication: {eq: sync}` is short for `probe: replication, expect: …`."""

    name: str | None = None
    probe: str
    params: dict[str, Any] = Field(default_factory=dict)
    expect: Tolerance
    within_s: float = seconds(0.0, ge=0, description="keep probing this long before failing")

    @model_validator(mode="before")
    @classmethod
    def _sugar(cls, data: Any) -> Any:
        if isinstance(data, dict) and "replication" in data and "probe" not in data:
            rest = {k: v for k, v in data.items() if k != "replication"}
            return {**rest, "probe": "replication", "expect": data["replication"]}
        return data


VERIFY_KEYS = {"availability": "availability", "latency": "latency", "metric": "metric", "probe": "probe",
               "replication": "probe", **{k: "metric" for k in METRIC_SUGAR}}

Verification = Annotated[
    Annotated[AvailabilityCheck, Tag("<availability>")]
    | Annotated[LatencyCheck, Tag("<latency>")]
    | Annotated[MetricCheck, Tag("<metric>")]
    | Annotated[ProbeCheck, Tag("<probe>")],
    Discriminator(
        _tag_by_key(
            VERIFY_KEYS,
            {AvailabilityCheck: "<availability>", LatencyCheck: "<latency>", MetricCheck: "<metric>",
             ProbeCheck: "<probe>"},
        ),
        custom_error_type="verification_kind",
        custom_error_message="a verification needs one of: availability, latency, metric, "
        + ", ".join(METRIC_SUGAR)
        + ", replication, probe, or the name of a metric a step records (`record:`)",
    ),
]


class StopCondition(Strict):
    """Abort and roll back when the probe stays out of `bound` for `for_s` seconds (AWS FIS stop conditions)."""

    name: str
    probe: str
    params: dict[str, Any] = Field(default_factory=dict)
    bound: Tolerance
    for_s: float = seconds(0.0, ge=0)
    interval_s: float = seconds(1.0, ge=MIN_INTERVAL_S)


# A tolerance as the runbook writes it, typed (chaos.model.regression_tolerance); kept in its own words when dumped.
RegressionField = Annotated[RegressionTolerance, PlainValidator(tolerance_field),
                            PlainSerializer(lambda t: t.to_spec())]


class QuickStep(Strict):
    """What the quick variant shortens in one step: its own timeout or duration, or `*_s` parameters."""

    timeout_s: Seconds | None = None
    duration_s: Seconds | None = None
    params: dict[str, Seconds] = Field(default_factory=dict, max_length=50)


class QuickSpec(Strict):
    """The `quick:` section (chaos.model.quick): shorter durations only, for a CI gate."""

    load: dict[Literal["duration_s"], Seconds] = Field(default_factory=dict)
    hypothesis: dict[Literal["warmup_s", "settle_s", "baseline_s", "hold_s"], Seconds] = Field(default_factory=dict)
    steps: dict[Name, QuickStep] = Field(default_factory=dict, max_length=200)


class Runbook(Strict):
    """A whole runbook, validated: what the engine runs, with the file it came from (`source`)."""

    metadata: Metadata
    stack: StackSpec = StackSpec()
    load: LoadSpec | None = None
    hypothesis: Hypothesis | None = None
    steps: list[Step] = Field(min_length=1)
    verify: list[Verification] = Field(default_factory=list)
    rollback: list[Step] = Field(default_factory=list)
    stop_conditions: list[StopCondition] = Field(default_factory=list)
    regression: dict[Name, RegressionField] = Field(
        default_factory=dict, max_length=200,
        description="per metric, how much worse than a baseline run it may get before the CI gate fails "
        "(`rto_s: 20%`, `lost_acked_writes: 0`, `{by: 5%, worse: lower}`)")
    quick: QuickSpec | None = Field(default=None, description="shorter phases for a CI gate (`--quick`)")
    gameday: GamedaySpec | None = Field(default=None, description="the roles of the people in the loop")

    _source: str = PrivateAttr(default="<memory>")  # the file it came from: set by the loader, not in the YAML

    @property
    def source(self) -> str:
        return self._source

    def from_source(self, source: str) -> Runbook:
        """A copy that remembers the file it was loaded from."""
        copy = self.model_copy()
        copy._source = source
        return copy

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def surprises(self) -> list[Surprise]:
        """The facilitator's faults (`gameday.surprises`), none outside a game day."""
        return list(self.gameday.surprises) if self.gameday else []

    def step(self, step_id: str) -> FaultStep | WaitForStep | ProbeStep | PlaybookStep | ManualStep | RevertStep:
        """The step (of `steps` or `rollback`) with this id; `KeyError` if none."""
        for step in [*self.steps, *self.rollback, *self.surprises]:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
