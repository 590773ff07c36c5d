#!/usr/bin/env bash
# ops/containers.sh up [--demo] [--scale] | down [-v] | status | e2e | compose ARGS...   (./runner.sh containers ...)
#
# docker-compose.yml with the profiles and settings each mode needs, on Docker (`docker compose`,
# else `docker-compose`) or Podman (set COMPOSE="podman compose" or "podman-compose"). Plain
# `docker compose up -d` is the whole stack already; this adds:
#   up [--demo] [--scale]  start and wait until every service is healthy (--demo: the ISS
#                          simulator's profile, MOEX_ISS_URL pointing at it, every market it has and
#                          its ALGOPACK datasets (ops/demo.sh), with secrets/demo_iss_token as the
#                          subscriber token; --scale: WORKER_SHARDS
#                          (2) worker-shard replicas and VictoriaMetrics, which Prometheus
#                          remote-writes to; docs/scale.md), then print where everything is
#                          (`init urls` in our image, so the host needs no Node)
#   down [-v]              remove containers and networks (-v: the named volumes, i.e. the data, too)
#   status                 each container's state and health; exit 1 if one is not healthy
#   e2e                    the browser checks (profile e2e: Selenium and the dev image) against the stack
#   compose ARGS           compose itself with this stack's profiles (logs, ps, stop...)
# Settings: COMPOSE (the compose command), UP_TIMEOUT (s, default 300); the compose files come
# from COMPOSE_FILE when set (compose's own variable), else docker-compose.yml.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
UP_TIMEOUT=${UP_TIMEOUT:-300}
ALL_PROFILES=(--profile demo --profile scale --profile e2e)

say() { echo "containers: $*" >&2; }
die() { say "$*"; exit 1; }

if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"
  elif command -v docker-compose >/dev/null 2>&1; then COMPOSE=docker-compose
  else die "no compose found: install Docker with its compose plugin, or set COMPOSE (e.g. \"podman compose\")"; fi
fi
# The engine's CLI for `inspect`: podman when COMPOSE is Podman's or Docker's CLI is absent.
case $COMPOSE in podman*) ENGINE=podman ;; *) ENGINE=docker; command -v docker >/dev/null || ENGINE=podman ;; esac

# shellcheck disable=SC2086  # COMPOSE may be two words
compose() { $COMPOSE --project-directory "$ROOT" "$@"; }

# "service state health exitcode" of each container of the project, whatever its profile; health
# "-" for a container without a healthcheck. Podman reports that as an empty status, not a missing
# one: printed as is, the empty field would shift the exit code out of place (and init's exit 0
# would read as a failure), hence `or`.
states() {
  local ids
  mapfile -t ids < <(compose "${ALL_PROFILES[@]}" ps -q 2>/dev/null)
  [ ${#ids[@]} -gt 0 ] || return 0
  "$ENGINE" inspect --format '{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{with .State.Health}}{{or .Status "-"}}{{else}}-{{end}} {{.State.ExitCode}}' "${ids[@]}"
}

# Not healthy: a running container whose health is not "healthy", or a one-shot (init) that failed.
unhealthy() { states | awk '($2 == "running" && $3 != "healthy" && $3 != "-") || ($2 == "exited" && $4 != 0) { print $1 }'; }

status() {
  printf '%-18s %-10s %s\n' SERVICE STATE HEALTH
  states | awk '{ printf "%-18s %-10s %s\n", $1, $2, ($2 == "exited" ? "exit " $4 : $3) }' | sort
  [ -z "$(unhealthy)" ]
}

up() {
  local profiles=() arg
  for arg in "$@"; do
    case $arg in
      --demo) profiles+=(--profile demo); export MOEX_ISS_URL=http://iss-sim:8999/iss
        # What the native demo polls too (ops/demo.sh). The simulator serves ALGOPACK to
        # subscribers only: init's demo token for it and the pollers (unless one is given).
        . "$ROOT/ops/demo.sh"
        export MOEX_SOURCES=${MOEX_SOURCES-$DEMO_SOURCES} MOEX_ALGOPACK=${MOEX_ALGOPACK-$DEMO_ALGOPACK} \
          MOEX_ISS_TOKEN_FILE=${MOEX_ISS_TOKEN_FILE:-./secrets/demo_iss_token} ;;
      --scale) profiles+=(--profile scale)
        # Prometheus discovers the shards only when told how many there are, and VictoriaMetrics
        # receives only what Prometheus is told to remote-write.
        export WORKER_SHARDS=${WORKER_SHARDS:-2} PROMETHEUS_REMOTE_WRITE_URL=${PROMETHEUS_REMOTE_WRITE_URL:-http://victoria-metrics:8428/api/v1/write} ;;
      *) die "up: unknown option '$arg'" ;;
    esac
  done
  compose "${profiles[@]}" up -d
  local deadline=$((SECONDS + UP_TIMEOUT)) pending
  while pending=$(unhealthy | xargs) && [ -n "$pending" ]; do
    [ $SECONDS -lt $deadline ] || { status || true; die "not healthy after ${UP_TIMEOUT} s: $pending"; }
    sleep 3
  done
  status
  # Where everything is, from our image: the host needs no Node.
  compose run --rm --no-deps init urls
}

e2e() {
  # The dev image runs as uid 1000 and writes its screenshots to the mounted test-results/e2e.
  mkdir -p "$ROOT/test-results/e2e"
  if [ "$(id -u)" -eq 0 ]; then chown 1000:1000 "$ROOT/test-results/e2e"; else chmod 0777 "$ROOT/test-results/e2e"; fi
  compose --profile e2e up -d selenium
  # The checks compare the page with what the running worker polls (an options chain or none), which
  # `up` may have set (--demo) in a shell that is not this one.
  local sources tickers
  sources=$(compose exec -T worker-prometheus printenv MOEX_SOURCES || true)
  tickers=$(compose exec -T worker-prometheus printenv MOEX_TICKERS || true)
  # --no-deps: the stack is up already (and a service it left out, e.g. Grafana, stays out).
  compose --profile e2e run --rm --no-deps -e "MOEX_SOURCES=$sources" -e "MOEX_TICKERS=${tickers:-SBERP,SBER,GAZP}" e2e
}

down() {
  case ${1:-} in
    -v|--volumes|'') ;;
    *) die "down: unknown option '$1'" ;;
  esac
  compose "${ALL_PROFILES[@]}" down --remove-orphans ${1:+-v}
}

case ${1:-} in
  up) shift; up "$@" ;;
  down) shift; down "$@" ;;
  status) status ;;
  e2e) e2e ;;
  compose) shift; compose "${ALL_PROFILES[@]}" "$@" ;;
  *) echo "usage: $0 up [--demo] [--scale] | down [-v] | status | e2e | compose ARGS..." >&2; exit 2 ;;
esac
