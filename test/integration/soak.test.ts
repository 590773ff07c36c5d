import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EDGES, runSoak, VICTIMS } from '../../bench/soak';

// The fault soak of `./runner.sh soak`, 3 minutes of it: every part of the pipeline SIGKILLed at
// least once while both cores are busy, the spool's disk full and InfluxDB refusing the scraper's
// password at least once, and nothing the scraper's spool took missing from InfluxDB or Graphite
// (what the full disk refused is counted apart); Prometheus misses a quote only while the worker or
// Prometheus itself was down (as Prometheus' own record of its scrapes of the worker shows) or a
// scrape of it failed.
test(
  '3-minute fault soak: carbon, InfluxDB, scraper, worker and Prometheus SIGKILLed, the spool disk full, InfluxDB refusing auth; 0 lost',
  { timeout: 20 * 60_000 },
  async () => {
    const report = await runSoak(3, (line) => console.log(`# ${line}`));
    console.log(report.markdown.replace(/^/gm, '# '));
    const killed = new Set(report.outages.map((o) => o.victim));
    assert.deepEqual([...killed].sort(), [...VICTIMS, ...EDGES].sort(), 'every part killed and every edge fault made at least once');
    for (const store of report.stores) {
      assert.ok(store.polled > 0, `${store.store}: something polled`);
      assert.equal(store.lost, 0, `${store.store}: ${store.note}`);
      assert.equal(store.unexplained, 0, `${store.store}: ${store.note}`);
    }
    assert.ok(report.stores.some((s) => s.store === 'Prometheus' && s.stored > 0));
  },
);
