#!/usr/bin/python
"""Ansible module: set HAProxy servers' state through the runtime API (TCP), idempotently.

Run with the toolkit's own interpreter (pinned in the inventory), it speaks to HAProxy through the toolkit's
client (`chaos.stack.haproxy_runtime`): the same checks of every name sent as the probes'.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

from chaos.errors import ChaosError
from chaos.stack.haproxy_runtime import STATES, EdgeAPI, plain_name

DOCUMENTATION = r"""
module: haproxy_server_state
short_description: Drain, undrain or put in maintenance HAProxy servers through the runtime API
options:
  host: {type: str, required: true}
  port: {type: int, required: true}
  backend: {type: str, default: ent_app}
  servers: {type: list, elements: str, required: true}
  state: {type: str, required: true, choices: [ready, drain, maint]}
"""

WANTED_STATUS = {"ready": ("UP", "DOWN", "no check"), "drain": ("DRAIN",), "maint": ("MAINT",)}
TIMEOUT_S = 5.0


def statuses(api: EdgeAPI, backend: str) -> dict[str, str]:
    """server -> its status in `backend`."""
    return {s.server: s.status for s in api.servers(backend)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
            "backend": {"type": "str", "default": "ent_app"},
            "servers": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "required": True, "choices": list(STATES)},
        },
        supports_check_mode=True,
    )
    p = module.params
    api = EdgeAPI(p["host"], p["port"], timeout_s=TIMEOUT_S)
    try:
        plain_name(p["backend"], "backend")
        for server in p["servers"]:
            plain_name(server, "server")
        before = statuses(api, p["backend"])
        unknown = [s for s in p["servers"] if s not in before]
        if unknown:
            module.fail_json(msg=f"backend {p['backend']} has no server(s) {unknown}; it has {sorted(before)}")
        to_change = [s for s in p["servers"] if not before[s].startswith(WANTED_STATUS[p["state"]])]
        if not module.check_mode:
            for server in to_change:
                api.set_server_state(p["backend"], server, p["state"])
    except ChaosError as exc:
        module.fail_json(msg=exc.message)
    module.exit_json(changed=bool(to_change), changed_servers=to_change, before=before)


if __name__ == "__main__":
    main()
