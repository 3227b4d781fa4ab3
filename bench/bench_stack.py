"""Stack figures: warm `make setup`, `stack up` to all-healthy, the edge's time to detect a dead replica.

    python bench/bench_stack.py [--trials 5]     (about 3 minutes; results in bench/results/stack.json)

References measured in the same run: `docker compose up --wait` (Compose's own healthy-wait, which
does not look at the edge) for bring-up, and the edge's configured minimum (inter x fall) for detection.
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

from chaos.probes.edge import EdgeAPI  # noqa: E402
from chaos.stack.compose import ComposeStack, isolated_env  # noqa: E402
from chaos.stack.docker_api import docker_client  # noqa: E402
from chaos.stack.health import wait_ready  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "stack.json"
INTER_S, FALL = 1.0, 2  # fixtures/edge/haproxy.cfg


def timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def new_stack() -> ComposeStack:
    return ComposeStack(project=f"entchaos-bench-{uuid.uuid4().hex[:6]}", env=isolated_env())


def bring_up_ours() -> float:
    stack = new_stack()
    try:
        return timed(lambda: (stack.up(), wait_ready(stack, deadline_s=240)))
    finally:
        stack.down()


def bring_up_compose_wait() -> float:
    stack = new_stack()
    try:
        return timed(lambda: stack.compose("up", "--detach", "--wait", "--no-build", "--pull", "never"))
    finally:
        stack.down()


def detection(trials: int) -> list[float]:
    stack = new_stack()
    client = docker_client()
    times = []
    try:
        stack.up()
        wait_ready(stack, deadline_s=240)
        edge = EdgeAPI(*stack.edge_api())
        for i in range(trials):
            victim = stack.container_of(("app-sbg-1", "app-rbx-2")[i % 2])
            started = time.monotonic()
            client.containers.get(victim.id).kill()
            while True:  # a tight poll, 20 ms: the measurement, not a retry
                state = next(s for s in edge.servers() if s.server == victim.service)
                if state.is_down:
                    break
                if time.monotonic() - started > 20:
                    raise RuntimeError("edge never saw the replica down")
                time.sleep(0.02)
            times.append(time.monotonic() - started)
            client.containers.get(victim.id).start()
            wait_ready(stack, deadline_s=60)
    finally:
        stack.down()
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--skip-setup", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {}
    if not args.skip_setup:
        results["setup_warm_s"] = round(timed(lambda: subprocess.run(
            ["bash", str(ROOT / "scripts/setup.sh"), "all"], check=True, capture_output=True)), 1)
        print(f"make setup, warm:                 {results['setup_warm_s']:6.1f} s")
    ours = bring_up_ours()
    ref = bring_up_compose_wait()
    results.update(stack_up_s=round(ours, 1), compose_up_wait_s=round(ref, 1))
    print(f"stack up to all healthy + edge:   {ours:6.1f} s   (docker compose up --wait: {ref:.1f} s, "
          f"ratio {ours / ref:.2f})")
    det = detection(args.trials)
    minimum = INTER_S * FALL
    results.update(detect_s=[round(d, 2) for d in det], detect_median_s=round(statistics.median(det), 2),
                   detect_configured_min_s=minimum)
    print(f"dead replica seen DOWN by edge:   median {statistics.median(det):.2f} s, max {max(det):.2f} s "
          f"over {len(det)} kills (configured minimum inter x fall = {minimum:.1f} s, "
          f"ratio {statistics.median(det) / minimum:.2f})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
