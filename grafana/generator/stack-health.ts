import { BigValueColorMode } from '@grafana/grafana-foundation-sdk/common';
import { binaryMapping, buildDashboard, clock, stat, table, type Threshold, timeseries } from './panels';
import { infinityJson, prom } from './queries';

// The stack watching itself: Prometheus jobs of prometheus/prometheus.yml, the poll family
// both pollers expose (CONTRACT §4), the scraper's sinks, the backend's HTTP histogram (§7)
// and the host through node-exporter.
const services = 'job=~"worker-prometheus|scraper|backend"';
const pollers = 'job=~"worker-prometheus|scraper"';
const backend = 'job="backend"';
const node = 'job="node-exporter"';
// Pseudo file systems node-exporter still reports; the same list as the disk alert.
const realDisks = `${node}, fstype!~"tmpfs|ramfs|squashfs|overlay|nsfs|fuse.lxcfs"`;

const pollQuantile = (q: number) =>
  prom(`histogram_quantile(${q}, sum by (le, job) (rate(moex_poll_duration_seconds_bucket{${pollers}}[$__rate_interval])))`, `{{job}} p${q * 100}`);
const httpQuantile = (q: number) =>
  prom(`histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket{${backend}}[$__rate_interval])))`, `p${q * 100}`);

const upThresholds: Threshold[] = [
  { color: 'red', value: null },
  { color: 'green', value: 1 },
];

export const stackHealth = buildDashboard(
  {
    uid: 'moex-stack-health',
    title: 'MOEX stack health',
    description: 'Is the pipeline healthy? Scrape targets, ISS polling, scraper sinks, backend HTTP, processes and the host.',
    tags: ['moex', 'health'],
    refresh: '10s',
    time: 'now-30m',
  },
  [
    {
      row: 'Services',
      panels: [
        [
          stat({
            title: 'Scrape targets up',
            description: 'Prometheus `up` per job: can Prometheus scrape it right now?',
            targets: [prom('up{job=~"prometheus|node-exporter|worker-prometheus|scraper|backend"}', '{{job}}')],
            mappings: binaryMapping('UP', 'DOWN'),
            thresholds: upThresholds,
            colorMode: BigValueColorMode.Background,
          }),
          10,
          5,
        ],
        [
          stat({
            title: 'MOEX ISS polls (moex_up)',
            description: '1 when the last ISS poll of the worker / scraper succeeded.',
            targets: [prom(`moex_up{${pollers}}`, '{{job}}')],
            mappings: binaryMapping('OK', 'FAILING'),
            thresholds: upThresholds,
            colorMode: BigValueColorMode.Background,
          }),
          8,
          5,
        ],
        [clock('Moscow time'), 6, 5],
        [
          table({
            title: 'Pipeline status (backend /api/status)',
            description: 'The backend probes every component; this is its verdict through the Infinity datasource.',
            targets: [
              infinityJson('/api/status', '$.components', [
                { selector: 'name', text: 'Component', type: 'string' },
                { selector: 'ok', text: 'OK', type: 'boolean' },
                { selector: 'latencyMs', text: 'Latency (ms)', type: 'number' },
                { selector: 'detail', text: 'Detail', type: 'string' },
              ]),
            ],
          }),
          24,
          7,
        ],
      ],
    },
    {
      row: 'ISS polling',
      panels: [
        [timeseries({ title: 'Poll duration', description: 'Quantiles of moex_poll_duration_seconds.', targets: [pollQuantile(0.5), pollQuantile(0.95), pollQuantile(0.99)], unit: 's', min: 0 }), 12, 8],
        [timeseries({ title: 'Polls by result', targets: [prom(`sum by (job, result) (rate(moex_polls_total{${pollers}}[$__rate_interval]))`, '{{job}} {{result}}')], unit: 'ops', min: 0 }), 12, 8],
        [
          timeseries({
            title: 'Poll errors by reason',
            description: 'Failed polls per interval; every reason is pre-set to 0, so a flat zero line is the healthy state.',
            targets: [prom(`sum by (job, reason) (increase(moex_poll_errors_total{${pollers}}[$__rate_interval]))`, '{{job}} {{reason}}')],
            min: 0,
            bars: true,
          }),
          12,
          8,
        ],
        [timeseries({ title: 'Time since last successful poll', targets: [prom(`time() - moex_last_success_timestamp_seconds{${pollers}}`, '{{job}}')], unit: 's', min: 0 }), 12, 8],
        [
          timeseries({
            title: 'ISS data quality',
            description: 'Requested tickers the board did not return, and ISS cells that were not valid values (left out, never exported as 0).',
            targets: [
              prom(`moex_missing_tickers{${pollers}}`, '{{job}} missing tickers'),
              prom(`sum by (job) (increase(moex_invalid_values_total{${pollers}}[$__rate_interval]))`, '{{job}} invalid values'),
            ],
            min: 0,
          }),
          24,
          7,
        ],
      ],
    },
    {
      row: 'Scraper sinks',
      panels: [
        [timeseries({ title: 'Points written by sink', targets: [prom('sum by (sink) (rate(scraper_points_written_total{job="scraper"}[$__rate_interval]))', '{{sink}}')], unit: 'wps', min: 0 }), 8, 8],
        [
          timeseries({
            title: 'Write errors and dropped points by sink',
            description: 'Failed writes and points given up on (buffer full or rejected), per interval. Both start at 0 for every sink.',
            targets: [
              prom('sum by (sink) (increase(scraper_write_errors_total{job="scraper"}[$__rate_interval]))', '{{sink}} write errors'),
              prom('sum by (sink) (increase(scraper_dropped_points_total{job="scraper"}[$__rate_interval]))', '{{sink}} dropped points'),
            ],
            min: 0,
            bars: true,
          }),
          8,
          8,
        ],
        [timeseries({ title: 'Buffered points by sink', description: 'Points waiting for a sink that is down; bounded.', targets: [prom('scraper_buffered_points{job="scraper"}', '{{sink}}')], min: 0 }), 8, 8],
        [timeseries({ title: 'Time since last write by sink', targets: [prom('time() - scraper_last_write_timestamp_seconds{job="scraper"}', '{{sink}}')], unit: 's', min: 0 }), 24, 7],
      ],
    },
    {
      row: 'Backend HTTP',
      panels: [
        [timeseries({ title: 'Requests by route', targets: [prom(`sum by (route, status_code) (rate(http_request_duration_seconds_count{${backend}}[$__rate_interval]))`, '{{route}} {{status_code}}')], unit: 'reqps', min: 0 }), 8, 8],
        [
          timeseries({
            title: 'Server error ratio (5xx)',
            description: 'Share of answers with a 5xx status; 0 while none failed.',
            targets: [
              prom(
                `(sum(rate(http_request_duration_seconds_count{${backend}, status_code=~"5.."}[$__rate_interval])) or on () vector(0)) / sum(rate(http_request_duration_seconds_count{${backend}}[$__rate_interval]))`,
                '5xx ratio',
              ),
            ],
            unit: 'percentunit',
            min: 0,
          }),
          8,
          8,
        ],
        [timeseries({ title: 'Latency', description: 'Quantiles of http_request_duration_seconds over all routes.', targets: [httpQuantile(0.5), httpQuantile(0.9), httpQuantile(0.99)], unit: 's', min: 0 }), 8, 8],
        [
          timeseries({
            title: 'p95 latency by route',
            targets: [prom(`histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{${backend}}[$__rate_interval])))`, '{{route}}')],
            unit: 's',
            min: 0,
          }),
          24,
          8,
        ],
      ],
    },
    {
      row: 'Node.js processes',
      panels: [
        [timeseries({ title: 'CPU', targets: [prom(`rate(process_cpu_seconds_total{${services}}[$__rate_interval])`, '{{job}}')], unit: 'percentunit', min: 0 }), 8, 8],
        [timeseries({ title: 'Resident memory', targets: [prom(`process_resident_memory_bytes{${services}}`, '{{job}}')], unit: 'bytes', min: 0 }), 8, 8],
        [timeseries({ title: 'Event loop lag p99', targets: [prom(`nodejs_eventloop_lag_p99_seconds{${services}}`, '{{job}}')], unit: 's', min: 0 }), 8, 8],
      ],
    },
    {
      row: 'Host (node-exporter)',
      panels: [
        [timeseries({ title: 'CPU busy', targets: [prom(`1 - avg by (instance) (rate(node_cpu_seconds_total{${node}, mode="idle"}[$__rate_interval]))`, '{{instance}}')], unit: 'percentunit', min: 0, max: 1 }), 6, 8],
        [timeseries({ title: 'Load average', targets: [prom(`node_load1{${node}}`, '1m'), prom(`node_load5{${node}}`, '5m'), prom(`node_load15{${node}}`, '15m')], min: 0 }), 6, 8],
        [
          timeseries({
            title: 'Memory used',
            targets: [prom(`1 - node_memory_MemAvailable_bytes{${node}} / node_memory_MemTotal_bytes{${node}}`, '{{instance}}')],
            unit: 'percentunit',
            min: 0,
            max: 1,
          }),
          6,
          8,
        ],
        [
          timeseries({
            title: 'Disk used',
            targets: [prom(`1 - node_filesystem_avail_bytes{${realDisks}} / node_filesystem_size_bytes{${realDisks}}`, '{{mountpoint}}')],
            unit: 'percentunit',
            min: 0,
            max: 1,
          }),
          6,
          8,
        ],
      ],
    },
  ],
);
