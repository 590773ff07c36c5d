#!/usr/bin/env bash
# ops/local-stack.sh up [--demo] | down | status   (also: ./runner.sh local ..., ./runner.sh demo)
#
# The whole stack natively, without Docker: Alertmanager, Prometheus, node-exporter, carbon +
# graphite-web, StatsD, InfluxDB, then worker, scraper and backend; with --demo
# the ISS simulator first, and the services poll it instead of MOEX.
# Each part is run by ops/native-daemons.sh (pid files, logs, readiness).
#
#   up      installs missing Debian packages, starts what is not running yet
#           (running twice starts nothing twice), prints every URL
#   down    stops exactly what `up` started, in reverse order; nothing stays listening
#   status  each component, its URL and whether it answers; exit 1 if one is down
#
# Everything lives under STATE_DIR (default <repo>/.state, git-ignored):
# logs/<part>.log, run/<part>.pid, and each daemon's data in <part>/.
#
# Ports (CONTRACT section 1 defaults), each overridable, e.g. to run a second stack:
#   PROMETHEUS_PORT 9090, NODE_EXPORTER_PORT 9100, GRAPHITE_WEB_PORT 18000,
#   CARBON_PORT (= GRAPHITE_PORT) 2003, CARBON_PICKLE_PORT 2004, CARBON_QUERY_PORT 7002,
#   STATSD_PORT 8125/udp, STATSD_MGMT_PORT 8126, INFLUXDB_PORT 8086, INFLUXDB_RPC_PORT 8088,
#   ALERTMANAGER_PORT 9093, ISS_SIM_PORT 8999, WORKER_PORT 8000, SCRAPER_PORT 8001, BACKEND_PORT 8998
# Alertmanager's receivers come from the ALERT_* variables (docs/alerting.md); with none set,
# alerts go to this stack's backend (/api/alerts, shown on its page).
# The services get the CONTRACT section 2 variables from the environment (MOEX_ISS_URL,
# MOEX_TICKERS, POLL_SCHEDULE, GRAPHITE_TRANSPORT, ...); the ones that say where a
# daemon is (STATSD_HOST/PORT, GRAPHITE_HOST/PORT, INFLUX_URL, PROMETHEUS_URL,
# WORKER_URL, SCRAPER_URL, GRAPHITE_URL) default to this stack's ports, and
# INFLUX_API defaults to v1 (Debian's InfluxDB is 1.6, which has no /api/v2/write).
# With --demo, MOEX_ISS_URL is always the simulator's.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DAEMONS_SH=$ROOT/ops/native-daemons.sh

export STATE_DIR=${STATE_DIR:-$ROOT/.state}
export PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
export NODE_EXPORTER_PORT=${NODE_EXPORTER_PORT:-9100}
export GRAPHITE_WEB_PORT=${GRAPHITE_WEB_PORT:-18000}
export CARBON_PORT=${CARBON_PORT:-${GRAPHITE_PORT:-2003}}
export CARBON_PICKLE_PORT=${CARBON_PICKLE_PORT:-2004}
export CARBON_QUERY_PORT=${CARBON_QUERY_PORT:-7002}
export STATSD_PORT=${STATSD_PORT:-8125}
export STATSD_MGMT_PORT=${STATSD_MGMT_PORT:-8126}
export INFLUXDB_PORT=${INFLUXDB_PORT:-8086}
export INFLUXDB_RPC_PORT=${INFLUXDB_RPC_PORT:-8088}
export INFLUXDB_DATABASE=${INFLUXDB_DATABASE:-${INFLUX_DATABASE:-pyexample}}
export ISS_SIM_PORT=${ISS_SIM_PORT:-8999}
export WORKER_PORT=${WORKER_PORT:-8000}
export SCRAPER_PORT=${SCRAPER_PORT:-8001}
export BACKEND_PORT=${BACKEND_PORT:-8998}
export ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}

# Where the services find the daemons (CONTRACT section 2 names).
export STATSD_HOST=${STATSD_HOST:-127.0.0.1}
export GRAPHITE_HOST=${GRAPHITE_HOST:-127.0.0.1}
export GRAPHITE_PORT=$CARBON_PORT
export INFLUX_URL=${INFLUX_URL:-http://127.0.0.1:$INFLUXDB_PORT}
export INFLUX_API=${INFLUX_API:-v1}
export INFLUX_DATABASE=$INFLUXDB_DATABASE
export PROMETHEUS_URL=${PROMETHEUS_URL:-http://127.0.0.1:$PROMETHEUS_PORT}
export WORKER_URL=${WORKER_URL:-http://127.0.0.1:$WORKER_PORT}
export SCRAPER_URL=${SCRAPER_URL:-http://127.0.0.1:$SCRAPER_PORT}
export GRAPHITE_URL=${GRAPHITE_URL:-http://127.0.0.1:$GRAPHITE_WEB_PORT}
export ALERTMANAGER_URL=${ALERTMANAGER_URL:-http://127.0.0.1:$ALERTMANAGER_PORT}

# Alertmanager first: Prometheus sends to it from its first rule evaluation.
DAEMONS=(alertmanager prometheus node-exporter carbon graphite-web statsd influxdb)
SERVICES=(worker scraper backend)
DEBIAN_PACKAGES=(prometheus prometheus-node-exporter graphite-carbon graphite-web python3-gunicorn
                 influxdb prometheus-alertmanager curl iproute2)
# What `up` started, in start order: `down` and `status` read it.
COMPONENTS_FILE=$STATE_DIR/local-stack.components

say() { echo "local-stack: $*" >&2; }

grafana_note() {
  say "Grafana is not installed natively: Debian has no package for it and its own downloads are"
  say "out of reach here. For the dashboards run the compose stack (docker compose up, see README.md)."
}

components() {
  if [ -s "$COMPONENTS_FILE" ]; then cat "$COMPONENTS_FILE"; else printf '%s\n' "${DAEMONS[@]}" iss-sim "${SERVICES[@]}"; fi
}

remember() {
  mkdir -p "$STATE_DIR"
  grep -qx "$1" "$COMPONENTS_FILE" 2>/dev/null || echo "$1" >>"$COMPONENTS_FILE"
}

start() {
  remember "$1"
  "$DAEMONS_SH" start "$1" || {
    say "$1 failed to start (log: $STATE_DIR/logs/$1.log); '$0 down' stops what did start"
    exit 1
  }
}

up() {
  local demo=false arg
  for arg in "$@"; do
    case $arg in
      --demo) demo=true ;;
      *) say "up: unknown option '$arg'"; exit 2 ;;
    esac
  done
  say "state dir $STATE_DIR (logs in $STATE_DIR/logs)"
  "$ROOT/ops/ensure-debian-packages.sh" "${DEBIAN_PACKAGES[@]}"
  if [ ! -d "$ROOT/node_modules" ]; then
    say "node_modules missing: running npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
  local name
  for name in "${DAEMONS[@]}"; do start "$name"; done
  if $demo; then
    start iss-sim
    export MOEX_ISS_URL="http://127.0.0.1:$ISS_SIM_PORT/iss"
    say "demo: services poll the ISS simulator at $MOEX_ISS_URL"
  fi
  for name in "${SERVICES[@]}"; do start "$name"; done
  grafana_note
  echo
  status
}

down() {
  local names=() i
  mapfile -t names < <(components)
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do "$DAEMONS_SH" stop "${names[i]}"; done
  rm -f "$COMPONENTS_FILE"
}

status() {
  local names=() rc=0
  mapfile -t names < <(components)
  "$DAEMONS_SH" status "${names[@]}" || rc=1
  printf '%-17s %-9s %-12s %s\n' grafana n/a "" "not run natively; use the compose stack (:3000)"
  return "$rc"
}

case ${1:-} in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up [--demo] | down | status" >&2; exit 2 ;;
esac
