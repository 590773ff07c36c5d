import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { parseAlgopackPage } from '../../lib/moex/algopack/parse';
import { algopackGraphitePoints, algopackInfluxLine } from '../../scraper/src/algopack-series';
import { createAlgopackMetrics } from '../../worker-prometheus/src/algopack-metrics';
import { issFixture } from '../support/fixtures';

const eqTradestats = () => parseAlgopackPage(issFixture('real/algopack/eq-tradestats-2026-01-09'), { market: 'eq', dataset: 'tradestats' }).bars;
const futoi = () => parseAlgopackPage(issFixture('real/algopack/futoi-2026-01-09'), { market: 'fo', dataset: 'futoi' }).bars;
/** 2026-01-09 07:00:00 Moscow = 04:00:00 UTC. */
const AFKS_END = Date.UTC(2026, 0, 9, 4, 0, 0) / 1000;

describe('Graphite', () => {
  test('every numeric column at the bar end; null cells not sent', () => {
    const points = algopackGraphitePoints(eqTradestats()[0]!, 'stocks');
    assert.equal(points.length, 22);
    assert.ok(points.every((p) => p.timestamp === AFKS_END));
    assert.deepEqual(
      points.find((p) => p.path === 'stocks.algopack.tradestats.AFKS.disb'),
      { path: 'stocks.algopack.tradestats.AFKS.disb', value: -1, timestamp: AFKS_END },
    );
    assert.equal(
      points.some((p) => p.path.endsWith('.pr_vwap_b')),
      false,
    );
  });

  test('futoi: the client group is a node', () => {
    const points = algopackGraphitePoints(futoi()[1]!, 'stocks');
    assert.deepEqual(
      points.map((p) => `${p.path} ${p.value} ${p.timestamp}`),
      [
        'stocks.algopack.futoi.YD.FIZ.pos 102402 1767991800',
        'stocks.algopack.futoi.YD.FIZ.pos_long 126650 1767991800',
        'stocks.algopack.futoi.YD.FIZ.pos_short -24248 1767991800',
        'stocks.algopack.futoi.YD.FIZ.pos_long_num 942 1767991800',
        'stocks.algopack.futoi.YD.FIZ.pos_short_num 274 1767991800',
      ],
    );
  });
});

describe('InfluxDB', () => {
  test('measurement per dataset, tags, float fields, the bar end in seconds', () => {
    const line = algopackInfluxLine(futoi()[0]!);
    assert.equal(line, 'futoi,clgroup=YUR,market=fo,ticker=YD pos=-102402,pos_long=1387,pos_long_num=5,pos_short=-103789,pos_short_num=23 1767991800');
    const trade = algopackInfluxLine(eqTradestats()[1]!)!;
    assert.match(trade, /^tradestats,market=eq,ticker=AFLT /);
    assert.match(trade, /[ ,]disb=0\.49[, ]/);
    assert.match(trade, /[ ,]vol_b=123[, ]/);
    assert.ok(trade.endsWith(` ${AFKS_END}`));
  });

  test('a bar without numeric cells is no line', () => {
    assert.equal(algopackInfluxLine({ ...eqTradestats()[0]!, fields: {} }), null);
  });
});

describe('Prometheus', () => {
  test('the exported columns only, newest bar wins, lag = SYSTIME - end, nulls absent', async () => {
    const registry = new Registry();
    const metrics = createAlgopackMetrics(
      [
        { market: 'eq', dataset: 'tradestats' },
        { market: 'fo', dataset: 'futoi' },
      ],
      registry,
    );
    const bars = eqTradestats();
    metrics.update(bars);
    metrics.update(futoi());
    const text = await registry.metrics();
    assert.match(text, /^moex_algopack_tradestats_disb\{ticker="AFLT",market="eq"\} 0\.49$/m);
    assert.match(text, /^moex_algopack_tradestats_vol_b\{ticker="AFLT",market="eq"\} 123$/m);
    assert.match(text, /^moex_algopack_tradestats_pr_vwap\{ticker="AFKS",market="eq"\} 12\.766$/m);
    assert.doesNotMatch(text, /moex_algopack_tradestats_pr_std/, 'not in the exported table');
    assert.doesNotMatch(text, /moex_algopack_tradestats_oi_close\{/, 'futures only: no series for shares');
    assert.match(text, new RegExp(`^moex_algopack_bar_timestamp_seconds\\{dataset="tradestats",market="eq",ticker="AFKS",clgroup=""\\} ${AFKS_END}$`, 'm'));
    assert.match(text, /^moex_algopack_bar_lag_seconds\{dataset="tradestats",market="eq",ticker="AFKS",clgroup=""\} 10$/m);
    assert.match(text, /^moex_algopack_futoi_pos_short\{ticker="YD",market="fo",clgroup="FIZ"\} -24248$/m);
    // An older bar of AFLT arrives late: ignored. A newer one without disb: disb's series goes.
    const older = { ...bars[1]!, end: new Date(bars[1]!.end.getTime() - 300_000), fields: { ...bars[1]!.fields, disb: -0.5 } };
    metrics.update([older]);
    assert.match(await registry.metrics(), /^moex_algopack_tradestats_disb\{ticker="AFLT",market="eq"\} 0\.49$/m);
    const { disb: _gone, ...withoutDisb } = bars[1]!.fields;
    metrics.update([{ ...bars[1]!, end: new Date(bars[1]!.end.getTime() + 300_000), fields: withoutDisb }]);
    assert.doesNotMatch(await registry.metrics(), /moex_algopack_tradestats_disb\{ticker="AFLT"/);
  });
});
