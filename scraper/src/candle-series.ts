import { Point } from '@influxdata/influxdb-client';
import type { Candle } from '../../lib/moex/candles';
import type { GraphitePoint } from './series';

/** The candle fields, in the order both stores list them (docs/metrics.md). */
const CANDLE_FIELDS = ['open', 'high', 'low', 'close', 'value', 'volume'] as const;

/** The `interval` tag: ISS's minute codes as durations (1 → 1m). */
const candleIntervalTag = (candle: Candle) => `${candle.interval}m`;

const startSeconds = (candle: Candle) => Math.floor(candle.begin.getTime() / 1000);

/** `<prefix>.candles.<TICKER>.<field>` at the candle's start. */
export function candleGraphitePoints(candle: Candle, prefix: string): GraphitePoint[] {
  const timestamp = startSeconds(candle);
  return CANDLE_FIELDS.map((field) => ({ path: `${prefix}.candles.${candle.ticker}.${field}`, value: candle[field], timestamp }));
}

/** Every candle line starts so: the measurement, then its tags. */
export const CANDLES_LINE_PREFIX = 'candles,';

/**
 * Measurement `candles`, tags ticker/board/interval, the candle's start as the timestamp: the
 * same candle written again (the minute still in progress, a replay) overwrites itself.
 */
export function candleInfluxLine(candle: Candle): string {
  const point = new Point('candles').timestamp(candle.begin).tag('ticker', candle.ticker).tag('board', candle.board).tag('interval', candleIntervalTag(candle));
  for (const field of CANDLE_FIELDS) {
    // Units traded are whole; an integer field like stocks.volume, and always the same type.
    if (field === 'volume') point.intField(field, Math.round(candle.volume));
    else point.floatField(field, candle[field]);
  }
  return point.toLineProtocol({ convertTime: () => String(startSeconds(candle)) }) as string;
}
