import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type Daemon } from '../support/daemons';
import { eventually, scrape, sleep, startIssSim, startService, type IssSim, type RunningService } from '../support/services';
import { influxQuery } from '../support/stores';

// The edges a SIGKILL does not reach (issue 28): InfluxDB refusing the scraper's credentials for a
// while, and the spool's file system filling up. Real InfluxDB, a real tmpfs, the real scraper.

const metric = (name: string, labels: string) => `${name}{${labels}}`;
const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
/** The simulator's quote polls that it answered, as Unix seconds (no feed delay: a quote's time is its poll's). */
const polledSeconds = async (sim: IssSim, from: number, to: number) =>
  (await sim.control.requests())
    .filter((r) => r.path.endsWith('/securities.json') && r.fault === null)
    .map((r) => Date.parse(r.at))
    .filter((t) => t >= from && t <= to)
    .map((t) => Math.floor(t / 1000));
const readyz = async (service: RunningService) => {
  const res = await fetch(`${service.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { reason?: string } };
};

describe('InfluxDB refusing the credentials for 20 s (a rotated password): every polled point arrives', () => {
  let sim: IssSim;
  let influx: Daemon;
  let scraper: RunningService | undefined;
  const dir = tempDir('scraper-auth-');
  const password = 'right-password';
  const auth = { u: 'scraper', p: password };

  before(async () => {
    fs.writeFileSync(path.join(dir, 'password'), `${password}\n`);
    [sim, influx] = await Promise.all([
      startIssSim({ ISS_SIM_DELAY_SECONDS: '0' }),
      startDaemon('influxdb', { env: { INFLUXDB_USER: 'scraper', INFLUXDB_USER_PASSWORD_FILE: path.join(dir, 'password') } }),
    ]);
  });
  after(async () => {
    await scraper?.stop();
    await sim?.stop();
    await influx?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const setPassword = async (to: string, as: string) => {
    const res = await fetch(`${influx.url}/query?${new URLSearchParams({ u: 'scraper', p: as })}`, {
      method: 'POST',
      body: new URLSearchParams({ q: `SET PASSWORD FOR "scraper" = '${to}'` }),
    });
    assert.equal(res.status, 200, await res.text());
  };

  test('401 for 20 s: counted as reason="auth", named in /readyz, nothing dropped; afterwards every point polled meanwhile is in InfluxDB', async () => {
    assert.equal((await fetch(`${influx.url}/query?${new URLSearchParams({ q: 'SHOW DATABASES' })}`)).status, 401, 'InfluxDB asks for credentials');
    scraper = await startService(
      'scraper',
      {
        MOEX_ISS_URL: sim.issUrl,
        MOEX_TICKERS: 'SBER',
        POLL_SCHEDULE: '*/2 * * * * *',
        GRAPHITE_TRANSPORT: 'off',
        INFLUX_URL: influx.url,
        INFLUX_API: 'v1',
        INFLUX_USERNAME: 'scraper',
        INFLUX_PASSWORD_FILE: path.join(dir, 'password'),
        SCRAPER_SPOOL_DIR: path.join(dir, 'spool'),
      },
      { waitFor: 'readyz' },
    );
    await eventually(() => influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER'`, 'pyexample', auth), 20_000, 'SBER in InfluxDB');

    const refusedFrom = Date.now();
    await setPassword('rotated-elsewhere', password);
    await eventually(
      async () => (await scrape(scraper!.url)).get(metric('scraper_write_errors_total', 'sink="influxdb",reason="auth"'))! > 0,
      15_000,
      'a write refused as auth',
    );
    const during = await readyz(scraper);
    assert.equal(during.status, 503);
    assert.match(during.body.reason!, /InfluxDB write failing \(auth: .*\); \d+ points held/);
    await sleep(Math.max(0, refusedFrom + 20_000 - Date.now()));
    const m = await scrape(scraper.url);
    assert.ok(m.get(metric('scraper_buffered_points', 'sink="influxdb"'))! > 0, 'the refused points are held');
    assert.equal(m.get(metric('scraper_dropped_points_total', 'sink="influxdb"')), 0);
    await setPassword(password, 'rotated-elsewhere');
    const refusedTo = Date.now();

    await eventually(
      async () => (await scrape(scraper!.url)).get(metric('scraper_buffered_points', 'sink="influxdb"')) === 0,
      30_000,
      'the held points written',
    );
    assert.equal((await readyz(scraper)).status, 200);
    const polled = await polledSeconds(sim, refusedFrom, refusedTo);
    assert.ok(polled.length >= 8, `${polled.length} polls while InfluxDB refused`);
    const stored = new Set(
      (await influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER' AND time >= ${refusedFrom - 5000}ms`, 'pyexample', auth))!.values.map(
        ([t]) => t as number,
      ),
    );
    const missing = polled.filter((t) => !stored.has(t) && !stored.has(t + 1));
    assert.deepEqual(missing, [], `every poll of the refusal is stored (${polled.length} polled)`);
    assert.equal((await scrape(scraper.url)).get(metric('scraper_dropped_points_total', 'sink="influxdb"')), 0);
  });
});

describe('the spool on a full file system (a 256 KiB tmpfs)', () => {
  let sim: IssSim;
  let influx: Daemon;
  let scraper: RunningService | undefined;
  const spoolDir = tempDir('scraper-full-');
  const filler = path.join(spoolDir, 'filler');

  before(async () => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', spoolDir]);
    [sim, influx] = await Promise.all([startIssSim({ ISS_SIM_DELAY_SECONDS: '0' }), startDaemon('influxdb')]);
  });
  after(async () => {
    await scraper?.stop();
    await sim?.stop();
    await influx?.close();
    execFileSync('umount', [spoolDir]);
    fs.rmSync(spoolDir, { recursive: true, force: true });
  });

  test('no hang; the points spooled before the disk filled arrive, new points flow once there is room, the refused ones are counted', async () => {
    scraper = await startService(
      'scraper',
      {
        MOEX_ISS_URL: sim.issUrl,
        MOEX_TICKERS: 'SBER,GAZP',
        POLL_SCHEDULE: '*/2 * * * * *',
        GRAPHITE_TRANSPORT: 'off',
        INFLUX_URL: influx.url,
        INFLUX_API: 'v1',
        SCRAPER_SPOOL_DIR: spoolDir,
      },
      { waitFor: 'readyz' },
    );
    await eventually(() => influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER'`), 20_000, 'SBER in InfluxDB');
    await influx.stop();
    const downFrom = Date.now();
    await eventually(async () => (await scrape(scraper!.url)).get(metric('scraper_spool_bytes', 'sink="influxdb"'))! > 0, 10_000, 'points spooled');
    await sleep(6000);
    // The rest of the file system taken: every later append meets ENOSPC.
    const fullFrom = Date.now();
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
    } catch {
      // dd ends with "No space left on device": the point
    }
    await eventually(
      async () => (await scrape(scraper!.url)).get(metric('scraper_spool_refused_points_total', 'sink="influxdb"'))! > 0,
      // The spool file's last page may still have room for a few records.
      30_000,
      'a cycle refused for want of space',
    );
    const full = await readyz(scraper);
    assert.equal(full.status, 503);
    assert.match(full.body.reason!, /spool cannot write \(ENOSPC\): \d+ new points refused/);
    // Metrics answer throughout: three scrapes while full, each within a second.
    for (let i = 0; i < 3; i++) {
      const t = Date.now();
      await scrape(scraper.url);
      assert.ok(Date.now() - t < 1000, 'metrics answer while the disk is full');
      await sleep(1000);
    }
    const spooledBeforeFull = await polledSeconds(sim, downFrom, fullFrom - 1000);
    fs.rmSync(filler);
    const roomFrom = Date.now();
    await influx.start();
    await eventually(async () => (await scrape(scraper!.url)).get(metric('scraper_spool_bytes', 'sink="influxdb"')) === 0, 30_000, 'the spool drained');
    await sleep(5000); // new polls after the room came back
    const after = await scrape(scraper.url);
    const refused = after.get(metric('scraper_spool_refused_points_total', 'sink="influxdb"'))!;
    assert.ok(refused > 0);
    assert.equal(after.get(metric('scraper_dropped_points_total', 'sink="influxdb"')), 0, 'nothing spooled was given up on');
    assert.equal((await readyz(scraper)).status, 200);
    const stored = new Set(
      (await influxQuery(influx.url, `SELECT last FROM stocks WHERE ticker='SBER' AND time >= ${downFrom - 5000}ms`))!.values.map(([t]) => t as number),
    );
    const has = (t: number) => stored.has(t) || stored.has(t + 1);
    assert.ok(spooledBeforeFull.length >= 2, `${spooledBeforeFull.length} polls spooled before the disk filled`);
    assert.deepEqual(
      spooledBeforeFull.filter((t) => !has(t)),
      [],
      'the points spooled before the disk filled arrived',
    );
    const newPolls = await polledSeconds(sim, roomFrom + 2500, Date.now() - 2500);
    assert.ok(newPolls.length >= 1 && newPolls.every(has), `new points flow (${newPolls.length} polls after the room came back)`);
  });
});
