#!/usr/bin/env bash
# ops/secrets.sh [--force] [--env-only]     (also: ./runner.sh secrets ...)
#
# A fresh install's secrets, so that the quick start stays two commands
# (./runner.sh secrets; docker compose up -d). Idempotent and non-interactive: a file
# that exists is kept (and said so), unless --force, which replaces every one of them.
#
#   .env                           from .env.example (mode 600); it holds no password, only
#                                  user names and settings, since compose reads passwords from
#                                  the files below (docs/security.md)
#   secrets/web-config.yml         exporter-toolkit web config: tls_server_config (the files
#                                  below) and basic_auth_users {prometheus: bcrypt hash}
#   secrets/tls.crt, tls.key       self-signed certificate (10 years) for localhost, 127.0.0.1
#                                  and the compose service names
#   secrets/prometheus_password    the user prometheus's password in clear: what Prometheus
#                                  (password_file), the backend and Grafana send
#   secrets/grafana_admin_password, influxdb_admin_password, influxdb_user_password,
#   secrets/influxdb_token         INFLUXDB_USER:influxdb_user_password (the scraper's v2 token)
#   secrets/graphite_admin_password  graphite-web's Django admin (instead of the image's root/root)
#
# --env-only   only .env (what ops/containers.sh may call when .env is missing)
# --force      replace existing files (new passwords: see docs/security.md, rotation)
# Environment: ENV_FILE (<repo>/.env), SECRETS_DIR (<repo>/secrets).
# Needs openssl, and for the bcrypt hash one of: node with bcryptjs (npm ci), htpasswd
# (apache2-utils), python3-bcrypt. Prints file names, never a secret.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ENV_FILE=${ENV_FILE:-$ROOT/.env}
SECRETS_DIR=${SECRETS_DIR:-$ROOT/secrets}
# The stack's one user of the web config; prometheus/prometheus.yml and docker-compose.yml name it too.
STACK_USER=prometheus

force=false
env_only=false
for arg in "$@"; do
  case $arg in
    --force) force=true ;;
    --env-only) env_only=true ;;
    *) echo "usage: $0 [--force] [--env-only]" >&2; exit 2 ;;
  esac
done

say() { echo "secrets: $*" >&2; }

# True when FILE should be (re)written; says why not otherwise.
wanted() {
  if [ -e "$1" ] && ! $force; then
    say "kept $1 (exists; --force replaces it)"
    return 1
  fi
  return 0
}

# 32 characters of [A-Za-z0-9]: safe in .env, YAML, URLs and `user:password` tokens.
random_password() {
  local out=''
  while [ ${#out} -lt 32 ]; do out+=$(openssl rand -base64 48 | tr -dc 'A-Za-z0-9'); done
  printf '%s' "${out:0:32}"
}

# Writes stdin to FILE with MODE, atomically (a half-written secret is never read).
write_file() {
  local file=$1 mode=$2 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$file"
  say "wrote $file"
}

env_value() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }

write_env() {
  wanted "$ENV_FILE" || return 0
  [ -f "$ROOT/.env.example" ] || { say "error: $ROOT/.env.example missing"; exit 1; }
  write_file "$ENV_FILE" 600 <"$ROOT/.env.example"
}

# A password file, mode 644 inside the 700 folder: the containers' own users (nobody for
# Prometheus, node for ours) read it through the bind mount; other host users cannot reach it.
# New passwords, so that the files derived from them are written again too.
declare -A renewed=()
write_password() {
  local file=$SECRETS_DIR/$1
  wanted "$file" || return 0
  random_password | write_file "$file" 644
  renewed[$1]=1
}

write_certificate() {
  local crt=$SECRETS_DIR/tls.crt key=$SECRETS_DIR/tls.key
  # Every name a client checks the certificate against: the compose services that serve https
  # (worker-shard replicas are scraped by address, with worker-shard as the TLS server name).
  local names=(localhost prometheus node-exporter alertmanager worker-prometheus worker-shard scraper backend iss-sim)
  local san="IP:127.0.0.1,IP:::1" n missing=()
  for n in "${names[@]}"; do san+=",DNS:$n"; done
  if [ -e "$crt" ] && [ -e "$key" ] && ! $force; then
    # A certificate from an older version may lack a service added since: only then is it
    # replaced (passwords stay; the services read the new files when restarted).
    local present
    present=$(openssl x509 -in "$crt" -noout -ext subjectAltName 2>/dev/null | tr -s ', ' '\n')
    for n in "${names[@]}"; do
      grep -qx "DNS:$n" <<<"$present" || missing+=("$n")
    done
    if [ ${#missing[@]} -eq 0 ]; then
      say "kept $crt and $key (exist; --force replaces them)"
      return 0
    fi
    say "replacing $crt and $key: the certificate lacks ${missing[*]} (restart the stack to use the new one)"
  fi
  openssl req -x509 -newkey rsa:2048 -sha256 -days 3650 -nodes -subj "/CN=moex-monitoring" \
    -addext "subjectAltName=$san" -addext "basicConstraints=critical,CA:TRUE" \
    -keyout "$key.new" -out "$crt.new" 2>/dev/null
  chmod 644 "$crt.new" "$key.new"
  mv -f "$crt.new" "$crt"
  mv -f "$key.new" "$key"
  say "wrote $crt and $key (self-signed; clients trust $crt)"
}

# bcrypt (cost 10) of the password on stdin, by the first tool at hand: bcryptjs of npm ci,
# htpasswd (apache2-utils) or Python's bcrypt (python3-bcrypt). The password never goes on a
# command line.
bcrypt_hash() {
  if [ -f "$ROOT/node_modules/bcryptjs/package.json" ] && command -v node >/dev/null 2>&1; then
    (cd "$ROOT" && node -e 'process.stdout.write(require("bcryptjs").hashSync(require("fs").readFileSync(0, "utf8").trim(), 10))')
  elif command -v htpasswd >/dev/null 2>&1; then
    # -i: the password from stdin; prints "user:hash".
    tr -d '\n' | htpasswd -niBC 10 "$STACK_USER" | sed -n "s/^$STACK_USER://p" | tr -d '\n'
  elif python3 -c 'import bcrypt' 2>/dev/null; then
    python3 -c 'import bcrypt, sys; sys.stdout.write(bcrypt.hashpw(sys.stdin.read().strip().encode(), bcrypt.gensalt(10)).decode())'
  else
    say "error: no bcrypt tool for the web config: run npm ci (bcryptjs), or install apache2-utils (htpasswd) or python3-bcrypt"
    exit 1
  fi
}

write_web_config() {
  local file=$SECRETS_DIR/web-config.yml hash
  [ -n "${renewed[prometheus_password]:-}" ] || wanted "$file" || return 0
  hash=$(bcrypt_hash <"$SECRETS_DIR/prometheus_password")
  write_file "$file" 644 <<EOF
# exporter-toolkit web configuration, written by ops/secrets.sh: read by worker, scraper,
# backend (WEB_CONFIG_FILE), Prometheus, node-exporter and Alertmanager (--web.config.file).
# Paths are relative to this file. See docs/security.md.
tls_server_config:
  cert_file: tls.crt
  key_file: tls.key
basic_auth_users:
  $STACK_USER: '$hash'
EOF
}

write_env
$env_only && exit 0

command -v openssl >/dev/null || { say "error: openssl not found (apt-get install openssl)"; exit 1; }
mkdir -p "$SECRETS_DIR"
chmod 700 "$SECRETS_DIR"
for name in prometheus_password grafana_admin_password influxdb_admin_password influxdb_user_password graphite_admin_password; do
  write_password "$name"
done
if [ -n "${renewed[influxdb_user_password]:-}" ] || wanted "$SECRETS_DIR/influxdb_token"; then
  influx_user=$(env_value INFLUXDB_USER)
  printf '%s:%s' "${influx_user:-pyexample}" "$(cat "$SECRETS_DIR/influxdb_user_password")" | write_file "$SECRETS_DIR/influxdb_token" 644
fi
write_certificate
write_web_config
say "done: docker compose reads .env and $SECRETS_DIR/; docs/security.md says how to rotate"
