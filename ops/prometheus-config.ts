import YAML from 'yaml';

/**
 * prometheus.yml, built once for every place Prometheus runs: the compose stack (committed files
 * that the container's POSIX sh start script picks from), the scale profile (the same plus the
 * shard job), and the native stack (generated at `local up` with loopback ports). One job table, so
 * a scrape job changed here changes every variant alike. Pure: settings in, YAML text out.
 */

/** One scrape job of the stack: the compose service it scrapes and its port. */
interface StackJob {
  job: string;
  /** The compose host name (Prometheus scrapes itself on localhost). */
  composeHost: string;
  port: number;
  /** The native stack's port variable (ops: the daemon table's name for the same port). */
  portVariable: string;
  why?: string;
}

export const STACK_JOBS: readonly StackJob[] = [
  { job: 'prometheus', composeHost: 'localhost', port: 9090, portVariable: 'PROMETHEUS_PORT' },
  { job: 'node-exporter', composeHost: 'node-exporter', port: 9100, portVariable: 'NODE_EXPORTER_PORT' },
  {
    job: 'worker-prometheus',
    composeHost: 'worker-prometheus',
    port: 8000,
    portVariable: 'WORKER_PORT',
    why: "Quotes as gauges, the poll's own health (moex_up, moex_poll_*).",
  },
  {
    job: 'scraper',
    composeHost: 'scraper',
    port: 8001,
    portVariable: 'SCRAPER_PORT',
    why: 'The same poll metrics plus scraper_* sink metrics (writes, errors, buffer).',
  },
  { job: 'backend', composeHost: 'backend', port: 8998, portVariable: 'BACKEND_PORT', why: 'http_request_duration_seconds of the API and web page.' },
];

const ALERTMANAGER = { composeHost: 'alertmanager', port: 9093, portVariable: 'ALERTMANAGER_PORT' };

/** How Prometheus reaches targets behind the stack's web config (docs/security.md). */
export interface ScrapeSecurity {
  /** The certificate to trust: the targets speak https. */
  caFile?: string;
  /** Basic auth with the stack's user. */
  basicAuth?: { username: string; passwordFile: string };
}

/** The compose stack's: the self-signed certificate and password of `./runner.sh secrets`, as compose secrets. */
export const COMPOSE_SECURITY: ScrapeSecurity = {
  caFile: '/run/secrets/tls.crt',
  basicAuth: { username: 'prometheus', passwordFile: '/run/secrets/prometheus_password' },
};

export interface ScrapeJob {
  job: string;
  targets: string[];
}

export interface PrometheusSettings {
  /** Scrape and rule evaluation interval. */
  interval: string;
  /** The rule files' glob (relative to the config file, or absolute). */
  ruleFiles: string;
  alertmanager: string;
  jobs: ScrapeJob[];
  security: ScrapeSecurity;
  /** The scale profile: every worker-shard replica, found by DNS. */
  workerShards?: boolean;
  remoteWriteUrl?: string;
}

/** The `remote_write` queue: sized in docs/scale.md (the whole exchange, ~40,000 samples/s, on 2 cores). */
const REMOTE_WRITE_QUEUE = {
  capacity: 20000,
  max_shards: 8,
  max_samples_per_send: 5000,
  batch_send_deadline: '5s',
  min_backoff: '100ms',
  max_backoff: '10s',
};

function securityFields(security: ScrapeSecurity, serverName?: string): Record<string, unknown> {
  return {
    ...(security.caFile ? { scheme: 'https', tls_config: { ca_file: security.caFile, ...(serverName ? { server_name: serverName } : {}) } } : {}),
    ...(security.basicAuth ? { basic_auth: { username: security.basicAuth.username, password_file: security.basicAuth.passwordFile } } : {}),
  };
}

/** The stack's jobs with the given host and ports (compose: service names; natively: loopback). */
export function stackJobs(target: (job: StackJob) => string): ScrapeJob[] {
  return STACK_JOBS.map((job) => ({ job: job.job, targets: [target(job)] }));
}

export const composeTarget = (job: { composeHost: string; port: number }) => `${job.composeHost}:${job.port}`;
export const COMPOSE_ALERTMANAGER = composeTarget(ALERTMANAGER);
export const ALERTMANAGER_PORT_VARIABLE = ALERTMANAGER.portVariable;

/** The configuration as a YAML document (comments where a reader needs the why). */
export function prometheusDocument(s: PrometheusSettings): YAML.Document {
  const config = {
    global: { scrape_interval: s.interval, evaluation_interval: s.interval, external_labels: { stack: 'moex-monitoring' } },
    alerting: { alertmanagers: [{ api_version: 'v2', ...securityFields(s.security), static_configs: [{ targets: [s.alertmanager] }] }] },
    rule_files: [s.ruleFiles],
    scrape_configs: [
      ...s.jobs.map(({ job, targets }) => ({ job_name: job, ...securityFields(s.security), static_configs: [{ targets }] })),
      ...(s.workerShards
        ? [
            {
              job_name: 'worker-shards',
              // Targets are the replicas' addresses; the certificate names the service.
              ...securityFields(s.security, 'worker-shard'),
              dns_sd_configs: [{ names: ['worker-shard'], type: 'A', port: 8000, refresh_interval: '30s' }],
            },
          ]
        : []),
    ],
    ...(s.remoteWriteUrl ? { remote_write: [{ url: s.remoteWriteUrl, queue_config: REMOTE_WRITE_QUEUE }] } : {}),
  };
  const doc = new YAML.Document(config);
  const jobs = doc.get('scrape_configs') as YAML.YAMLSeq;
  for (const item of jobs.items as YAML.YAMLMap[]) {
    const name = item.get('job_name');
    const why =
      STACK_JOBS.find((j) => j.job === name)?.why ??
      (name === 'worker-shards' ? 'MOEX_SHARD=auto/N replicas of the `scale` profile, each polling its own shard.' : undefined);
    if (why) item.commentBefore = ` ${why}`;
  }
  return doc;
}

export function prometheusYaml(s: PrometheusSettings, header: string): string {
  const doc = prometheusDocument(s);
  doc.commentBefore = header;
  return doc.toString({ lineWidth: 0 });
}

/**
 * The `remote_write` block alone, its `url:` left open at the very end: the compose start script
 * (POSIX sh, no YAML tools) appends it to the chosen file and writes only the URL after it.
 */
export function remoteWriteTail(): string {
  const doc = new YAML.Document({ remote_write: [{ queue_config: REMOTE_WRITE_QUEUE, url: 'URL' }] });
  const text = doc.toString({ lineWidth: 0 });
  if (!text.endsWith('    url: URL\n')) throw new Error('remote_write block: url is not the last line');
  return text.slice(0, -'URL\n'.length);
}
