import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startIssSim, type IssSim } from '../support/services';

/** The simulator's options routes over HTTP: ROPD and the Options Calculator, with the faults of every route. */
describe('simulator: ROPD and the Options Calculator over HTTP', () => {
  let sim: IssSim;
  let ropd: string;
  let calc: string;

  before(async () => {
    sim = await startIssSim({ ISS_SIM_TOKEN: 'sekret' });
    ropd = `${sim.issUrl}/engines/futures/markets/options/boards/ROPD/securities.json`;
    calc = `${sim.issUrl}/apps/option-calc/v1`;
  });
  after(async () => {
    await sim?.stop();
  });
  const auth = { headers: { authorization: 'Bearer sekret' } };

  test('the whole board answers ~30,000 series; a securities= list only those, in the board order', async () => {
    const res = await fetch(`${ropd}?iss.meta=off`, auth);
    const body = (await res.json()) as { securities: { data: unknown[][] }; marketdata: { columns: string[]; data: unknown[][] } };
    assert.equal(res.status, 200);
    assert.ok(body.securities.data.length > 27_000, `${body.securities.data.length} rows`);
    assert.equal(body.marketdata.data.length, body.securities.data.length);
    const [first, second] = [body.securities.data[1]![0] as string, body.securities.data[0]![0] as string];
    const some = (await (
      await fetch(`${ropd}?iss.meta=off&iss.only=securities&securities.columns=SECID,STRIKE&securities=${first},${second.toLowerCase()}`, auth)
    ).json()) as {
      securities: { columns: string[]; data: unknown[][] };
    };
    assert.deepEqual(some.securities.columns, ['SECID', 'STRIKE']);
    assert.deepEqual(
      some.securities.data.map((r) => r[0]),
      [second, first],
    );
  });

  test("ROPD honours the faults: 500, the control API's board-aimed 429, malformed JSON, closed (every price 0)", async () => {
    assert.equal((await fetch(`${ropd}?sim.fault=http500`, auth)).status, 500);
    await sim.control.setFault('http429', 1, 'ROPD');
    assert.equal((await fetch(`${ropd}?securities=x`, auth)).status, 429);
    assert.equal((await fetch(`${ropd}?securities=x`, auth)).status, 200, 'the count is used up');
    await assert.rejects(async () => (await fetch(`${ropd}?sim.fault=malformed-json`, auth)).json());
    const closed = (await (await fetch(`${ropd}?iss.meta=off&iss.only=marketdata&sim.fault=closed`, auth)).json()) as {
      marketdata: { columns: string[]; data: unknown[][] };
    };
    const prices = ['LAST', 'BID', 'OFFER', 'OPEN', 'HIGH', 'LOW'].map((c) => closed.marketdata.columns.indexOf(c));
    assert.ok(closed.marketdata.data.every((row) => prices.every((at) => row[at] === 0)));
  });

  test('the calculator is public plain JSON; its optionboard carries the SECIDs ROPD lists', async () => {
    const assets = await fetch(`${calc}/assets`);
    assert.equal(assets.status, 200, 'no token needed');
    assert.equal(assets.headers.get('content-type'), 'application/json');
    assert.ok(((await assets.json()) as Array<{ asset_code: string }>).some((a) => a.asset_code === 'RTS'));
    const series = (await (await fetch(`${calc}/assets/RTS/optionseries`)).json()) as Array<{ optionseries_code: string; central_strike: number }>;
    const board = (await (await fetch(`${calc}/assets/RTS/optionseries/${encodeURIComponent(series[0]!.optionseries_code)}/optionboard?rows=3`)).json()) as {
      call: Array<{ secid: string; strike: number }>;
    };
    assert.equal(board.call.length, 7);
    const secids = board.call.map((r) => r.secid);
    const listed = (await (await fetch(`${ropd}?iss.meta=off&iss.only=securities&securities=${secids.join(',')}`, auth)).json()) as {
      securities: { data: unknown[][] };
    };
    assert.deepEqual(listed.securities.data.map((r) => r[0]).sort(), [...secids].sort());
    const missing = await fetch(`${calc}/assets/NOPE/optionseries`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { detail: 'Asset NOPE not found' });
    assert.equal((await fetch(`${calc}/assets/RTS/optionseries/${encodeURIComponent(series[0]!.optionseries_code)}/optionboard?rows=x`)).status, 422);
  });

  test('the calculator honours the faults: per request, and aimed at board OPTIONCALC without touching ROPD', async () => {
    assert.equal((await fetch(`${calc}/assets?sim.fault=http500`)).status, 500);
    const html = await fetch(`${calc}/assets?sim.fault=html`);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    await sim.control.setFault('http429', 2, 'OPTIONCALC');
    assert.equal((await fetch(`${ropd}?securities=x`, auth)).status, 200);
    assert.equal((await fetch(`${calc}/assets`)).status, 429);
    await sim.control.clearFault();
    assert.equal((await fetch(`${calc}/assets`)).status, 200);
    await assert.rejects(fetch(`${calc}/assets?sim.fault=reset`));
  });
});
