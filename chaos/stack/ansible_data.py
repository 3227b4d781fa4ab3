"""Values handed to Ansible as data, never as templates: the `env/extravars` file ansible-runner gives
`ansible-playbook -e @file`, every string that could hold a template marked `!unsafe`.

Here, below both users: the remediation playbooks (`chaos.remediation.runner`) and the host playbooks an
inventory's faults and load run (`chaos.stack.hosts`).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from chaos.errors import InvalidInput

TEMPLATE_CHARS = frozenset("{%#")


class _Unsafe(str):
    """A string Ansible must treat as data: written as `!unsafe`, it is never templated."""


class _UnsafeDumper(yaml.SafeDumper):
    pass


_UnsafeDumper.add_representer(_Unsafe, lambda dumper, text: dumper.represent_scalar("!unsafe", str(text)))


def as_data(value: Any) -> Any:
    """Every string in `value` that could hold a template (keys below the top level included) marked unsafe.

    Jinja acts only from its delimiters (`{{`, `{%`, `{#`): a string with no `{`, `%` or `#` is never rendered, and
    stays plain. That matters: ansible-core 2.19 resolves an `!unsafe` scalar's type as if unquoted (`!unsafe 'on'`
    reads True, so `sync_replication == 'on'` is false) and turns an unsafe '' into None in `environment`."""
    if isinstance(value, str):
        return _Unsafe(value) if TEMPLATE_CHARS.intersection(value) else value
    if isinstance(value, dict):
        return {as_data(k) if isinstance(k, str) else k: as_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_data(v) for v in value]
    return value


def extravars_text(variables: dict[str, Any]) -> str:
    """The `env/extravars` file ansible-runner hands to `ansible-playbook -e @file`: YAML, strings `!unsafe`.

    (ansible-runner would write a dict as JSON, whose strings Ansible templates: `{{ lookup('pipe', …) }}` would
    run. `!unsafe` is Ansible's own "unsafe or raw strings" marker: the value is used, never rendered.)
    """
    for key in variables:
        if not re.match(r"^[a-z_][a-z0-9_]*$", key):
            raise InvalidInput(f"variable name {key!r} is not a plain identifier")
    body = {key: as_data(value) for key, value in variables.items()}
    return yaml.dump(body, Dumper=_UnsafeDumper, sort_keys=True, allow_unicode=True)
