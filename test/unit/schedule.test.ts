import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../lib/log';
import { startSchedule } from '../../lib/schedule';
import { sleep } from '../support/services';

const log = createLogger('test', 'silent');
// A tick once a year: every cycle after the first comes from a retry.
const YEARLY = '0 0 1 1 *';

test("a cycle that answers 'retry' runs again after retryMs, not only at the next tick; one that succeeds does not", async () => {
  const outcomes: Array<'retry' | undefined> = ['retry', 'retry', undefined];
  let runs = 0;
  const schedule = startSchedule(YEARLY, async () => outcomes[runs++], log, undefined, 50);
  await sleep(400);
  assert.equal(runs, 3, 'the first run, two retries, then quiet until the next tick');
  await schedule.stop();
});

test('stop() cancels a pending retry', async () => {
  let runs = 0;
  const schedule = startSchedule(
    YEARLY,
    async () => {
      runs++;
      return 'retry' as const;
    },
    log,
    undefined,
    100,
  );
  await sleep(20);
  await schedule.stop();
  await sleep(250);
  assert.equal(runs, 1);
});
