#!/usr/bin/python
"""Ansible module: set HAProxy servers' state through the runtime API (TCP), idempotently."""

from __future__ import annotations

import csv
import io

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.haproxy_runtime import command, word

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


def statuses(host: str, port: int, backend: str) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(command(host, port, "show stat").lstrip("# ")))
    return {r["svname"]: r["status"] for r in rows if r["pxname"] == backend}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "required": True},
            "backend": {"type": "str", "default": "ent_app"},
            "servers": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "required": True, "choices": ["ready", "drain", "maint"]},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        word(p["backend"], "backend")
        for server in p["servers"]:
            word(server, "server")
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    try:
        before = statuses(p["host"], p["port"], p["backend"])
    except OSError as exc:
        module.fail_json(msg=f"HAProxy runtime API {p['host']}:{p['port']} unreachable: {exc}")
    unknown = [s for s in p["servers"] if s not in before]
    if unknown:
        module.fail_json(msg=f"backend {p['backend']} has no server(s) {unknown}; it has {sorted(before)}")
    to_change = [s for s in p["servers"] if not before[s].startswith(WANTED_STATUS[p["state"]])]
    if to_change and not module.check_mode:
        for server in to_change:
            answer = command(p["host"], p["port"], f"set server {p['backend']}/{server} state {p['state']}").strip()
            if answer:
                module.fail_json(msg=f"HAProxy refused {server} -> {p['state']}: {answer}")
    module.exit_json(changed=bool(to_change), changed_servers=to_change, before=before)


if __name__ == "__main__":
    main()
