import { PollError } from './errors';
import { readIssBlock } from './iss-block';
import { MARKETS, marketKindOf, type BoardSource, type MarketKind, type ValueKind } from './markets';
import { isValue, quoteTime } from './parse';
import { changePercent, NUMERIC_FIELDS, type NumericField, type Quote } from './quote';

/**
 * ISS+ (MOEX's STOMP stream, docs/iss.md "ISS+") in pure functions: which destinations and selectors
 * a set of boards subscribes to, and how a MESSAGE body becomes quotes of the same model the poll
 * fills. The socket lives in issplus.ts.
 */

/**
 * The ISS+ market of each kind of ISS market: stock boards are `MXSE`, currency boards `MXCX`,
 * futures `FORTS` (static/websocket/metadata.json of moexalgo.github.io lists their `securities`
 * streams). Indices (`INDICES`) and options (`OPTIONS`) have streams too, but the ticker form of
 * their selectors is not published: they stay with the poll.
 */
const STREAM_MARKET_OF: Partial<Record<MarketKind, string>> = {
  shares: 'MXSE',
  bonds: 'MXSE',
  currency: 'MXCX',
  futures: 'FORTS',
};

/** One SUBSCRIBE: one security of one board. */
export interface StreamSubscription {
  destination: string;
  selector: string;
  /** `MXSE.TQBR.SBER`: the TICKER of the rows this subscription brings. */
  ticker: string;
}

/**
 * A SUBSCRIBE per listed security of every board the stream has (`TICKER="MXSE.TQBR.SBER"`, as the
 * published clients do). A board polled with ALL has no subscription: ISS+ has no per-board
 * selector that is known to work, and thousands of subscriptions are not what a guest should open.
 */
export function streamSubscriptions(sources: readonly BoardSource[]): StreamSubscription[] {
  const subscriptions: StreamSubscription[] = [];
  for (const source of sources) {
    const market = STREAM_MARKET_OF[source.kind];
    if (!market || source.tickers === 'ALL') continue;
    for (const secid of source.tickers) {
      const ticker = `${market}.${source.board}.${secid}`;
      subscriptions.push({ destination: `${market}.securities`, selector: `TICKER="${ticker}"`, ticker });
    }
  }
  return subscriptions;
}

/** Boards the stream cannot serve (their market has no known stream, or they are polled with ALL). */
export function boardsWithoutStream(sources: readonly BoardSource[]): string[] {
  return sources.filter((s) => !STREAM_MARKET_OF[s.kind] || s.tickers === 'ALL').map((s) => s.board);
}

/** What a MESSAGE body's `properties.type` says: replace, change, or delete the rows named. */
export type StreamMessageType = 'snapshot' | 'updates' | 'removal';

/** One row of a MESSAGE: its TICKER split into board and SECID, its cells by column name (fixed-point pairs unwrapped). */
export interface StreamRow {
  board: string;
  secid: string;
  cells: ReadonlyMap<string, unknown>;
}

export interface StreamMessage {
  type: StreamMessageType;
  rows: StreamRow[];
}

/**
 * A fixed-point cell: `[value, decimals]` (`LAST [306.13, 2]` in moexalgo's notebook output;
 * moexalgo's lasttrades sample rounds with `round(*cell)`): the value. Any other cell as it is.
 */
export function cellValue(cell: unknown): unknown {
  if (Array.isArray(cell) && cell.length === 2 && typeof cell[0] === 'number' && Number.isInteger(cell[1])) return cell[0];
  return cell;
}

const TICKER = /^[A-Z]+\.([A-Za-z0-9]+)\.([A-Za-z0-9_]+)$/;

/**
 * A MESSAGE body (`{properties: {type, seqnum, timestamp}, columns, data}`) read through the one ISS
 * block reader. Throws PollError('validation') when it is not that shape, has no TICKER column, or
 * a row's TICKER is not `MARKET.BOARD.SECID`.
 */
export function parseStreamMessage(body: string): StreamMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PollError('validation', 'ISS+ MESSAGE body is not JSON');
  }
  const type = (json as { properties?: { type?: unknown } } | null)?.properties?.type;
  if (type !== 'snapshot' && type !== 'updates' && type !== 'removal') throw new PollError('validation', 'ISS+ MESSAGE has no properties.type');
  const block = readIssBlock({ message: json }, 'message', { required: ['TICKER'] });
  const rows = block.rows.map((row) => {
    const ticker = block.cell(row, 'TICKER');
    const m = typeof ticker === 'string' ? TICKER.exec(ticker) : null;
    if (!m) throw new PollError('validation', `ISS+ MESSAGE row has TICKER ${JSON.stringify(ticker)}, not MARKET.BOARD.SECID`);
    return { board: m[1]!.toUpperCase(), secid: m[2]!.toUpperCase(), cells: new Map(block.columns.map((column, i) => [column, cellValue(row[i])] as const)) };
  });
  return { type, rows };
}

/** A cell the market's column table refused: left out, and counted by the caller. */
export interface StreamInvalidValue {
  ticker: string;
  field: string;
  value: unknown;
}

const key = (board: string, secid: string) => `${board}\u0000${secid}`;

/**
 * The quotes as the stream and the poll together know them. The poll's quote of a security is its
 * base (the poll is the source of truth: names, columns the stream lacks); the stream's cells since
 * then lie over it. A stream row names its columns as ISS's `marketdata` does (LAST, BID, OFFER,
 * VOLTODAY, …), so the market's one column table (markets.ts) says which field a cell is; a column
 * the stream does not send (MXSE has no OPEN, FORTS calls its previous settlement PREVPRICE) keeps
 * the poll's value.
 */
export function createStreamQuotes() {
  /** The poll's newest quote per security. */
  const polled = new Map<string, Quote>();
  /** The stream's cells per security since the poll's quote. */
  const overlays = new Map<string, Map<string, unknown>>();
  /** What was last handed over per security, so only changes go out. */
  const emitted = new Map<string, Quote>();

  const overlaid = (base: Quote, cells: ReadonlyMap<string, unknown>, now: Date, invalid: StreamInvalidValue[]): Quote => {
    const spec = MARKETS[marketKindOf(base.engine, base.market) ?? 'shares'];
    const quote: Quote = { ...base };
    for (const [field, source] of Object.entries(spec.columns) as Array<[NumericField, { column: string; kind: ValueKind }]>) {
      if (!cells.has(source.column)) continue;
      const raw = cells.get(source.column);
      if (raw === null || raw === undefined || (source.kind === 'quoted' && raw === 0)) quote[field] = null;
      else if (isValue(raw, source.kind)) quote[field] = raw;
      else invalid.push({ ticker: base.ticker, field, value: raw });
    }
    quote.changePercent = changePercent(quote[spec.change.value], quote[spec.change.previous]);
    const status = cells.get('TRADINGSTATUS');
    if (spec.tradingStatus && typeof status === 'string') quote.trading = status === 'T';
    if (cells.has('TIME')) {
      // TIME is the Moscow time of day of the row (metadata.json: type `time`), placed on the day as UPDATETIME is.
      const time = quoteTime(now, cells.get('TIME'));
      quote.time = time;
      quote.delaySeconds = Math.max(0, (now.getTime() - time.getTime()) / 1000);
    }
    return quote;
  };

  const changed = (a: Quote | undefined, b: Quote) =>
    !a || a.time.getTime() !== b.time.getTime() || a.trading !== b.trading || NUMERIC_FIELDS.some(({ field }) => a[field] !== b[field]);

  return {
    /**
     * A poll cycle's quotes become the bases. Where the stream has told something newer than the
     * polled quote's time, the stream's cells still lie over it (the quote handed over is the
     * overlaid one); otherwise the poll's quote replaces what the stream said.
     */
    reconcile(quotes: readonly Quote[], now: Date): Quote[] {
      return quotes.map((quote) => {
        const k = key(quote.board.toUpperCase(), quote.ticker.toUpperCase());
        polled.set(k, quote);
        const cells = overlays.get(k);
        const streamed = cells && overlaid(quote, cells, now, []);
        const current = streamed && streamed.time.getTime() > quote.time.getTime() ? streamed : quote;
        if (current === quote) overlays.delete(k);
        emitted.set(k, current);
        return current;
      });
    },

    /**
     * A MESSAGE's rows applied: the quotes that changed. A security the poll has not returned yet
     * waits for it (its cells are kept). Cells that cannot be their field's value are left out and
     * listed in `invalid`.
     */
    apply(message: StreamMessage, now: Date): { quotes: Quote[]; invalid: StreamInvalidValue[] } {
      const quotes: Quote[] = [];
      const invalid: StreamInvalidValue[] = [];
      for (const row of message.rows) {
        const k = key(row.board, row.secid);
        if (message.type === 'removal') {
          overlays.delete(k);
          continue;
        }
        const cells = message.type === 'snapshot' ? new Map<string, unknown>() : (overlays.get(k) ?? new Map<string, unknown>());
        for (const [column, value] of row.cells) cells.set(column, value);
        overlays.set(k, cells);
        const base = polled.get(k);
        if (!base) continue;
        const quote = overlaid(base, cells, now, invalid);
        if (!changed(emitted.get(k), quote)) continue;
        emitted.set(k, quote);
        quotes.push(quote);
      }
      return { quotes, invalid };
    },
  };
}

export type StreamQuotes = ReturnType<typeof createStreamQuotes>;
