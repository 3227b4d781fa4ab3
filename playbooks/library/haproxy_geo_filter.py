#!/usr/bin/python
"""Ansible module: switch the edge's geo filter on or off through the runtime API, idempotently.

The switch is a one-entry map (`filter on|off`) that the protected profile's rules read on every
request; `set map` changes it in memory, so no reload and no dropped connection. Run with the toolkit's
own interpreter (pinned in the inventory), it speaks to HAProxy through the toolkit's client
(`chaos.stack.haproxy_runtime`).
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from chaos.errors import ChaosError
from chaos.stack.haproxy_runtime import MAP_PATH, EdgeAPI, plain_name

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
TIMEOUT_S = 5.0


def current(host: str, port: int, map_file: str) -> str | None:
    """The switch's value; None when the entry is missing. Raises ValueError when the map is unknown."""
    answer = EdgeAPI(host, port, timeout_s=TIMEOUT_S).command(f"show map {map_file}")
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
    api = EdgeAPI(p["host"], p["port"], timeout_s=TIMEOUT_S)
    try:
        plain_name(p["map"], "map", MAP_PATH)
        before = current(p["host"], p["port"], p["map"])
        backends = api.command("show backend").split()
        changed = before != p["state"]
        if changed and not module.check_mode:
            verb = "set" if before is not None else "add"
            answer = api.command(f"{verb} map {p['map']} {KEY} {p['state']}").strip()
            if answer:
                module.fail_json(msg=f"HAProxy refused to set the geo filter {p['state']}: {answer}")
    except ChaosError as exc:
        module.fail_json(msg=exc.message)
    except ValueError as exc:
        module.fail_json(msg=f"the edge has no geo switch map {p['map']}: {exc}; is it the entchaos edge?")
    enforced = ENFORCING_BACKEND in backends
    if not enforced:
        module.warn("the edge runs the unprotected profile: the switch is set but no rule reads it")
    module.exit_json(changed=changed, before=before, after=p["state"], enforced=enforced)


if __name__ == "__main__":
    main()
