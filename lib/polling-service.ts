import { randomUUID } from 'node:crypto';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';
import { CachedExposition } from './exposition';
import type { ProcessIssTransport } from './iss-transport';
import type { Logger } from './log';
import type { Quote } from './moex/quote';
import { boardSources, configOrExit, type ConfigOf, type streamShape } from './config';
import type { IssPlusStream } from './moex/issplus';
import os from 'node:os';
import { ConfigError } from './config';
import { sourcesOfShard, type Shard } from './moex/shard';
import { claimShard, type ShardClaim } from './shard-claim';
import { startQuotePolling, type MoexConfig } from './quote-polling';
import { closeServer, createPollerServer, exitOnSignals, listen } from './service';
import type { WebConfig } from './web-config';

export interface PollingServiceOptions {
  config: MoexConfig & ConfigOf<typeof streamShape> & { PORT: number; LISTEN_ADDRESS: string; WEB_CONFIG_FILE: WebConfig | null };
  log: Logger;
  /** The process's one ISS transport (createProcessIssTransport): the poll shares its request budget. */
  transport: ProcessIssTransport;
  /** Series that change once per cycle (rendered when the cycle ends). */
  cycleRegistry: Registry;
  /** Families rendered by hand (texts, each one or more whole families), served before cycleRegistry's and rendered with them once per cycle. */
  renderCycle?(): Iterable<string>;
  /** Series that change on their own; process metrics are added here. */
  liveRegistry: Registry;
  /**
   * Each cycle in which a board answered: the quotes and the boards that answered (their polls
   * succeeded, even where a shard keeps none of their quotes). A failed board leaves the outputs as
   * they were.
   */
  onQuotes(quotes: readonly Quote[], answeredBoards: readonly string[]): void;
  /**
   * MOEX_STREAM=issplus: quotes the stream changed between polls (only those securities). The
   * cycle's exposition is rendered again after them, at most once per STREAM_RENDER_MS.
   */
  onStreamQuotes?(quotes: readonly Quote[]): void;
  /** MOEX_SHARD=auto/N: another replica took this one's shard over; forget what it exported. */
  onShardLost?(): void;
  /** After polling has stopped, before the HTTP server closes (flush sinks). */
  onShutdown?(): Promise<void>;
  /** What else keeps the service from doing its job once it polls (a store refusing writes); null when nothing. */
  problem?(): string | null;
}

/** `TICKER@unix-seconds` per quote: how the debug log names the quotes of a cycle (the soak reads them back). */
export const quoteLogKeys = (quotes: readonly Quote[]) => quotes.map((q) => `${q.ticker}@${Math.floor(q.time.getTime() / 1000)}`);

/** How long a replica waits before claiming a shard again after a failed claim (a full or read-only claim dir). */
const RECLAIM_RETRY_MS = 5_000;

/** At most one render of the cycle's exposition per this long for stream updates (a poll cycle renders at once). */
const STREAM_RENDER_MS = 1_000;
/** On SIGTERM, how long a poll cycle in flight may take to finish before its ISS requests are abandoned. */
const CYCLE_STOP_MS = 2_000;

/** moex_shard_claim_lost_total: MOEX_SHARD=auto/N replicas only. */
export function registerShardClaimMetrics(registry: Registry): Counter {
  return new Counter({
    name: 'moex_shard_claim_lost_total',
    help: "MOEX_SHARD=auto/N: times another replica took this one's shard over (it stopped polling that shard and claimed again)",
    registers: [registry],
  });
}

/**
 * The shell shared by worker-prometheus and scraper: /metrics, /healthz, /readyz on PORT,
 * the poll loop, and a graceful stop on SIGTERM/SIGINT.
 */

export async function runPollingService(options: PollingServiceOptions): Promise<void> {
  const { config, log, transport, cycleRegistry, liveRegistry, onQuotes, onStreamQuotes, onShutdown, onShardLost, renderCycle, problem } = options;
  const configured = configOrExit(() => boardSources(config));
  // MOEX_SHARD=auto/N: the shard is claimed at start (after listening, so /healthz answers meanwhile).
  const autoShard = config.MOEX_SHARD && 'auto' in config.MOEX_SHARD ? config.MOEX_SHARD : null;
  if (autoShard && !config.MOEX_SHARD_CLAIM_DIR) {
    configOrExit(() => {
      throw new ConfigError('MOEX_SHARD_CLAIM_DIR', 'must name a directory the replicas share when MOEX_SHARD=auto/N');
    });
  }
  // The STOMP client and ws are loaded only for MOEX_STREAM=issplus: ~2 MB of RSS a poller without
  // the stream does not carry (bench part 2's 80 MB at MOEX_TICKERS=ALL).
  const issplus = config.MOEX_STREAM === 'issplus' && onStreamQuotes ? await import('./moex/issplus') : null;
  collectDefaultMetrics({ register: liveRegistry });
  const cycleSource = renderCycle
    ? {
        async metrics() {
          const registered = await cycleRegistry.metrics();
          return (function* () {
            yield* renderCycle();
            yield registered;
          })();
        },
      }
    : cycleRegistry;
  const exposition = new CachedExposition(cycleSource, liveRegistry);

  let polling: ReturnType<typeof startQuotePolling> | null = null;
  let stream: IssPlusStream | null = null;
  // Registered once for the process (every board configured), kept across shard claims.
  const streamMetrics = issplus ? issplus.registerStreamMetrics(liveRegistry, configured) : null;
  /** A stream update's render, waiting so renders come at most once per STREAM_RENDER_MS. */
  let streamRender: NodeJS.Timeout | null = null;
  let renderedAt = 0;
  const renderCycleNow = () => {
    if (streamRender) clearTimeout(streamRender);
    streamRender = null;
    renderedAt = Date.now();
    exposition.cycleChanged();
  };
  const renderAfterStream = () => {
    if (streamRender) return;
    streamRender = setTimeout(renderCycleNow, Math.max(0, renderedAt + STREAM_RENDER_MS - Date.now()));
  };
  let claim: ShardClaim | null = null;
  const server = createPollerServer(
    { '/metrics': (req, res) => exposition.serve(req, res) },
    () => {
      const own = polling?.readiness() ?? { ready: false, reason: autoShard ? 'waiting for a free shard' : 'starting' };
      const other = own.ready ? problem?.() : null;
      return other ? { ready: false, reason: other } : own;
    },
    log,
    config.WEB_CONFIG_FILE,
  );
  // Listen first: a port already in use stops the service before it polls anything.
  await listen(server, config.PORT, log, config.LISTEN_ADDRESS);
  const stopped = new AbortController();
  exitOnSignals(log, async () => {
    stopped.abort(new Error('shutting down'));
    // A cycle in flight may finish (its quotes reach the outputs); one still waiting after
    // CYCLE_STOP_MS (a DNS lookup of a host that stopped beside us, a timeout, retries) ends with
    // what it has, so the outputs keep the rest of the grace.
    const abandon = setTimeout(() => transport.abandon(), CYCLE_STOP_MS);
    await Promise.all([polling?.stop(), stream?.stop()]);
    clearTimeout(abandon);
    transport.abandon();
    if (streamRender) clearTimeout(streamRender);
    claim?.release();
    await onShutdown?.();
    await closeServer(server);
  });

  const startPolling = (shard: Shard | null) => {
    const sources = sourcesOfShard(configured, shard);
    if (issplus && streamMetrics && onStreamQuotes) {
      stream = issplus.startIssPlusStream({
        url: config.MOEX_STREAM_URL,
        credentials: { domain: config.MOEX_STREAM_DOMAIN, login: config.MOEX_STREAM_LOGIN, passcode: config.MOEX_STREAM_PASSCODE },
        sources,
        metrics: streamMetrics,
        log: log.child({ part: 'issplus' }),
        onQuotes: (quotes) => {
          onStreamQuotes(quotes);
          renderAfterStream();
        },
      });
    }
    polling = startQuotePolling(config, sources, shard, cycleRegistry, transport, log, (polled, answeredBoards) => {
      // The poll is the source of truth; where the stream told something newer, that stays.
      const quotes = stream ? stream.reconcile(polled) : polled;
      // A failed board adds nothing: its last good quotes stay as they were in every output.
      if (answeredBoards.length > 0) {
        onQuotes(quotes, answeredBoards);
        // What this cycle handed over, once the outputs hold it (the soak counts it against the stores).
        if (log.isLevelEnabled('debug')) log.debug({ quotes: quoteLogKeys(quotes) }, 'quotes handed over');
      }
      renderCycleNow();
    });
  };
  if (!autoShard) return startPolling(config.MOEX_SHARD as Shard | null);

  const claimsLost = registerShardClaimMetrics(liveRegistry);
  // Unique per process even where every replica is PID 1 on a look-alike host name.
  const owner = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const claimAndPoll = async () => {
    try {
      claim = await claimShard(config.MOEX_SHARD_CLAIM_DIR, autoShard.count, owner, log, { signal: stopped.signal, onLost: () => void reclaim() });
    } catch (err) {
      if (stopped.signal.aborted) return; // shut down while waiting for a free shard
      throw err;
    }
    if (stopped.signal.aborted) return claim.release(); // claimed again just as the shutdown began
    startPolling({ index: claim.index, count: autoShard.count });
  };
  /** The shard was taken over: stop polling it, drop what it exported, and claim a shard again. */
  const reclaim = async () => {
    claimsLost.inc();
    const lost = polling;
    polling = null; // /readyz: waiting for a free shard
    await Promise.all([lost?.stop(), stream?.stop()]);
    claim?.release();
    claim = null;
    // The poll metrics are registered again for the next shard's boards (as after a restart).
    cycleRegistry.clear();
    onShardLost?.();
    exposition.cycleChanged();
    // A claim that fails (the claim directory unwritable for a while) is tried again: a replica never idles for good.
    for (let attempt = 1; !stopped.signal.aborted; attempt++) {
      try {
        return await claimAndPoll();
      } catch (err) {
        if (attempt === 1) log.error({ err }, 'cannot claim a shard again; retrying');
        await new Promise((resolve) => setTimeout(resolve, RECLAIM_RETRY_MS));
      }
    }
  };
  await claimAndPoll();
}
