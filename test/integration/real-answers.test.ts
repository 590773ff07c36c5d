/**
 * The worker against an ISS stand-in that replays REAL captured answers (test/fixtures/iss/real/),
 * with MOEX_TICKERS=ALL: every row exported exactly, read here straight from the JSON by column name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { eventually, scrape, startIssSim, startService } from '../support/services';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'iss', 'real');

interface Block {
  columns: string[];
  data: unknown[][];
}
const rowsOf = (block: Block) => block.data.map((row) => Object.fromEntries(block.columns.map((c, i) => [c, row[i]])));

/** SYSTIME and UPDATETIME (Moscow, UTC+3) → the quote time in Unix seconds, as docs/iss.md defines it. */
function expectedTime(systime: string, updatetime: string): number {
  const snapshot = Date.parse(`${systime.replace(' ', 'T')}+03:00`) / 1000;
  let time = Date.parse(`${systime.slice(0, 10)}T${updatetime}+03:00`) / 1000;
  if (time > snapshot + 300) time -= 86_400;
  return time;
}

describe('worker on a replayed real ISS answer, MOEX_TICKERS=ALL', () => {
  test('TQBR five shares (anonymous feed, 2026-09-28): prices, prev close, trading, time and delay per row, nothing else', async () => {
    const file = path.join(FIXTURES, 'tqbr-x5-peers-2026-09-28.json');
    const answer = JSON.parse(readFileSync(file, 'utf8')) as { securities: Block; marketdata: Block };
    const sim = await startIssSim({ ISS_SIM_REPLAY: file });
    const worker = await startService('worker', { MOEX_ISS_URL: sim.issUrl, MOEX_TICKERS: 'ALL', POLL_SCHEDULE: '* * * * * *' }, { waitFor: 'readyz' });
    try {
      const s = await eventually(async () => ((await scrape(worker.url)).get('moex_up') === 1 ? scrape(worker.url) : null));
      const securities = new Map(rowsOf(answer.securities).map((r) => [r.SECID, r]));
      const marketdata = rowsOf(answer.marketdata);
      assert.equal(marketdata.length, 5);
      const series = (name: string, ticker: string) => s.get(`${name}{ticker="${ticker}",board="TQBR",engine="stock",market="shares"}`);
      for (const md of marketdata) {
        const ticker = md.SECID as string;
        assert.equal(series('moex_last_price', ticker), md.LAST, `${ticker} last`);
        assert.equal(series('moex_prev_close_price', ticker), securities.get(ticker)!.PREVPRICE, `${ticker} prev close`);
        assert.equal(series('moex_trading', ticker), md.TRADINGSTATUS === 'T' ? 1 : 0);
        const time = expectedTime(md.SYSTIME as string, md.UPDATETIME as string);
        assert.equal(series('moex_quote_timestamp_seconds', ticker), time, `${ticker} time`);
        assert.equal(series('moex_data_delay_seconds', ticker), Date.parse(`${(md.SYSTIME as string).replace(' ', 'T')}+03:00`) / 1000 - time);
        assert.ok([900, 901].includes(series('moex_data_delay_seconds', ticker)!), 'the anonymous feed: 15 minutes');
        // The answer was filtered to a few columns: no bid, no volume; absent, never 0.
        assert.equal(series('moex_bid_price', ticker), undefined);
        assert.equal(series('moex_volume_today', ticker), undefined);
      }
      const exported = [...s.keys()].filter((k) => k.startsWith('moex_last_price{')).length;
      assert.equal(exported, 5, 'every row, and only those');
    } finally {
      await worker.stop();
      await sim.stop();
    }
  });
});
