#!/bin/bash
# Stand-in only: Debian's promtool 2.42 has no `check healthy` (Prometheus 2.43+ has), which the
# compose healthcheck uses. This answers that one command as promtool does: GET <url>/-/healthy
# with the client config's basic auth and CA, exit 0 on 200; every other command goes to promtool.
set -euo pipefail
if [ "${1:-}" != check ] || [ "${2:-}" != healthy ]; then exec /usr/bin/promtool.debian "$@"; fi
url=http://localhost:9090 config=
for arg in "${@:3}"; do
  case $arg in
    --url=*) url=${arg#--url=} ;;
    --http.config.file=*) config=${arg#--http.config.file=} ;;
  esac
done
args=(-fsS -o /dev/null --max-time 5)
if [ -n "$config" ]; then
  field() { sed -n "s/^[[:space:]]*$1:[[:space:]]*//p" "$config" | head -n1; }
  user=$(field username) password_file=$(field password_file) ca=$(field ca_file)
  [ -n "$user" ] && args+=(-u "$user:$(cat "$password_file")")
  [ -n "$ca" ] && args+=(--cacert "$ca")
fi
exec curl "${args[@]}" "$url/-/healthy"
