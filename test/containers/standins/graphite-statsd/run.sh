#!/bin/bash
# Starts carbon-cache, graphite-web and StatsD; ends (and so restarts the container) when one of
# them ends; on SIGTERM stops all three and exits 0.
set -euo pipefail
storage=/opt/graphite/storage
mkdir -p "$storage/whisper" "$storage/lists" "$storage/log/carbon-cache" "$storage/log/webapp"
[ -s "$storage/.secret_key" ] || od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$storage/.secret_key"
export PYTHONPATH=/opt/graphite/webapp GRAPHITE_SETTINGS_MODULE=moex_standin_settings \
  DJANGO_SETTINGS_MODULE=graphite.settings
if [ ! -s "$storage/graphite.db" ]; then
  /usr/bin/python3 /usr/bin/graphite-manage migrate --noinput >"$storage/log/webapp/migrate.log" 2>&1
fi
rm -f "$storage/carbon-cache-a.pid"

pids=()
carbon-cache --config=/opt/graphite/conf/carbon.conf --nodaemon start & pids+=($!)
/usr/bin/python3 -m gunicorn --bind 0.0.0.0:80 --workers 2 --timeout 60 --chdir "$storage" \
  --error-logfile - graphite.wsgi:application & pids+=($!)
(cd /opt/statsd && exec node stats.js /opt/statsd/config/udp.js) & pids+=($!)

stopping=false
trap 'stopping=true; kill -TERM "${pids[@]}" 2>/dev/null || true' TERM INT
rc=0
wait -n "${pids[@]}" || rc=$?
if $stopping; then
  wait "${pids[@]}" 2>/dev/null || true
  exit 0
fi
echo "graphite-statsd-run: a daemon ended (rc $rc); stopping the others" >&2
kill -TERM "${pids[@]}" 2>/dev/null || true
wait "${pids[@]}" 2>/dev/null || true
exit 1
