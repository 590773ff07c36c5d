import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../lib/log';
import type { AlgopackFeed } from '../../lib/moex/algopack/datasets';
import { parseAlgopackPage } from '../../lib/moex/algopack/parse';
import { startAlgopackPolling } from '../../lib/moex/algopack/poller';
import { PollError } from '../../lib/moex/errors';
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
      3,
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

describe('Prometheus: instruments that leave their dataset', () => {
  /** An ISS answer of the fixture's dataset: only the rows `keep` takes, each stamped `tradetime`. */
  function answerOf(fixture: string, keep: (row: unknown[]) => boolean, tradetime?: string): unknown {
    const json = issFixture(`real/algopack/${fixture}`) as Record<string, { columns: string[]; data: unknown[][] }>;
    const block = json['futoi'] ?? json['data']!;
    const time = block.columns.indexOf('tradetime');
    block.data = block.data.filter(keep).map((row) => row.map((cell, i) => (i === time && tradetime ? tradetime : cell)));
    if (json['data.cursor']) json['data.cursor'].data = [[0, block.data.length, 1000]];
    return json;
  }

  /**
   * One ALGOPACK cycle of `feed` as the worker runs it, answered with `answer` (a PollError: every
   * request fails). Each cycle is a poller of its own; the shared state file carries the cursor
   * from one to the next as a running poller keeps it in memory.
   */
  function workerCycles(feed: AlgopackFeed, removeAfterWalks: number) {
    const registry = new Registry();
    const metrics = createAlgopackMetrics([feed], registry, removeAfterWalks);
    const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'algopack-gauges-')), 'state.json');
    return {
      registry,
      async cycle(answer: unknown): Promise<string> {
        const poller = startAlgopackPolling({
          issUrl: 'http://iss.test/iss',
          feeds: [feed],
          filters: new Map([[`${feed.market}/${feed.dataset}`, 'ALL']]),
          schedule: '0 0 1 1 *',
          transport: {
            get: async () => {
              if (answer instanceof PollError) throw answer;
              return { json: answer, simulated: false };
            },
          },
          subscriber: true,
          backfill: null,
          stateFile,
          onBars: (bars) => {
            metrics.update(bars);
            return true;
          },
          onInstrumentsSeen: (f, instruments) => metrics.instrumentsSeen(f, instruments),
          registry: new Registry(),
          log: createLogger('test', 'silent'),
        });
        await poller.stop();
        return registry.metrics();
      },
    };
  }

  const secid = (row: unknown[]) => row[2] as string;
  const tradestatsAt = (time: string, tickers: readonly string[]) => answerOf('eq-tradestats-2026-01-09', (row) => tickers.includes(secid(row)), time);
  const afltSeries = (text: string) => text.split('\n').filter((line) => line.includes('ticker="AFLT"'));

  test('removed after MOEX_REMOVE_AFTER_POLLS successful walks without it; failed or empty walks count none; a fresh bar brings it back', async () => {
    const worker = workerCycles({ market: 'eq', dataset: 'tradestats' }, 3);
    let text = await worker.cycle(tradestatsAt('07:00:00', ['AFKS', 'AFLT', 'ALRS']));
    assert.match(text, /^moex_algopack_tradestats_disb\{ticker="AFLT",market="eq"\} 0\.49$/m);
    assert.equal(afltSeries(text).length, 11, '9 columns (no oi_close for shares), bar time and lag');
    assert.match(text, /^moex_algopack_series_removed_total\{market="eq",dataset="tradestats"\} 0$/m);

    // Walks without AFLT: the first two, three failed ones and an empty answer (no bar of the day yet) between them.
    assert.equal(afltSeries(await worker.cycle(tradestatsAt('07:05:00', ['AFKS', 'ALRS']))).length, 11);
    for (let i = 0; i < 3; i++) assert.equal(afltSeries(await worker.cycle(new PollError('network', 'ECONNRESET'))).length, 11, 'a failed walk');
    assert.equal(afltSeries(await worker.cycle(tradestatsAt('07:10:00', ['AFKS', 'ALRS']))).length, 11);
    assert.equal(afltSeries(await worker.cycle(tradestatsAt('07:15:00', []))).length, 11, 'an empty answer');
    text = await worker.cycle(tradestatsAt('07:15:00', ['AFKS', 'ALRS']));
    assert.deepEqual(afltSeries(text), [], 'the third walk without it removes every series of AFLT');
    assert.match(text, /^moex_algopack_series_removed_total\{market="eq",dataset="tradestats"\} 1$/m);
    const at0715 = Date.UTC(2026, 0, 9, 4, 15) / 1000;
    assert.match(text, new RegExp(`^moex_algopack_bar_timestamp_seconds\\{dataset="tradestats",market="eq",ticker="AFKS",clgroup=""\\} ${at0715}$`, 'm'));

    text = await worker.cycle(tradestatsAt('07:20:00', ['AFKS', 'AFLT', 'ALRS']));
    assert.equal(afltSeries(text).length, 11, 'back with its next bar');
    assert.match(text, new RegExp(`^moex_algopack_bar_timestamp_seconds\\{dataset="tradestats",market="eq",ticker="AFLT",clgroup=""\\} ${at0715 + 300}$`, 'm'));
    assert.match(text, /^moex_algopack_series_removed_total\{market="eq",dataset="tradestats"\} 1$/m);
  });

  test("futoi: a client group is removed on its own, the asset's other group stays", async () => {
    const worker = workerCycles({ market: 'fo', dataset: 'futoi' }, 1);
    const group = (row: unknown[]) => `${row[4] as string}/${row[5] as string}`;
    await worker.cycle(answerOf('futoi-2026-01-09', () => true));
    const text = await worker.cycle(answerOf('futoi-2026-01-09', (row) => !['YD/YUR', 'W4/YUR'].includes(group(row))));
    assert.match(text, /^moex_algopack_futoi_pos\{ticker="YD",market="fo",clgroup="FIZ"\} 102402$/m);
    assert.deepEqual(
      text.split('\n').filter((line) => line.includes('ticker="YD"') && line.includes('clgroup="YUR"')),
      [],
    );
    assert.doesNotMatch(text, /ticker="W4"/);
    assert.match(text, /^moex_algopack_futoi_pos\{ticker="X5",market="fo",clgroup="YUR"\} -3243$/m);
    assert.match(text, /^moex_algopack_series_removed_total\{market="fo",dataset="futoi"\} 2$/m);
  });
});
