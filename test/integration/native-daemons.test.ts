// Each daemon of the native stack starts through the supervisor in ops/ (via the test
// harness), answers with real data, stops (its ports are free again) and starts again
// with its data intact. The StatsD round trip proves the shipped graphite/statsd/config.js
// lands gauges as `stocks.X.y`, without the `stats.gauges.` namespace. Last, the whole
// stack through ./runner.sh local: data in every store, `up` idempotent, `down` complete.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Daemon, REPO_ROOT, startDaemon } from '../support/daemons';
import { type NativeStack, startNativeStack } from '../support/native-stack';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `check` until it returns a value (not undefined) or the deadline passes. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(250);
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Resolves true when something accepts a TCP connection on the port. */
function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves true when the UDP port can be bound (nothing holds it). */
function udpBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

function sendCarbonLine(carbon: Daemon, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: portOf(carbon.url) }, () => socket.end(`${line}\n`));
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
}

function sendUdp(url: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.send(payload, portOf(url), '127.0.0.1', (err) => {
      socket.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

type GraphiteSeries = { target: string; datapoints: [number | null, number][] };

/** Non-null values of one Graphite series over the last hour. */
async function graphiteValues(webUrl: string, target: string): Promise<number[]> {
  const series = (await getJson(`${webUrl}/render?target=${encodeURIComponent(target)}&format=json&from=-1h`)) as GraphiteSeries[];
  return series.flatMap((s) => s.datapoints.map(([v]) => v).filter((v): v is number => v !== null));
}

async function graphiteFind(webUrl: string, query: string): Promise<string[]> {
  const nodes = (await getJson(`${webUrl}/metrics/find?query=${encodeURIComponent(query)}`)) as { id: string }[];
  return nodes.map((n) => n.id);
}

async function influxQuery(influx: Daemon, q: string): Promise<unknown> {
  return getJson(`${influx.url}/query?db=pyexample&epoch=s&q=${encodeURIComponent(q)}`);
}

describe('native daemons', { timeout: 10 * 60_000 }, () => {
  describe('carbon + graphite-web', () => {
    let carbon: Daemon;
    let web: Daemon;
    before(async () => {
      carbon = await startDaemon('carbon');
      web = await startDaemon('graphite-web', { carbon });
    });
    after(async () => {
      await web?.close();
      await carbon?.close();
    });

    it('a plaintext line is readable from /render, also after carbon restarts', async () => {
      const now = Math.floor(Date.now() / 1000);
      await sendCarbonLine(carbon, `stocks.TEST.last 271.25 ${now - 60}`);
      // fresh points are served from carbon's cache (CARBONLINK_HOSTS) or from the file
      assert.deepEqual(
        await eventually('stocks.TEST.last in graphite-web', async () => {
          const values = await graphiteValues(web.url, 'stocks.TEST.last');
          return values.length ? values : undefined;
        }),
        [271.25],
      );

      const carbonPort = portOf(carbon.url);
      await carbon.stop();
      assert.equal(await tcpAccepts(carbonPort), false, 'carbon port still accepts connections after stop');
      // while carbon is down graphite-web still serves what is on disk
      assert.deepEqual(await graphiteValues(web.url, 'stocks.TEST.last'), [271.25]);
      await carbon.start();
      assert.equal(await tcpAccepts(carbonPort), true);
      await sendCarbonLine(carbon, `stocks.TEST.last 272.5 ${now}`);
      assert.deepEqual(
        await eventually('both points after the restart', async () => {
          const values = await graphiteValues(web.url, 'stocks.TEST.last');
          return values.length === 2 ? values : undefined;
        }),
        [271.25, 272.5],
      );
    });

    it('stocks.* series use the shipped retentions (10s finest, xFilesFactor 0, last)', async () => {
      // carbon logs the archives and aggregation of each series it creates
      const log = fs.readFileSync(path.join(carbon.stateDir, 'logs', 'carbon.log'), 'utf8');
      const line = log.split('\n').find((l) => l.includes('creating database metric stocks.TEST.last'));
      assert.ok(line, `no creation of stocks.TEST.last in the carbon log:\n${log}`);
      assert.match(line, /archive=\[\(10, 8640\), \(60, 43200\), \(600, 52560\), \(3600, 43800\)\] xff=0\.0 agg=last/);
    });

    it('graphite-web stops, frees its port and comes back', async () => {
      const port = portOf(web.url);
      const pidBefore = web.pid();
      await web.start(); // already running: no second process
      assert.equal(web.pid(), pidBefore);
      await web.stop();
      assert.equal(await tcpAccepts(port), false);
      await web.start();
      assert.deepEqual(await graphiteValues(web.url, 'stocks.TEST.last'), [271.25, 272.5]);
    });

    it('carbon SIGKILLed starts again although its own pidfile names a pid now in use', async () => {
      const pid = carbon.pid();
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      await eventually('carbon gone', async () => ((await tcpAccepts(portOf(carbon.url))) ? undefined : true));
      // A busy machine hands the dead carbon's pid to another process; this test process stands in for it.
      const carbonPidFile = path.join(carbon.stateDir, 'carbon', 'run', 'carbon-cache-a.pid');
      assert.ok(fs.existsSync(carbonPidFile), `carbon left no pidfile at ${carbonPidFile}`);
      fs.writeFileSync(carbonPidFile, `${process.pid}\n`);
      await carbon.start();
      assert.notEqual(carbon.pid(), pid);
      await sendCarbonLine(carbon, `stocks.TEST.restarted 1.5 ${Math.floor(Date.now() / 1000)}`);
      assert.deepEqual(
        await eventually('the point sent after the restart', async () => {
          const values = await graphiteValues(web.url, 'stocks.TEST.restarted');
          return values.length ? values : undefined;
        }),
        [1.5],
      );
    });
  });

  describe('statsd -> carbon', () => {
    let carbon: Daemon;
    let web: Daemon;
    let statsd: Daemon;
    before(async () => {
      carbon = await startDaemon('carbon');
      web = await startDaemon('graphite-web', { carbon });
      statsd = await startDaemon('statsd', { carbon });
    });
    after(async () => {
      await statsd?.close();
      await web?.close();
      await carbon?.close();
    });

    it('a gauge stocks.SBER.last lands as exactly stocks.SBER.last (no stats.gauges.)', async () => {
      await sendUdp(statsd.url, 'stocks.SBER.last:301.5|g\nstocks.SBER.volume:12345|g');
      // StatsD flushes every 10 s
      const values = await eventually('stocks.SBER.last from statsd', async () => {
        const v = await graphiteValues(web.url, 'stocks.SBER.last');
        return v.length ? v : undefined;
      });
      assert.ok(
        values.every((v) => v === 301.5),
        `values ${values}`,
      );
      assert.deepEqual((await graphiteFind(web.url, 'stocks.SBER.*')).sort(), ['stocks.SBER.last', 'stocks.SBER.volume']);
      assert.deepEqual(await graphiteFind(web.url, 'stats'), [], 'a stats.* namespace was created');
      assert.deepEqual(await graphiteFind(web.url, 'stats_counts'), []);
      // StatsD's own health series stay under statsd.*
      assert.ok((await graphiteFind(web.url, 'statsd.*')).length > 0);
    });

    it('statsd stops (management and UDP port freed) and starts again', async () => {
      const mgmtPort = statsd.ports.STATSD_MGMT_PORT as number;
      assert.equal(await tcpAccepts(mgmtPort), true);
      await statsd.stop();
      assert.equal(await tcpAccepts(mgmtPort), false);
      assert.equal(await udpBindable(statsd.ports.STATSD_PORT as number), true);
      assert.equal(statsd.pid(), undefined);
      await statsd.start();
      await sendUdp(statsd.url, 'stocks.GAZP.last:150.25|g');
      assert.ok(
        (
          await eventually('stocks.GAZP.last after the restart', async () => {
            const v = await graphiteValues(web.url, 'stocks.GAZP.last');
            return v.length ? v : undefined;
          })
        ).includes(150.25),
      );
    });
  });

  describe('influxdb', () => {
    let influx: Daemon;
    before(async () => {
      influx = await startDaemon('influxdb');
    });
    after(async () => {
      await influx?.close();
    });

    it('has the pyexample database; a v1 write reads back, and survives an outage', async () => {
      const databases = JSON.stringify(await getJson(`${influx.url}/query?q=SHOW%20DATABASES`));
      assert.match(databases, /"pyexample"/);

      const t = Math.floor(Date.now() / 1000);
      const write = await fetch(`${influx.url}/write?db=pyexample&precision=s`, {
        method: 'POST',
        body: `stocks,ticker=SBER,board=TQBR last=301.5,volume=1200i ${t}`,
      });
      assert.equal(write.status, 204);
      const select = "SELECT last, volume FROM stocks WHERE ticker = 'SBER'";
      const expected = { results: [{ statement_id: 0, series: [{ name: 'stocks', columns: ['time', 'last', 'volume'], values: [[t, 301.5, 1200]] }] }] };
      assert.deepEqual(await influxQuery(influx, select), expected);

      const port = portOf(influx.url);
      await influx.stop();
      assert.equal(await tcpAccepts(port), false);
      await sleep(2_000); // an outage, however short: nothing answers meanwhile
      assert.equal(await tcpAccepts(port), false);
      await influx.start();
      assert.deepEqual(await influxQuery(influx, select), expected);
    });
  });

  describe('prometheus + node-exporter', () => {
    let nodeExporter: Daemon;
    let prometheus: Daemon;
    before(async () => {
      nodeExporter = await startDaemon('node-exporter');
      prometheus = await startDaemon('prometheus', {
        scrapeTargets: [{ job: 'node-exporter', targets: [`127.0.0.1:${nodeExporter.ports.NODE_EXPORTER_PORT}`] }],
        scrapeInterval: '1s',
      });
    });
    after(async () => {
      await prometheus?.close();
      await nodeExporter?.close();
    });

    type Vector = { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };

    it('scrapes the given target at the given interval and loads the project rules', async () => {
      const up = await eventually('up{job="node-exporter"} == 1', async () => {
        const r = (await getJson(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('up{job="node-exporter"}')}`)) as Vector;
        return r.data.result[0]?.value[1] === '1' ? r.data.result[0] : undefined;
      });
      assert.equal(up.metric.instance, `127.0.0.1:${nodeExporter.ports.NODE_EXPORTER_PORT}`);

      const config = (await getJson(`${prometheus.url}/api/v1/status/config`)) as { data: { yaml: string } };
      assert.match(config.data.yaml, /scrape_interval: 1s/);
      assert.doesNotMatch(config.data.yaml, /worker-prometheus:8000|localhost:9090/);

      const rules = (await getJson(`${prometheus.url}/api/v1/rules`)) as { data: { groups: { rules: { name: string }[] }[] } };
      const names = rules.data.groups.flatMap((g) => g.rules.map((r) => r.name));
      for (const name of ['TargetDown', 'MoexQuotesStale', 'HostMemoryLow', 'moex:quote_age_seconds']) assert.ok(names.includes(name), name);

      // a recording rule over node-exporter data evaluates
      await eventually('instance:node_memory_available:ratio', async () => {
        const r = (await getJson(`${prometheus.url}/api/v1/query?query=instance:node_memory_available:ratio`)) as Vector;
        const v = Number(r.data.result[0]?.value[1]);
        return v > 0 && v <= 1 ? v : undefined;
      });
    });

    it('restarts with its TSDB intact', async () => {
      const port = portOf(prometheus.url);
      await prometheus.stop();
      assert.equal(await tcpAccepts(port), false);
      await prometheus.start();
      const r = (await getJson(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="node-exporter"}[10m])')}`)) as Vector;
      assert.ok(Number(r.data.result[0]?.value[1]) >= 1, JSON.stringify(r));
    });
  });

  describe('victoria-metrics and pushgateway', () => {
    let vm: Daemon;
    let pushgateway: Daemon;
    before(async () => {
      vm = await startDaemon('victoria-metrics');
      pushgateway = await startDaemon('pushgateway');
    });
    after(async () => {
      await vm?.close();
      await pushgateway?.close();
    });

    it('victoria-metrics takes InfluxDB line protocol and serves it back', async () => {
      const t = Date.now();
      const res = await fetch(`${vm.url}/write`, { method: 'POST', body: `stocks,ticker=SBER,board=TQBR last=301.5 ${t}000000` });
      assert.equal(res.status, 204);
      const exported = await eventually('stocks_last in victoria-metrics', async () => {
        const text = await (await fetch(`${vm.url}/api/v1/export?match[]=stocks_last`)).text();
        return text.trim() ? JSON.parse(text.trim().split('\n')[0] as string) : undefined;
      });
      assert.deepEqual(exported.metric, { __name__: 'stocks_last', ticker: 'SBER', board: 'TQBR' });
      assert.deepEqual(exported.values, [301.5]);
    });

    it('pushgateway serves a pushed series', async () => {
      const res = await fetch(`${pushgateway.url}/metrics/job/native-test`, { method: 'POST', body: 'moex_up 1\n' });
      assert.equal(res.status, 200);
      const text = await (await fetch(`${pushgateway.url}/metrics`)).text();
      assert.match(text, /^moex_up\{instance="",job="native-test"\} 1$/m);
    });
  });

  describe('./runner.sh local (the whole stack, demo)', () => {
    let stack: NativeStack | undefined;
    before(async () => {
      stack = await startNativeStack({ demo: true, env: { POLL_SCHEDULE: '*/2 * * * * *' } });
    });
    after(async () => {
      await stack?.stop();
    });

    const pids = (s: NativeStack) =>
      Object.fromEntries(fs.readdirSync(path.join(s.stateDir, 'run')).map((f) => [f, fs.readFileSync(path.join(s.stateDir, 'run', f), 'utf8').trim()]));

    it('every part answers; quotes reach Prometheus, Graphite (via StatsD) and InfluxDB', async () => {
      const s = stack as NativeStack;
      const status = await s.status();
      assert.equal(status.ok, true, status.output);
      for (const part of [
        'alertmanager',
        'prometheus',
        'node-exporter',
        'carbon',
        'graphite-web',
        'statsd',
        'influxdb',
        'iss-sim',
        'worker',
        'scraper',
        'backend',
      ]) {
        assert.match(status.output, new RegExp(`^${part} +up `, 'm'), status.output);
      }
      assert.match(status.output, /^grafana .*compose/m);

      type Vector = { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      const inPrometheus = await eventually('moex_last_price{ticker="SBER"} in Prometheus', async () => {
        const r = (await getJson(`${s.urls.prometheus}/api/v1/query?query=${encodeURIComponent('moex_last_price{ticker="SBER"}')}`)) as Vector;
        return r.data.result[0];
      });
      assert.equal(inPrometheus.metric.job, 'worker-prometheus');
      assert.ok(Number(inPrometheus.value[1]) > 0);

      const graphite = await eventually('stocks.SBER.last in Graphite', async () => {
        const v = await graphiteValues(s.urls.graphiteWeb, 'stocks.SBER.last');
        return v.length ? v : undefined;
      });
      assert.ok(graphite.every((v) => v > 0));
      assert.deepEqual(await graphiteFind(s.urls.graphiteWeb, 'stats'), []);

      const influx = await eventually('SBER in InfluxDB', async () => {
        const r = (await getJson(`${s.urls.influxdb}/query?db=pyexample&q=${encodeURIComponent("SELECT last FROM stocks WHERE ticker = 'SBER'")}`)) as {
          results: { series?: { values: [string, number][] }[] }[];
        };
        return r.results[0]?.series?.[0]?.values;
      });
      assert.ok(influx.length > 0);
    });

    it('up twice starts nothing twice', async () => {
      const s = stack as NativeStack;
      const before = pids(s);
      assert.equal(Object.keys(before).length, 11);
      const again = await new Promise<{ code: number; output: string }>((resolve) => {
        execFile(path.join(REPO_ROOT, 'runner.sh'), ['local', 'up', '--demo'], { env: { ...process.env, ...s.env } }, (error, stdout, stderr) =>
          resolve({ code: error ? 1 : 0, output: `${stdout}${stderr}` }),
        );
      });
      assert.equal(again.code, 0, again.output);
      assert.equal((again.output.match(/already running/g) ?? []).length, 11, again.output);
      assert.deepEqual(pids(s), before);
    });

    it('down stops everything: no port of the stack answers, status fails', async () => {
      const s = stack as NativeStack;
      await s.stop();
      stack = undefined;
      const tcpPorts = Object.entries(s.ports).filter(([name]) => name !== 'STATSD_PORT');
      for (const [name, port] of tcpPorts) assert.equal(await tcpAccepts(port), false, `${name} ${port} still accepts connections`);
      assert.equal(await udpBindable(s.ports.STATSD_PORT as number), true, 'StatsD UDP port still bound');
      assert.equal(fs.existsSync(s.stateDir), false, 'temp state dir left behind');
      const status = await s.status();
      assert.equal(status.ok, false, status.output);
      assert.match(status.output, /^backend +stopped/m);
    });
  });
});
