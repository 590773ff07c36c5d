#!/bin/sh
# prometheus/remote-write.sh: prints the `remote_write:` block of prometheus.yml for
# PROMETHEUS_REMOTE_WRITE_URL (VictoriaMetrics, Mimir, Thanos receive, a vminsert of a cluster);
# prints nothing when it is unset. POSIX sh, so the Prometheus image's busybox runs it too.
# Appended to prometheus.yml at start: natively by ops/native-daemons.sh, in compose by the
# prometheus service's command.
#
# Queue: Prometheus' WAL keeps about two hours of samples, so a store that is down for minutes
# loses nothing: the queue resends from the WAL when it is back. Sizing (docs/BENCHMARKS.md): the
# whole exchange is ~30,000 instruments x ~20 series = ~600,000 series every 15 s, ~40,000 samples/s;
# 8 shards x 5,000 samples per send x ~4 sends/s each carry that with room, and 2 cores cap the
# shards usefully at 8.
set -eu
url=${PROMETHEUS_REMOTE_WRITE_URL:-}
[ -n "$url" ] || exit 0
case $url in
  http://?* | https://?*) ;;
  *) echo "remote-write.sh: PROMETHEUS_REMOTE_WRITE_URL must be an http(s) URL, got '$url'" >&2; exit 2 ;;
esac
case $url in
  *[[:space:]\"]*) echo "remote-write.sh: PROMETHEUS_REMOTE_WRITE_URL must not contain spaces or quotes" >&2; exit 2 ;;
esac
cat <<YAML

remote_write:
  - url: "$url"
    queue_config:
      capacity: 20000
      max_shards: 8
      max_samples_per_send: 5000
      batch_send_deadline: 5s
      min_backoff: 100ms
      max_backoff: 10s
YAML
