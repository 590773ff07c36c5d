#!/usr/bin/env bash
# Installs the Debian packages the tests run for real (daemons, browser, linters),
# only those missing, so a second run costs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/ensure-debian-packages.sh" \
  prometheus prometheus-node-exporter prometheus-pushgateway prometheus-alertmanager busybox \
  graphite-carbon graphite-web python3-gunicorn influxdb victoria-metrics \
  chromium chromium-driver docker-compose shellcheck curl iproute2
