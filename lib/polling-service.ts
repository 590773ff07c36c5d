import { collectDefaultMetrics, Registry } from 'prom-client';
import { CachedExposition } from './exposition';
import type { Logger } from './log';
import type { Quote } from './moex/quote';
import { boardSources, configOrExit } from './config';
import { startQuotePolling, type MoexConfig } from './quote-polling';
import { closeServer, createPollerServer, exitOnSignals, listen } from './service';

export interface PollingServiceOptions {
  config: MoexConfig & { PORT: number };
  log: Logger;
  /** Series that change once per cycle (rendered when the cycle ends). */
  cycleRegistry: Registry;
  /** Series that change on their own; process metrics are added here. */
  liveRegistry: Registry;
  /** Each successful poll's quotes; a failed poll leaves the outputs as they were. */
  onQuotes(quotes: readonly Quote[]): void;
  /** After polling has stopped, before the HTTP server closes (flush sinks). */
  onShutdown?(): Promise<void>;
}

/**
 * The shell shared by worker-prometheus and scraper: /metrics, /healthz, /readyz on PORT,
 * the poll loop, and a graceful stop on SIGTERM/SIGINT.
 */
export async function runPollingService(options: PollingServiceOptions): Promise<void> {
  const { config, log, cycleRegistry, liveRegistry, onQuotes, onShutdown } = options;
  const sources = configOrExit(() => boardSources(config));
  collectDefaultMetrics({ register: liveRegistry });
  const exposition = new CachedExposition(cycleRegistry, liveRegistry);

  let polling: ReturnType<typeof startQuotePolling> | null = null;
  const server = createPollerServer(
    { '/metrics': (req, res) => exposition.serve(req, res) },
    () => polling?.readiness() ?? { ready: false, reason: 'starting' },
    log,
  );
  // Listen first: a port already in use stops the service before it polls anything.
  await listen(server, config.PORT, log);

  polling = startQuotePolling(config, sources, cycleRegistry, log, ({ quotes }) => {
    // A failed board adds nothing: its last good quotes stay as they were in every output.
    if (quotes.length > 0) onQuotes(quotes);
    exposition.cycleChanged();
  });

  exitOnSignals(log, async () => {
    await polling?.stop();
    await onShutdown?.();
    await closeServer(server);
  });
}
