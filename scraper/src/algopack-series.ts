import { Point } from '@influxdata/influxdb-client';
import { DATASETS } from '../../lib/moex/algopack/datasets';
import type { AlgopackBar } from '../../lib/moex/algopack/parse';
import type { GraphitePoint } from './series';

const endSeconds = (bar: AlgopackBar) => Math.floor(bar.end.getTime() / 1000);

/**
 * `<prefix>.algopack.<dataset>.<TICKER>.<field>` at the bar's end, one point per numeric column;
 * futoi adds the client group: `<prefix>.algopack.futoi.<ASSET>.<FIZ|YUR>.<field>`.
 */
export function algopackGraphitePoints(bar: AlgopackBar, prefix: string): GraphitePoint[] {
  const timestamp = endSeconds(bar);
  const node = [prefix, 'algopack', bar.dataset, bar.ticker, ...(bar.group === null ? [] : [bar.group])].join('.');
  return Object.entries(bar.fields).map(([field, value]) => ({ path: `${node}.${field}`, value, timestamp }));
}

/** The InfluxDB measurements, one per dataset (the quote sinks count their own lines apart from these). */
export const ALGOPACK_MEASUREMENTS: readonly string[] = Object.keys(DATASETS);

/**
 * Measurement = the dataset, tags ticker and market (futoi: clgroup), every numeric column as a
 * float field (ISS sends a column's whole and fractional values alike; one type per field keeps
 * InfluxDB from refusing a later point), the bar's end as the timestamp: a bar written again
 * (a backfill over a stored bar) overwrites itself. Null when the bar has no numeric cell.
 */
export function algopackInfluxLine(bar: AlgopackBar): string | null {
  const fields = Object.entries(bar.fields);
  if (fields.length === 0) return null;
  const point = new Point(bar.dataset).timestamp(bar.end).tag('ticker', bar.ticker).tag('market', bar.market);
  if (bar.group !== null) point.tag('clgroup', bar.group);
  for (const [field, value] of fields) point.floatField(field, value);
  return point.toLineProtocol({ convertTime: () => String(endSeconds(bar)) }) as string;
}
