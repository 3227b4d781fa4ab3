"""Time to apply and revert each generic fault, beside the plain Docker command that does the same.

    python bench/bench_faults.py [--trials 3]     (about a minute; results in bench/results/faults.json)

Runs on the small non-ENT compose project of the integration tests. The reference for kill and pause is
`docker kill` / `docker start` and `docker pause` / `docker unpause`; for network faults, one `docker run`
of the helper image doing nothing (the floor of the helper-container approach).

Then the fault proxy's own overhead (`latency` and `http-fault` without netem): 300 HTTP requests, a fresh
connection each, from a peer to web-east's nginx, straight and then through the proxy with a rule that does nothing
(delay 0); the added p50 and p95, and the ratio proxied/straight, alternated over the trials.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaos.faults.base import FAULTS, FaultContext, FaultRecord, TargetRef  # noqa: E402
from chaos.stack.compose import ComposeStack  # noqa: E402
from chaos.stack.health import wait_ready  # noqa: E402

TINY = ROOT / "tests/integration/tiny/compose.yaml"
RESULTS = ROOT / "bench/results/faults.json"
FAULT_CASES = {
    "kill": ({"service": "web-east"}, {}),
    "pause": ({"service": "web-east"}, {}),
    "partition": ({"datacenter": "east"}, {"network": "front"}),
    "bandwidth": ({"service": "web-east"}, {"rate_kbit": 256}),
    "packet-loss": ({"service": "web-east"}, {"percent": 30}),
    "latency": ({"service": "web-east"}, {"delay_ms": 100, "port": 80}),
    "http-fault": ({"service": "web-east"}, {"port": 80, "status": 503, "percent": 50}),
}
OVERHEAD_REQUESTS = 300


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def once(stack: ComposeStack, name: str) -> tuple[float, float]:
    labels, params = FAULT_CASES[name]
    fault = FAULTS.get(name)(params)
    targets = tuple(TargetRef.of(t) for t in stack.select(labels))
    record = FaultRecord(fault=name, step_id="bench", targets=targets, params=params)
    record = record.with_state(**fault.prepare(FaultContext(stack, record)))
    inject = timed(lambda: fault.inject(FaultContext(stack, record)))
    revert = timed(lambda: fault.revert(FaultContext(stack, record), record))
    return inject, revert


def reference(stack: ComposeStack, name: str) -> float:
    cid = stack.container_of("web-east").id
    docker = ["docker"]
    if name == "kill":
        cmds = [[*docker, "kill", cid], [*docker, "start", cid]]
    elif name == "pause":
        cmds = [[*docker, "pause", cid], [*docker, "unpause", cid]]
    else:
        cmds = [[*docker, "run", "--rm", "--network", f"container:{cid}", "--cap-add", "NET_ADMIN",
                 "entchaos/nettools:latest", "true"]] * 2
    return timed(lambda: [subprocess.run(c, check=True, capture_output=True) for c in cmds])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def proxy_overhead(stack: ComposeStack, trials: int) -> dict:
    """Request times straight to web-east and through a do-nothing fault proxy, alternated; ms."""
    from chaos.stack import containers, fault_proxy
    from chaos.stack.netns import NetnsAgent

    target = stack.container_of("web-east").id
    address = containers.addresses(target)[f"{stack.project}_front"]
    straight: list[float] = []
    proxied: list[float] = []
    with NetnsAgent(stack.container_of("shopper").id) as peer:
        for _ in range(trials):
            straight += peer.run("http", address, 80, OVERHEAD_REQUESTS, "GET", "/", 5)["times_ms"]
            name = f"entchaos-proxy-bench-{uuid.uuid4().hex[:6]}"
            fault_proxy.start(target, name, {"delay_ms": 0})
            fault_proxy.redirect(target, 80)
            try:
                through = peer.run("http", address, 80, OVERHEAD_REQUESTS, "GET", "/", 5)
                assert through["statuses"] == {"200": OVERHEAD_REQUESTS}, through["statuses"]
                proxied += through["times_ms"]
            finally:
                fault_proxy.unredirect(target)
                fault_proxy.stop(name)
    figures = {}
    for q in (50, 95):
        a, b = percentile(straight, q), percentile(proxied, q)
        figures[f"p{q}"] = {"straight_ms": round(a, 2), "proxied_ms": round(b, 2), "added_ms": round(b - a, 2),
                            "ratio": round(b / a, 2)}
    figures["requests_each"] = len(straight)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    stack = ComposeStack(project=f"entchaos-bench-{uuid.uuid4().hex[:6]}", compose_file=TINY)
    results = {}
    try:
        stack.up()
        wait_ready(stack, deadline_s=60)
        print(f"{'fault':12} {'inject s':>9} {'revert s':>9} {'docker CLI s':>13} {'ratio':>6}")
        for name in FAULT_CASES:
            runs = [once(stack, name) for _ in range(args.trials)]
            ref = statistics.median(reference(stack, name) for _ in range(args.trials))
            inject = statistics.median(r[0] for r in runs)
            revert = statistics.median(r[1] for r in runs)
            results[name] = {"inject_s": round(inject, 3), "revert_s": round(revert, 3), "docker_cli_s": round(ref, 3)}
            print(f"{name:12} {inject:9.3f} {revert:9.3f} {ref:13.3f} {(inject + revert) / ref:6.2f}")
        overhead = results["proxy_overhead"] = proxy_overhead(stack, args.trials)
        print(f"fault proxy overhead, {overhead['requests_each']} requests each way (fresh connections):")
        for q in ("p50", "p95"):
            o = overhead[q]
            print(f"  {q}: straight {o['straight_ms']:.2f} ms, through the proxy {o['proxied_ms']:.2f} ms, "
                  f"added {o['added_ms']:.2f} ms (ratio {o['ratio']:.2f})")
    finally:
        stack.down()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
