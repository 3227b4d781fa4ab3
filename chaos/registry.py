"""Name → class registries, filled by a decorator, for faults, probes and playbooks alike.

A registry auto-imports every module of its package the first time it is asked,
so adding a fault (or a probe) is one new module with `@register("name")` on its class.
What it holds is any class with a `name: ClassVar[str]` (the `Named` protocol): the decorator sets it.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import ClassVar, Generic, Protocol, TypeVar

from chaos.log import get_logger

log = get_logger(__name__)



class Named(Protocol):
    """A class a registry can hold: it carries the name it is registered under (set by `register`)."""

    name: ClassVar[str]


T = TypeVar("T", bound=type[Named])


class Registry(Generic[T]):
    """Runbook names of one kind of thing (`kind`: fault, probe …) → their classes, found in `packages`."""

    def __init__(self, kind: str, packages: tuple[str, ...]) -> None:
        self.kind = kind
        self.packages = packages
        self._classes: dict[str, T] = {}
        self._discovered = False

    def register(self, name: str) -> Callable[[T], T]:
        """A class decorator: `cls` is known as `name` (and `cls.name` says so); a name is taken once."""
        def decorate(cls: T) -> T:
            other = self._classes.get(name)
            if other is not None and other is not cls:
                raise ValueError(f"{self.kind} name {name!r} registered twice: {other.__module__} and {cls.__module__}")
            cls.name = name
            self._classes[name] = cls
            return cls

        return decorate

    def discover(self) -> None:
        """Import every module of the registry's packages (once), so their decorators run."""
        if self._discovered:
            return
        self._discovered = True
        for package_name in self.packages:
            try:
                package = importlib.import_module(package_name)
            except ImportError as exc:  # the package of probes may not exist yet: the built-ins still work
                log.debug("registry_package_missing", kind=self.kind, package=package_name, error=str(exc))
                continue
            for info in pkgutil.iter_modules(getattr(package, "__path__", []), prefix=f"{package_name}."):
                if info.name.rsplit(".", 1)[-1].startswith("_"):
                    continue
                importlib.import_module(info.name)

    def get(self, name: str) -> T:
        """The class registered as `name`; `KeyError` with the close names when there is none."""
        self.discover()
        try:
            return self._classes[name]
        except KeyError:
            raise KeyError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        """What to say of a name nobody registered: the closest known one, and every known one."""
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; known: {', '.join(self.names()) or 'none'}"

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._classes

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self.discover()
        return sorted(self._classes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def derive(self, extra: dict[str, T]) -> Registry[T]:
        """A new registry with everything this one knows plus `extra` (tests add fakes without touching globals)."""
        child: Registry[T] = Registry(self.kind, ())
        child._classes = {**{n: self.get(n) for n in self.names()}, **extra}
        child._discovered = True
        for name, cls in extra.items():
            cls.name = name
        return child

    def unregister(self, name: str) -> None:
        """For tests that register fakes."""
        self._classes.pop(name, None)
