import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseBoardSnapshot } from '../../lib/moex/parse';
import { cellValue, createStreamQuotes, parseStreamMessage, streamSubscriptions } from '../../lib/moex/issplus-message';
import type { BoardSource } from '../../lib/moex/markets';
import type { Quote } from '../../lib/moex/quote';

const TQBR: BoardSource = { engine: 'stock', market: 'shares', board: 'TQBR', kind: 'shares', tickers: ['SBER', 'GAZP'] };

/** A polled SBER quote, as parse.ts makes it from a board answer (SYSTIME 10:30:00, UPDATETIME 10:15:00). */
function polledSber(): Quote {
  const answer = {
    securities: { columns: ['SECID', 'SHORTNAME', 'PREVPRICE'], data: [['SBER', 'Сбербанк', 300]] },
    marketdata: {
      columns: [
        'SECID',
        'LAST',
        'BID',
        'OFFER',
        'OPEN',
        'HIGH',
        'LOW',
        'WAPRICE',
        'VOLTODAY',
        'VALTODAY',
        'NUMTRADES',
        'SYSTIME',
        'UPDATETIME',
        'TRADINGSTATUS',
      ],
      data: [['SBER', 306.1, 306.0, 306.2, 301, 307, 299, 304, 1000, 306100, 10, '2026-01-22 10:30:00', '10:15:00', 'T']],
    },
  };
  return parseBoardSnapshot(answer, { ...TQBR, tickers: ['SBER'] }).quotes[0]!;
}

/** 2026-01-22 10:30:05 Moscow (UTC+3). */
const NOW = new Date('2026-01-22T07:30:05Z');

const body = (type: string, columns: string[], data: unknown[][]) => JSON.stringify({ properties: { type, seqnum: 1, timestamp: 0 }, columns, data });

describe('ISS+ subscriptions', () => {
  test('one SUBSCRIBE per listed security, on the market of its board; ALL boards and stream-less markets have none', () => {
    const subs = streamSubscriptions([
      TQBR,
      { engine: 'currency', market: 'selt', board: 'CETS', kind: 'currency', tickers: ['USD000UTSTOM'] },
      { engine: 'futures', market: 'forts', board: 'RFUD', kind: 'futures', tickers: ['SIH6'] },
      { engine: 'stock', market: 'index', board: 'SNDX', kind: 'index', tickers: ['IMOEX'] },
      { engine: 'stock', market: 'shares', board: 'TQTF', kind: 'shares', tickers: 'ALL' },
    ]);
    assert.deepEqual(
      subs.map((s) => [s.destination, s.selector]),
      [
        ['MXSE.securities', 'TICKER="MXSE.TQBR.SBER"'],
        ['MXSE.securities', 'TICKER="MXSE.TQBR.GAZP"'],
        ['MXCX.securities', 'TICKER="MXCX.CETS.USD000UTSTOM"'],
        ['FORTS.securities', 'TICKER="FORTS.RFUD.SIH6"'],
      ],
    );
  });
});

describe('ISS+ MESSAGE bodies', () => {
  test('[value, decimals] cells are their value; plain cells stay', () => {
    assert.equal(cellValue([306.13, 2]), 306.13);
    assert.equal(cellValue(1322700), 1322700);
    assert.equal(cellValue('T'), 'T');
    assert.deepEqual(cellValue([1, 2, 3]), [1, 2, 3]);
  });

  test('a body is read by column name, its TICKER split into board and SECID', () => {
    const message = parseStreamMessage(body('updates', ['LAST', 'TICKER'], [[[306.13, 2], 'MXSE.TQBR.SBER']]));
    assert.equal(message.type, 'updates');
    assert.equal(message.rows[0]!.board, 'TQBR');
    assert.equal(message.rows[0]!.secid, 'SBER');
    assert.equal(message.rows[0]!.cells.get('LAST'), 306.13);
  });

  test('not JSON, no properties.type, no TICKER column or a TICKER of another form: validation errors', () => {
    assert.throws(() => parseStreamMessage('{"columns": ['), /not JSON/);
    assert.throws(() => parseStreamMessage(JSON.stringify({ columns: ['TICKER'], data: [] })), /properties.type/);
    assert.throws(() => parseStreamMessage(body('updates', ['LAST'], [[[1, 2]]])), /lacks TICKER/);
    assert.throws(() => parseStreamMessage(body('updates', ['TICKER'], [['SBER']])), /MARKET.BOARD.SECID/);
  });
});

describe('stream quotes over the poll', () => {
  test('a sparse update changes only its fields; the time comes from TIME; the change is recomputed', () => {
    const quotes = createStreamQuotes();
    const polled = polledSber();
    quotes.reconcile([polled], NOW);
    const { quotes: changed, invalid } = quotes.apply(
      parseStreamMessage(body('updates', ['TICKER', 'LAST', 'TIME'], [['MXSE.TQBR.SBER', [309, 2], '10:15:03']])),
      NOW,
    );
    assert.deepEqual(invalid, []);
    assert.equal(changed.length, 1);
    const q = changed[0]!;
    assert.equal(q.last, 309);
    assert.equal(q.bid, 306.0, 'a column the update lacks keeps the polled value');
    assert.equal(q.open, 301, 'MXSE sends no OPEN: the poll’s stays');
    assert.equal(q.changePercent, 3);
    assert.equal(q.time.toISOString(), '2026-01-22T07:15:03.000Z');
    assert.equal(q.delaySeconds, 902);
  });

  test('nothing changed: nothing handed over; a security not polled yet waits for the poll', () => {
    const quotes = createStreamQuotes();
    const message = parseStreamMessage(body('updates', ['TICKER', 'LAST'], [['MXSE.TQBR.SBER', [306.1, 2]]]));
    assert.equal(quotes.apply(message, NOW).quotes.length, 0, 'no polled quote yet');
    quotes.reconcile([polledSber()], NOW);
    assert.equal(quotes.apply(message, NOW).quotes.length, 0, 'the same LAST as polled is no change');
  });

  test('a cell that cannot be its field is left out and listed; never 0 or NaN', () => {
    const quotes = createStreamQuotes();
    quotes.reconcile([polledSber()], NOW);
    const { quotes: changed, invalid } = quotes.apply(
      parseStreamMessage(body('updates', ['TICKER', 'LAST', 'BID'], [['MXSE.TQBR.SBER', [-5, 2], [306.05, 2]]])),
      NOW,
    );
    assert.deepEqual(invalid, [{ ticker: 'SBER', field: 'last', value: -5 }]);
    assert.equal(changed[0]!.last, 306.1);
    assert.equal(changed[0]!.bid, 306.05);
  });

  test('the poll wins unless the stream is newer; an older poll keeps the stream’s values', () => {
    const quotes = createStreamQuotes();
    const polled = polledSber();
    quotes.reconcile([polled], NOW);
    quotes.apply(parseStreamMessage(body('updates', ['TICKER', 'LAST', 'TIME'], [['MXSE.TQBR.SBER', [309, 2], '10:15:03']])), NOW);
    const [kept] = quotes.reconcile([polled], NOW);
    assert.equal(kept!.last, 309, 'the poll of 10:15:00 is older than the stream’s 10:15:03');
    const newer = { ...polled, last: 310, time: new Date('2026-01-22T07:15:10Z') };
    const [taken] = quotes.reconcile([newer], NOW);
    assert.equal(taken!.last, 310);
    // The stream's old cells are gone: a later sparse update lies over the newer poll.
    const { quotes: after } = quotes.apply(parseStreamMessage(body('updates', ['TICKER', 'BID'], [['MXSE.TQBR.SBER', [309.9, 2]]])), NOW);
    assert.equal(after[0]!.last, 310);
    assert.equal(after[0]!.bid, 309.9);
  });
});
