import { BigValueColorMode } from '@grafana/grafana-foundation-sdk/common';
import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { binaryMapping, buildDashboard, clock, stat, table, textMapping, type Threshold, timeseries } from './panels';
import { infinityJson, prom } from './queries';

// The stack watching itself: Prometheus jobs of prometheus/prometheus.yml, the poll family
// both pollers expose (docs/metrics.md), the scraper's sinks, the backend's HTTP histogram
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
// SYSTIME − quote time: 900 s is the anonymous feed's normal (15 min delay), ~0 real-time
// (a subscriber's token) and for indices; yellow past 16 min, red past 30 min.
const delayThresholds: Threshold[] = [
  { color: 'green', value: null },
  { color: 'yellow', value: 960 },
  { color: 'red', value: 1800 },
];
// The quote gauges are the worker's alone; the scraper exports only the poll family.
const worker = 'job="worker-prometheus"';

export const stackHealth = buildDashboard(
  {
    uid: 'moex-stack-health',
    title: 'MOEX stack health',
    description: 'Is the pipeline healthy? Scrape targets, ISS polling, scraper sinks and spool, backend HTTP, processes and the host.',
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
          stat({
            title: 'SIMULATED feed',
            description: 'moex_simulated_feed: 1 while the ISS simulator answers a poller (made-up prices, ./runner.sh demo), 0 for MOEX ISS itself.',
            targets: [prom(`max by (job) (moex_simulated_feed{${pollers}})`, '{{job}}')],
            mappings: textMapping([
              ['0', 'MOEX ISS', 'green'],
              ['1', 'SIMULATED', 'orange'],
            ]),
            colorMode: BigValueColorMode.Background,
          }),
          5,
          5,
        ],
        [
          stat({
            title: 'Feed delay',
            description:
              'moex_data_delay_seconds = SYSTIME − quote time, the largest and per board. 900 s (15 min) is the normal delay of the anonymous ISS feed; about 0 is real time (a token) and indices. Yellow past 16 min: the feed lags beyond its usual delay.',
            targets: [prom(`max(moex_data_delay_seconds{${worker}})`, 'max'), prom(`max by (board) (moex_data_delay_seconds{${worker}})`, '{{board}}')],
            unit: 's',
            thresholds: delayThresholds,
            colorMode: BigValueColorMode.Background,
          }),
          8,
          5,
        ],
        [
          stat({
            title: 'Boards polled (moex_board_up)',
            description: '1 when the last poll of the board succeeded, for both pollers (the lower of the two).',
            targets: [prom(`min by (board) (moex_board_up{${pollers}})`, '{{board}}')],
            mappings: binaryMapping('OK', 'FAILING'),
            thresholds: upThresholds,
            colorMode: BigValueColorMode.Background,
          }),
          6,
          5,
        ],
        [
          stat({
            title: 'Market session',
            description:
              "moex_market_open per engine: OPEN inside today's session of ISS's trading calendar (/iss/engines/{engine}.json: dailytable for the date, else timetable), CLOSED at night, at weekends without a session and on holidays; then the freshness alerts stay quiet. Empty until the worker has read a calendar.",
            targets: [prom(`max by (engine) (moex_market_open{${worker}})`, '{{engine}}')],
            mappings: textMapping([
              ['1', 'OPEN', 'green'],
              ['0', 'CLOSED', 'blue'],
            ]),
            colorMode: BigValueColorMode.Background,
          }),
          5,
          5,
        ],
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
          14,
          8,
        ],
        [
          table({
            title: 'Firing alerts',
            description:
              'ALERTS{alertstate="firing"} from Prometheus’ own rule evaluation (prometheus/rules/alerts.yml), whether or not Alertmanager delivers them. Empty while nothing fires.',
            targets: [prom('ALERTS{alertstate="firing"}', '', { instant: true, format: PromQueryFormat.Table })],
            transformations: [
              { id: 'filterFieldsByName', options: { include: { names: ['alertname', 'severity', 'ticker', 'board'] } } },
              {
                id: 'organize',
                options: {
                  indexByName: { alertname: 0, severity: 1, ticker: 2, board: 3 },
                  renameByName: { alertname: 'Alert', severity: 'Severity', ticker: 'Ticker', board: 'Board' },
                },
              },
            ],
          }),
          10,
          8,
        ],
      ],
    },
    {
      row: 'ISS polling',
      panels: [
        [
          timeseries({
            title: 'Poll duration',
            description: 'Quantiles of moex_poll_duration_seconds.',
            targets: [pollQuantile(0.5), pollQuantile(0.95), pollQuantile(0.99)],
            unit: 's',
            min: 0,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Polls by result',
            targets: [prom(`sum by (job, result) (rate(moex_polls_total{${pollers}}[$__rate_interval]))`, '{{job}} {{result}}')],
            unit: 'ops',
            min: 0,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Poll errors by reason and board',
            description:
              'Failed board polls per interval, worker and scraper together; every reason of every board is pre-set to 0, so a flat zero line is the healthy state. auth: ISS refused the token (401/403).',
            targets: [prom(`sum by (board, reason) (increase(moex_poll_errors_total{${pollers}}[$__rate_interval]))`, '{{board}} {{reason}}')],
            min: 0,
            bars: true,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Time since last successful poll',
            targets: [prom(`time() - moex_last_success_timestamp_seconds{${pollers}}`, '{{job}}')],
            unit: 's',
            min: 0,
          }),
          12,
          8,
        ],
        [
          timeseries({
            title: 'Feed delay by board',
            description:
              'moex_data_delay_seconds over time (largest per board): a flat 900 s is the anonymous feed, a flat 0 real time; a rising line is a feed that stalls.',
            targets: [prom(`max by (board) (moex_data_delay_seconds{${worker}})`, '{{board}}')],
            unit: 's',
            min: 0,
          }),
          24,
          7,
        ],
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
        [
          timeseries({
            title: 'Points written by sink',
            targets: [prom('sum by (sink) (rate(scraper_points_written_total{job="scraper"}[$__rate_interval]))', '{{sink}}')],
            unit: 'wps',
            min: 0,
          }),
          8,
          8,
        ],
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
        [
          timeseries({
            title: 'Buffered points by sink',
            description: 'Points waiting for a sink that is down; bounded.',
            targets: [prom('scraper_buffered_points{job="scraper"}', '{{sink}}')],
            min: 0,
          }),
          8,
          8,
        ],
        [
          timeseries({
            title: 'Time since last write by sink',
            targets: [prom('time() - scraper_last_write_timestamp_seconds{job="scraper"}', '{{sink}}')],
            unit: 's',
            min: 0,
          }),
          12,
          7,
        ],
        [
          timeseries({
            title: 'Scraper spool: bytes waiting by sink',
            description:
              'scraper_spool_bytes: records on disk (SCRAPER_SPOOL_DIR) the store has not taken yet. 0 while the sink keeps up; it grows while a store is down and drains after.',
            targets: [prom('scraper_spool_bytes{job="scraper"}', '{{sink}}')],
            unit: 'bytes',
            min: 0,
          }),
          12,
          7,
        ],
        [
          timeseries({
            title: 'Scraper spool: replayed points and corrupt records',
            description:
              'Per interval: points a previous run spooled and the store took after a restart, and torn or corrupt records skipped at start. Both start at 0 for every spooled sink.',
            targets: [
              prom('sum by (sink) (increase(scraper_spool_replayed_points_total{job="scraper"}[$__rate_interval]))', '{{sink}} replayed points'),
              prom('sum by (sink) (increase(scraper_spool_corrupt_records_total{job="scraper"}[$__rate_interval]))', '{{sink}} corrupt records'),
            ],
            min: 0,
            bars: true,
          }),
          12,
          7,
        ],
        [
          timeseries({
            title: 'Candle sync',
            description: 'ISS candles requests per second by result (ok / error, both start at 0) and candles handed to the sinks per second.',
            targets: [
              prom('sum by (result) (rate(scraper_candle_requests_total{job="scraper"}[$__rate_interval]))', 'requests {{result}}'),
              prom('sum(rate(scraper_candles_total{job="scraper"}[$__rate_interval]))', 'candles'),
            ],
            unit: 'ops',
            min: 0,
          }),
          12,
          7,
        ],
      ],
    },
    {
      row: 'Backend HTTP',
      panels: [
        [
          timeseries({
            title: 'Requests by route',
            targets: [
              prom(`sum by (route, status_code) (rate(http_request_duration_seconds_count{${backend}}[$__rate_interval]))`, '{{route}} {{status_code}}'),
            ],
            unit: 'reqps',
            min: 0,
          }),
          8,
          8,
        ],
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
        [
          timeseries({
            title: 'Latency',
            description: 'Quantiles of http_request_duration_seconds over all routes.',
            targets: [httpQuantile(0.5), httpQuantile(0.9), httpQuantile(0.99)],
            unit: 's',
            min: 0,
          }),
          8,
          8,
        ],
        [
          timeseries({
            title: 'p95 latency by route',
            targets: [
              prom(`histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{${backend}}[$__rate_interval])))`, '{{route}}'),
            ],
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
        [
          timeseries({
            title: 'CPU',
            targets: [prom(`rate(process_cpu_seconds_total{${services}}[$__rate_interval])`, '{{job}}')],
            unit: 'percentunit',
            min: 0,
          }),
          8,
          8,
        ],
        [timeseries({ title: 'Resident memory', targets: [prom(`process_resident_memory_bytes{${services}}`, '{{job}}')], unit: 'bytes', min: 0 }), 8, 8],
        [timeseries({ title: 'Event loop lag p99', targets: [prom(`nodejs_eventloop_lag_p99_seconds{${services}}`, '{{job}}')], unit: 's', min: 0 }), 8, 8],
      ],
    },
    {
      row: 'Host (node-exporter)',
      panels: [
        [
          timeseries({
            title: 'CPU busy',
            targets: [prom(`1 - avg by (instance) (rate(node_cpu_seconds_total{${node}, mode="idle"}[$__rate_interval]))`, '{{instance}}')],
            unit: 'percentunit',
            min: 0,
            max: 1,
          }),
          6,
          8,
        ],
        [
          timeseries({
            title: 'Load average',
            targets: [prom(`node_load1{${node}}`, '1m'), prom(`node_load5{${node}}`, '5m'), prom(`node_load15{${node}}`, '15m')],
            min: 0,
          }),
          6,
          8,
        ],
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
