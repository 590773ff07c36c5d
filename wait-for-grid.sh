#!/bin/sh
# wait-for-grid.sh URL [-- command...]
#
# Waits until the WebDriver endpoint at URL is ready, then runs the command (exec).
# Polls URL/status until its JSON says value.ready is true: Selenium Grid 4 and
# chromedriver both answer {"value":{"ready":true,...}}.
#
# WAIT_TIMEOUT   seconds to wait before giving up (default 60); then exits 1
# WAIT_INTERVAL  seconds between polls (default 1)
#
# POSIX sh on purpose (runs in slim and busybox images). No jq: the answer is read with
# grep/tr. Fetches with curl or wget, whichever exists, else with node.
set -eu

prog=wait-for-grid

usage() {
  echo "usage: $prog.sh URL [-- command [args...]]  (WAIT_TIMEOUT=${WAIT_TIMEOUT:-60} s)" >&2
  exit 2
}

[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; esac
base_url=${1%/}
shift
if [ $# -gt 0 ]; then
  [ "$1" = "--" ] || usage
  shift
fi

timeout=${WAIT_TIMEOUT:-60}
interval=${WAIT_INTERVAL:-1}
case $timeout in ''|*[!0-9]*) echo "$prog: WAIT_TIMEOUT must be whole seconds, got '$timeout'" >&2; exit 2 ;; esac
case $interval in ''|*[!0-9]*) echo "$prog: WAIT_INTERVAL must be whole seconds, got '$interval'" >&2; exit 2 ;; esac
status_url=$base_url/status

# fetch URL: prints the body on stdout; fails on a connection error or an HTTP error.
if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsS --max-time 5 "$1" 2>&1; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -T 5 -O - "$1" 2>&1; }
elif command -v node >/dev/null 2>&1; then
  fetch() {
    node -e 'fetch(process.argv[1],{signal:AbortSignal.timeout(5000)})
      .then(async r=>{const t=await r.text();process.stdout.write(t);process.exit(r.ok?0:1)},
            e=>{process.stdout.write(String(e.cause&&e.cause.code||e.message));process.exit(1)})' "$1"
  }
else
  echo "$prog: need curl, wget or node to poll $status_url" >&2
  exit 2
fi

# ready BODY: true when the JSON has "ready": true (whitespace and line breaks tolerated).
is_ready() {
  printf '%s' "$1" | tr -d '\r\n' | grep -Eq '"ready"[[:space:]]*:[[:space:]]*true'
}

now() { date +%s; }
deadline=$(( $(now) + timeout ))
last="no answer yet"
echo "$prog: waiting up to ${timeout}s for $status_url" >&2
while :; do
  if body=$(fetch "$status_url"); then
    if is_ready "$body"; then
      echo "$prog: $base_url is ready" >&2
      break
    fi
    last="not ready: $(printf '%s' "$body" | tr -d '\r\n' | cut -c1-200)"
  else
    last="unreachable: $(printf '%s' "$body" | tr -d '\r\n' | cut -c1-200)"
  fi
  if [ "$(now)" -ge "$deadline" ]; then
    echo "$prog: timed out after ${timeout}s waiting for $status_url ($last)" >&2
    exit 1
  fi
  sleep "$interval"
done

[ $# -gt 0 ] || exit 0
exec "$@"
