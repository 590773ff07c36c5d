import { Point } from '@influxdata/influxdb-client';
import { presentNumericFields, type Quote } from '../../lib/moex/quote';

/** One Graphite data point. */
export interface GraphitePoint {
  path: string;
  value: number;
  /** Unix seconds: the quote's exchange time. */
  timestamp: number;
}

/** `<prefix>.<TICKER>.<field>` for every field the quote has (CONTRACT §5); nulls are not sent. */
export function graphitePointsFor(quote: Quote, prefix: string): GraphitePoint[] {
  const timestamp = Math.floor(quote.time.getTime() / 1000);
  return presentNumericFields(quote).map(({ spec, value }) => ({ path: `${prefix}.${quote.ticker}.${spec.seriesName}`, value, timestamp }));
}

/** carbon's plaintext protocol: `path value timestamp\n`. */
export function plaintextLine(point: GraphitePoint): string {
  return `${point.path} ${point.value} ${point.timestamp}\n`;
}

/**
 * Measurement `stocks`, tags ticker/board, float and integer fields, the exchange time as the
 * timestamp (CONTRACT §6): writing the same quote twice stores it once.
 */
export function quoteToInfluxPoint(quote: Quote, measurement: string): Point | null {
  const fields = presentNumericFields(quote);
  // A point without fields is not valid line protocol; such a quote has nothing to store.
  if (fields.length === 0) return null;
  const point = new Point(measurement).tag('ticker', quote.ticker).tag('board', quote.board).timestamp(quote.time);
  for (const { spec, value } of fields) {
    if (spec.integer) point.intField(spec.seriesName, value);
    else point.floatField(spec.seriesName, value);
  }
  return point;
}
