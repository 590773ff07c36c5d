import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig, logShape, moexShape, port } from '../../lib/config';
import { CachedExposition } from '../../lib/exposition';
import { createLogger } from '../../lib/log';
import { startQuotePolling } from '../../lib/quote-polling';
import { closeServer, createPollerServer, exitOnSignals, listen } from '../../lib/service';
import { registerQuoteMetrics } from './quote-metrics';

/** worker-prometheus: ISS → Prometheus metrics on :8000 (CONTRACT §4). */
async function main(): Promise<void> {
  const config = loadConfig({ ...moexShape, ...logShape, PORT: port(8000) });
  const log = createLogger('worker-prometheus', config.LOG_LEVEL);

  // Quote and poll series change once per cycle and are rendered then; process metrics live apart.
  const cycleRegistry = new Registry();
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const quoteMetrics = registerQuoteMetrics(cycleRegistry);
  const exposition = new CachedExposition(cycleRegistry, processRegistry);

  let polling: ReturnType<typeof startQuotePolling> | null = null;
  const server = createPollerServer(
    { '/metrics': (req, res) => exposition.serve(req, res) },
    () => polling?.readiness() ?? { ready: false, reason: 'starting' },
    log,
  );
  await listen(server, config.PORT, log);

  polling = startQuotePolling(config, cycleRegistry, log, (snapshot) => {
    // On a failed poll the last good quotes stay exposed; only moex_up and the counters move.
    if (snapshot) quoteMetrics.update(snapshot.quotes);
    exposition.cycleChanged();
  });

  exitOnSignals(log, async () => {
    await polling?.stop();
    await closeServer(server);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-prometheus failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
