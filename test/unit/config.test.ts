import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, logShape, moexShape, nonEmpty, parseConfig, port, secret } from '../../lib/config';

const shape = { ...moexShape, ...logShape, PORT: port(8000) };

describe('config', () => {
  test('defaults are the contract’s', () => {
    const c = parseConfig(shape, {});
    assert.equal(c.MOEX_ISS_URL, 'https://iss.moex.com/iss');
    assert.deepEqual([c.MOEX_ENGINE, c.MOEX_MARKET, c.MOEX_BOARD], ['stock', 'shares', 'TQBR']);
    assert.deepEqual(c.MOEX_TICKERS, ['SBERP', 'SBER', 'GAZP']);
    assert.equal(c.POLL_SCHEDULE, '*/30 * * * * *');
    assert.equal(c.MOEX_TIMEOUT_MS, 10000);
    assert.equal(c.LOG_LEVEL, 'info');
    assert.equal(c.PORT, 8000);
  });

  test('tickers are trimmed, upper-cased and de-duplicated; ALL means the board', () => {
    assert.deepEqual(parseConfig(shape, { MOEX_TICKERS: ' sber, GAZP,,SBER ' }).MOEX_TICKERS, ['SBER', 'GAZP']);
    assert.equal(parseConfig(shape, { MOEX_TICKERS: 'all' }).MOEX_TICKERS, 'ALL');
  });

  test('a trailing slash on the ISS URL is dropped', () => {
    assert.equal(parseConfig(shape, { MOEX_ISS_URL: 'http://127.0.0.1:8999/iss/' }).MOEX_ISS_URL, 'http://127.0.0.1:8999/iss');
  });

  const BAD: Array<[string, string]> = [
    ['MOEX_TICKERS', ''],
    ['MOEX_TICKERS', 'SBER,GAZ-P'],
    ['POLL_SCHEDULE', 'nonsense'],
    ['POLL_SCHEDULE', ''],
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['MOEX_ISS_URL', 'not a url'],
    ['MOEX_ISS_URL', 'ftp://iss.moex.com'],
    ['MOEX_TIMEOUT_MS', '0'],
    ['MOEX_BOARD', 'tq br'],
    ['LOG_LEVEL', 'loud'],
  ];
  for (const [variable, value] of BAD) {
    test(`${variable}=${JSON.stringify(value)} is rejected, naming the variable`, () => {
      assert.throws(
        () => parseConfig(shape, { [variable]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === variable && err.message.startsWith(`${variable}: `),
      );
    });
  }

  describe('<NAME>_FILE (Docker secrets)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-secret-'));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 's3cret-token\n');
    const secretShape = { TOKEN: secret(), NAME: nonEmpty('x', 'must not be empty') };

    test('a variable is read from the file its _FILE names, without the trailing newline', () => {
      assert.equal(parseConfig(secretShape, { TOKEN_FILE: file }).TOKEN, 's3cret-token');
      assert.equal(parseConfig(secretShape, { TOKEN: 'inline' }).TOKEN, 'inline');
    });

    test('both set, or an unreadable file, is a ConfigError naming the variable', () => {
      assert.throws(
        () => parseConfig(secretShape, { TOKEN: 'a', TOKEN_FILE: file }),
        (e: unknown) => e instanceof ConfigError && e.variable === 'TOKEN',
      );
      assert.throws(
        () => parseConfig(secretShape, { TOKEN_FILE: path.join(dir, 'absent') }),
        (e: unknown) => e instanceof ConfigError && e.variable === 'TOKEN_FILE' && /ENOENT/.test(e.message),
      );
    });

    test('a refused value read from a file is not echoed in the error', () => {
      const emptyFile = path.join(dir, 'empty');
      fs.writeFileSync(emptyFile, '   \n');
      assert.throws(
        () => parseConfig({ NAME: nonEmpty('x', 'must not be empty') }, { NAME_FILE: emptyFile }),
        (e: unknown) => e instanceof ConfigError && e.message === 'NAME: must not be empty',
      );
    });
  });
});
