#!/usr/bin/env bash
# ops/containers.sh up [--demo] [--scale] | down [-v] | status | e2e | compose ARGS...   (./runner.sh containers ...)
#
# Runs docker-compose.yml itself, in containers, on whatever engine the machine has:
#   - Docker when `docker info` answers: the pinned images are pulled as usual;
#   - else Podman (Debian's), driven by docker-compose through Podman's Docker-compatible API
#     socket, with its own config and socket under STATE_DIR/containers (nothing system-wide
#     is changed; images go to Podman's default store, where they serve as a cache).
# When a pinned third-party image can be neither found nor pulled, every third-party service
# runs a stand-in built here from Debian packages (containers/*/Containerfile, labelled
# "stand-in ..."), through containers/compose.standins.yml, which swaps only image/build args
# (and the scraper's INFLUX_API=v1: Debian's InfluxDB 1.6 has no /api/v2/write). Our own image is
# built from our Dockerfile with NODE_IMAGE set to a Node stand-in. Grafana cannot be built
# here: it is then left out, and `status` says so.
#
#   up [--demo] [--scale]
#                 writes .env and secrets/ with ops/secrets.sh when they are missing
#                 (never overwrites one), builds what is missing, starts every service (with
#                 --demo: the iss-sim profile, and MOEX_ISS_URL points at it; with --scale: the
#                 scale profile, WORKER_SHARDS (2) worker-shard replicas and VictoriaMetrics,
#                 which Prometheus remote-writes to), waits for health
#   down [-v]     removes the containers and networks (-v: the named volumes too) and stops
#                 the Podman service and health loop this script started
#   status        engine, stand-ins, each service's state and health; exit 1 if one is not healthy
#   e2e           the e2e profile: Selenium (stand-in) + `./runner.sh e2e` in the dev image
#   compose ARGS  docker-compose with this stack's files, env file and engine (logs, ps, stop...)
#
# Settings: STATE_DIR (default <repo>/.state), ENV_FILE (default <repo>/.env),
# COMPOSE_PROJECT_NAME (default: the repo folder's name, as compose derives it),
# UP_TIMEOUT (s, default 300), HEALTH_INTERVAL (s between health runs, default 5).
# Podman's settings and gotchas: /work/shared/NATIVE-DAEMONS.md ("Containers for real").
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR=${STATE_DIR:-$ROOT/.state}
CDIR=$STATE_DIR/containers
ENV_FILE=${ENV_FILE:-$ROOT/.env}
UP_TIMEOUT=${UP_TIMEOUT:-300}
HEALTH_INTERVAL=${HEALTH_INTERVAL:-5}
COMPOSE_FILE_MAIN=$ROOT/docker-compose.yml
STANDINS_FILE=$ROOT/containers/compose.standins.yml
default_project=$(basename "$ROOT" | tr '[:upper:]' '[:lower:]' | tr -cd 'a-z0-9_-')
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-$default_project}
# The stand-ins' names; each is built from containers/<dir>/Containerfile.
STANDIN_REPO=localhost/moex-standin
BASE_IMAGE=$STANDIN_REPO/bookworm:base
NODE_STANDIN=$STANDIN_REPO/node:bookworm
# compose service -> stand-in folder (third-party images only; grafana has none).
declare -A STANDIN_DIR=([prometheus]=prometheus [node-exporter]=node-exporter [alertmanager]=alertmanager
                        [graphite]=graphite-statsd [influxdb]=influxdb [selenium]=selenium
                        [victoria-metrics]=victoria-metrics)
OUR_SERVICES=(worker-prometheus worker-shard scraper backend iss-sim e2e)

say() { echo "containers: $*" >&2; }
die() { say "$*"; exit 1; }

# --- engine -----------------------------------------------------------------------------------

# Podman's own settings for this machine kind: runc (crun fails on hybrid cgroups), cgroupfs
# (no systemd), no default ulimits (the hard open-files limit is below Podman's default).
write_podman_conf() {
  mkdir -p "$CDIR"
  cat >"$CDIR/containers.conf" <<'EOF'
# Written by ops/containers.sh (see its header); used through CONTAINERS_CONF.
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
EOF
}

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

socket_answers() { curl -fsS --max-time 5 --unix-socket "$CDIR/podman.sock" http://d/_ping >/dev/null 2>&1; }

start_podman_service() {
  "$ROOT/ops/ensure-debian-packages.sh" podman runc catatonit netavark aardvark-dns iptables docker-compose curl mmdebstrap
  write_podman_conf
  if pid_alive "$CDIR/podman-service.pid" && socket_answers; then return; fi
  rm -f "$CDIR/podman.sock"
  setsid podman system service --time=0 "unix://$CDIR/podman.sock" >"$CDIR/podman-service.log" 2>&1 </dev/null &
  echo $! >"$CDIR/podman-service.pid"
  for _ in $(seq 50); do socket_answers && return; sleep 0.2; done
  die "the Podman API service did not answer on $CDIR/podman.sock (log: $CDIR/podman-service.log)"
}

# Sets ENGINE (docker|podman) and exports what compose and the CLI need. `up` decides and
# records it; the other commands reuse the record.
select_engine() {
  local recorded=
  [ -s "$CDIR/engine" ] && recorded=$(cat "$CDIR/engine")
  if [ "$recorded" = podman ] || { [ -z "$recorded" ] && ! timeout 10 docker info >/dev/null 2>&1; }; then
    ENGINE=podman
    export CONTAINERS_CONF=$CDIR/containers.conf
    export DOCKER_HOST=unix://$CDIR/podman.sock
  else
    ENGINE=docker
  fi
}

cli() { if [ "$ENGINE" = podman ]; then podman "$@"; else docker "$@"; fi; }

# `up --scale`'s settings, for every later compose call (a `compose up` without them would
# recreate Prometheus without the shards' job).
load_scale_env() {
  # shellcheck source=/dev/null  # written by up --scale
  if [ -s "$CDIR/scale.env" ]; then set -a; . "$CDIR/scale.env"; set +a; fi
}

# docker-compose with the stack's files: the main file, plus the stand-ins when they are in use.
compose() {
  local files=(-f "$COMPOSE_FILE_MAIN") file
  if [ -e "$CDIR/standins" ]; then
    files+=(-f "$STANDINS_FILE")
    if [ -s "$CDIR/standins-extra" ]; then
      while read -r file; do files+=(-f "$file"); done <"$CDIR/standins-extra"
    fi
  fi
  load_scale_env
  local profile profiles=()
  if [ -s "$CDIR/profiles" ]; then
    for profile in $(<"$CDIR/profiles"); do profiles+=(--profile "$profile"); done
  fi
  local cmd=(docker-compose)
  if [ "$ENGINE" = docker ] && docker compose version >/dev/null 2>&1; then cmd=(docker compose); fi
  "${cmd[@]}" --project-directory "$ROOT" --env-file "$ENV_FILE" "${files[@]}" "${profiles[@]}" "$@"
}

# "service|image|profiles|published ports" for every service, from compose's own
# rendering of the main file (so anchors, variables and profiles are resolved as compose does).
service_table() {
  if [ -n "${SERVICE_TABLE:-}" ]; then printf '%s\n' "$SERVICE_TABLE"; return; fi
  docker-compose --project-directory "$ROOT" --env-file "$ENV_FILE" -f "$COMPOSE_FILE_MAIN" config |
    awk '
      function flush() { if (svc != "") printf "%s|%s|%s|%s\n", svc, image, profiles, ports; svc = image = profiles = ports = "" }
      /^services:/ { in_services = 1; next }
      /^[^ ]/ { if (in_services) flush(); in_services = 0 }
      !in_services { next }
      /^  [^ ].*:$/ { flush(); svc = $1; sub(/:$/, "", svc); key = ""; next }
      /^    [a-z_]+:/ { key = $1; sub(/:$/, "", key); if (key == "image") image = $2 }
      key == "profiles" && /^    - / { profiles = profiles (profiles == "" ? "" : ",") $2 }
      key == "ports" && /published:/ { p = $NF; gsub(/["\047]/, "", p); ports = ports (ports == "" ? "" : " ") p }
      END { if (in_services) flush() }'
}

# --- .env ---------------------------------------------------------------------------------------

# The secrets of a fresh install, as `./runner.sh secrets` writes them: .env (no passwords),
# secrets/ (passwords, the web config, the certificate); files that exist are kept.
ensure_env_file() {
  [ -e "$ENV_FILE" ] && [ -e "${SECRETS_DIR:-$ROOT/secrets}/web-config.yml" ] && return
  ENV_FILE=$ENV_FILE "$ROOT/ops/secrets.sh" >&2
  say "wrote the missing secrets with ops/secrets.sh (.env and secrets/, mode 600): see docs/security.md"
}

# --- images -------------------------------------------------------------------------------------

image_exists() { cli image inspect "$1" >/dev/null 2>&1; }

# The stand-in's input hash: its folder's files, its parent's hash, and (for the Node base) the
# host's Node runtime. An image with this hash in its label is up to date.
input_hash() {
  local dir=$1 parent_hash=$2
  { printf '%s\n' "$parent_hash"
    (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

label_of() { cli image inspect --format '{{index .Config.Labels "moex.standin.input"}}' "$1" 2>/dev/null || true; }

build_image() {
  local tag=$1 hash=$2 context=$3 description=$4; shift 4
  if [ "$(label_of "$tag")" = "$hash" ]; then return; fi
  say "building $tag ($description)"
  local format=()
  [ "$ENGINE" = podman ] && format=(--format docker)
  local start=$SECONDS
  local log=$CDIR/build-${tag//[^a-z0-9]/_}.log
  cli build "${format[@]}" -t "$tag" -f "$context/Containerfile" \
    --label "moex.standin.input=$hash" \
    --label "org.opencontainers.image.description=stand-in: $description" \
    "$@" "$context" >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "building $tag failed (log: $log)"; }
  say "built $tag in $((SECONDS - start)) s"
}

# A Debian bookworm root file system (mmdebstrap, no registry needed), imported as the base.
build_base() {
  local hash
  hash=$(printf 'bookworm minbase ca-certificates,curl,wget,passwd,libstdc++6\n' | sha256sum | cut -c1-16)
  BASE_HASH=$hash
  if [ "$(label_of "$BASE_IMAGE")" = "$hash" ]; then return; fi
  say "building $BASE_IMAGE from Debian bookworm with mmdebstrap (a few minutes, once)"
  local start=$SECONDS tar=$CDIR/bookworm-rootfs.tar
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,curl,wget,passwd,libstdc++6 \
    bookworm "$tar" >"$CDIR/mmdebstrap.log" 2>&1 || die "mmdebstrap failed (log: $CDIR/mmdebstrap.log)"
  cli import --change "LABEL moex.standin.input=$hash" \
    --change 'LABEL org.opencontainers.image.description="stand-in: Debian bookworm minbase (mmdebstrap)"' \
    --change 'CMD ["/bin/bash"]' "$tar" "$BASE_IMAGE" >>"$CDIR/mmdebstrap.log" 2>&1
  rm -f "$tar"
  say "built $BASE_IMAGE in $((SECONDS - start)) s"
}

# The Node stand-in: the host's Node runtime and npm, and the CA bundle the host trusts.
build_node_base() {
  local ctx=$CDIR/node-context node_bin npm_dir ca
  node_bin=$(command -v node) || die "node not found: the Node stand-in copies the host's runtime"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$ROOT/containers/node/Containerfile" "$ctx/"
  cp "$node_bin" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  cp "$ca" "$ctx/ca-certificates.crt"
  NODE_HASH=$(input_hash "$ctx" "$BASE_HASH")
  build_image "$NODE_STANDIN" "$NODE_HASH" "$ctx" "Node $(node --version) from the host on Debian bookworm, for the pinned node image" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE"
  rm -rf "$ctx"
}

build_standin() {
  local service=$1 upstream=$2 dir=$ROOT/containers/${STANDIN_DIR[$1]}
  local parent=$BASE_IMAGE parent_hash=$BASE_HASH
  if [ "$service" = graphite ]; then parent=$NODE_STANDIN parent_hash=$NODE_HASH; fi
  build_image "$STANDIN_REPO/${STANDIN_DIR[$service]}:bookworm" "$(input_hash "$dir" "$parent_hash")" "$dir" \
    "$upstream from Debian packages (containers/${STANDIN_DIR[$service]})" --build-arg "BASE_IMAGE=$parent"
}

# Is the pinned image here, or can it be pulled? (No registry: the pull fails within a second.)
image_available() { image_exists "$1" || cli pull --quiet "$1" >/dev/null 2>&1; }

# Decides real images or stand-ins, builds the stand-ins and our image; sets SERVICES (what `up`
# starts) and records the decision in CDIR (standins, left-out).
prepare_images() {
  local name image profiles ports missing=()
  rm -f "$CDIR/standins" "$CDIR/standins-extra" "$CDIR/left-out"
  while IFS="|" read -r name image profiles ports; do
    [[ " ${OUR_SERVICES[*]} " == *" $name "* ]] && continue
    image_available "$image" || missing+=("$name=$image")
  done < <(service_table)
  if [ ${#missing[@]} -eq 0 ]; then return; fi

  say "cannot pull: ${missing[*]}; third-party services run stand-ins built from Debian packages"
  # containers/compose.standins.<service>.yml: for a service not every version of the compose
  # file has (an override for a missing service would create it).
  local extra
  : >"$CDIR/standins-extra"
  for extra in "$ROOT"/containers/compose.standins.*.yml; do
    name=${extra##*/compose.standins.}
    name=${name%.yml}
    if printf '%s\n' "$SERVICE_TABLE" | grep -q "^$name|"; then echo "$extra" >>"$CDIR/standins-extra"; fi
  done
  build_base
  build_node_base
  # The stand-ins are independent: built side by side (mostly package downloads).
  local entry pids=() failed=0 pid
  for entry in "${missing[@]}"; do
    name=${entry%%=*} image=${entry#*=}
    if [ -z "${STANDIN_DIR[$name]:-}" ]; then
      echo "$name" >>"$CDIR/left-out"
      continue
    fi
    build_standin "$name" "$image" &
    pids+=($!)
    echo "$entry" >>"$CDIR/standins"
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" -eq 0 ] || die "a stand-in image failed to build (see above)"
  prune_replaced
}

# Our image (and the e2e dev image when asked) through compose, so build args come from the files.
build_ours() {
  local start=$SECONDS
  say "building our image from the Dockerfile ($*)"
  compose build --quiet "$@" >"$CDIR/build.log" 2>&1 || { tail -n 30 "$CDIR/build.log" >&2; die "build failed (log: $CDIR/build.log)"; }
  say "built our image in $((SECONDS - start)) s"
  prune_replaced
}

# Each rebuild leaves the image it replaces untagged (and 300-600 MB): remove those of ours (our
# Dockerfile's label, or a stand-in's, which images built on a stand-in inherit); never anybody
# else's, and never a layer a tagged image still uses (the build cache stays).
prune_replaced() {
  local label
  for label in moex-monitoring.image moex.standin.input; do
    cli image prune -f --filter "label=$label" >/dev/null 2>&1 || true
  done
}

# --- health ---------------------------------------------------------------------------------------

# Podman runs healthchecks from systemd timers; without systemd, this loop runs them: every
# HEALTH_INTERVAL seconds for a container not yet healthy, every 15 s once healthy. One at a
# time: a burst of parallel execs on a busy 2-core machine makes the checks hit their timeouts.
health_loop() {
  declare -A last_ok=()
  local now id
  while true; do
    now=$(date +%s)
    for id in $(podman ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" 2>/dev/null); do
      if [ -n "${last_ok[$id]:-}" ] && [ $((now - last_ok[$id])) -lt 15 ]; then continue; fi
      if timeout 20 podman healthcheck run "$id" >/dev/null 2>&1; then last_ok[$id]=$now; else unset "last_ok[$id]"; fi
    done
    sleep "$HEALTH_INTERVAL"
  done
}

start_health_loop() {
  [ "$ENGINE" = podman ] || return 0
  pid_alive "$CDIR/health-loop.pid" && return
  setsid "$0" health-loop >"$CDIR/health-loop.log" 2>&1 </dev/null &
  echo $! >"$CDIR/health-loop.pid"
}

stop_pid_file() {
  local file=$1 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$file"
}

# --- commands -------------------------------------------------------------------------------------

# The services `up` starts: every service of the active profiles, minus the one-shot e2e runner
# and Selenium (the `e2e` command starts those) and minus what could not be had (Grafana).
services_to_start() {
  local name image profiles ports active
  active=" $(xargs <"$CDIR/profiles" 2>/dev/null) "   # one line, space-separated
  while IFS="|" read -r name image profiles ports; do
    [ "$name" = e2e ] || [ "$name" = selenium ] && continue
    grep -qx "$name" "$CDIR/left-out" 2>/dev/null && continue
    if [ -n "$profiles" ] && [[ $active != *" ${profiles//,/ } "* ]]; then continue; fi
    echo "$name"
  done < <(service_table)
}

check_ports_free() {
  [ -n "$(compose ps -q 2>/dev/null)" ] && return 0   # our own stack already holds them
  local name image profiles ports port busy=()
  while IFS="|" read -r name image profiles ports; do
    grep -qx "$name" <(services_to_start) || continue
    for port in $ports; do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then busy+=("$port ($name)"); fi
    done
  done < <(service_table)
  if [ ${#busy[@]} -gt 0 ]; then
    die "published ports already in use: ${busy[*]}. Is a native stack up (./runner.sh local down) or another compose project?"
  fi
}

wait_healthy() {
  local deadline=$((SECONDS + UP_TIMEOUT)) pending
  while true; do
    pending=$(service_states | awk '$3 != "healthy" { print $1 }' | tr '\n' ' ')
    [ -z "$pending" ] && return 0
    if [ $SECONDS -ge $deadline ]; then say "not healthy after ${UP_TIMEOUT} s: $pending"; return 1; fi
    sleep 2
  done
}

# "service state health image" for each service `up` starts: one compose call and one inspect
# (a docker-compose call per service costs seconds on a busy machine).
service_states() {
  local fmt ids name known
  fmt='{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}} {{.Config.Image}}'
  mapfile -t ids < <(compose ps -q 2>/dev/null)
  known=
  if [ ${#ids[@]} -gt 0 ]; then known=$(cli inspect --format "$fmt" "${ids[@]}" 2>/dev/null || true); fi
  for name in $(services_to_start); do
    grep "^$name " <<<"$known" || echo "$name absent - -"
  done
}

up() {
  local demo=false scale=false arg
  for arg in "$@"; do
    case $arg in
      --demo) demo=true ;;
      --scale) scale=true ;;
      *) die "up: unknown option '$arg'" ;;
    esac
  done
  mkdir -p "$CDIR"
  ensure_env_file
  rm -f "$CDIR/engine"
  select_engine
  echo "$ENGINE" >"$CDIR/engine"
  if [ "$ENGINE" = podman ]; then start_podman_service; fi
  say "engine: $ENGINE; project $COMPOSE_PROJECT_NAME; env file $ENV_FILE; state in $CDIR"
  : >"$CDIR/profiles"
  rm -f "$CDIR/scale.env"
  if $demo; then
    echo demo >>"$CDIR/profiles"
    export MOEX_ISS_URL=http://iss-sim:8999/iss
    say "demo: services poll the ISS simulator at $MOEX_ISS_URL"
  fi
  if $scale; then
    echo scale >>"$CDIR/profiles"
    # docs/scale.md: Prometheus discovers the shards only when it is told how many there are, and
    # VictoriaMetrics receives only what Prometheus is told to remote-write.
    printf 'WORKER_SHARDS=%s\nPROMETHEUS_REMOTE_WRITE_URL=%s\n' "${WORKER_SHARDS:-2}" \
      "${PROMETHEUS_REMOTE_WRITE_URL:-http://victoria-metrics:8428/api/v1/write}" >"$CDIR/scale.env"
    load_scale_env
    say "scale: $WORKER_SHARDS worker shards; Prometheus remote-writes to $PROMETHEUS_REMOTE_WRITE_URL"
  fi
  SERVICE_TABLE=$(service_table)
  local start=$SECONDS
  prepare_images
  build_ours worker-prometheus
  local services
  mapfile -t services < <(services_to_start)
  check_ports_free
  start_health_loop
  start=$SECONDS
  compose up -d --no-build "${services[@]}" 2>&1 | grep -v '^$' >&2 || die "compose up failed"
  wait_healthy || { status || true; exit 1; }
  say "every service healthy $((SECONDS - start)) s after compose up"
  status
}

e2e() {
  select_engine
  [ -s "$CDIR/engine" ] || die "the stack is not up: ./runner.sh containers up --demo first"
  echo "$(cat "$CDIR/profiles" 2>/dev/null) e2e" | xargs -n1 | sort -u | xargs >"$CDIR/profiles.tmp"
  mv "$CDIR/profiles.tmp" "$CDIR/profiles"
  SERVICE_TABLE=$(service_table)
  prepare_images
  build_ours e2e
  compose up -d --no-build selenium 2>&1 | grep -v '^$' >&2
  # The dev image runs as uid 1000 and writes its screenshots to the mounted test-results/e2e.
  mkdir -p "$ROOT/test-results/e2e"
  if [ "$(id -u)" -eq 0 ]; then chown 1000:1000 "$ROOT/test-results/e2e"; else chmod 0777 "$ROOT/test-results/e2e"; fi
  local no_deps=()
  if [ -s "$CDIR/left-out" ]; then
    no_deps=(--no-deps)
    say "left out (no image here): $(xargs <"$CDIR/left-out"); their browser checks report not applicable"
  fi
  compose run --rm "${no_deps[@]}" e2e
}

down() {
  local volumes=()
  case ${1:-} in
    -v|--volumes) volumes=(-v) ;;
    '') ;;
    *) die "down: unknown option '$1'" ;;
  esac
  # After a plain `down` only the volumes are left, and `down -v` must still find their engine.
  if [ ! -s "$CDIR/engine" ] && [ -s "$CDIR/engine-of-volumes" ]; then cp "$CDIR/engine-of-volumes" "$CDIR/engine"; fi
  if [ ! -s "$CDIR/engine" ]; then say "nothing to stop (no $CDIR/engine)"; return; fi
  select_engine
  if [ "$ENGINE" = podman ] && ! socket_answers; then start_podman_service; fi
  # Every profile, so that iss-sim, selenium and a left-over e2e run go too.
  echo "demo e2e scale" >"$CDIR/profiles"
  compose down --remove-orphans "${volumes[@]}" 2>&1 | grep -v '^$' >&2 || true
  stop_pid_file "$CDIR/health-loop.pid"
  stop_pid_file "$CDIR/podman-service.pid"
  rm -f "$CDIR/engine" "$CDIR/profiles" "$CDIR/standins" "$CDIR/standins-extra" "$CDIR/left-out" "$CDIR/podman.sock"
  if [ ${#volumes[@]} -gt 0 ]; then
    rm -f "$CDIR/engine-of-volumes"
    say "removed containers, networks and volumes"
  else
    echo "$ENGINE" >"$CDIR/engine-of-volumes"
    say "removed containers and networks; the named volumes keep the data (down -v deletes them)"
  fi
}

status() {
  [ -s "$CDIR/engine" ] || { say "not up (no $CDIR/engine)"; return 1; }
  select_engine
  SERVICE_TABLE=$(service_table)
  echo "engine: $ENGINE   project: $COMPOSE_PROJECT_NAME   env file: $ENV_FILE"
  if [ -s "$CDIR/standins" ]; then
    echo "stand-ins (pinned image not available here; built from Debian packages, see containers/):"
    sed 's/^/  /; s/=/: stand-in for /' "$CDIR/standins"
    echo "  scraper: INFLUX_API=v1 (the InfluxDB stand-in is 1.6, which has no /api/v2/write)"
  fi
  if [ -s "$CDIR/left-out" ]; then
    echo "left out: $(xargs <"$CDIR/left-out") (no image can be pulled or built here)"
  fi
  local rc=0 line
  printf '%-18s %-10s %-10s %s\n' SERVICE STATE HEALTH IMAGE
  while read -r line; do
    # shellcheck disable=SC2086  # the fields are words
    printf '%-18s %-10s %-10s %s\n' $line
    [ "$(awk '{print $3}' <<<"$line")" = healthy ] || rc=1
  done < <(service_states)
  return "$rc"
}

main() {
  case ${1:-} in
    up) shift; up "$@" ;;
    down) shift; down "$@" ;;
    status) status ;;
    e2e) e2e ;;
    compose) shift; select_engine; compose "$@" ;;
    health-loop) select_engine; health_loop ;;
    *) echo "usage: $0 up [--demo] [--scale] | down [-v] | status | e2e | compose ARGS..." >&2; exit 2 ;;
  esac
}
# One line: bash has read all of it before `up` runs for minutes, so editing this file meanwhile
# cannot make the running copy read a changed tail.
main "$@"; exit $?
