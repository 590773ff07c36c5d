import { ConfigError, cronExpression, doc, positiveInt, Problem, tickerList, type Setting } from '../../config';
import type { BoardSource, MarketKind } from '../markets';
import { ALGOPACK_FEEDS, feedName, type AlgopackFeed, type AlgopackMarket } from './datasets';

/**
 * MOEX_ALGOPACK: which ALGOPACK datasets to poll, and for which instruments.
 *
 *   MOEX_ALGOPACK="eq/tradestats,eq/obstats=SBER,GAZP;fo/tradestats,fo/futoi=ALL;fx/tradestats"
 *
 * Entries are separated by `;`. An entry is a comma list of `market/dataset` feeds, optionally
 * followed by `=TICKERS` (a comma list, or ALL): the ticker filter of that entry's market, so the
 * feeds of one entry with a filter share one market, and a market gets one filter. A market
 * without a filter takes the tickers the stack polls there (MOEX_SOURCES / MOEX_TICKERS);
 * futoi's rows are per asset (`Si`), matched by the asset code or a futures code (`SiH6`) of it.
 */
export interface AlgopackSelection {
  feeds: AlgopackFeed[];
  /** Per market: the filter given; markets not named here take the polled tickers. */
  tickers: Partial<Record<AlgopackMarket, readonly string[] | 'ALL'>>;
}

const FEED_PATTERN = /^([a-z]+)\/([a-z]+)$/;

export const algopackSelection: Setting<AlgopackSelection | null> = (raw) => {
  if (raw === undefined || raw.trim() === '') return null;
  const selection: AlgopackSelection = { feeds: [], tickers: {} };
  for (const entry of raw
    .split(';')
    .map((e) => e.trim())
    .filter((e) => e !== '')) {
    const [feedText = '', tickerText] = entry.split(/=(.*)/s, 2);
    const feeds = feedText
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== '');
    if (feeds.length === 0) throw new Problem(`entry "${entry}" names no market/dataset (e.g. eq/tradestats)`);
    for (const name of feeds) {
      const m = FEED_PATTERN.exec(name);
      if (!m || !ALGOPACK_FEEDS.includes(name))
        throw new Problem(`entry "${entry}": "${name}" is not an ALGOPACK dataset (one of ${ALGOPACK_FEEDS.join(', ')})`);
      const feed = { market: m[1], dataset: m[2] } as AlgopackFeed;
      if (selection.feeds.some((f) => feedName(f) === name)) throw new Problem(`entry "${entry}": ${name} is listed twice`);
      selection.feeds.push(feed);
    }
    if (tickerText === undefined) continue;
    const markets = [...new Set(selection.feeds.slice(-feeds.length).map((f) => f.market))];
    if (markets.length > 1) throw new Problem(`entry "${entry}": a ticker filter belongs to one market, this entry names ${markets.join(' and ')}`);
    const market = markets[0]!;
    if (selection.tickers[market]) throw new Problem(`entry "${entry}": market ${market} already has a ticker filter`);
    selection.tickers[market] = tickerList(tickerText, `entry "${entry}": `);
  }
  if (selection.feeds.length === 0) throw new Problem('must list at least one market/dataset (e.g. eq/tradestats) or be unset');
  return selection;
};

/** The ALGOPACK settings the worker and the scraper share. */
export const algopackShape = {
  MOEX_ALGOPACK: doc(
    'ALGOPACK datasets to poll (subscribers): `;`-list of market/dataset feeds with an optional =TICKERS filter, e.g. eq/tradestats,eq/obstats=SBER;fo/futoi=ALL (docs/algopack.md); unset: none',
    algopackSelection,
  ),
  // 20 s past each 5-minute mark: MOEX publishes a bar 10-20 s after its window ends.
  MOEX_ALGOPACK_SCHEDULE: doc(
    'node-cron schedule of the ALGOPACK polls (MOEX publishes a bar 10-20 s after its 5-minute window ends)',
    cronExpression('20 */5 * * * *'),
  ),
};

/** The scraper's backfill bounds: pages per dataset per cycle, and how far back a gap is filled. */
export const algopackBackfillShape = {
  MOEX_ALGOPACK_BACKFILL_PAGES: doc('scraper: ALGOPACK pages (1,000 rows each) fetched per dataset per cycle to fill a gap', positiveInt(30)),
  MOEX_ALGOPACK_BACKFILL_HOURS: doc('scraper: how far back an ALGOPACK gap is filled after an outage or at first start, hours', positiveInt(24)),
};

/** Which ALGOPACK market a polled board's instruments are in; none for indices, bonds and options. */
const ALGOPACK_MARKET_OF: Readonly<Record<MarketKind, AlgopackMarket | null>> = {
  shares: 'eq',
  futures: 'fo',
  currency: 'fx',
  index: null,
  bonds: null,
  options: null,
};

/** Upper-case tickers (futoi: asset codes) a feed's rows are kept for, or every row. */
export type TickerFilter = 'ALL' | ReadonlySet<string>;

/** A FORTS futures code is the asset's 2-character code, a month letter and a year digit (SiH6). */
const FUTURES_CODE = /^([A-Z0-9]{2})[FGHJKMNQUVXZ][0-9]$/;

/**
 * Each feed's filter: its market's filter in MOEX_ALGOPACK, else the tickers polled on that
 * market's boards. A market left with no tickers at all is a config error (exit 2), not a silent
 * nothing.
 */
export function algopackFilters(selection: AlgopackSelection, boards: readonly BoardSource[]): Map<string, TickerFilter> {
  const filters = new Map<string, TickerFilter>();
  for (const feed of selection.feeds) {
    const polled = boards.filter((b) => ALGOPACK_MARKET_OF[b.kind] === feed.market).map((b) => b.tickers);
    const given = selection.tickers[feed.market] ?? (polled.includes('ALL') ? 'ALL' : polled.flat());
    if (given !== 'ALL' && given.length === 0) {
      throw new ConfigError(
        'MOEX_ALGOPACK',
        `${feedName(feed)}: the stack polls no ${feed.market} tickers; add a filter such as ${feedName(feed)}=SBER or =ALL`,
      );
    }
    if (given === 'ALL') filters.set(feedName(feed), 'ALL');
    else {
      const wanted = new Set(given.map((t) => t.toUpperCase()));
      if (feed.dataset === 'futoi') for (const t of wanted) wanted.add(FUTURES_CODE.exec(t)?.[1] ?? t);
      filters.set(feedName(feed), wanted);
    }
  }
  return filters;
}

export const isWanted = (filter: TickerFilter, ticker: string): boolean => filter === 'ALL' || filter.has(ticker.toUpperCase());
