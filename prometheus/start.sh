#!/bin/sh
# prometheus/start.sh ARGS...: the compose prometheus service's entrypoint. Writes the running
# config to /prometheus/prometheus.yml: prometheus.yml (rule paths made absolute), plus
#   - with WORKER_SHARDS > 0 (profile `scale`): a job discovering every worker-shard replica by
#     DNS (compose answers a service name with all its replicas' addresses);
#   - with PROMETHEUS_REMOTE_WRITE_URL: the remote_write block of remote-write.sh;
# then execs Prometheus with it and ARGS. POSIX sh: the image has only busybox.
# PROMETHEUS_CONFIG_DIR, PROMETHEUS_RUNNING_CONFIG and PROMETHEUS_BIN move it elsewhere (tests).
set -eu
here=${PROMETHEUS_CONFIG_DIR:-/etc/prometheus}
out=${PROMETHEUS_RUNNING_CONFIG:-/prometheus/prometheus.yml}
# rule_files are relative to the config file, which now lives elsewhere.
sed 's#^\([[:space:]]*-[[:space:]]*\)rules/#\1'"$here"'/rules/#' "$here/prometheus.yml" >"$out"
shards=${WORKER_SHARDS:-0}
case $shards in '' | *[!0-9]*) echo "start.sh: WORKER_SHARDS must be a whole number, got '$shards'" >&2; exit 2 ;; esac
if [ "$shards" -gt 0 ]; then
  # scrape_configs is the last list of prometheus.yml, so this item continues it.
  cat >>"$out" <<'YAML'

  # MOEX_SHARD=auto/N replicas of the `scale` profile, each polling its own shard.
  - job_name: worker-shards
    scheme: https
    tls_config:
      ca_file: /run/secrets/tls.crt
      # Targets are the replicas' addresses; the certificate names the service.
      server_name: worker-shard
    basic_auth:
      username: prometheus
      password_file: /run/secrets/prometheus_password
    dns_sd_configs:
      - names: [worker-shard]
        type: A
        port: 8000
        refresh_interval: 30s
YAML
fi
sh "$here/remote-write.sh" >>"$out"
exec "${PROMETHEUS_BIN:-/bin/prometheus}" --config.file="$out" "$@"
