/**
 * 5. The 10-security filter cap: what a board's poll costs on the wire for k listed tickers, as
 * lists of at most 10 SECIDs (ceil(k/10) requests) and as the whole board filtered locally (one
 * request), both as the client sends them (its columns, gzip). Bytes are the HTTP exchange itself
 * (request and response, headers included), read from the socket, one fresh connection each.
 * The crossover is the rule of lib/moex/iss-requests.ts (WHOLE_BOARD_FROM_TICKERS).
 */
import http from 'node:http';
import { ISS_MAX_FILTER_SECURITIES, WHOLE_BOARD_FROM_TICKERS, boardSnapshotRequest, boardSnapshotRequests, type BlockColumns } from '../lib/moex/iss-requests';
import { startIssSim } from '../test/support/services';
import { kb, num } from './stats';
import { judge, type Row } from './table';

/** What one GET costs on the wire: bytes written and read on its own connection. */
function exchangeBytes(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { 'Accept-Encoding': 'gzip, deflate', Accept: 'application/json', 'User-Agent': 'moex-monitoring/0.1' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(req.socket!.bytesWritten + req.socket!.bytesRead));
    });
    req.on('error', reject);
  });
}

const LISTED = [11, 15, 20, 30, 50, 75, 100, 150, 200, 250];

/** Bytes per cycle for k tickers as lists of 10 and as the whole board; `columns` as the client asks. */
export async function filterCapRows(columns: (kind: 'shares') => BlockColumns | null, log: (line: string) => void): Promise<Row[]> {
  const sim = await startIssSim({ LOG_LEVEL: 'warn', SIM_WALK: 'off' });
  try {
    const location = { issUrl: sim.issUrl, engine: 'stock', market: 'shares', board: 'TQBR' };
    const board = (await sim.control.securities()).map((s) => s.secid);
    const narrow = columns('shares');
    const whole = await exchangeBytes(boardSnapshotRequest(location, 'ALL', narrow).url);
    log(`filter cap: whole TQBR board (${board.length} securities) ${whole} B per request`);
    const rows: Row[] = [];
    for (const k of LISTED.filter((n) => n <= board.length)) {
      const tickers = board.slice(0, k);
      let lists = 0;
      for (let at = 0; at < k; at += ISS_MAX_FILTER_SECURITIES) {
        lists += await exchangeBytes(boardSnapshotRequest(location, tickers.slice(at, at + ISS_MAX_FILTER_SECURITIES), narrow).url);
      }
      const requests = Math.ceil(k / ISS_MAX_FILTER_SECURITIES);
      const chosenWhole = boardSnapshotRequests(location, tickers, narrow)[0]!.url.indexOf('securities=') === -1;
      const cheaperWhole = whole < lists;
      rows.push({
        section: '5',
        what: `ISS bytes per cycle, ${k} listed TQBR tickers (board of ${board.length}): lists of ${ISS_MAX_FILTER_SECURITIES} vs the whole board`,
        ours: `client: ${chosenWhole ? 'whole board, 1 request' : `${requests} lists`} (rule: whole board from ${num(WHOLE_BOARD_FROM_TICKERS)} tickers)`,
        reference: `lists: ${requests} requests, ${kb(lists)}; whole board: 1 request, ${kb(whole)}`,
        target: `the cheaper (${cheaperWhole ? 'whole board' : 'lists'}); ${(lists / whole).toFixed(2)}x lists/whole`,
        verdict: judge(chosenWhole === cheaperWhole || Math.abs(lists - whole) / whole < 0.1),
      });
    }
    return rows;
  } finally {
    await sim.stop();
  }
}
