/**
 * 2. Footprint: worker and scraper RSS and CPU per cycle at 3 tickers and at ALL, and ISS requests
 * per cycle: from the 1 s-poll run (poller-run.ts) and from the default-poll soak (default-poll-soak.ts).
 */
import type { SoakResult } from './default-poll-soak';
import { SCALES, scaleLabel, type PollerRun } from './poller-run';
import { mb, ms, num, ratio } from './stats';
import { judge, type Row } from './table';

/** The worker's 1 s cycle at 3 tickers against Pushgateway's for the same series (the small end of the cost targets). */
const SMALL_END_MAX_RATIO = 1;

const RSS_TARGET_BYTES = 80 * 1024 * 1024;
const DEFAULT_POLL_SECONDS = 30;
const NAMES = ['worker', 'scraper'] as const;

export function footprintRows(run: PollerRun, soak: SoakResult | null): Row[] {
  const rows: Row[] = [];
  const bare = `bare Node http server ${mb(run.bareNode.rssBytes)} (file ${mb(run.bareNode.fileRssBytes)})`;
  if (soak) {
    for (const name of NAMES) {
      const s = soak[name];
      const floor = name === 'worker' ? soak.workerWithoutQuotes : soak.scraperWithoutQuotes;
      rows.push({
        section: '2',
        what: `${name} RSS, MOEX_TICKERS=ALL, default 30 s poll${name === 'worker' ? ' + gzip scrape every 15 s' : ''}, after ${s.cycles} cycles (${num(soak.minutes, 1)} min, in the background of the whole run)`,
        ours: `${mb(s.proc.rssBytes)} = anon ${mb(s.proc.anonRssBytes)} + file ${mb(s.proc.fileRssBytes)} (peak ${mb(s.proc.peakRssBytes)})`,
        reference: `same ${name} with ISS unreachable (no quotes) ${mb(floor.rssBytes)} = anon ${mb(floor.anonRssBytes)} + file ${mb(floor.fileRssBytes)}; ${bare}`,
        target: `≤ ${mb(RSS_TARGET_BYTES)}; quotes add ${mb(s.proc.rssBytes - floor.rssBytes)}`,
        verdict: judge(s.proc.rssBytes <= RSS_TARGET_BYTES),
      });
      rows.push({
        section: '2',
        what: `${name} CPU per cycle, MOEX_TICKERS=ALL, default 30 s poll${name === 'worker' ? ' (with its 2 scrapes)' : ''}`,
        ours: ms(s.cpuSecondsPerCycle * 1000),
        reference: `${num(((s.cpuSecondsPerCycle * 1000) / (DEFAULT_POLL_SECONDS * 1000)) * 100, 2)}% of one core`,
        target: 'no target',
        verdict: 'info',
      });
    }
  }
  for (const scale of SCALES) {
    const obs = run.scales[scale];
    const label = `${scaleLabel(scale)} (${obs.securities} securities), 1 s poll`;
    for (const name of NAMES) {
      const s = obs[name];
      rows.push({
        section: '2',
        what: `${name} RSS, ${label} (30x the default rate), after ${s.cycles} measured cycles`,
        ours: `${mb(s.end.rssBytes)} = anon ${mb(s.end.anonRssBytes)} + file ${mb(s.end.fileRssBytes)} (peak ${mb(s.end.peakRssBytes)})`,
        reference: bare,
        target: `≤ ${mb(RSS_TARGET_BYTES)} is judged at the default poll`,
        verdict: 'info',
      });
      const cpuMsPerCycle = (s.cpuSeconds * 1000) / s.cycles;
      const pg = obs.pushgateway;
      const pgMsPerCycle = (pg.cpuSeconds * 1000) / pg.cycles;
      rows.push({
        section: '2',
        what:
          name === 'worker'
            ? `worker CPU per cycle, ${label}: poll, update, one gzip scrape`
            : `scraper CPU per cycle, ${label}: poll, StatsD and InfluxDB writes`,
        ours: `${ms(cpuMsPerCycle)} (${num(s.cycles)} cycles${s.failedCycles ? `, ${s.failedCycles} failed` : ''})`,
        reference:
          name === 'worker'
            ? `Pushgateway taking one push of the same moex_* series + one gzip scrape: ${ms(pgMsPerCycle)}`
            : `${num((cpuMsPerCycle / (DEFAULT_POLL_SECONDS * 1000)) * 100, 2)}% of one core at the default 30 s poll`,
        // The small end: a poller of 3 tickers should cost no more than a Pushgateway holding the same series.
        target:
          name === 'worker' ? `${ratio(cpuMsPerCycle, pgMsPerCycle)} Pushgateway's CPU${scale === '3' ? ` (≤ ${SMALL_END_MAX_RATIO}x)` : ''}` : 'no target',
        verdict: name === 'worker' && scale === '3' ? judge(cpuMsPerCycle <= SMALL_END_MAX_RATIO * pgMsPerCycle) : 'info',
      });
      rows.push({
        section: '2',
        what: `${name} ISS requests per cycle, ${label}`,
        ours: `${num(s.issRequests / s.cycles, 2)} (${s.issRequests} requests / ${s.cycles} cycles)`,
        reference: `docs/iss.md: 1 per board (${obs.boards} here); simulator log ${run.simLoggedRequests} = proxies ${run.proxiedRequests} over the window`,
        target: `${obs.boards} per cycle (±${obs.boards} at the window edges)`,
        verdict: judge(Math.abs(s.issRequests - obs.boards * s.cycles) <= obs.boards),
      });
    }
  }
  return rows;
}
