#!/usr/bin/python
"""Ansible module: switch the edge's geo filter on or off through the runtime API, idempotently.

The switch is a one-entry map (`filter on|off`) that the protected profile's rules read on every
request; `set map` changes it in memory, so no reload and no dropped connection.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.haproxy_runtime import MAP_PATH, command, word

DOCUMENTATION = r"""
module: haproxy_geo_filter
short_description: Switch the entchaos edge's geo filter through the HAProxy runtime API
options:
  host: {type: str, required: true}
  port: {type: int, required: true}
  map: {type: str, default: /usr/local/etc/haproxy/geo-switch.map}
  state: {type: str, required: true, choices: ['on', 'off']}
"""

KEY = "filter"
# Only the protected profile has the rules (and this backend); unprotected loads the map, never reads it.
ENFORCING_BACKEND = "geo_refused"


def current(host: str, port: int, map_file: str) -> str | None:
    """The switch's value; None when the entry is missing. Raises ValueError when the map is unknown."""
    answer = command(host, port, f"show map {map_file}")
    if "Unknown map" in answer or "unknown map" in answer.lower():
        raise ValueError(answer.strip())
    for line in answer.splitlines():
        parts = line.split()  # "<ref> <key> <value>"
        if len(parts) == 3 and parts[1] == KEY:
            return parts[2]
    return None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
            "map": {"type": "str", "default": "/usr/local/etc/haproxy/geo-switch.map"},
            "state": {"type": "str", "required": True, "choices": ["on", "off"]},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        word(p["map"], "map", MAP_PATH)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        before = current(p["host"], p["port"], p["map"])
        backends = command(p["host"], p["port"], "show backend").split()
    except OSError as exc:
        module.fail_json(msg=f"HAProxy runtime API {p['host']}:{p['port']} unreachable: {exc}")
    except ValueError as exc:
        module.fail_json(msg=f"the edge has no geo switch map {p['map']}: {exc}; is it the entchaos edge?")
    changed = before != p["state"]
    if changed and not module.check_mode:
        verb = "set" if before is not None else "add"
        answer = command(p["host"], p["port"], f"{verb} map {p['map']} {KEY} {p['state']}").strip()
        if answer:
            module.fail_json(msg=f"HAProxy refused to set the geo filter {p['state']}: {answer}")
    enforced = ENFORCING_BACKEND in backends
    if not enforced:
        module.warn("the edge runs the unprotected profile: the switch is set but no rule reads it")
    module.exit_json(changed=changed, before=before, after=p["state"], enforced=enforced)


if __name__ == "__main__":
    main()
