#!/usr/bin/env bash
# Browser checks of a RUNNING stack (./runner.sh e2e): the backend page and Grafana's dashboards,
# through WebDriver at SELENIUM_URL.
#
#   SELENIUM_URL  WebDriver endpoint (compose: http://selenium:4444). Unset: a local
#                 /usr/bin/chromedriver is started on a free port and stopped afterwards,
#                 driving /usr/bin/chromium.
#   BACKEND_URL   default http://127.0.0.1:8998
#   BACKEND_USER, BACKEND_PASSWORD (or BACKEND_PASSWORD_FILE), BACKEND_CA_FILE
#                 the stack's credentials and certificate when the backend serves https with
#                 basic auth (the compose stack: user prometheus, secrets/prometheus_password,
#                 secrets/tls.crt); the browser accepts that self-signed certificate
#   GRAFANA_URL   default http://127.0.0.1:3000 (when unreachable, its check is skipped with
#                 the reason)
#   GRAFANA_USER, GRAFANA_PASSWORD   Grafana login (default user admin)
#   WAIT_TIMEOUT  seconds to wait for the WebDriver endpoint (default 60)
# Screenshots: test-results/e2e/*.png
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

export BACKEND_URL=${BACKEND_URL:-http://127.0.0.1:8998}
export GRAFANA_URL=${GRAFANA_URL:-http://127.0.0.1:3000}
export E2E_RESULTS_DIR=${E2E_RESULTS_DIR:-$ROOT/test-results/e2e}

mkdir -p "$E2E_RESULTS_DIR"
if [ ! -w "$E2E_RESULTS_DIR" ]; then
  echo "e2e: cannot write screenshots to $E2E_RESULTS_DIR (owner $(stat -c %U "$E2E_RESULTS_DIR")); fix its permissions" >&2
  exit 1
fi

driver_pid=
# shellcheck disable=SC2317  # invoked by the EXIT trap
stop_driver() {
  if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
    kill "$driver_pid" 2>/dev/null || true
    wait "$driver_pid" 2>/dev/null || true
  fi
}
trap stop_driver EXIT

if [ -z "${SELENIUM_URL:-}" ]; then
  chromedriver=${CHROMEDRIVER:-/usr/bin/chromedriver}
  if [ ! -x "$chromedriver" ] || [ ! -x /usr/bin/chromium ]; then
    "$ROOT/ops/ensure-debian-packages.sh" chromium chromium-driver
  fi
  # A free port from the kernel; chromedriver takes it a moment later.
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  "$chromedriver" --port="$port" --allowed-ips=127.0.0.1 --log-path="$E2E_RESULTS_DIR/chromedriver.log" >/dev/null 2>&1 &
  driver_pid=$!
  export SELENIUM_URL=http://127.0.0.1:$port
  # Local chromedriver: the test points Chrome options at Debian's Chromium binary.
  export E2E_CHROME_BINARY=${E2E_CHROME_BINARY:-/usr/bin/chromium}
  echo "e2e: started $chromedriver on port $port (pid $driver_pid)" >&2
fi

"$ROOT/wait-for-grid.sh" "$SELENIUM_URL"

echo "e2e: SELENIUM_URL=$SELENIUM_URL BACKEND_URL=$BACKEND_URL GRAFANA_URL=$GRAFANA_URL" >&2
shopt -s nullglob
tests=(test/e2e/*.test.ts)
if [ ${#tests[@]} -eq 0 ]; then
  echo "e2e: no test/e2e/*.test.ts found" >&2
  exit 1
fi
# Not exec: the EXIT trap must stop the local chromedriver afterwards.
# When this script runs inside another node --test run (the test command's own browser test),
# the inherited NODE_TEST_CONTEXT would make this run skip every file and still exit 0.
unset NODE_TEST_CONTEXT
status=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${tests[@]}" || status=$?
echo "e2e: screenshots in $E2E_RESULTS_DIR" >&2
exit "$status"
