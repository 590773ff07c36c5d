/**
 * 5. Wire cost per cycle at ALL (and at 3 tickers for scale): ISS requests and bytes, StatsD
 * datagrams, InfluxDB HTTP requests, from the poller run (poller-run.ts). The ISS requests'
 * choices (narrow columns, lists of 10 or the whole board) are measured apart: iss-wire-cost.ts.
 */
import { SCALES, scaleLabel, type PollerRun } from './poller-run';
import { kb, num, ratio } from './stats';
import { judge, type Row } from './table';

/** The StatsD sink's datagram payload budget (scraper/src/statsd-sink.ts). */
const MTU_PAYLOAD = 1432;

export function wireCostRows(run: PollerRun): Row[] {
  const rows: Row[] = [];
  for (const scale of SCALES) {
    const obs = run.scales[scale];
    const label = `${scaleLabel(scale)} (${obs.securities} securities)`;
    const cycles = obs.scraper.cycles;
    const per = (n: number) => n / cycles;
    const atScale = scale === 'ALL';
    const issBytes = obs.scraper.issResponseBytes / Math.max(1, obs.scraper.issRequests);
    rows.push({
      section: '5',
      what: `ISS per cycle, ${label} (scraper; the worker's is the same request)`,
      ours: `${num(per(obs.scraper.issRequests), 2)} request, ${kb(issBytes)} on the wire (gzip, which the client asks for and ISS serves)`,
      reference: `uncompressed: ISS default answer (iss.meta on, all blocks) ${kb(obs.issDefaultBytes)}; every column of the two blocks (the request before narrowing) ${kb(obs.issWideBytes)}`,
      target: `${ratio(issBytes, obs.issDefaultBytes)} the default's bytes; ${ratio(issBytes, obs.issWideBytes)} every column's`,
      verdict: 'info',
    });
    const { datagrams, bytes, lines } = obs.statsd;
    const packed = Math.ceil(bytes / MTU_PAYLOAD);
    rows.push({
      section: '5',
      what: `StatsD datagrams per cycle, ${label}`,
      ours: `${num(per(datagrams), 1)} datagrams, ${kb(per(bytes))}, ${num(per(lines))} gauges (${num(lines / Math.max(1, datagrams), 1)} per datagram)`,
      reference: `unbatched: ${num(per(lines))} datagrams; packed full at ${MTU_PAYLOAD} B: ${num(per(packed), 1)}`,
      target: `≤ 1.5x the packed minimum${atScale ? '' : ' (judged at ALL)'}`,
      verdict: atScale ? judge(datagrams <= 1.5 * packed) : 'info',
    });
    rows.push({
      section: '5',
      what: `InfluxDB HTTP writes per cycle, ${label}`,
      ours: `${num(per(obs.influx.requests), 2)} request(s), ${kb(per(obs.influx.requestBytes))}${obs.influx.failed ? `; ${obs.influx.failed} failed` : ''}`,
      reference: `one batch per cycle: ${num(obs.securities)} points in 1 request`,
      target: '≤ 1 request per cycle (±1 at the window edges)',
      verdict: judge(obs.influx.requests <= cycles + 1 && obs.influx.failed === 0),
    });
  }
  return rows;
}
