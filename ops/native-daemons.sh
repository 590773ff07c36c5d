#!/usr/bin/env bash
# ops/native-daemons.sh: THE one place that knows how to run each part of the stack
# natively (Debian packages and the npm statsd daemon, no Docker).
#
#   ops/native-daemons.sh start  NAME...   start in the background, wait until it answers
#   ops/native-daemons.sh stop   NAME...   stop exactly the process `start` started, wait until its ports are free
#   ops/native-daemons.sh restart NAME...
#   ops/native-daemons.sh status [NAME...] one line each: running/answering, pid, URL (exit 1 if a named one is down)
#   ops/native-daemons.sh url NAME         the URL (or udp:// / tcp:// address) a client uses
#   ops/native-daemons.sh config prometheus   print the generated prometheus.yml
#   ops/native-daemons.sh config alertmanager print the rendered alertmanager.yml (it may hold the Telegram token)
#   ops/native-daemons.sh list             the names below
#
# Names: prometheus node-exporter carbon graphite-web statsd influxdb victoria-metrics
#        pushgateway alertmanager, and the project's own services iss-sim worker scraper backend
#        (`./runner.sh <svc>` with PORT set; worker = worker-prometheus).
#
# Everything lives under STATE_DIR (default <repo>/.state):
#   run/NAME.pid   "PID STARTTIME" (the start time guards against a reused pid)
#   logs/NAME.log  stdout+stderr of the daemon, appended across restarts
#   NAME/          its data and generated config
# Configs come from the repo (prometheus/, graphite/); only hosts, ports and paths
# are rewritten into the state dir.
#
# Environment (defaults = CONTRACT section 1 ports):
#   STATE_DIR, BIND_ADDRESS (127.0.0.1), READY_TIMEOUT (90 s), STOP_TIMEOUT (30 s)
#   PROMETHEUS_PORT 9090, NODE_EXPORTER_PORT 9100, GRAPHITE_WEB_PORT 18000,
#   CARBON_PORT 2003 (plaintext), CARBON_PICKLE_PORT 2004, CARBON_QUERY_PORT 7002,
#   STATSD_PORT 8125 (udp), STATSD_MGMT_PORT 8126, INFLUXDB_PORT 8086, INFLUXDB_RPC_PORT 8088,
#   INFLUXDB_DATABASE (INFLUX_DATABASE or pyexample; created at start), VICTORIA_METRICS_PORT 8428,
#   PUSHGATEWAY_PORT 9091, ALERTMANAGER_PORT 9093, ISS_SIM_PORT 8999, WORKER_PORT 8000, SCRAPER_PORT 8001, BACKEND_PORT 8998
#   Prometheus: PROMETHEUS_SCRAPE_INTERVAL (scrape and rule evaluation interval; default: the file's 15s),
#   PROMETHEUS_RETENTION (15d), PROMETHEUS_TARGETS ("job=host:port[,host:port][;job2=...]": replaces
#   every scrape job of prometheus/prometheus.yml with exactly these; default: the file's jobs with
#   their compose hostnames rewritten to 127.0.0.1 and the ports above), PROMETHEUS_REMOTE_WRITE_URL
#   (unset; else a remote_write target: prometheus/remote-write.sh), PROMETHEUS_RULES_DIR (the
#   rule files loaded, default prometheus/rules; tests load a copy with short `for:` durations).
#   Alertmanager: its config is alertmanager/alertmanager.yml rendered by alertmanager/render.sh
#   from the ALERT_* variables (docs/alerting.md); ALERT_BACKEND_URL defaults to this backend's port.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR=${STATE_DIR:-$ROOT/.state}
BIND_ADDRESS=${BIND_ADDRESS:-127.0.0.1}
READY_TIMEOUT=${READY_TIMEOUT:-90}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}

PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
NODE_EXPORTER_PORT=${NODE_EXPORTER_PORT:-9100}
GRAPHITE_WEB_PORT=${GRAPHITE_WEB_PORT:-18000}
CARBON_PORT=${CARBON_PORT:-2003}
CARBON_PICKLE_PORT=${CARBON_PICKLE_PORT:-2004}
CARBON_QUERY_PORT=${CARBON_QUERY_PORT:-7002}
STATSD_PORT=${STATSD_PORT:-8125}
STATSD_MGMT_PORT=${STATSD_MGMT_PORT:-8126}
INFLUXDB_PORT=${INFLUXDB_PORT:-8086}
INFLUXDB_RPC_PORT=${INFLUXDB_RPC_PORT:-8088}
INFLUXDB_DATABASE=${INFLUXDB_DATABASE:-${INFLUX_DATABASE:-pyexample}}
VICTORIA_METRICS_PORT=${VICTORIA_METRICS_PORT:-8428}
PUSHGATEWAY_PORT=${PUSHGATEWAY_PORT:-9091}
ALERTMANAGER_PORT=${ALERTMANAGER_PORT:-9093}
ISS_SIM_PORT=${ISS_SIM_PORT:-8999}
WORKER_PORT=${WORKER_PORT:-8000}
SCRAPER_PORT=${SCRAPER_PORT:-8001}
BACKEND_PORT=${BACKEND_PORT:-8998}

NAMES=(prometheus node-exporter carbon graphite-web statsd influxdb victoria-metrics pushgateway
       alertmanager iss-sim worker scraper backend)

# Clients connect here; a wildcard bind is still reached through loopback.
case $BIND_ADDRESS in 0.0.0.0 | '') HOST=127.0.0.1 ;; *) HOST=$BIND_ADDRESS ;; esac

# Debian's interpreter: the python3 first on PATH may be another build without Django.
PYTHON=/usr/bin/python3

say() { echo "native-daemons: $*" >&2; }
die() { say "error: $*"; exit 1; }

known() { local n; for n in "${NAMES[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
pid_file() { echo "$STATE_DIR/run/$1.pid"; }
log_file() { echo "$STATE_DIR/logs/$1.log"; }
data_dir() { echo "$STATE_DIR/$1"; }

# ---------------------------------------------------------------- processes

# Field 22 of /proc/PID/stat (start time in clock ticks); fails for a dead or zombie pid.
proc_start_time() {
  local stat fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  read -r -a fields <<<"${stat##*) }"   # after "pid (comm) ": state is field 3
  [ "${fields[0]}" != Z ] || return 1
  echo "${fields[19]}"
}

# Prints the pid of NAME if the process that `start` recorded is still alive.
running_pid() {
  local file pid start now
  file=$(pid_file "$1")
  [ -f "$file" ] || return 1
  read -r pid start <"$file" || return 1
  now=$(proc_start_time "$pid") || return 1
  [ "$now" = "$start" ] || return 1
  echo "$pid"
}

tcp_ports() {
  case $1 in
    prometheus) echo "$PROMETHEUS_PORT" ;;
    node-exporter) echo "$NODE_EXPORTER_PORT" ;;
    carbon) echo "$CARBON_PORT $CARBON_PICKLE_PORT $CARBON_QUERY_PORT" ;;
    graphite-web) echo "$GRAPHITE_WEB_PORT" ;;
    statsd) echo "$STATSD_MGMT_PORT" ;;
    influxdb) echo "$INFLUXDB_PORT $INFLUXDB_RPC_PORT" ;;
    victoria-metrics) echo "$VICTORIA_METRICS_PORT" ;;
    pushgateway) echo "$PUSHGATEWAY_PORT" ;;
    alertmanager) echo "$ALERTMANAGER_PORT" ;;
    iss-sim) echo "$ISS_SIM_PORT" ;;
    worker) echo "$WORKER_PORT" ;;
    scraper) echo "$SCRAPER_PORT" ;;
    backend) echo "$BACKEND_PORT" ;;
  esac
}
udp_ports() { if [ "$1" = statsd ]; then echo "$STATSD_PORT"; fi; }

tcp_listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
udp_bound() { [ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]; }

ports_in_use() {
  local p busy=()
  for p in $(tcp_ports "$1"); do tcp_listening "$p" && busy+=("$p/tcp"); done
  for p in $(udp_ports "$1"); do udp_bound "$p" && busy+=("$p/udp"); done
  echo "${busy[*]}"
}

http_ok() { curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null; }

url_of() {
  case $1 in
    prometheus) echo "http://$HOST:$PROMETHEUS_PORT" ;;
    node-exporter) echo "http://$HOST:$NODE_EXPORTER_PORT/metrics" ;;
    carbon) echo "tcp://$HOST:$CARBON_PORT" ;;
    graphite-web) echo "http://$HOST:$GRAPHITE_WEB_PORT" ;;
    statsd) echo "udp://$HOST:$STATSD_PORT" ;;
    influxdb) echo "http://$HOST:$INFLUXDB_PORT" ;;
    victoria-metrics) echo "http://$HOST:$VICTORIA_METRICS_PORT" ;;
    pushgateway) echo "http://$HOST:$PUSHGATEWAY_PORT" ;;
    alertmanager) echo "http://$HOST:$ALERTMANAGER_PORT" ;;
    iss-sim) echo "http://$HOST:$ISS_SIM_PORT/iss" ;;
    worker) echo "http://$HOST:$WORKER_PORT" ;;
    scraper) echo "http://$HOST:$SCRAPER_PORT" ;;
    backend) echo "http://$HOST:$BACKEND_PORT" ;;
  esac
}

# StatsD answers "health: up" on its management port.
statsd_healthy() {
  local reply
  # shellcheck disable=SC2016 # $0/$1 expand in the inner shell
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "health\n" >&3 && head -n 1 <&3' \
    "$HOST" "$STATSD_MGMT_PORT" 2>/dev/null) || return 1
  [[ $reply == "health: up"* ]]
}

# True when NAME answers as its clients need it.
answers() {
  case $1 in
    prometheus) http_ok "http://$HOST:$PROMETHEUS_PORT/-/ready" ;;
    node-exporter) http_ok "http://$HOST:$NODE_EXPORTER_PORT/metrics" ;;
    carbon) tcp_listening "$CARBON_PORT" && tcp_listening "$CARBON_QUERY_PORT" ;;
    graphite-web) http_ok "http://$HOST:$GRAPHITE_WEB_PORT/metrics/find?query=*" ;;
    statsd) udp_bound "$STATSD_PORT" && statsd_healthy ;;
    influxdb) http_ok "http://$HOST:$INFLUXDB_PORT/ping" ;;
    victoria-metrics) http_ok "http://$HOST:$VICTORIA_METRICS_PORT/health" ;;
    pushgateway) http_ok "http://$HOST:$PUSHGATEWAY_PORT/-/ready" ;;
    alertmanager) http_ok "http://$HOST:$ALERTMANAGER_PORT/-/ready" ;;
    iss-sim) http_ok "http://$HOST:$ISS_SIM_PORT/healthz" ;;
    worker) http_ok "http://$HOST:$WORKER_PORT/healthz" ;;
    scraper) http_ok "http://$HOST:$SCRAPER_PORT/healthz" ;;
    backend) http_ok "http://$HOST:$BACKEND_PORT/healthz" ;;
  esac
}

# ---------------------------------------------------------------- configs

# prometheus/prometheus.yml with absolute rule paths, 127.0.0.1 targets (Alertmanager's too) and,
# when asked, another interval or another set of scrape jobs.
prometheus_config() {
  local src=$ROOT/prometheus/prometheus.yml
  local rules_dir=${PROMETHEUS_RULES_DIR:-$ROOT/prometheus/rules}
  local sed_args=(
    -e "s#^\([[:space:]]*-[[:space:]]*\)rules/#\1${rules_dir%/}/#"
    -e "s#\blocalhost:9090\b#$HOST:$PROMETHEUS_PORT#"
    -e "s#\balertmanager:9093\b#$HOST:$ALERTMANAGER_PORT#"
    -e "s#\bnode-exporter:9100\b#$HOST:$NODE_EXPORTER_PORT#"
    -e "s#\bworker-prometheus:8000\b#$HOST:$WORKER_PORT#"
    -e "s#\bscraper:8001\b#$HOST:$SCRAPER_PORT#"
    -e "s#\bbackend:8998\b#$HOST:$BACKEND_PORT#"
  )
  if [ -n "${PROMETHEUS_SCRAPE_INTERVAL:-}" ]; then
    [[ $PROMETHEUS_SCRAPE_INTERVAL =~ ^[0-9]+(ms|s|m|h)$ ]] ||
      die "PROMETHEUS_SCRAPE_INTERVAL must be a duration like 1s or 15s, got '$PROMETHEUS_SCRAPE_INTERVAL'"
    sed_args+=(-e "s#^\(  scrape_interval:\).*#\1 $PROMETHEUS_SCRAPE_INTERVAL#"
               -e "s#^\(  evaluation_interval:\).*#\1 $PROMETHEUS_SCRAPE_INTERVAL#")
  fi
  if [ -z "${PROMETHEUS_TARGETS:-}" ]; then
    sed "${sed_args[@]}" "$src"
    sh "$ROOT/prometheus/remote-write.sh"
    return
  fi
  sed "${sed_args[@]}" -e '/^scrape_configs:/,$d' "$src"
  echo "scrape_configs:"
  local job_spec job targets target list job_specs target_list joined
  IFS=';' read -r -a job_specs <<<"$PROMETHEUS_TARGETS"
  for job_spec in "${job_specs[@]}"; do
    [ -n "$job_spec" ] || continue
    job=${job_spec%%=*}
    targets=${job_spec#*=}
    [[ $job_spec == *=* && $job =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]] ||
      die "PROMETHEUS_TARGETS: '$job_spec' is not job=host:port[,host:port]"
    list=()
    IFS=',' read -r -a target_list <<<"$targets"
    for target in "${target_list[@]}"; do
      [[ $target =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] || die "PROMETHEUS_TARGETS: '$target' is not host:port"
      list+=("\"$target\"")
    done
    [ ${#list[@]} -gt 0 ] || die "PROMETHEUS_TARGETS: job '$job' has no targets"
    joined=$(IFS=','; echo "${list[*]}")
    printf '  - job_name: "%s"\n    static_configs:\n      - targets: [%s]\n' "$job" "$joined"
  done
  sh "$ROOT/prometheus/remote-write.sh"
}

prepare_prometheus() {
  local d; d=$(data_dir prometheus)
  mkdir -p "$d/data"
  prometheus_config >"$d/prometheus.yml"
  local check
  check=$(promtool check config "$d/prometheus.yml" 2>&1) || die "generated $d/prometheus.yml is invalid:
$check"
  CMD=(prometheus "--config.file=$d/prometheus.yml" "--storage.tsdb.path=$d/data"
       "--storage.tsdb.retention.time=${PROMETHEUS_RETENTION:-15d}"
       "--web.listen-address=$BIND_ADDRESS:$PROMETHEUS_PORT" --web.enable-lifecycle)
}

prepare_node-exporter() {
  CMD=(prometheus-node-exporter "--web.listen-address=$BIND_ADDRESS:$NODE_EXPORTER_PORT")
  # Debian enables the systemd collector; without systemd (containers) it logs an error per scrape.
  [ -S /run/systemd/private ] || CMD+=(--no-collector.systemd)
}

# carbon.conf is generated (paths, ports); storage-schemas.conf and
# storage-aggregation.conf are read straight from graphite/carbon/.
prepare_carbon() {
  local d; d=$(data_dir carbon)
  mkdir -p "$d/storage/whisper" "$d/storage/lists" "$d/log" "$d/run"
  cat >"$d/carbon.conf" <<EOF
# Generated by ops/native-daemons.sh; edit the script, not this file.
[cache]
STORAGE_DIR = $d/storage/
LOCAL_DATA_DIR = $d/storage/whisper/
WHITELISTS_DIR = $d/storage/lists/
CONF_DIR = $ROOT/graphite/carbon/
LOG_DIR = $d/log/
PID_DIR = $d/run/
DATABASE = whisper
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 500
# Every new series is created at once (MOEX_TICKERS=ALL makes thousands); the
# files are sparse, so creating them is cheap.
MAX_CREATES_PER_MINUTE = inf
WHISPER_SPARSE_CREATE = True
LINE_RECEIVER_INTERFACE = $BIND_ADDRESS
LINE_RECEIVER_PORT = $CARBON_PORT
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = $BIND_ADDRESS
PICKLE_RECEIVER_PORT = $CARBON_PICKLE_PORT
# graphite-web reads points still in the cache here (CARBONLINK_HOSTS).
CACHE_QUERY_INTERFACE = $BIND_ADDRESS
CACHE_QUERY_PORT = $CARBON_QUERY_PORT
USE_FLOW_CONTROL = True
CACHE_WRITE_STRATEGY = sorted
LOG_UPDATES = False
LOG_CREATES = True
LOG_CACHE_HITS = False
LOG_LISTENER_CONN_SUCCESS = False
CARBON_METRIC_INTERVAL = 60
# Tags would make carbon POST every new series to graphite-web on :80.
ENABLE_TAGS = False
EOF
  CMD=(carbon-cache "--config=$d/carbon.conf" --nodaemon start)
}

# graphite-web under gunicorn with a private settings module (the package's
# own local_settings in /etc/graphite points at /var/lib/graphite).
prepare_graphite-web() {
  local d carbon_storage secret
  d=$(data_dir graphite-web)
  carbon_storage=$(data_dir carbon)/storage
  mkdir -p "$d/settings" "$d/log" "$d/conf" "$carbon_storage/whisper"
  [ -s "$d/secret" ] || od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$d/secret"
  secret=$(cat "$d/secret")
  cat >"$d/settings/moex_graphite_settings.py" <<EOF
# Generated by ops/native-daemons.sh; edit the script, not this file.
SECRET_KEY = '$secret'
ALLOWED_HOSTS = ['*']
TIME_ZONE = 'UTC'
GRAPHITE_ROOT = '/usr/share/graphite-web'
STATIC_ROOT = '/usr/share/graphite-web/static'
CONF_DIR = '$d/conf'
STORAGE_DIR = '$carbon_storage'
WHISPER_DIR = '$carbon_storage/whisper'
STANDARD_DIRS = ['$carbon_storage/whisper']
LOG_DIR = '$d/log'
INDEX_FILE = '$d/index'
DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': '$d/graphite.db'}}
# Points carbon has received but not yet written are read from its cache.
CARBONLINK_HOSTS = ['$HOST:$CARBON_QUERY_PORT']
# Fresh data at every request: no render/find caching (small local data).
DEFAULT_CACHE_DURATION = 0
FIND_CACHE_DURATION = 0
LOG_ROTATION = False
LOG_RENDERING_PERFORMANCE = False
LOG_CACHE_PERFORMANCE = False
LOG_INFO_PERFORMANCE = False
DEFAULT_XFILES_FACTOR = 0
FUNCTION_PLUGINS = []
EOF
  GRAPHITE_ENV=(PYTHONPATH="$d/settings" GRAPHITE_SETTINGS_MODULE=moex_graphite_settings
                DJANGO_SETTINGS_MODULE=graphite.settings)
  if [ ! -s "$d/graphite.db" ]; then
    say "graphite-web: creating its database"
    env "${GRAPHITE_ENV[@]}" "$PYTHON" /usr/bin/graphite-manage migrate --noinput \
      >>"$(log_file graphite-web)" 2>&1 || die "graphite-web migrate failed, see $(log_file graphite-web)"
  fi
  CMD=(env "${GRAPHITE_ENV[@]}" "$PYTHON" -m gunicorn --bind "$BIND_ADDRESS:$GRAPHITE_WEB_PORT"
       --workers 2 --timeout 60 --chdir "$d" --error-logfile - graphite.wsgi:application)
}

# graphite/statsd/config.js with only the addresses and ports replaced.
prepare_statsd() {
  local d daemon
  d=$(data_dir statsd)
  daemon=$ROOT/node_modules/statsd/stats.js
  [ -f "$daemon" ] || die "statsd daemon not found at $daemon; run npm ci first"
  mkdir -p "$d"
  {
    echo "// Generated by ops/native-daemons.sh from graphite/statsd/config.js (addresses and ports replaced)."
    echo "Object.assign("
    cat "$ROOT/graphite/statsd/config.js"
    echo ", {"
    echo "  graphiteHost: \"$HOST\", graphitePort: $CARBON_PORT,"
    echo "  address: \"$BIND_ADDRESS\", port: $STATSD_PORT,"
    echo "  mgmt_address: \"$BIND_ADDRESS\", mgmt_port: $STATSD_MGMT_PORT"
    echo "})"
  } >"$d/config.js"
  node -e 'const fs=require("fs"); let config; eval("config = " + fs.readFileSync(process.argv[1], "utf8"))' \
    "$d/config.js" || die "generated $d/config.js does not evaluate"
  # statsd renames its process (process.title): the pid file is the only handle on it.
  CMD=(node "$daemon" "$d/config.js")
}

# A minimal influxdb.conf: paths and addresses; everything else keeps influxd's defaults.
prepare_influxdb() {
  local d; d=$(data_dir influxdb)
  mkdir -p "$d/meta" "$d/data" "$d/wal"
  cat >"$d/influxdb.conf" <<EOF
# Generated by ops/native-daemons.sh; edit the script, not this file.
bind-address = "$HOST:$INFLUXDB_RPC_PORT"
[meta]
  dir = "$d/meta"
[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "$BIND_ADDRESS:$INFLUXDB_PORT"
  log-enabled = false
EOF
  CMD=(influxd -config "$d/influxdb.conf")
}

after_start_influxdb() {
  local reply
  reply=$(curl -fsS --max-time 10 -XPOST "http://$HOST:$INFLUXDB_PORT/query" \
    --data-urlencode "q=CREATE DATABASE \"$INFLUXDB_DATABASE\"") ||
    die "influxdb: CREATE DATABASE $INFLUXDB_DATABASE failed"
  [[ $reply != *'"error"'* ]] || die "influxdb: CREATE DATABASE $INFLUXDB_DATABASE: $reply"
}

prepare_victoria-metrics() {
  local d; d=$(data_dir victoria-metrics)
  mkdir -p "$d"
  CMD=(victoria-metrics "-storageDataPath=$d" "-httpListenAddr=$BIND_ADDRESS:$VICTORIA_METRICS_PORT"
       "-retentionPeriod=${VICTORIA_METRICS_RETENTION:-1}")
}

prepare_pushgateway() {
  local d; d=$(data_dir pushgateway)
  mkdir -p "$d"
  CMD=(prometheus-pushgateway "--web.listen-address=$BIND_ADDRESS:$PUSHGATEWAY_PORT"
       "--persistence.file=$d/metrics")
}

# alertmanager/alertmanager.yml rendered with the ALERT_* receivers and checked by amtool; on a bad
# setting render.sh prints one line naming the variable and exits 2.
render_alertmanager_config() {
  ALERT_BACKEND_URL=${ALERT_BACKEND_URL:-http://$HOST:$BACKEND_PORT/api/alerts} "$ROOT/alertmanager/render.sh" "$1"
}

# The cluster port is off: one Alertmanager, no gossip on :9094.
prepare_alertmanager() {
  local d; d=$(data_dir alertmanager)
  mkdir -p "$d/data"
  render_alertmanager_config "$d/alertmanager.yml" || exit 2
  CMD=(prometheus-alertmanager "--config.file=$d/alertmanager.yml" "--storage.path=$d/data"
       "--web.listen-address=$BIND_ADDRESS:$ALERTMANAGER_PORT" "--web.external-url=http://$HOST:$ALERTMANAGER_PORT"
       --cluster.listen-address=)
}

# The project's services: `./runner.sh <svc>` in the foreground, PORT set; the rest
# of their configuration is the caller's environment (CONTRACT section 2).
prepare_service() {
  local svc=$1 port=$2
  mkdir -p "$(data_dir "$svc")"
  CMD=(env "PORT=$port" "$ROOT/runner.sh" "$svc")
}
prepare_iss-sim() { prepare_service iss-sim "$ISS_SIM_PORT"; }
prepare_worker() { prepare_service worker "$WORKER_PORT"; }
prepare_scraper() { prepare_service scraper "$SCRAPER_PORT"; }
prepare_backend() { prepare_service backend "$BACKEND_PORT"; }

# ---------------------------------------------------------------- commands

# The command each daemon needs and the Debian package that has it.
requirement() {
  case $1 in
    prometheus) echo "prometheus prometheus" ;;
    node-exporter) echo "prometheus-node-exporter prometheus-node-exporter" ;;
    carbon) echo "carbon-cache graphite-carbon" ;;
    graphite-web) echo "graphite-manage graphite-web" ;;
    influxdb) echo "influxd influxdb" ;;
    victoria-metrics) echo "victoria-metrics victoria-metrics" ;;
    pushgateway) echo "prometheus-pushgateway prometheus-pushgateway" ;;
    alertmanager) echo "prometheus-alertmanager prometheus-alertmanager" ;;
    *) echo "node nodejs" ;;
  esac
}

check_requirements() {
  local cmd pkg tool
  read -r cmd pkg < <(requirement "$1")
  command -v "$cmd" >/dev/null 2>&1 ||
    die "$1: '$cmd' not found; install it: ops/ensure-debian-packages.sh $pkg (./runner.sh local up does)"
  for tool in curl ss setsid timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; install it: ops/ensure-debian-packages.sh curl iproute2 util-linux coreutils"
  done
  if [ "$1" = graphite-web ] && ! "$PYTHON" -c 'import gunicorn' 2>/dev/null; then
    die "graphite-web: gunicorn missing for $PYTHON; install it: ops/ensure-debian-packages.sh python3-gunicorn"
  fi
}

start_one() {
  local name=$1 pid busy log
  if pid=$(running_pid "$name"); then
    say "$name already running (pid $pid) at $(url_of "$name")"
    return 0
  fi
  check_requirements "$name"
  busy=$(ports_in_use "$name")
  [ -z "$busy" ] || die "$name: port(s) $busy already in use by another process"
  mkdir -p "$STATE_DIR/run" "$STATE_DIR/logs"
  log=$(log_file "$name")
  echo "=== $(date -u +%FT%TZ) start $name" >>"$log"
  CMD=()
  "prepare_$name"
  # setsid: its own session and process group, so it outlives the caller's
  # terminal and `stop` can reach a child it leaves behind (gunicorn workers).
  (cd "$ROOT" && exec setsid "${CMD[@]}" </dev/null >>"$log" 2>&1) &
  pid=$!
  echo "$pid $(proc_start_time "$pid" || echo 0)" >"$(pid_file "$name")"
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ! answers "$name"; do
    if ! running_pid "$name" >/dev/null; then
      rm -f "$(pid_file "$name")"
      say "$name exited during start; last lines of $log:"
      tail -n 25 "$log" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$name did not answer within ${READY_TIMEOUT}s; stopping it. Last lines of $log:"
      tail -n 25 "$log" >&2
      stop_one "$name" >/dev/null 2>&1 || true
      exit 1
    fi
    sleep 0.25
  done
  if declare -F "after_start_$name" >/dev/null; then "after_start_$name"; fi
  say "$name started (pid $pid) at $(url_of "$name"), log $log"
}

stop_one() {
  local name=$1 pid file deadline
  file=$(pid_file "$name")
  if ! pid=$(running_pid "$name"); then
    rm -f "$file"
    say "$name not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while running_pid "$name" >/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$name (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.25
  done
  # A child it left behind (a gunicorn worker) still holding a port: it is in the
  # process group `start` created with setsid, and only such children are.
  deadline=$((SECONDS + 10))
  while [ -n "$(ports_in_use "$name")" ]; do
    [ "$SECONDS" -lt "$((deadline - 8))" ] || kill -TERM -- "-$pid" 2>/dev/null || true
    [ "$SECONDS" -lt "$((deadline - 3))" ] || kill -KILL -- "-$pid" 2>/dev/null || true
    [ "$SECONDS" -lt "$deadline" ] || die "$name stopped but port(s) $(ports_in_use "$name") are still in use"
    sleep 0.25
  done
  rm -f "$file"
  say "$name stopped"
}

status_one() {
  local name=$1 pid
  if pid=$(running_pid "$name"); then
    if answers "$name"; then
      printf '%-17s up        pid %-8s %s\n' "$name" "$pid" "$(url_of "$name")"
      return 0
    fi
    printf '%-17s NOT ANSWERING pid %-4s %s (log %s)\n' "$name" "$pid" "$(url_of "$name")" "$(log_file "$name")"
    return 1
  fi
  printf '%-17s stopped   %-12s %s\n' "$name" "" "$(url_of "$name")"
  return 1
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

main() {
  local cmd=${1:-help} name rc=0
  [ $# -gt 0 ] && shift
  for name in "$@"; do known "$name" || die "unknown daemon '$name' (known: ${NAMES[*]})"; done
  case $cmd in
    start) [ $# -gt 0 ] || die "start: name a daemon"; for name in "$@"; do start_one "$name"; done ;;
    stop) [ $# -gt 0 ] || die "stop: name a daemon"; for name in "$@"; do stop_one "$name"; done ;;
    restart) [ $# -gt 0 ] || die "restart: name a daemon"
      for name in "$@"; do stop_one "$name"; start_one "$name"; done ;;
    status)
      if [ $# -eq 0 ]; then
        for name in "${NAMES[@]}"; do status_one "$name" || true; done
      else
        for name in "$@"; do status_one "$name" || rc=1; done
      fi
      return "$rc" ;;
    url) [ $# -eq 1 ] || die "url: name one daemon"; url_of "$1" ;;
    config)
      case ${1:-} in
        prometheus) prometheus_config ;;
        alertmanager)
          local tmp; tmp=$(mktemp -d)
          render_alertmanager_config "$tmp/alertmanager.yml" || { rm -rf "$tmp"; exit 2; }
          cat "$tmp/alertmanager.yml"; rm -rf "$tmp" ;;
        *) die "config: only 'prometheus' and 'alertmanager' have a generated config to print" ;;
      esac ;;
    list) printf '%s\n' "${NAMES[@]}" ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
