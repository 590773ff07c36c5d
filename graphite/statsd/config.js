/*
 * StatsD daemon configuration the stack ships (Etsy statsd, a JS object literal).
 *
 * Compose: mounted into graphiteapp/graphite-statsd as /opt/statsd/config/udp.js,
 * where carbon runs in the same container, so graphiteHost is 127.0.0.1.
 * Native: ops/daemons.ts reads this file and overrides only the
 * addresses and ports (graphiteHost/graphitePort/port/address/mgmt_*).
 *
 * The worker side (hot-shots, prefix "stocks.") sends gauges such as
 * "stocks.SBER.last"; with the settings below they land in carbon under exactly
 * that name: no "stats.gauges." namespace (docs/metrics.md, Graphite).
 * Keep this file a bare object literal: statsd evaluates it as `config = <file>`.
 */
{
  graphiteHost: "127.0.0.1",
  graphitePort: 2003,
  port: 8125,
  address: "0.0.0.0",
  mgmt_address: "0.0.0.0",
  mgmt_port: 8126,
  backends: ["./backends/graphite"],

  // Match the finest carbon retention for stocks.* (10s, see
  // graphite/carbon/storage-schemas.conf): one point per flush per series.
  flushInterval: 10000,

  // A ticker whose field stopped arriving (null at ISS) is not repeated at
  // every flush with its old value.
  deleteGauges: true,
  deleteCounters: false,

  graphite: {
    legacyNamespace: false,
    globalPrefix: "",
    prefixCounter: "",
    prefixTimer: "",
    prefixGauge: "",
    prefixSet: ""
  },

  // statsd's own health series stay under "statsd." (not under stocks.). Read at the top level
  // only (stats.js and backends/graphite.js both take config.prefixStats), not under graphite:.
  prefixStats: "statsd"
}
