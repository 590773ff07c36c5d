#!/bin/sh
# chromedriver on :4444 for the whole `browsers` network: an empty --allowed-ips makes it listen on
# every interface and accept any client (the network, internal, is what limits who reaches it).
# As PID 1 it would ignore SIGTERM (no handler): this shell forwards it, so `stop` is quick.
/usr/bin/chromedriver --port=4444 --allowed-ips= --allowed-origins='*' &
pid=$!
trap 'kill -TERM "$pid"; wait "$pid"; exit 0' TERM INT
wait "$pid"
