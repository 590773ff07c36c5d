import { collectDefaultMetrics, Registry } from 'prom-client';
import { CachedExposition, joinText } from './exposition';
import type { Logger } from './log';
import type { Quote } from './moex/quote';
import { boardSources, configOrExit } from './config';
import os from 'node:os';
import { ConfigError } from './config';
import { sourcesOfShard, type Shard } from './moex/shard';
import { claimShard, type ShardClaim } from './shard-claim';
import { startQuotePolling, type MoexConfig } from './quote-polling';
import { closeServer, createPollerServer, exitOnSignals, listen } from './service';
import type { WebConfig } from './web-config';

export interface PollingServiceOptions {
  config: MoexConfig & { PORT: number; LISTEN_ADDRESS: string; WEB_CONFIG_FILE: WebConfig | null };
  log: Logger;
  /** Series that change once per cycle (rendered when the cycle ends). */
  cycleRegistry: Registry;
  /** Families rendered by hand, served before cycleRegistry's and rendered with them once per cycle. */
  renderCycle?(): string;
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
  const { config, log, cycleRegistry, liveRegistry, onQuotes, onShutdown, renderCycle } = options;
  const configured = configOrExit(() => boardSources(config));
  // MOEX_SHARD=auto/N: the shard is claimed at start (after listening, so /healthz answers meanwhile).
  const autoShard = config.MOEX_SHARD && 'auto' in config.MOEX_SHARD ? config.MOEX_SHARD : null;
  if (autoShard && !config.MOEX_SHARD_CLAIM_DIR) {
    configOrExit(() => {
      throw new ConfigError('MOEX_SHARD_CLAIM_DIR', 'must name a directory the replicas share when MOEX_SHARD=auto/N');
    });
  }
  collectDefaultMetrics({ register: liveRegistry });
  const cycleSource = renderCycle ? { metrics: async () => joinText(renderCycle(), await cycleRegistry.metrics()) } : cycleRegistry;
  const exposition = new CachedExposition(cycleSource, liveRegistry);

  let polling: ReturnType<typeof startQuotePolling> | null = null;
  let claim: ShardClaim | null = null;
  const server = createPollerServer(
    { '/metrics': (req, res) => exposition.serve(req, res) },
    () => polling?.readiness() ?? { ready: false, reason: autoShard ? 'waiting for a free shard' : 'starting' },
    log,
    config.WEB_CONFIG_FILE,
  );
  // Listen first: a port already in use stops the service before it polls anything.
  await listen(server, config.PORT, log, config.LISTEN_ADDRESS);
  exitOnSignals(log, async () => {
    await polling?.stop();
    claim?.release();
    await onShutdown?.();
    await closeServer(server);
  });

  let shard = autoShard ? null : (config.MOEX_SHARD as Shard | null);
  if (autoShard) {
    claim = await claimShard(config.MOEX_SHARD_CLAIM_DIR, autoShard.count, `${os.hostname()}-${process.pid}`, log);
    shard = { index: claim.index, count: autoShard.count };
  }

  polling = startQuotePolling(config, sourcesOfShard(configured, shard), shard, cycleRegistry, log, (quotes) => {
    // A failed board adds nothing: its last good quotes stay as they were in every output.
    if (quotes.length > 0) {
      onQuotes(quotes);
      // What this cycle handed over, once the outputs hold it (the soak counts it against the stores).
      if (log.isLevelEnabled('debug')) log.debug({ quotes: quotes.map((q) => `${q.ticker}@${Math.floor(q.time.getTime() / 1000)}`) }, 'quotes handed over');
    }
    exposition.cycleChanged();
  });
}
