#!/usr/bin/env bash
# Entry point of the project: every service and every developer command.
# In the container image it is the ENTRYPOINT, so the service commands `exec`
# node: signals (SIGTERM from `docker stop`) must reach the Node process.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")" && pwd)
cd "$ROOT"

usage() {
  cat <<'USAGE'
Usage: ./runner.sh <command> [args]

Services (foreground; build the TypeScript first when dist/ is missing or stale):
  worker            worker-prometheus: ISS -> Prometheus metrics on :8000
  scraper           scraper: ISS -> Graphite (StatsD | plaintext) and InfluxDB, metrics on :8001
  backend           backend: API, status and web page on :8998
  iss-sim           MOEX ISS simulator on :8999
  init              the compose stack's one-shot first step: writes the secrets it lacks, prints
                    where each service is (docker compose logs init), then exits

The whole stack without Docker:
  local up|down|status   Alertmanager, Prometheus, node-exporter, carbon + graphite-web,
                         StatsD, InfluxDB, worker, scraper and backend on the contract's ports
  demo                   `local up` fed by the ISS simulator (simulated prices)
  daemon start|stop|status|url|config NAME...   one part of it (docs/native-stack.md)

The compose stack (plain `docker compose up -d` is enough; docs/docker.md):
  containers up [--demo] [--scale] | down [-v] | status | e2e | compose ARGS   see ops/containers.sh
  containers test   the container suite alone (test/containers): the compose stack run for real on
                    Docker, else Podman with Debian stand-ins where images cannot be pulled; 5-10 min

Developer commands:
  build             compile TypeScript to dist/
  lint              prettier --check (.prettierrc.json) and eslint (typescript-eslint) over the code
  test              from a fresh machine: install what the tests need, build, run every test: the
                    native suite, then the container suite (CI's entry)
  e2e               browser checks of a running stack via WebDriver (SELENIUM_URL), after wait-for-grid.sh
  bench             the benchmark; prints a markdown table
  soak [--minutes N]  fault soak (default 20 min): the native stack fed by the simulator, both cores
                    busy, carbon, InfluxDB, scraper, worker and Prometheus SIGKILLed and restarted at
                    random; prints polled / stored / lost / duplicated per store (docs/durability.md)
  configs [--check] write (check) prometheus/*.yml and alertmanager/alertmanager.yml from ops/
  secrets [--force] the secrets of a fresh install in secrets/: passwords, web config, certificate
                    (what the compose `init` service writes on first start; docs/security.md)
  urls              where a running compose stack is: URLs, users, password files, certificate trust
                    (without Node on the host: docker compose run --rm init urls)
  help              this text

Configuration is environment variables; see docs/configuration.md.
USAGE
}

# Sources that end up in dist/; a build is stale when any of them is newer than the stamp.
BUILD_STAMP=dist/.build-stamp
SOURCE_DIRS=(lib ops worker-prometheus/src scraper/src backend/src iss-sim/src init/src)

# The Node versions the tools and services need: package.json's `engines.node`, a range of
# alternatives "^MAJOR.MINOR.PATCH" (that major, at least that version) or ">=MAJOR[.MINOR.PATCH]".
# (Read with bash alone: this runs before anything is known about the host's tools.)
NODE_NEEDED=
while IFS= read -r line; do
  if [[ $line =~ \"node\":\ *\"([^\"]+)\" ]]; then NODE_NEEDED=${BASH_REMATCH[1]}; break; fi
done <package.json

# True when version $1 (x.y.z) is inside the range $2 (the forms above).
node_in_range() {
  local have=$1 alt major minor patch want_major want_minor want_patch op
  IFS=. read -r major minor patch <<<"$have"
  local IFS='|'
  for alt in $2; do
    alt=${alt// /}
    [ -n "$alt" ] || continue
    case $alt in '^'*) op='^'; alt=${alt#^} ;; '>='*) op='>='; alt=${alt#>=} ;; *) continue ;; esac
    IFS=. read -r want_major want_minor want_patch <<<"$alt"
    want_minor=${want_minor:-0} want_patch=${want_patch:-0}
    [ "$op" = '^' ] && [ "$major" -ne "$want_major" ] && continue
    if [ "$major" -gt "$want_major" ] || { [ "$major" -eq "$want_major" ] &&
      { [ "$minor" -gt "$want_minor" ] || { [ "$minor" -eq "$want_minor" ] && [ "$patch" -ge "$want_patch" ]; }; }; }; then
      return 0
    fi
  done
  return 1
}

# Stops with one line naming the Node found and the one needed, before anything runs on an old one.
ensure_node() {
  local found
  found=$(node --version 2>/dev/null) || found=
  if [ -z "$found" ]; then
    echo "runner: no Node.js found; needs Node $NODE_NEEDED with npm (package.json engines)" >&2
    exit 1
  fi
  if ! node_in_range "${found#v}" "$NODE_NEEDED"; then
    echo "runner: found Node ${found#v} at $(command -v node); needs Node $NODE_NEEDED (package.json engines)" >&2
    exit 1
  fi
}

# A fresh clone has no node_modules: install the locked dependencies first, or say in one line why not.
ensure_deps() {
  ensure_node
  [ -x node_modules/.bin/tsc ] && return
  if ! command -v npm >/dev/null 2>&1; then
    echo "runner: node_modules missing and npm not found: install Node.js $NODE_NEEDED with npm, then run: npm ci" >&2
    exit 1
  fi
  echo "runner: installing dependencies (npm ci; node_modules missing)" >&2
  npm ci --no-audit --no-fund >&2 || { echo "runner: npm ci failed; run it by hand to see why" >&2; exit 1; }
}

build() {
  ensure_deps
  npx --no-install tsc -p tsconfig.json
  touch "$BUILD_STAMP"
}

ensure_built() {
  ensure_node
  if [ ! -f "$BUILD_STAMP" ]; then
    ensure_deps
    echo "runner: building TypeScript (dist/ missing)" >&2
    build >&2
    return
  fi
  local dirs=()
  for d in "${SOURCE_DIRS[@]}"; do [ -d "$d" ] && dirs+=("$d"); done
  if [ ${#dirs[@]} -gt 0 ] && [ -n "$(find "${dirs[@]}" tsconfig.json -newer "$BUILD_STAMP" -name '*.ts' -print -quit 2>/dev/null)" ]; then
    echo "runner: rebuilding TypeScript (sources changed)" >&2
    build >&2
  fi
}

run_service() {
  local entry=$1; shift
  ensure_built
  exec node "dist/$entry" "$@"
}

# node's runner reads TypeScript through tsx. `run_tests native`: every *.test.ts but the browser
# checks of test/e2e (run by `e2e` against a running stack) and test/containers, unit first.
# `run_tests containers`: the compose stack in containers (test/containers, 5 min with the images
# cached, about 9 on a machine that builds the stand-ins first), on its own: it publishes the
# contract's fixed ports and loads both cores.
run_tests() {
  local files
  if [ "$1" = containers ]; then
    mapfile -t files < <(find test/containers -name '*.test.ts' | sort)
  else
    mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/e2e/*' -not -path 'test/containers/*' | sort)
  fi
  mkdir -p test-results
  node --import tsx --test --test-concurrency=2 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=junit --test-reporter-destination="test-results/junit-$1.xml" \
    "${files[@]}"
}

cmd=${1:-help}
[ $# -gt 0 ] && shift

case "$cmd" in
  worker)   run_service worker-prometheus/src/main.js "$@" ;;
  scraper)  run_service scraper/src/main.js "$@" ;;
  backend)  run_service backend/src/main.js "$@" ;;
  iss-sim)  run_service iss-sim/src/main.js "$@" ;;
  init)     run_service init/src/main.js --urls "$@" ;;
  secrets)  run_service init/src/main.js "$@" ;;
  urls)     run_service init/src/urls.js "$@" ;;
  build)    build ;;
  lint)     ensure_deps; npx --no-install prettier --check '**/*.{ts,mjs,cjs,js}'; exec npx --no-install eslint . ;;
  local)    ensure_built; exec node dist/ops/main.js local "$@" ;;
  daemon)   ensure_built; exec node dist/ops/main.js daemon "$@" ;;
  configs)  ensure_built; exec node dist/ops/main.js configs "$@" ;;
  containers)
    if [ "${1:-}" = test ]; then ensure_built; run_tests containers; else exec ops/containers.sh "$@"; fi ;;
  # The demo shows every market the simulator has (ops/demo.sh, shared with the compose demo).
  # One token on both sides makes the simulator a subscriber's ISS, so the ALGOPACK datasets answer;
  # its history has bars to show at once. (Exported: assignments before a function call end with it.)
  demo)     . ops/demo.sh
            export MOEX_ISS_URL=${MOEX_ISS_URL:-http://127.0.0.1:8999/iss} MOEX_SOURCES=${MOEX_SOURCES-$DEMO_SOURCES} \
            ISS_SIM_TOKEN=${ISS_SIM_TOKEN-demo-subscriber} MOEX_ISS_TOKEN=${MOEX_ISS_TOKEN-demo-subscriber} \
            MOEX_ALGOPACK=${MOEX_ALGOPACK-$DEMO_ALGOPACK} SIM_HISTORY_MINUTES=${SIM_HISTORY_MINUTES-15}
            ensure_built; exec node dist/ops/main.js local up --demo "$@" ;;
  test)
    ops/install-test-deps.sh
    npm ci --no-audit --no-fund
    build
    # Tests, dashboards generator and benchmark are TypeScript too: type-check them as strictly.
    npx --no-install tsc -p tsconfig.check.json
    npx --no-install prettier --check '**/*.{ts,mjs,cjs,js}'
    npx --no-install eslint .
    # Both suites run even when the first fails: one red run shows every failure.
    status=0
    run_tests native || status=$?
    run_tests containers || status=$?
    exit "$status"
    ;;
  e2e)      exec ops/e2e.sh "$@" ;;
  bench)
    # The references and the load generator are real programs: install them when missing.
    ops/ensure-debian-packages.sh wrk prometheus prometheus-pushgateway graphite-carbon graphite-web \
      python3-gunicorn influxdb curl iproute2
    ensure_built
    exec node --import tsx bench/main.ts "$@"
    ;;
  soak)
    ensure_built
    exec node --import tsx bench/soak.ts "$@"
    ;;
  help|-h|--help) usage ;;
  *) echo "runner: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
