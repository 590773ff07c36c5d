// Default StatsD config of the stand-in image; compose mounts graphite/statsd/config.js over it.
{
  graphiteHost: "127.0.0.1",
  graphitePort: 2003,
  port: 8125,
  backends: ["./backends/graphite"]
}
