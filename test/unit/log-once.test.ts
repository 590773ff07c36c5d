import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logOnChange } from '../../lib/log-once';

/** A log that keeps its lines, as [level, message, fields]. */
function recordingLog() {
  const lines: Array<[string, string | undefined, object]> = [];
  return {
    lines,
    info: (fields: object, msg?: string) => void lines.push(['info', msg, fields]),
    warn: (fields: object, msg?: string) => void lines.push(['warn', msg, fields]),
  };
}

describe('logOnChange: a failure logged once per change, its recovery once', () => {
  test('the same failure again is silent; another failure is logged; the recovery once', () => {
    const log = recordingLog();
    const writes = logOnChange(log, { failed: 'InfluxDB write failed', recovered: 'InfluxDB writes recovered' });
    writes.recovered();
    assert.deepEqual(log.lines, [], 'a success without a failure before it says nothing');
    writes.failed('network: ECONNREFUSED', { err: 'ECONNREFUSED', lines: 5 });
    writes.failed('network: ECONNREFUSED', { err: 'ECONNREFUSED', lines: 7 });
    assert.equal(writes.failure, 'network: ECONNREFUSED');
    writes.failed('auth: unauthorized', { err: 'unauthorized' });
    writes.recovered({ host: 'localhost' });
    writes.recovered();
    assert.equal(writes.failure, null);
    writes.failed('auth: unauthorized', { err: 'unauthorized' });
    assert.deepEqual(log.lines, [
      ['warn', 'InfluxDB write failed', { err: 'ECONNREFUSED', lines: 5 }],
      ['warn', 'InfluxDB write failed', { err: 'unauthorized' }],
      ['info', 'InfluxDB writes recovered', { host: 'localhost' }],
      ['warn', 'InfluxDB write failed', { err: 'unauthorized' }],
    ]);
  });

  test('without a recovery message a recovery is silent, and clear() forgets the failure without a word', () => {
    const log = recordingLog();
    const invalid = logOnChange(log, { failed: 'ISS sent invalid values; left out' });
    invalid.failed('SBER.last', { n: 1 });
    invalid.recovered();
    invalid.failed('SBER.last', { n: 2 });
    invalid.clear();
    assert.equal(invalid.failure, null);
    invalid.failed('SBER.last', { n: 3 });
    invalid.failed('SBER.last', { n: 4 });
    assert.deepEqual(log.lines, [
      ['warn', 'ISS sent invalid values; left out', { n: 1 }],
      ['warn', 'ISS sent invalid values; left out', { n: 2 }],
      ['warn', 'ISS sent invalid values; left out', { n: 3 }],
    ]);
  });

  test('each instance keeps its own failure', () => {
    const log = recordingLog();
    const [eq, fo] = ['eq', 'fo'].map(() => logOnChange(log, { failed: 'ALGOPACK request failed', recovered: 'ALGOPACK requests recovered' }));
    eq!.failed('auth: no token', { feed: 'eq' });
    fo!.failed('auth: no token', { feed: 'fo' });
    fo!.recovered({ feed: 'fo' });
    assert.equal(eq!.failure, 'auth: no token');
    assert.deepEqual(
      log.lines.map(([, msg, fields]) => [msg, fields]),
      [
        ['ALGOPACK request failed', { feed: 'eq' }],
        ['ALGOPACK request failed', { feed: 'fo' }],
        ['ALGOPACK requests recovered', { feed: 'fo' }],
      ],
    );
  });
});
