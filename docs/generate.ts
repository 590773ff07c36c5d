/**
 * The reference pages' generated blocks, from the tables the code holds: the config shapes and
 * their `doc` lines, the compose file, the metric registries, NUMERIC_FIELDS and the markets table,
 * the series and point builders, the backend's routes and `./runner.sh help`.
 *
 *   npx tsx docs/generate.ts           rewrites every `<!-- generated:NAME -->` block in docs/*.md and README.md
 *   npx tsx docs/generate.ts --check   exits 1, naming each difference, when code and docs disagree
 *
 * Each block sits between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`; the prose around
 * it is hand-written and kept.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { docOf, isSecret, logShape, moexShape, parseConfig, streamShape, type ConfigShape } from '../lib/config';
import { registerStreamMetrics } from '../lib/moex/issplus';
import { createLogger } from '../lib/log';
import { fieldsOfMarket, MARKETS, marketKindOf, SUPPORTED_MARKETS, type MarketKind } from '../lib/moex/markets';
import { NUMERIC_FIELDS, type Quote } from '../lib/moex/quote';
import { registerIssRequestMetrics } from '../lib/iss-transport';
import { algopackMetricName, ALGOPACK_FEEDS, DATASETS, type AlgopackFeed } from '../lib/moex/algopack/datasets';
import { registerAlgopackPollMetrics } from '../lib/moex/algopack/poller';
import { registerGreeksPollMetrics, registerPollMetrics } from '../lib/poll-metrics';
import { registerShardClaimMetrics } from '../lib/polling-service';
import { httpShape } from '../lib/web-config';
import { createApp } from '../backend/src/app';
import { backendShape } from '../backend/src/config';
import { httpMetricsMiddleware } from '../backend/src/http-metrics';
import { initShape, urlsShape } from '../init/src/config';
import { PASSWORD_FILES } from '../init/src/secrets';
import { openedUrl, PUBLISHED_SERVICES } from '../init/src/urls';
import { daemonSpec } from '../ops/daemons';
import { stackSettings } from '../ops/stack-settings';
import { issSimShape } from '../iss-sim/src/config';
import { createCandleSync } from '../scraper/src/candles-sync';
import { algopackGraphitePoints, algopackInfluxLine } from '../scraper/src/algopack-series';
import { candleGraphitePoints, candleInfluxLine } from '../scraper/src/candle-series';
import { scraperShape } from '../scraper/src/config';
import { graphitePointsFor, greeksGraphitePoints, greeksInfluxLine, quoteToInfluxPoint } from '../scraper/src/series';
import { GREEK_FIELDS, type OptionGreeks, type SeriesGreeks } from '../lib/moex/option-greeks';
import { optionLabels } from '../lib/moex/options';
import { createOptionGreeksMetrics } from '../worker-prometheus/src/option-greeks-metrics';
import { registerSinkMetrics, WRITE_ERROR_REASONS } from '../scraper/src/sink';
import { registerSpoolMetrics } from '../scraper/src/spool';
import { workerShape } from '../worker-prometheus/src/config';
import { createAlgopackMetrics } from '../worker-prometheus/src/algopack-metrics';
import { registerIssClockSkew } from '../worker-prometheus/src/iss-clock-skew';
import { startMarketCalendar } from '../worker-prometheus/src/market-calendar';
import { createQuoteMetrics, registerSeriesRemovedCounter } from '../worker-prometheus/src/quote-metrics';

const ROOT = path.resolve(__dirname, '..');
const DOCS = __dirname;

const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
const table = (head: string[], rows: string[][]) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
const code = (s: string) => `\`${s}\``;

// --- environment -------------------------------------------------------------------------------

/** What a setting gives when its variable is unset, as the docs show it. */
function defaultOf(setting: (raw: string | undefined) => unknown): string {
  let value: unknown;
  try {
    value = setting(undefined);
  } catch {
    return 'required';
  }
  if (value === null || value === undefined) return 'unset';
  if (value === '') return 'empty';
  if (Array.isArray(value)) return code(value.join(','));
  if (typeof value === 'object') return 'unset';
  // A path of this machine (a folder of the checkout) is shown relative to the repository.
  const text = String(value).startsWith(ROOT) ? `<repo>${String(value).slice(ROOT.length)}` : String(value);
  return code(text);
}

/** Groups of variables: the shared shapes once, then what each program adds. */
const SHARED: Array<[string, ConfigShape]> = [
  ['Every service of ours (worker, scraper, backend, simulator)', { ...logShape, ...httpShape }],
  ['Every poller of ISS (worker, scraper)', { ...moexShape, ...streamShape }],
];
const PROGRAMS: Array<[string, ConfigShape]> = [
  ['worker-prometheus (`./runner.sh worker`)', workerShape],
  ['scraper (`./runner.sh scraper`)', scraperShape],
  ['backend (`./runner.sh backend`)', backendShape],
  ['ISS simulator (`./runner.sh iss-sim`)', issSimShape],
  ['init (the compose service) and `./runner.sh secrets`', initShape],
  ['`./runner.sh urls`', urlsShape],
];

/** Variables declared without a `doc` line: each is a drift error. */
export function undocumentedVariables(): string[] {
  return [...SHARED, ...PROGRAMS].flatMap(([group, shape]) =>
    Object.entries(shape)
      .filter(([, setting]) => docOf(setting) === undefined)
      .map(([name]) => `${name} (${group}) has no doc line: declare it as ${name}: doc('what it means', ...)`),
  );
}

function envTable(shape: ConfigShape, skip: ConfigShape[]): string {
  const shared = (name: string) => skip.some((s) => s[name] === shape[name]);
  const rows = Object.entries(shape)
    .filter(([name]) => !shared(name))
    .map(([name, setting]) => [code(name) + (isSecret(setting) ? ' (secret)' : ''), defaultOf(setting), docOf(setting) ?? '(no doc line)']);
  return rows.length === 0 ? 'Nothing beyond the shared variables.' : table(['variable', 'default', 'meaning'], rows);
}

function environmentBlock(): string {
  const parts: string[] = [];
  for (const [title, shape] of SHARED) parts.push(`### ${title}\n\n${envTable(shape, [])}`);
  for (const [title, shape] of PROGRAMS)
    parts.push(
      `### ${title}\n\n${envTable(
        shape,
        SHARED.map(([, s]) => s),
      )}`,
    );
  return parts.join('\n\n');
}

/** The compose file's own variables (`${NAME:-default}`), with what each means. */
const COMPOSE_VARIABLE_DOCS: Record<string, string> = {
  BIND_ADDRESS: 'host address of every published port; 0.0.0.0 is an explicit choice (docs/security.md)',
  APP_IMAGE_TAG: 'tag of the locally built images (moex-monitoring, moex-monitoring-dev)',
  GRAFANA_ADMIN_USER: "Grafana's admin login (password: secrets/grafana_admin_password)",
  INFLUXDB_USER: "InfluxDB's read/write user of the scraper, backend and Grafana (password: secrets/influxdb_user_password)",
  INFLUXDB_ADMIN_USER: "InfluxDB's admin (password: secrets/influxdb_admin_password)",
  MOEX_ISS_URL: 'where every poller reads ISS (the demo profile: http://iss-sim:8999/iss)',
  MOEX_TICKERS: 'the shares of TQBR polled without MOEX_SOURCES',
  MOEX_SOURCES: 'boards of any market to poll (see above)',
  POLL_SCHEDULE: 'how often the pollers poll',
  LOG_LEVEL: 'log level of our services',
  MOEX_ALGOPACK: 'ALGOPACK datasets the worker and the scraper poll (subscribers; docs/algopack.md)',
  MOEX_ISS_TOKEN_FILE: "file on the host holding the ISS token (MOEX's authenticated API and ALGOPACK; the simulator asks for it too); /dev/null: anonymous",
  MOEX_HISTOGRAM: "which securities get the worker's moex_price_relative_to_prev_close (listed, off, all)",
  ISS_SIM_SCHEDULE: "profile demo: the simulator's trading week (docs/calendar.md); empty: around the clock every day",
  SIM_HISTORY_MINUTES: 'profile demo: minutes of trading the simulator has behind it at start (candles, ALGOPACK bars)',
  ISS_SIM_DAILYTABLE: "profile demo: the simulator's holidays and moved working days (docs/calendar.md)",
  PROMETHEUS_RETENTION: 'how long Prometheus keeps samples',
  PROMETHEUS_REMOTE_WRITE_URL: 'Prometheus also remote-writes everything here (VictoriaMetrics, Mimir, ...; docs/scale.md)',
  WORKER_SHARDS: 'profile scale: worker-shard replicas, and the shards Prometheus discovers (docs/scale.md)',
  VM_RETENTION: 'profile scale: how long VictoriaMetrics keeps samples',
  ALERTMANAGER_EXTERNAL_URL: "Alertmanager's own URL in notifications",
  ALERT_WEBHOOK_URL: 'Alertmanager posts alerts here (docs/alerting.md)',
  ALERT_TELEGRAM_CHAT_ID: 'Telegram chat for alerts',
  ALERT_TELEGRAM_BOT_TOKEN_FILE: "file on the host holding the Telegram bot's token",
  ALERT_SMTP_TO: 'e-mail recipient of alerts',
  ALERT_SMTP_FROM: 'sender of alert e-mails',
  ALERT_SMTP_SMARTHOST: 'SMTP server host:port',
  ALERT_SMTP_AUTH_USERNAME: 'SMTP user',
  ALERT_SMTP_AUTH_PASSWORD_FILE: "file on the host holding the SMTP user's password",
  ALERT_SMTP_REQUIRE_TLS: 'require STARTTLS towards the SMTP server',
};

export function composeVariables(): Map<string, string> {
  const text = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
  const found = new Map<string, string>();
  for (const m of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(?::?-([^}]*))?\}/g)) if (!found.has(m[1]!)) found.set(m[1]!, m[2] ?? '');
  return found;
}

function composeVariablesBlock(): string {
  const rows = [...composeVariables()].map(([name, fallback]) => [
    code(name),
    fallback === '' ? 'empty' : code(fallback),
    COMPOSE_VARIABLE_DOCS[name] ?? '(no doc line)',
  ]);
  return table(['variable', 'default', 'meaning'], rows);
}

function composeVariableProblems(): string[] {
  const used = composeVariables();
  return [
    ...[...used.keys()]
      .filter((n) => !COMPOSE_VARIABLE_DOCS[n])
      .map((n) => `docker-compose.yml uses ${n}, which COMPOSE_VARIABLE_DOCS in docs/generate.ts does not explain`),
    ...Object.keys(COMPOSE_VARIABLE_DOCS)
      .filter((n) => !used.has(n))
      .map((n) => `COMPOSE_VARIABLE_DOCS explains ${n}, which docker-compose.yml no longer uses`),
  ];
}

/** Published ports of the compose file, and the port each of our programs listens on by default. */
function portsBlock(): string {
  const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { ports?: string[]; expose?: string[]; profiles?: string[] }>;
  };
  const rows = Object.entries(compose.services).flatMap(([name, svc]) => {
    const published = (svc.ports ?? [])
      .map((p) => /:(\d+):(\d+)$/.exec(p))
      .filter((m) => m)
      .map((m) => `${m![1]} → ${m![2]}`);
    const internal = (svc.expose ?? []).map(String);
    if (published.length === 0 && internal.length === 0) return [];
    return [[code(name), published.join(', ') || '—', internal.join(', ') || '—', svc.profiles ? svc.profiles.join(', ') : 'always']];
  });
  return table(['compose service', 'published on BIND_ADDRESS (host → container)', 'internal only', 'profile'], rows);
}

// --- the compose stack as a user meets it ---------------------------------------------------------

interface ComposeService {
  ports?: string[];
  expose?: string[];
  profiles?: string[];
  volumes?: string[];
}
const composeFile = () =>
  parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };

/** service → [host port, container port] of its first published port. */
function composePorts(): Map<string, [number, number]> {
  const ports = new Map<string, [number, number]>();
  for (const [name, svc] of Object.entries(composeFile().services)) {
    const m = /:(\d+):(\d+)$/.exec(svc.ports?.[0] ?? '');
    if (m) ports.set(name, [Number(m[1]), Number(m[2])]);
  }
  return ports;
}

/** Ports a plain `docker compose up -d` publishes (services of no profile). */
function defaultPublishedPorts(): number {
  return Object.values(composeFile().services).filter((svc) => !svc.profiles && (svc.ports ?? []).length > 0).length;
}

/**
 * The README's services table: init/src/urls.ts's list (what `./runner.sh urls` and init print),
 * its ports from docker-compose.yml, its native port and scheme from ops/daemons.ts.
 */
function servicesBlock(): string {
  const compose = composeFile().services;
  const ports = composePorts();
  const defaults = parseConfig(urlsShape, {});
  const native = stackSettings({});
  const rows = PUBLISHED_SERVICES.filter((e) => ports.has(e.service)).map((e) => {
    const port = ports.get(e.service)![0];
    const profiles = compose[e.service]!.profiles;
    const nativeUrl = e.native ? new URL(daemonSpec(e.native).url(native)) : null;
    const user = e.user(defaults);
    return [
      e.label + (profiles ? ` (profile ${profiles.join(', ')})` : ''),
      openedUrl(e, `${e.scheme}://localhost:${port}`),
      String(port),
      nativeUrl ? nativeUrl.port : '— (compose only)',
      `${e.scheme} · ${nativeUrl ? nativeUrl.protocol.replace(':', '') : '—'}`,
      user ? code(user) : 'none',
      (e.passwordFile ? code(`secrets/${e.passwordFile}`) : '—') +
        (e.note && !profiles ? ` (${e.note.replace(/(\w+_password)/, (f) => code(`secrets/${f}`))})` : ''),
    ];
  });
  return table(['service', 'URL (compose)', 'compose port', 'native port', 'compose · native', 'user (compose)', 'password (compose)'], rows);
}

/** What each named volume holds: the sentence `down -v` deletes. */
const COMPOSE_VOLUME_DOCS: Record<string, string> = {
  'prometheus-data': 'the TSDB (retention `PROMETHEUS_RETENTION`, default 15d)',
  'alertmanager-data': 'silences, the notification log, and the rendered `alertmanager.yml`',
  'grafana-data': "Grafana's database (its admin password after the first start) and plugins (dashboards themselves come from `grafana/dashboards/`)",
  'graphite-data': 'whisper files (`/opt/graphite/storage`)',
  'influxdb-data': 'InfluxDB data, and the users created at its first start',
  'scraper-spool':
    "the scraper's **unsent points** (the durable spool, while a store is down) and candle cursors: `down -v` drops what Graphite or InfluxDB has not taken yet",
  'shard-claims': 'profile scale: which worker-shard replica holds which shard',
  'victoria-metrics-data': "profile scale: VictoriaMetrics' long-term samples (`VM_RETENTION`)",
};

function volumesBlock(): string {
  return table(
    ['volume', 'holds'],
    Object.keys(composeFile().volumes).map((v) => [code(v), COMPOSE_VOLUME_DOCS[v] ?? '(no doc line)']),
  );
}

function volumeProblems(): string[] {
  const used = Object.keys(composeFile().volumes);
  return [
    ...used
      .filter((v) => !COMPOSE_VOLUME_DOCS[v])
      .map((v) => `docker-compose.yml declares volume ${v}, which COMPOSE_VOLUME_DOCS in docs/generate.ts does not explain`),
    ...Object.keys(COMPOSE_VOLUME_DOCS)
      .filter((v) => !used.includes(v))
      .map((v) => `COMPOSE_VOLUME_DOCS explains volume ${v}, which docker-compose.yml no longer declares`),
  ];
}

// --- Grafana's provisioning ---------------------------------------------------------------------------

interface Datasource {
  uid: string;
  type: string;
  url: string;
  isDefault?: boolean;
  basicAuth?: boolean;
  basicAuthUser?: string;
  user?: string;
  secureJsonData?: Record<string, string>;
}
const datasources = (): Datasource[] =>
  (parse(fs.readFileSync(path.join(ROOT, 'grafana/provisioning/datasources/datasources.yml'), 'utf8')) as { datasources: Datasource[] }).datasources;
const dashboardFiles = (): string[] =>
  fs
    .readdirSync(path.join(ROOT, 'grafana/dashboards'))
    .filter((f) => f.endsWith('.json'))
    .sort();

/** What each datasource is for, beside what its provisioning file says. */
const DATASOURCE_NOTES: Record<string, string> = {
  prometheus: 'POST queries; `timeInterval: 15s` = the scrape interval of `prometheus/prometheus.yml`, so `$__rate_interval` is at least 1 m (4 scrapes)',
  victoriametrics: "the `scale` profile's long-term store (docs/scale.md); unreachable without the profile",
  graphite: 'graphite-web 1.1',
  influxdb: 'InfluxQL, database `pyexample`',
  'backend-api': "Infinity prefixes this URL to each query's path (GET `/api/quotes`, `/api/status`); `allowedHosts` keeps it to the backend",
};

/** `$__file{/run/secrets/x}` → `secrets/x`: the file compose mounts there. */
const secretFileOf = (value: string | undefined) => (value ? code(value.replace(/^\$__file\{\/run\/secrets\/(.*)\}$/, 'secrets/$1')) : '');

function datasourcesBlock(): string {
  const rows = datasources().map((d) => {
    const user = d.basicAuthUser ?? d.user;
    const password = d.secureJsonData?.basicAuthPassword ?? d.secureJsonData?.password;
    const login = user ? `${code(user)} (Grafana's environment), password ${secretFileOf(password)}` : 'none';
    const ca = d.secureJsonData?.tlsCACert ? `; trusts ${secretFileOf(d.secureJsonData.tlsCACert)}` : '';
    return [code(d.uid) + (d.isDefault ? ' (default)' : ''), d.type, code(d.url), login + ca, DATASOURCE_NOTES[d.uid] ?? '(no doc line)'];
  });
  return table(['uid', 'type', 'URL (compose)', 'login', 'notes'], rows);
}

function dashboardsBlock(): string {
  const rows = dashboardFiles().map((f) => {
    const d = JSON.parse(fs.readFileSync(path.join(ROOT, 'grafana/dashboards', f), 'utf8')) as { title: string; uid: string };
    return [d.title, code(d.uid), code(`grafana/dashboards/${f}`)];
  });
  return table(['dashboard', 'uid', 'file'], rows);
}

function grafanaProblems(): string[] {
  const problems = [
    ...datasources()
      .filter((d) => !DATASOURCE_NOTES[d.uid])
      .map((d) => `datasources.yml provisions ${d.uid}, which DATASOURCE_NOTES in docs/generate.ts does not explain`),
  ];
  const page = fs.readFileSync(path.join(DOCS, 'dashboards.md'), 'utf8');
  for (const f of dashboardFiles()) {
    const { uid } = JSON.parse(fs.readFileSync(path.join(ROOT, 'grafana/dashboards', f), 'utf8')) as { uid: string };
    if (!new RegExp(`^### .* — \`${uid}\`$`, 'm').test(page))
      problems.push(`docs/dashboards.md has no "### <title> — \`${uid}\`" section for grafana/dashboards/${f}`);
  }
  return problems;
}

// --- facts the prose repeats ----------------------------------------------------------------------------

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
const numberOf = (word: string): number => (/^\d+$/.test(word) ? Number(word) : NUMBER_WORDS.indexOf(word.toLowerCase()));

/** Pages a user reads: the README, docs/*.md and .env.example. */
function pages(): Array<[string, string]> {
  const docs = fs
    .readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', '.env.example', ...docs].map((p) => [p, fs.readFileSync(path.join(ROOT, p), 'utf8')]);
}

/**
 * Counts written in prose ("six random passwords", "publishes seven ports", "five datasources")
 * against what the compose file, init and Grafana's provisioning hold.
 */
export function countProblems(texts: Array<[string, string]> = pages()): string[] {
  const facts: Array<[string, RegExp, number]> = [
    ['passwords (init/src/secrets.ts PASSWORD_FILES)', /\b(\w+) (?:random )?passwords\b/gi, PASSWORD_FILES.length],
    ['published ports of `docker compose up -d`', /\b(\w+) (?:published )?ports\b/gi, defaultPublishedPorts()],
    ['Grafana datasources', /\b(\w+) (?:provisioned )?datasources\b/gi, datasources().length],
    ['Grafana dashboards', /\b(\w+) (?:provisioned )?dashboards\b/gi, dashboardFiles().length],
  ];
  const problems: string[] = [];
  for (const [page, text] of texts)
    for (const [what, pattern, actual] of facts)
      for (const m of text.matchAll(pattern)) {
        const claimed = numberOf(m[1]!);
        if (claimed >= 0 && claimed !== actual) problems.push(`${page}: "${m[0]}", but there are ${actual} ${what}`);
      }
  return problems;
}

/**
 * Where compose serves https (init/src/urls.ts, from the web config), a URL of the compose stack
 * must say https: `http://localhost:PORT` anywhere, or any http URL of that port in docs/docker.md
 * (the compose page; the native stack's pages use 127.0.0.1 and plain http by default).
 */
export function httpsProblems(texts: Array<[string, string]> = pages()): string[] {
  const ports = composePorts();
  const httpsPorts = new Set(PUBLISHED_SERVICES.filter((e) => e.scheme === 'https' && ports.has(e.service)).map((e) => ports.get(e.service)![0]));
  const problems: string[] = [];
  for (const [page, text] of texts)
    for (const m of text.matchAll(/http:\/\/(localhost|127\.0\.0\.1|\[::1\]):(\d+)[^\s)`'"]*/g))
      if (httpsPorts.has(Number(m[2])) && (m[1] === 'localhost' || page === 'docs/docker.md'))
        problems.push(`${page}: ${m[0]} is https with a login in compose (init/src/urls.ts)`);
  return problems;
}

/** docs/alerting.md's table of alerts names each alert of prometheus/rules/alerts.yml, and no other. */
function alertTableProblems(): string[] {
  const rules = [...fs.readFileSync(path.join(ROOT, 'prometheus/rules/alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1]!);
  const page = fs.readFileSync(path.join(DOCS, 'alerting.md'), 'utf8');
  const section = page.slice(page.indexOf('## The alerts'), page.indexOf('\n## ', page.indexOf('## The alerts') + 1));
  const listed = [...section.matchAll(/^\| (.*?) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`(\w+)`/g)].map((n) => n[1]!));
  return [
    ...rules.filter((r) => !listed.includes(r)).map((r) => `docs/alerting.md's table of alerts lacks ${r} (prometheus/rules/alerts.yml)`),
    ...listed.filter((r) => !rules.includes(r)).map((r) => `docs/alerting.md's table of alerts lists ${r}, which prometheus/rules/alerts.yml does not have`),
  ];
}

// --- metrics -------------------------------------------------------------------------------------

interface Family {
  name: string;
  type: string;
  help: string;
  labels: string[];
}

function familiesOf(registry: Registry): Family[] {
  return registry.getMetricsAsArray().map((m) => {
    const metric = m as unknown as { name: string; help: string; type: string; labelNames?: string[] };
    return { name: metric.name, type: String(metric.type), help: metric.help, labels: [...(metric.labelNames ?? [])] };
  });
}

/** A quote of `kind` with every field of its market set: what every output writes at most. */
function fullQuote(kind: MarketKind): Quote {
  const [engine, market] = SUPPORTED_MARKETS.find((m) => marketKindOf(...(m.split('/') as [string, string])) === kind)!.split('/') as [string, string];
  const fields = new Set(fieldsOfMarket(kind));
  const numbers = Object.fromEntries(NUMERIC_FIELDS.map(({ field }) => [field, fields.has(field) ? 1 : null]));
  return {
    ticker: '<TICKER>',
    board: '<BOARD>',
    engine,
    market,
    shortName: null,
    trading: MARKETS[kind].tradingStatus ? true : null,
    time: new Date(0),
    delaySeconds: 0,
    ...numbers,
    ...(MARKETS[kind].optionSeries ? { option: { underlying: '<UNDERLYING>', type: 'call', strike: '1', expiry: '1970-01-01' } } : {}),
  } as Quote;
}

/** The families of an exposition rendered by hand, with the labels its samples carry. */
function renderedFamilies(text: string): Family[] {
  const families: Family[] = [];
  for (const line of text.split('\n')) {
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    if (help) families.push({ name: help[1]!, help: help[2]!, type: '', labels: [] });
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) families.find((f) => f.name === type[1])!.type = type[2]!;
    // The labels are those the samples carry (an option series' contract labels only on options families).
    const sample = /^[a-z_]+\{(.*)\} /.exec(line);
    const family = families.at(-1);
    for (const [, label] of sample?.[1]!.matchAll(/([a-z_]+)="(?:[^"\\]|\\.)*"/g) ?? []) {
      if (label !== 'le' && !family!.labels.includes(label!)) family!.labels.push(label!);
    }
  }
  return families;
}

function quoteFamilies(): Family[] {
  const metrics = createQuoteMetrics({ histogramBoards: new Set(['<BOARD>']), removeAfterPolls: 1 });
  metrics.update((Object.keys(MARKETS) as MarketKind[]).map(fullQuote), ['<BOARD>']);
  const families = renderedFamilies(metrics.render());
  // A family every market shares carries the contract labels on option series only.
  const contractLabels = Object.keys(optionLabels({ underlying: '', type: 'call', strike: '', expiry: '' }));
  for (const f of families) {
    if (f.name.startsWith('moex_option_') || !f.labels.includes(contractLabels[0]!)) continue;
    f.labels = [...f.labels.filter((l) => !contractLabels.includes(l)), `(option series also ${contractLabels.join(', ')})`];
  }
  return families;
}

/** An option series with every figure of the Options Calculator. */
function sampleGreeks(): SeriesGreeks {
  const option = fullQuote('options');
  const greeks = Object.fromEntries(GREEK_FIELDS.map(({ field }) => [field, 1])) as unknown as OptionGreeks;
  return { ticker: option.ticker, board: option.board, engine: option.engine, market: option.market, contract: option.option!, greeks };
}

/** The calculator's figures of an option series (worker-prometheus/src/option-greeks-metrics.ts). */
function greeksFamilies(): Family[] {
  const metrics = createOptionGreeksMetrics();
  metrics.update([sampleGreeks()], new Set());
  return renderedFamilies(metrics.render());
}

function scraperRegistry(): Registry {
  const registry = new Registry();
  registerPollMetrics(registry, []);
  registerSinkMetrics(registry);
  registerSpoolMetrics(registry);
  const unused = () => Promise.reject(new Error('docs only'));
  createCandleSync({
    fetchJson: unused,
    locate: () => null,
    sinks: [],
    stateFile: null,
    registry,
    log: createLogger('docs', 'silent'),
  } as unknown as Parameters<typeof createCandleSync>[0]);
  return registry;
}

function metricsTable(families: Family[]): string {
  return table(
    ['metric', 'type', 'labels', 'meaning'],
    families.map((f) => [code(f.name), f.type, f.labels.join(', ') || '—', f.help]),
  );
}

/** The ISS-facing families every poller has beside its poll metrics: the request budget's, and ALGOPACK's polls. */
function issRegistry(): Registry {
  const registry = new Registry();
  registerIssRequestMetrics(registry);
  registerAlgopackPollMetrics(registry, []);
  registerGreeksPollMetrics(registry);
  registerStreamMetrics(registry, [{ engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', tickers: ['SBER'] }]);
  return registry;
}

/** The worker's own families beyond the quotes: the trading calendar, ISS's clock, series removal, shard claims. */
function workerRegistry(): Registry {
  const registry = new Registry();
  startMarketCalendar({
    engines: [],
    fetchEngineCalendar: () => Promise.reject(new Error('docs only')),
    registry,
    log: createLogger('docs', 'silent'),
    refreshMs: 1,
  }).stop();
  registerIssClockSkew(registry);
  registerSeriesRemovedCounter(registry, []);
  registerShardClaimMetrics(registry);
  return registry;
}

/** The worker's ALGOPACK gauges: every exported column of every dataset, and each bar's time and lag. */
function algopackGaugeFamilies(): Family[] {
  const registry = new Registry();
  const feeds = ALGOPACK_FEEDS.map((name) => ({ market: name.split('/')[0], dataset: name.split('/')[1] }) as AlgopackFeed);
  createAlgopackMetrics(feeds, registry, 1);
  return familiesOf(registry);
}

function metricsBlocks(): Record<string, string> {
  const poll = new Registry();
  registerPollMetrics(poll, []);
  const backend = new Registry();
  httpMetricsMiddleware(backend);
  const pollNames = new Set(familiesOf(poll).map((f) => f.name));
  return {
    'metrics-worker': metricsTable([...quoteFamilies(), ...greeksFamilies(), ...familiesOf(poll), ...familiesOf(workerRegistry())]),
    'metrics-iss': metricsTable(familiesOf(issRegistry())),
    'metrics-scraper': metricsTable(familiesOf(scraperRegistry()).filter((f) => !pollNames.has(f.name))),
    'metrics-algopack': metricsTable(algopackGaugeFamilies()),
    'metrics-backend': metricsTable(familiesOf(backend)),
  };
}

// --- Graphite, InfluxDB, markets --------------------------------------------------------------------

const KINDS = Object.keys(MARKETS) as MarketKind[];
const engineMarketOf = (kind: MarketKind) => SUPPORTED_MARKETS.filter((m) => marketKindOf(...(m.split('/') as [string, string])) === kind).join(', ');

function graphiteBlock(): string {
  const rows = KINDS.map((kind) => {
    const paths = graphitePointsFor(fullQuote(kind), '<GRAPHITE_PREFIX>').map((p) => p.path);
    const node = paths[0]!.slice(0, paths[0]!.lastIndexOf('.'));
    return [kind, engineMarketOf(kind), code(`${node}.<field>`), paths.map((p) => p.slice(node.length + 1)).join(' ')];
  });
  const candle = candleGraphitePoints(
    { ticker: '<TICKER>', board: '<BOARD>', interval: 1, begin: new Date(0), open: 1, high: 1, low: 1, close: 1, value: 1, volume: 1 } as never,
    '<GRAPHITE_PREFIX>',
  );
  const candleNode = candle[0]!.path.slice(0, candle[0]!.path.lastIndexOf('.'));
  rows.push(['candles (1 minute)', 'every polled market', code(`${candleNode}.<field>`), candle.map((p) => p.path.slice(candleNode.length + 1)).join(' ')]);
  const greeks = greeksGraphitePoints(sampleGreeks(), '<GRAPHITE_PREFIX>', new Date(0));
  const greeksNode = greeks[0]!.path.slice(0, greeks[0]!.path.lastIndexOf('.'));
  rows.push([
    'options: Options Calculator figures',
    'futures/options',
    code(`${greeksNode}.<field>`),
    greeks.map((p) => p.path.slice(greeksNode.length + 1)).join(' '),
  ]);
  return table(['market', 'ISS engine/market', 'series', 'fields'], rows);
}

/** Line protocol → measurement, tags, float and integer fields. */
function lineSchema(line: string): { measurement: string; tags: string[]; floats: string[]; integers: string[] } {
  const [head = '', fieldText = ''] = line.split(' ');
  const [measurement = '', ...tagPairs] = head.split(',');
  const fields = fieldText.split(',').map((f) => f.split('='));
  return {
    measurement,
    tags: tagPairs.map((t) => t.split('=')[0]!),
    floats: fields.filter(([, v]) => !v!.endsWith('i')).map(([k]) => k!),
    integers: fields.filter(([, v]) => v!.endsWith('i')).map(([k]) => k!),
  };
}

function influxBlock(): string {
  const rows = KINDS.map((kind) => {
    const s = lineSchema(quoteToInfluxPoint(fullQuote(kind), 'stocks')!.toLineProtocol()!);
    return [code(s.measurement) + (kind === 'shares' ? ' (INFLUX_MEASUREMENT)' : ''), kind, s.tags.join(', '), s.floats.join(' '), s.integers.join(' ') || '—'];
  });
  const candle = lineSchema(
    candleInfluxLine({ ticker: 'T', board: 'B', interval: 1, begin: new Date(0), open: 1, high: 1, low: 1, close: 1, value: 1, volume: 1 } as never),
  );
  rows.push([code(candle.measurement), '1-minute candles', candle.tags.join(', '), candle.floats.join(' '), candle.integers.join(' ')]);
  const greeks = lineSchema(greeksInfluxLine(sampleGreeks(), new Date(0))!);
  rows.push([code(greeks.measurement), 'options: Options Calculator figures', greeks.tags.join(', '), greeks.floats.join(' '), '—']);
  return table(['measurement', 'market', 'tags', 'float fields', 'integer fields'], rows);
}

function marketsBlock(): string {
  const fieldRows = NUMERIC_FIELDS.map((spec) => [
    code(spec.field),
    code(spec.metric),
    code(spec.seriesName),
    ...KINDS.map((kind) => {
      const source = (MARKETS[kind].columns as Record<string, { block: string; column: string } | undefined>)[spec.field];
      if (source) return source.block === 'securities' ? `${source.column} (securities)` : source.column;
      return fieldsOfMarket(kind).includes(spec.field) ? 'derived' : '—';
    }),
  ]);
  const markets = table(
    ['market', 'ISS engine/market', 'InfluxDB measurement', 'change_percent compares'],
    KINDS.map((kind) => [kind, engineMarketOf(kind), code(MARKETS[kind].measurement), `${MARKETS[kind].change.value} vs ${MARKETS[kind].change.previous}`]),
  );
  return `${markets}\n\nWhich ISS column each field comes from, per market (— : the market has no such field, and no series):\n\n${table(['field', 'Prometheus', 'Graphite / InfluxDB', ...KINDS], fieldRows)}`;
}

// --- ALGOPACK ----------------------------------------------------------------------------------------

/** Every exported column: its dataset, the markets that have it, its gauge and its meaning (lib/moex/algopack/datasets.ts). */
function algopackFieldsBlock(): string {
  const rows = Object.values(DATASETS).flatMap((spec) =>
    spec.exported.map((c) => [spec.dataset, spec.markets.join(', '), code(c.column), code(algopackMetricName(spec.dataset, c.column)), c.help]),
  );
  return table(['dataset', 'markets', 'column', 'Prometheus gauge', 'meaning'], rows);
}

/** Where each dataset's bars land in Graphite and InfluxDB, from the scraper's own functions on a sample bar. */
function algopackStoresBlock(): string {
  const rows = Object.values(DATASETS).map((spec) => {
    const bar = {
      market: spec.markets[0]!,
      dataset: spec.dataset,
      ticker: '<TICKER>',
      group: spec.groupColumn ? '<CLGROUP>' : null,
      end: new Date(0),
      published: null,
      fields: { '<field>': 1 },
    };
    const { measurement, tags } = lineSchema(algopackInfluxLine(bar)!);
    return [spec.dataset, code(algopackGraphitePoints(bar, '<GRAPHITE_PREFIX>')[0]!.path), code(measurement), tags.join(', ')];
  });
  return table(['dataset', 'Graphite path', 'InfluxDB measurement', 'tags'], rows);
}

// --- API routes, commands --------------------------------------------------------------------------

const ROUTE_DOCS: Record<string, string> = {
  'GET /healthz': '200 while the process lives (no credentials needed)',
  'GET /readyz': '200 once Prometheus answers, else 503 with a JSON reason',
  'GET /metrics': '`http_request_duration_seconds` and the default process metrics',
  'GET /api/quotes':
    '`{"quotes":[{ticker, board, engine, market, last, bid, offer, open, high, low, prevClose, changePercent, volume, value, trades, trading, time, ageSeconds, delaySeconds, ...the market\'s own fields, orderFlow: {disbalance, boughtLots, soldLots} for shares with an ALGOPACK bar, else absent}], "simulated"}`; null fields are `null`; option series are not here (`/api/options`)',
  'GET /api/options':
    '`{"underlyings":[{"underlying","expiries":[{"expiry","calls","puts"}]}]}`: the option series polled, counted by underlying, expiry (by date) and type',
  'GET /api/options/:underlying/:expiry':
    '`{"underlying","expiry","centralStrike","underlyingPrice","rows":[{"strike","atTheMoney","call","put"}]}`, rows by strike (numeric order), each side `{ticker, last, bid, offer, openInterest, openInterestChange, impliedVolatility, theoreticalPrice, delta}` or null; 404 when no series of that underlying (any case) and expiry is polled, 400 for a malformed one',
  'GET /api/quotes/:ticker': 'one quote; 404 for an unknown ticker, 400 for a malformed one',
  'GET /api/quotes/:ticker/history':
    '`?range=1h&step=30s[&source=prometheus|candles]` → `{"ticker","points":[[unixSeconds,last],...]}`; 400 for a bad range/step or more than 11,000 points',
  'GET /api/status': '`{"ok","components":[{"name","ok","detail","latencyMs"}]}` for prometheus, worker, scraper, moex, graphite, influxdb, alertmanager',
  'GET /api/alerts': '`{"alerts":[...]}`: firing first, then those resolved in the past hour',
  'POST /api/alerts': "Alertmanager's webhook payload (at most 256 kB; 400/413/415 JSON for garbage)",
  'GET /api/demo/:id': '`{"id"}` after a random delay under 1 s: latency for the dashboards to show',
};

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

function appRoutes(): string[] {
  const app = createApp({
    prometheus: {} as never,
    checkStatus: (() => Promise.reject(new Error('docs only'))) as never,
    log: createLogger('docs', 'silent'),
    users: null,
    rateLimitPerMinute: 1,
  } as unknown as Parameters<typeof createApp>[0]);
  const walk = (stack: RouterLayer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods)
            .filter((m) => m !== '_all')
            .map((m) => `${m.toUpperCase()} ${layer.route!.path}`)
        : layer.handle?.stack
          ? walk(layer.handle.stack)
          : [],
    );
  return walk((app as unknown as { router: { stack: RouterLayer[] } }).router.stack);
}

function routesBlock(): string {
  return table(
    ['route', 'answer'],
    appRoutes().map((r) => [code(r), ROUTE_DOCS[r] ?? '(no doc line)']),
  );
}

function routeProblems(): string[] {
  const routes = appRoutes();
  return [
    ...routes.filter((r) => !ROUTE_DOCS[r]).map((r) => `the backend serves ${r}, which ROUTE_DOCS in docs/generate.ts does not explain`),
    ...Object.keys(ROUTE_DOCS)
      .filter((r) => !routes.includes(r))
      .map((r) => `ROUTE_DOCS explains ${r}, which the backend no longer serves`),
  ];
}

function commandsBlock(): string {
  return ['```', execFileSync(path.join(ROOT, 'runner.sh'), ['help'], { encoding: 'utf8' }).trimEnd(), '```'].join('\n');
}

// --- the pages --------------------------------------------------------------------------------------

/** docs/durability.md: every `reason` of scraper_write_errors_total and what the sink does with the lines. */
function writeErrorsBlock(): string {
  const rows = Object.entries(WRITE_ERROR_REASONS).map(([reason, meaning]) => `| \`${reason}\` | ${meaning} |`);
  return ['| reason | what it means, and what happens to the lines |', '|---|---|', ...rows].join('\n');
}

/** page (path in the repository) → its generated blocks. */
export function generatedBlocks(): Record<string, Record<string, string>> {
  return {
    'README.md': { services: servicesBlock() },
    'docs/configuration.md': { environment: environmentBlock(), 'compose-variables': composeVariablesBlock(), ports: portsBlock() },
    'docs/metrics.md': { ...metricsBlocks(), graphite: graphiteBlock(), influxdb: influxBlock() },
    'docs/iss.md': { markets: marketsBlock() },
    'docs/api.md': { routes: routesBlock() },
    'docs/commands.md': { commands: commandsBlock() },
    'docs/algopack.md': { 'algopack-fields': algopackFieldsBlock(), 'algopack-stores': algopackStoresBlock() },
    'docs/docker.md': { volumes: volumesBlock() },
    'docs/dashboards.md': { datasources: datasourcesBlock(), dashboards: dashboardsBlock() },
    'docs/durability.md': { 'write-errors': writeErrorsBlock() },
  };
}

/** `text` with each named block replaced; throws when a block's markers are missing. */
export function fillBlocks(file: string, text: string, blocks: Record<string, string>): string {
  let out = text;
  for (const [name, content] of Object.entries(blocks)) {
    const begin = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`${file}: no ${begin} ... ${end} block`);
    out = `${out.slice(0, from + begin.length)}\n${content}\n${out.slice(to)}`;
  }
  return out;
}

/** Tables the generator explains by name: a name without its line is drift. */
const explainedProblems = () => [...undocumentedVariables(), ...composeVariableProblems(), ...routeProblems(), ...volumeProblems(), ...grafanaProblems()];

/** Every disagreement between code and docs, one line each; empty when they agree. */
export function driftProblems(): string[] {
  const problems = [...explainedProblems(), ...countProblems(), ...httpsProblems(), ...alertTableProblems()];
  for (const [file, blocks] of Object.entries(generatedBlocks())) {
    const full = path.join(ROOT, file);
    const text = fs.readFileSync(full, 'utf8');
    let wanted: string;
    try {
      wanted = fillBlocks(file, text, blocks);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    if (wanted !== text) problems.push(`${file} differs from what the code says: run npx tsx docs/generate.ts`);
  }
  return problems;
}

function main(): void {
  if (process.argv.includes('--check')) {
    const problems = driftProblems();
    for (const p of problems) console.error(`docs drift: ${p}`);
    process.exit(problems.length === 0 ? 0 : 1);
  }
  for (const [file, blocks] of Object.entries(generatedBlocks())) {
    const full = path.join(ROOT, file);
    fs.writeFileSync(full, fillBlocks(file, fs.readFileSync(full, 'utf8'), blocks));
    console.log(`wrote ${file}`);
  }
  const unexplained = explainedProblems();
  for (const p of unexplained) console.error(`docs: ${p}`);
  if (unexplained.length > 0) process.exit(1);
}

if (require.main === module) main();
