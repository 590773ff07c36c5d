import { Counter, Gauge, type Registry } from 'prom-client';
import type { AlgopackBar } from '../../lib/moex/algopack/parse';
import type { Candle } from '../../lib/moex/candles';
import type { SeriesGreeks } from '../../lib/moex/option-greeks';
import type { Quote } from '../../lib/moex/quote';

export type SinkName = 'graphite' | 'influxdb';

/**
 * Why a write failed, the `reason` of scraper_write_errors_total. What the sink does with the lines
 * is decided per reason where the store's answer is classified (influx-sink.ts `classifyInfluxError`):
 * only `malformed` and `too_large` lines are ever given up on, one line at a time.
 */
export const WRITE_ERROR_REASONS = {
  network: 'no answer: connection refused, reset or timed out (kept, retried)',
  server: 'the store answered 5xx (kept, retried)',
  throttled: 'the store answered 408 or 429 (kept, retried)',
  auth: 'the store refused the credentials: 401 or 403 (kept, retried)',
  not_found: 'the database, bucket or retention policy is missing: 404 (kept, retried)',
  rejected: 'any other refusal of the whole batch (kept, retried)',
  malformed: 'the store named lines it cannot parse: the batch is split until those lines are found and dropped',
  too_large: 'the request is larger than the store takes (413): the batch is split',
} as const;
export type WriteErrorReason = keyof typeof WRITE_ERROR_REASONS;
/** The reasons each sink can report (initialised at 0 so a rate() has a start). */
const REASONS_OF: Record<SinkName, readonly WriteErrorReason[]> = {
  graphite: ['network'],
  influxdb: Object.keys(WRITE_ERROR_REASONS) as WriteErrorReason[],
};

/**
 * An output the scraper hands each cycle's quotes to. `write` sends them on its own schedule
 * (within about a second) and never throws: failures are counted and retried where that is sound.
 */
export interface Sink {
  readonly name: SinkName;
  /** True once the sink's queue holds the points (on disk with the spool); false when it refused them (counted). */
  write(quotes: readonly Quote[]): boolean;
  /** Candles, where the transport can store a point at its own time (not StatsD). */
  writeCandles?(candles: readonly Candle[]): boolean;
  /** ALGOPACK bars, likewise at their own time (the bar's end). */
  writeAlgopack?(bars: readonly AlgopackBar[]): boolean;
  /** The Options Calculator's figures of option series, likewise at their own time (the refresh). */
  writeGreeks?(series: readonly SeriesGreeks[], at: Date): boolean;
  /** What keeps the store from taking points right now, for /readyz and the backend's status; null when nothing. */
  problem(): string | null;
  /** Flushes what it can within the shutdown grace, then releases sockets and timers. */
  close(): Promise<void>;
}

/** What a sink reports about itself; the scraper_* metrics of docs/metrics.md. */
export interface SinkStats {
  written(points: number): void;
  failed(reason: WriteErrorReason): void;
  dropped(points: number): void;
  buffered(points: number): void;
  /** Points written once already and sent again because the store's acceptance is unknown. */
  resent(points: number): void;
}

export function registerSinkMetrics(registry: Registry): (sink: SinkName) => SinkStats {
  const registers = [registry];
  const labelNames = ['sink'] as const;
  const written = new Counter({ name: 'scraper_points_written_total', help: 'Points the sink accepted', labelNames, registers });
  const errors = new Counter({
    name: 'scraper_write_errors_total',
    help: 'Failed writes by reason (a write may carry many points; docs/durability.md says what each reason does with them)',
    labelNames: ['sink', 'reason'] as const,
    registers,
  });
  const dropped = new Counter({
    name: 'scraper_dropped_points_total',
    help: 'Points given up on: buffer full (oldest first) or rejected by the store',
    labelNames,
    registers,
  });
  const resent = new Counter({
    name: 'scraper_resent_points_total',
    help: 'Points sent again after an unexpected disconnect (carbon plaintext has no acknowledgement; the store keeps one value per slot)',
    labelNames,
    registers,
  });
  const buffered = new Gauge({ name: 'scraper_buffered_points', help: 'Points waiting to be (re)sent', labelNames, registers });
  const lastWrite = new Gauge({
    name: 'scraper_last_write_timestamp_seconds',
    help: 'Unix time of the last successful write',
    labelNames,
    registers,
  });
  return (sink) => {
    const labels = { sink };
    for (const c of [written, dropped, resent]) c.inc(labels, 0);
    for (const reason of REASONS_OF[sink]) errors.inc({ sink, reason }, 0);
    buffered.set(labels, 0);
    return {
      written(points) {
        written.inc(labels, points);
        lastWrite.set(labels, Date.now() / 1000);
      },
      failed: (reason) => errors.inc({ sink, reason }),
      dropped: (points) => dropped.inc(labels, points),
      buffered: (points) => buffered.set(labels, points),
      resent: (points) => resent.inc(labels, points),
    };
  };
}
