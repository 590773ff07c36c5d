import { Counter, Gauge, type Registry } from 'prom-client';
import type { AlgopackBar } from '../../lib/moex/algopack/parse';
import type { Candle } from '../../lib/moex/candles';
import type { Quote } from '../../lib/moex/quote';

export type SinkName = 'graphite' | 'influxdb';

/**
 * An output the scraper hands each cycle's quotes to. `write` sends them on its own schedule
 * (within about a second) and never throws: failures are counted and retried where that is sound.
 */
export interface Sink {
  readonly name: SinkName;
  write(quotes: readonly Quote[]): void;
  /** Candles, where the transport can store a point at its own time (not StatsD). */
  writeCandles?(candles: readonly Candle[]): void;
  /** ALGOPACK bars, likewise at their own time (the bar's end). */
  writeAlgopack?(bars: readonly AlgopackBar[]): void;
  /** Flushes what it can within the shutdown grace, then releases sockets and timers. */
  close(): Promise<void>;
}

/** What a sink reports about itself; the scraper_* metrics of docs/metrics.md. */
export interface SinkStats {
  written(points: number): void;
  failed(): void;
  dropped(points: number): void;
  buffered(points: number): void;
  /** Points written once already and sent again because the store's acceptance is unknown. */
  resent(points: number): void;
}

export function registerSinkMetrics(registry: Registry): (sink: SinkName) => SinkStats {
  const registers = [registry];
  const labelNames = ['sink'] as const;
  const written = new Counter({ name: 'scraper_points_written_total', help: 'Points the sink accepted', labelNames, registers });
  const errors = new Counter({ name: 'scraper_write_errors_total', help: 'Failed writes (a write may carry many points)', labelNames, registers });
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
    for (const c of [written, errors, dropped, resent]) c.inc(labels, 0);
    buffered.set(labels, 0);
    return {
      written(points) {
        written.inc(labels, points);
        lastWrite.set(labels, Date.now() / 1000);
      },
      failed: () => errors.inc(labels),
      dropped: (points) => dropped.inc(labels, points),
      buffered: (points) => buffered.set(labels, points),
      resent: (points) => resent.inc(labels, points),
    };
  };
}
