#!/bin/bash
# On an empty /var/lib/influxdb: start influxd on loopback only, create the database and the
# users from the environment (as the official influxdb:1.8 image's init-influxdb.sh does),
# stop it; then exec the command. A volume that holds data is never changed.
set -euo pipefail
[ "${1:-}" = influxd ] || exec "$@"

say() { echo "influxdb-init: $*" >&2; }
random_password() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

if [ ! -d /var/lib/influxdb/meta ]; then
  admin=${INFLUXDB_ADMIN_USER:-}
  admin_password=${INFLUXDB_ADMIN_PASSWORD:-}
  user=${INFLUXDB_USER:-}
  user_password=${INFLUXDB_USER_PASSWORD:-}
  if [ -n "$admin" ] && [ -z "$admin_password" ]; then
    admin_password=$(random_password); say "generated password for $admin: $admin_password"
  fi
  if [ -n "$user" ] && [ -z "$user_password" ]; then
    user_password=$(random_password); say "generated password for $user: $user_password"
  fi

  INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:8086 INFLUXDB_HTTP_HTTPS_ENABLED=false "$@" &
  init_pid=$!
  for _ in $(seq 60); do
    curl -fsS -o /dev/null http://127.0.0.1:8086/ping 2>/dev/null && break
    sleep 1
  done
  auth=()
  query() {
    local out
    out=$(curl -fsS "${auth[@]}" -XPOST http://127.0.0.1:8086/query --data-urlencode "q=$1")
    if grep -q '"error"' <<<"$out"; then say "'${1%% WITH PASSWORD*}' failed: $out"; exit 1; fi
  }
  # With auth on, the first statement may only create the admin; the rest run as that admin.
  if [ -n "$admin" ]; then
    query "CREATE USER \"$admin\" WITH PASSWORD '$admin_password' WITH ALL PRIVILEGES"
    auth=(-u "$admin:$admin_password")
  fi
  if [ -n "${INFLUXDB_DB:-}" ]; then query "CREATE DATABASE \"$INFLUXDB_DB\""; fi
  if [ -n "$user" ]; then
    query "CREATE USER \"$user\" WITH PASSWORD '$user_password'"
    if [ -n "${INFLUXDB_DB:-}" ]; then query "GRANT ALL ON \"$INFLUXDB_DB\" TO \"$user\""; fi
  fi
  kill -TERM "$init_pid"
  wait "$init_pid" || true
  say "initialised: database '${INFLUXDB_DB:-}', admin '${admin}', user '${user}'"
fi
exec "$@"
