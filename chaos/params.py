"""A class with a typed parameter model (faults and probes): the model is the class's generic argument.

`class Kill(Fault[KillParams])`: the loader validates a step's params against `Kill.Params`, and the instance's
`self.params` is typed `KillParams` by the same argument, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar, cast, get_args

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    """The parameters of a fault or probe that takes none: any key is refused."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)


class Parametrised(Generic[P]):
    """Base of faults and probes: `Params` (what the loader checks) and `self.params`, both from the argument P."""

    Params: ClassVar[type[BaseModel]] = NoParams  # the generic argument P (`bind_params`): what the loader checks
    params: P

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bind_params(cls)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        # `Params` is P (bind_params makes it so), which a ClassVar cannot say to a type checker: hence the cast.
        self.params = cast(P, self.Params.model_validate(dict(params or {})))


def bind_params(cls: type[Parametrised[Any]]) -> None:
    """Set `cls.Params` to the parameter model the class names as its generic argument (`Kill(Fault[KillParams])`).

    Called by `Fault` and `Probe` for each subclass: the loader validates a step's params against `cls.Params`,
    the instance's `self.params` is typed by the same argument, so the two cannot disagree. A class that sets
    `Params` itself must set that model (or a subclass of it); a class without an argument inherits `Params`.
    """
    argument = next((arg for base in cls.__dict__.get("__orig_bases__", ()) for arg in get_args(base)
                     if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
    if argument is None:
        return
    declared = cls.__dict__.get("Params")
    if declared is None:
        cls.Params = argument
    elif not (isinstance(declared, type) and issubclass(declared, argument)):
        raise TypeError(f"{cls.__qualname__}.Params is {declared!r}, but the class is generic in {argument.__name__}")
