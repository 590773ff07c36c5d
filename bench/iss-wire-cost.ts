/**
 * 5. What a board's ISS requests cost, choice by choice, as the client sends them (gzip). Bytes are
 * the HTTP exchange itself (request and response, headers included), read from the socket, one
 * fresh connection each. Parse CPU is gunzip + JSON.parse + parseBoardSnapshot of the same bodies.
 *  - Narrow answers: every board `=ALL` as the client asked before (every column) and as it asks
 *    now (boardColumns: the columns its market reads), same run.
 *  - The 10-security filter cap: k listed tickers as lists of at most 10 SECIDs (ceil(k/10)
 *    requests) and as the whole board filtered locally (one request). The crossover is the rule of
 *    lib/moex/iss-requests.ts (WHOLE_BOARD_FROM_TICKERS).
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { SIM_BOARDS } from '../iss-sim/src/boards';
import { ISS_MAX_FILTER_SECURITIES, WHOLE_BOARD_FROM_TICKERS, boardSnapshotRequest, boardSnapshotRequests, type BlockColumns } from '../lib/moex/iss-requests';
import { boardColumns, type BoardSource } from '../lib/moex/markets';
import { parseBoardSnapshot } from '../lib/moex/parse';
import { startIssSim, type IssSim } from '../test/support/services';
import { kb, ms, num } from './stats';
import { judge, type Row } from './table';

/** One GET as the client makes it: its bytes on the wire (both ways, on its own connection) and the gzip body. */
function exchange(url: string): Promise<{ bytes: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: false, headers: { 'Accept-Encoding': 'gzip, deflate', Accept: 'application/json', 'User-Agent': 'moex-monitoring/0.1' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ bytes: req.socket!.bytesWritten + req.socket!.bytesRead, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
  });
}

const exchangeBytes = async (url: string) => (await exchange(url)).bytes;

/** CPU milliseconds (user + system) per parse of `bodies` (one cycle), over `rounds` rounds. */
function parseCpuMs(bodies: ReadonlyArray<{ body: Buffer; source: BoardSource }>, rounds: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < rounds; i++) for (const { body, source } of bodies) parseBoardSnapshot(JSON.parse(gunzipSync(body).toString('utf8')), source);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / rounds;
}

const PARSE_ROUNDS = 30;

/** Bytes and parse CPU per cycle of `sources` (every board ALL), wide and narrowed, same simulator. */
async function narrowRow(sim: IssSim, label: string, sources: readonly BoardSource[]): Promise<Row> {
  const fetchAll = (narrow: boolean) =>
    Promise.all(
      sources.map(async (source) => {
        const location = { issUrl: sim.issUrl, engine: source.engine, market: source.market, board: source.board };
        return { ...(await exchange(boardSnapshotRequest(location, 'ALL', narrow ? boardColumns(source.kind) : null).url)), source };
      }),
    );
  const wide = await fetchAll(false);
  const narrow = await fetchAll(true);
  const bytes = (answers: typeof wide) => answers.reduce((sum, a) => sum + a.bytes, 0);
  // Alternated, so a busy moment of the machine does not fall on one side only.
  const cpu = { wide: [] as number[], narrow: [] as number[] };
  for (let i = 0; i < 3; i++) {
    cpu.wide.push(parseCpuMs(wide, PARSE_ROUNDS));
    cpu.narrow.push(parseCpuMs(narrow, PARSE_ROUNDS));
  }
  const best = (values: number[]) => Math.min(...values);
  return {
    section: '5',
    what: `ISS answers per cycle, ${label}: narrowed to the columns a quote reads (now) vs every column (before)`,
    ours: `${kb(bytes(narrow))} on the wire; parse ${ms(best(cpu.narrow))} CPU`,
    reference: `every column: ${kb(bytes(wide))}; parse ${ms(best(cpu.wide))} CPU`,
    target: `${(bytes(narrow) / bytes(wide)).toFixed(2)}x the bytes, ${(best(cpu.narrow) / best(cpu.wide)).toFixed(2)}x the parse CPU; fewer`,
    verdict: judge(bytes(narrow) < bytes(wide) && best(cpu.narrow) < best(cpu.wide)),
  };
}

const LISTED = [11, 15, 20, 30, 50, 60, 70, 80, 90, 100, 150, 200, 250];

export async function issWireRows(log: (line: string) => void): Promise<Row[]> {
  const sim = await startIssSim({ LOG_LEVEL: 'warn', SIM_WALK: 'off' });
  try {
    const everyBoard: BoardSource[] = SIM_BOARDS.map((b) => ({ engine: b.engine, market: b.market, board: b.board, kind: b.kind, tickers: 'ALL' }));
    const rows = [
      await narrowRow(
        sim,
        'MOEX_TICKERS=ALL (TQBR)',
        everyBoard.filter((s) => s.board === 'TQBR'),
      ),
      await narrowRow(sim, 'every market, every board ALL (6 boards)', everyBoard),
    ];
    return [...rows, ...(await filterCapRows(sim, boardColumns('shares'), log))];
  } finally {
    await sim.stop();
  }
}

/** Bytes per cycle for k TQBR tickers as lists of 10 and as the whole board, with the client's columns. */
async function filterCapRows(sim: IssSim, narrow: BlockColumns, log: (line: string) => void): Promise<Row[]> {
  const location = { issUrl: sim.issUrl, engine: 'stock', market: 'shares', board: 'TQBR' };
  const board = (await sim.control.securities()).map((s) => s.secid);
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
    const chosenWhole = !new URL(boardSnapshotRequests(location, tickers, narrow)[0]!.url).searchParams.has('securities');
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
}
