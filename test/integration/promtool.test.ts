// The Prometheus configuration the stack ships is valid, every rule file passes
// `promtool test rules`, and the rules keep the project's conventions: every alert
// has a severity and summary/description, is exercised by a rule test, and names
// only metrics of docs/metrics.md (or node-exporter's / Prometheus' own); and every worker series the
// rule tests feed is one a live worker exports, polling every market of the simulator.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { eventually, scrape, startIssSim, startService, type IssSim, type RunningService } from '../support/services';

const ROOT = path.resolve(__dirname, '..', '..');
const PROM_DIR = path.join(ROOT, 'prometheus');
const TEST_DIR = path.join(PROM_DIR, 'tests');

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const ruleFiles = fs.readdirSync(path.join(PROM_DIR, 'rules')).filter((f) => f.endsWith('.yml'));
const rules: Rule[] = ruleFiles.flatMap((f) => {
  const doc = YAML.parse(fs.readFileSync(path.join(PROM_DIR, 'rules', f), 'utf8')) as { groups: { rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
});
const alerts = rules.filter((r) => r.alert);
const testFiles = fs
  .readdirSync(TEST_DIR)
  .filter((f) => f.endsWith('.test.yml'))
  .sort();

// Every family docs/metrics.md lists (its tables are generated from the registries and drift-tested).
const DOCUMENTED_METRICS = new Set(
  [...fs.readFileSync(path.join(ROOT, 'docs', 'metrics.md'), 'utf8').matchAll(/^\| `([a-z_:][a-z0-9_:]*)` \|/gm)].map((m) => m[1]!),
);
const HISTOGRAM_SUFFIXES = /_(bucket|count|sum)$/;

describe('prometheus/ (promtool)', { timeout: 5 * 60_000 }, () => {
  it('promtool check config prometheus/prometheus.yml passes, rule files included', async () => {
    const { code, output } = await run('promtool', ['check', 'config', 'prometheus/prometheus.yml']);
    assert.equal(code, 0, output);
    assert.match(output, new RegExp(`SUCCESS: ${ruleFiles.length} rule files found`));
  });

  it('the config the native stack generates (./runner.sh daemon config prometheus) passes too', async () => {
    const generated = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'ops', 'main.ts'), 'daemon', 'config', 'prometheus'], {
      PROMETHEUS_SCRAPE_INTERVAL: '1s',
      WORKER_PORT: '41000',
      ALERTMANAGER_PORT: '41093',
    });
    assert.equal(generated.code, 0, generated.output);
    assert.match(generated.output, /- 127\.0\.0\.1:41000$/m);
    // Without WEB_CONFIG_FILE the compose file's https and basic_auth lines are dropped (docs/security.md).
    assert.match(
      generated.output,
      /^alerting:\n {2}alertmanagers:\n(?: {4}#.*\n)? {4}- api_version: v2\n {6}static_configs:\n {8}- targets:\n {12}- 127\.0\.0\.1:41093$/m,
    );
    assert.doesNotMatch(generated.output, /worker-prometheus:8000|node-exporter:9100|scraper:8001|backend:8998|alertmanager:9093/);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'moex-promcfg-')), 'prometheus.yml');
    try {
      fs.writeFileSync(file, generated.output);
      const { code, output } = await run('promtool', ['check', 'config', file]);
      assert.equal(code, 0, output);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  for (const file of testFiles) {
    it(`promtool test rules prometheus/tests/${file}`, async () => {
      const { code, output } = await run('promtool', ['test', 'rules', path.join('prometheus', 'tests', file)]);
      assert.equal(code, 0, output);
      assert.match(output, /SUCCESS/);
    });
  }

  it('every alert has a severity, a summary and a description, and a rule test', () => {
    const tested = new Set(
      testFiles.flatMap((f) => {
        const doc = YAML.parse(fs.readFileSync(path.join(TEST_DIR, f), 'utf8')) as { tests: { alert_rule_test?: { alertname: string }[] }[] };
        return doc.tests.flatMap((t) => (t.alert_rule_test ?? []).map((a) => a.alertname));
      }),
    );
    assert.ok(alerts.length >= 10, `only ${alerts.length} alerts`);
    for (const a of alerts) {
      assert.match(a.labels?.severity ?? '', /^(critical|warning|info)$/, `${a.alert} severity`);
      assert.ok(a.annotations?.summary, `${a.alert} has no summary`);
      assert.ok(a.annotations?.description, `${a.alert} has no description`);
      assert.ok(tested.has(a.alert as string), `${a.alert} has no promtool test`);
    }
    for (const required of [
      'TargetDown',
      'MoexPollsFailing',
      'MoexQuotesStale',
      'MoexLargePriceMove',
      'MoexOptionVolatilityJump',
      'ScraperWriteErrors',
      'ScraperBufferGrowing',
      'HostDiskSpaceLow',
      'HostHighCpu',
      'HostMemoryLow',
    ]) {
      assert.ok(
        alerts.some((a) => a.alert === required),
        `missing alert ${required}`,
      );
    }
  });

  it('rules use only the contract metric names (and node-exporter / Prometheus ones)', () => {
    for (const r of rules) {
      const names = r.expr.match(/\b(moex|scraper|http)_[a-z_]+\b/g) ?? [];
      for (const name of names) {
        assert.ok(DOCUMENTED_METRICS.has(name.replace(HISTOGRAM_SUFFIXES, '')), `${r.alert ?? r.record}: unknown metric ${name}`);
      }
    }
  });
});

// An option series' SECID, strike and expiry depend on the day: ISS (and the simulator) list the
// strikes around today's price of the expiries after today. The rule tests' option series are one
// day's; they are compared by every other label's value and by the names of these three.
const DAY_DEPENDENT_OPTION_LABELS = new Set(['ticker', 'strike', 'expiry']);

/**
 * `name{a="x", b="y"}` → `name{a="x",b="y"}` with the labels sorted, `job` and `instance` left out
 * (Prometheus adds them); an option series' day-dependent labels as `name="*"`.
 */
function seriesKey(selector: string): string {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(selector.trim());
  assert.ok(m, `not a series: ${selector}`);
  const pairs = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g)].filter(([, name]) => name !== 'job' && name !== 'instance');
  const option = pairs.some(([, name, value]) => name === 'market' && value === 'options');
  const labels = pairs.map(([, name, value]) => `${name}="${option && DAY_DEPENDENT_OPTION_LABELS.has(name as string) ? '*' : value}"`).sort();
  return `${m[1]}{${labels.join(',')}}`;
}

// The rule tests stand for real workers: a series the worker cannot produce (a label it does not
// set, a market without TRADINGSTATUS given moex_trading) would let a test pass where the rule fails.
// So every input series of job worker-prometheus must be in a live worker's exposition, the worker
// polling every market of the simulator (shares, futures, indices, currency, bonds, Si options with
// their greeks), with one failed poll behind it so the error series exist too.
describe('prometheus/tests/ feed only series a live worker exports', { timeout: 3 * 60_000 }, () => {
  const SOURCES = [
    'stock/shares/TQBR=ALL',
    'futures/forts/RFUD=ALL',
    'stock/index/SNDX=ALL',
    'currency/selt/CETS=ALL',
    'stock/bonds/TQOB=ALL',
    'futures/options/ROPD=Si@1',
  ].join(';');
  let sim: IssSim;
  let worker: RunningService;
  let exported: Set<string>;

  before(async () => {
    sim = await startIssSim();
    worker = await startService(
      'worker',
      { MOEX_ISS_URL: sim.issUrl, MOEX_SOURCES: SOURCES, POLL_SCHEDULE: '* * * * * *', MOEX_OPTION_GREEKS_SCHEDULE: '* * * * * *' },
      { waitFor: 'readyz' },
    );
    // A validation failure, which the client does not retry: one failed poll.
    await sim.control.setFault('malformed-json', 1, 'TQBR');
    const samples = await eventually(
      async () => {
        const s = await scrape(worker.url);
        const ready =
          ['stock', 'futures', 'currency'].every((engine) => s.has(`moex_market_open{engine="${engine}"}`)) &&
          [...s.keys()].some((k) => k.startsWith('moex_option_implied_volatility{'));
        return ready && (s.get('moex_polls_total{result="error",board="TQBR"}') ?? 0) > 0 && s.get('moex_up') === 1 ? s : null;
      },
      60_000,
      'every calendar read, the option series’ implied volatility, a failed TQBR poll, and every board answering again',
    );
    exported = new Set([...samples.keys()].map(seriesKey));
  });

  after(async () => {
    await worker?.stop();
    await sim?.stop();
  });

  it('every input series of job worker-prometheus is in the exposition', () => {
    const fed = testFiles.flatMap((file) => {
      const doc = YAML.parse(fs.readFileSync(path.join(TEST_DIR, file), 'utf8')) as { tests: { input_series?: { series: string }[] }[] };
      return doc.tests.flatMap((t) => (t.input_series ?? []).map((i) => ({ file, series: i.series })));
    });
    // `up` and `scrape_*` are Prometheus' own, written for every target.
    const ofWorker = fed.filter((i) => /\bjob="worker-prometheus"/.test(i.series) && !/^(up|scrape_[a-z_]+)\{/.test(i.series));
    assert.ok(ofWorker.length >= 50, `only ${ofWorker.length} worker series in the rule tests`);
    const unknown = ofWorker.filter((i) => !exported.has(seriesKey(i.series))).map((i) => `${i.file}: ${i.series}`);
    assert.deepEqual(unknown, [], 'series the worker does not export');
  });
});
