#!/bin/sh
# alertmanager/render.sh OUT [-- COMMAND ARGS...]
#
# Renders alertmanager/alertmanager.yml (the template next to this script) into OUT with the
# receivers the ALERT_* variables ask for, checks OUT with `amtool check-config`, and, given
# `-- COMMAND...`, then execs COMMAND (the compose service's entrypoint does this). A bad setting
# stops it with exit code 2 and one line naming the variable. Plain POSIX sh: it runs in the
# prom/alertmanager image (busybox) as well as natively (ops/native-daemons.sh).
#
# Receivers (all those configured get every notification; docs/alerting.md):
#   ALERT_BACKEND_URL              the backend's /api/alerts, so the web page shows alerts with no
#                                  setup (default http://127.0.0.1:8998/api/alerts; `off` drops it)
#   ALERT_WEBHOOK_URL[_FILE]       a generic webhook (Alertmanager's JSON payload)
#   ALERT_TELEGRAM_BOT_TOKEN_FILE  a file holding the bot token (ALERT_TELEGRAM_BOT_TOKEN also works)
#   ALERT_TELEGRAM_CHAT_ID         the chat to write to (an integer, negative for groups)
#   ALERT_SMTP_TO, ALERT_SMTP_FROM, ALERT_SMTP_SMARTHOST (host:port), ALERT_SMTP_AUTH_USERNAME,
#   ALERT_SMTP_AUTH_PASSWORD_FILE (or ALERT_SMTP_AUTH_PASSWORD), ALERT_SMTP_REQUIRE_TLS (true)
# Timing: ALERT_GROUP_WAIT (30s), ALERT_GROUP_INTERVAL (5m), ALERT_REPEAT_INTERVAL (4h, warning
# and info), ALERT_REPEAT_INTERVAL_CRITICAL (1h).
#
# OUT may hold the Telegram token (Alertmanager before 0.26, Debian 12's 0.25, has no
# bot_token_file), so it is written readable by its owner only.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TEMPLATE=$HERE/alertmanager.yml

fail() {
  echo "alertmanager config: $*" >&2
  exit 2
}

if [ $# -lt 1 ] || [ "$1" = -- ]; then fail "usage: $0 OUT [-- COMMAND ARGS...]"; fi
OUT=$1
shift
if [ $# -gt 0 ]; then
  [ "$1" = -- ] || fail "usage: $0 OUT [-- COMMAND ARGS...]"
  shift
fi

# $NAME, or the contents of the file ${NAME}_FILE names (the <NAME>_FILE convention of lib/config.ts).
value() {
  eval "v=\${$1:-} f=\${$1_FILE:-}"
  if [ -n "$f" ]; then
    [ -z "$v" ] || fail "$1 and $1_FILE are both set; set one"
    # Not only regular files: compose mounts /dev/null for a secret that is not configured.
    if [ ! -e "$f" ] || [ -d "$f" ] || [ ! -r "$f" ]; then fail "$1_FILE: cannot read '$f'"; fi
    v=$(cat "$f")
  fi
  printf '%s' "$v"
}

matches() { printf '%s' "$1" | grep -Eq "$2"; }

# A YAML double-quoted scalar; values with control characters (a newline in a file) are refused.
quoted() {
  case $2 in *[[:cntrl:]]*) fail "$1 contains a control character (a newline?)" ;; esac
  printf '"%s"' "$(printf '%s' "$2" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

duration() {
  d=$2
  eval "d=\${$1:-\$d}"
  matches "$d" '^[0-9]+(ms|s|m|h|d|w|y)$' || fail "$1 must be a duration such as 30s or 5m, got '$d'"
  printf '%s' "$d"
}

http_url() {
  matches "$2" '^https?://[^[:space:]"]+$' || fail "$1 must be an http:// or https:// URL, got '$2'"
}

group_wait=$(duration ALERT_GROUP_WAIT 30s)
group_interval=$(duration ALERT_GROUP_INTERVAL 5m)
repeat_interval=$(duration ALERT_REPEAT_INTERVAL 4h)
repeat_critical=$(duration ALERT_REPEAT_INTERVAL_CRITICAL 1h)

# ---------------------------------------------------------------- receivers
webhooks=''
count=0

backend_url=${ALERT_BACKEND_URL:-http://127.0.0.1:8998/api/alerts}
if [ "$backend_url" != off ]; then
  http_url ALERT_BACKEND_URL "$backend_url"
  # max_alerts keeps a payload well under the backend's request size limit.
  webhooks="$webhooks
      - url: $(quoted ALERT_BACKEND_URL "$backend_url")
        send_resolved: true
        max_alerts: 100"
fi

webhook_url=$(value ALERT_WEBHOOK_URL)
if [ -n "$webhook_url" ]; then
  http_url ALERT_WEBHOOK_URL "$webhook_url"
  webhooks="$webhooks
      - url: $(quoted ALERT_WEBHOOK_URL "$webhook_url")
        send_resolved: true"
  count=$((count + 1))
fi

telegram=''
bot_token=$(value ALERT_TELEGRAM_BOT_TOKEN)
chat_id=${ALERT_TELEGRAM_CHAT_ID:-}
if [ -n "$bot_token" ] || [ -n "$chat_id" ]; then
  [ -n "$bot_token" ] || fail "ALERT_TELEGRAM_BOT_TOKEN_FILE must name a file holding the bot token (ALERT_TELEGRAM_CHAT_ID is set)"
  [ -n "$chat_id" ] || fail "ALERT_TELEGRAM_CHAT_ID must be set with the bot token (the chat to write to)"
  matches "$bot_token" '^[0-9]+:[A-Za-z0-9_-]+$' || fail "ALERT_TELEGRAM_BOT_TOKEN_FILE does not hold a bot token of the form 123456:ABC-def (from @BotFather)"
  matches "$chat_id" '^-?[0-9]+$' || fail "ALERT_TELEGRAM_CHAT_ID must be an integer chat id, got '$chat_id'"
  telegram="    telegram_configs:
      - bot_token: $(quoted ALERT_TELEGRAM_BOT_TOKEN "$bot_token")
        chat_id: $chat_id
        send_resolved: true"
  count=$((count + 1))
fi

email=''
smtp_to=${ALERT_SMTP_TO:-} smtp_from=${ALERT_SMTP_FROM:-} smarthost=${ALERT_SMTP_SMARTHOST:-}
smtp_user=${ALERT_SMTP_AUTH_USERNAME:-} require_tls=${ALERT_SMTP_REQUIRE_TLS:-true}
smtp_password_file=${ALERT_SMTP_AUTH_PASSWORD_FILE:-} smtp_password=${ALERT_SMTP_AUTH_PASSWORD:-}
# An empty password file alone (compose's /dev/null) does not turn e-mail on.
password_given=''
if [ -n "$smtp_password_file" ] && { [ ! -e "$smtp_password_file" ] || [ -s "$smtp_password_file" ]; }; then password_given=yes; fi
if [ -n "$smtp_to$smtp_from$smarthost$smtp_user$smtp_password$password_given" ]; then
  matches "$smtp_to" '^[^[:space:]@]+@[^[:space:]@]+(,[^[:space:]@]+@[^[:space:]@]+)*$' ||
    fail "ALERT_SMTP_TO must be one or more comma-separated e-mail addresses, got '$smtp_to'"
  matches "$smtp_from" '^[^[:space:]@]+@[^[:space:]@]+$' || fail "ALERT_SMTP_FROM must be an e-mail address, got '$smtp_from'"
  matches "$smarthost" '^[A-Za-z0-9.-]+:[0-9]+$' || fail "ALERT_SMTP_SMARTHOST must be host:port, got '$smarthost'"
  case $require_tls in true | false) ;; *) fail "ALERT_SMTP_REQUIRE_TLS must be true or false, got '$require_tls'" ;; esac
  [ -z "$smtp_password" ] || [ -z "$smtp_password_file" ] || fail "ALERT_SMTP_AUTH_PASSWORD and ALERT_SMTP_AUTH_PASSWORD_FILE are both set; set one"
  email="    email_configs:
      - to: $(quoted ALERT_SMTP_TO "$smtp_to")
        from: $(quoted ALERT_SMTP_FROM "$smtp_from")
        smarthost: $(quoted ALERT_SMTP_SMARTHOST "$smarthost")
        require_tls: $require_tls
        send_resolved: true"
  [ -z "$smtp_user" ] || email="$email
        auth_username: $(quoted ALERT_SMTP_AUTH_USERNAME "$smtp_user")"
  # Alertmanager reads this file itself at every send (supported since 0.25); an empty one
  # (compose mounts /dev/null when unset) means no password.
  if [ -n "$smtp_password_file" ]; then
    if [ ! -e "$smtp_password_file" ] || [ -d "$smtp_password_file" ] || [ ! -r "$smtp_password_file" ]; then
      fail "ALERT_SMTP_AUTH_PASSWORD_FILE: cannot read '$smtp_password_file'"
    fi
    [ ! -s "$smtp_password_file" ] || email="$email
        auth_password_file: $(quoted ALERT_SMTP_AUTH_PASSWORD_FILE "$smtp_password_file")"
  fi
  [ -z "$smtp_password" ] || email="$email
        auth_password: $(quoted ALERT_SMTP_AUTH_PASSWORD "$smtp_password")"
  count=$((count + 1))
fi

if [ "$backend_url" = off ] && [ "$count" -eq 0 ]; then
  echo "alertmanager config: warning: no receiver configured and ALERT_BACKEND_URL=off; alerts are only visible in Alertmanager's UI" >&2
fi

# ---------------------------------------------------------------- render and check
[ -r "$TEMPLATE" ] || fail "template $TEMPLATE not found"
command -v amtool >/dev/null 2>&1 || fail "amtool not found (Debian: ops/ensure-debian-packages.sh prometheus-alertmanager)"

umask 077
tmp="$OUT.tmp.$$"
trap 'rm -f "$tmp"' EXIT
{
  sed -e "s/@ALERT_GROUP_WAIT@/$group_wait/" \
      -e "s/@ALERT_GROUP_INTERVAL@/$group_interval/" \
      -e "s/@ALERT_REPEAT_INTERVAL@/$repeat_interval/" \
      -e "s/@ALERT_REPEAT_INTERVAL_CRITICAL@/$repeat_critical/" "$TEMPLATE"
  [ -z "$webhooks" ] || printf '    webhook_configs:%s\n' "$webhooks"
  [ -z "$telegram" ] || printf '%s\n' "$telegram"
  [ -z "$email" ] || printf '%s\n' "$email"
} >"$tmp"

if ! check=$(amtool check-config "$tmp" 2>&1); then
  reason=$(printf '%s\n' "$check" | grep -E 'FAILED|error' | head -n 1 | sed 's/^ *//')
  fail "amtool check-config rejected the rendered configuration: ${reason:-$check}"
fi
mv -f "$tmp" "$OUT"
trap - EXIT

[ $# -gt 0 ] || exit 0
# The Debian package (also the container stand-in) names the binary prometheus-alertmanager.
if [ "$1" = alertmanager ] && ! command -v alertmanager >/dev/null 2>&1 && command -v prometheus-alertmanager >/dev/null 2>&1; then
  shift
  set -- prometheus-alertmanager "$@"
fi
exec "$@"
