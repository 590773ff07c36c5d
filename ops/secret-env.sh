#!/bin/sh
# ops/secret-env.sh COMMAND [ARGS...]
# For an image whose entrypoint reads passwords only from the environment (influxdb:1.8): each
# NAME_FILE variable becomes NAME, read from that file (the Docker secrets convention), then
# COMMAND runs. The password lives in the process environment only, never in the container's
# configuration, so `docker inspect` does not show it. Compose mounts this script read-only.
set -eu
for assignment in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)_FILE=.*/\1/p'); do
  file=$(printenv "${assignment}_FILE")
  if [ -n "$(printenv "$assignment" || true)" ]; then
    echo "secret-env: set either $assignment or ${assignment}_FILE, not both" >&2
    exit 2
  fi
  [ -r "$file" ] || { echo "secret-env: ${assignment}_FILE: cannot read $file" >&2; exit 2; }
  value=$(cat "$file")
  export "$assignment=$value"
  unset "${assignment}_FILE"
done
exec "$@"
