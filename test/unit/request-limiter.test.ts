import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRequestLimiter } from '../../lib/moex/request-limiter';

describe('request limiter (MOEX_ISS_MAX_RPS)', () => {
  test('no more than N starts in any one-second window, in the order asked; waits are reported', async () => {
    const limiter = createRequestLimiter(4);
    const starts: number[] = [];
    const order: number[] = [];
    const waits = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.acquire().then((waited) => {
          starts.push(performance.now());
          order.push(i);
          return waited;
        }),
      ),
    );
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'granted in the order asked',
    );
    for (let i = 0; i + 4 < starts.length; i++)
      assert.ok(starts[i + 4]! - starts[i]! >= 1000, `start ${i + 4} came ${starts[i + 4]! - starts[i]!} ms after start ${i}`);
    // The first four go at once; the last two waited for the third window.
    assert.ok(
      waits.slice(0, 4).every((w) => w < 50),
      `first waits ${waits.slice(0, 4)}`,
    );
    assert.ok(waits[9]! >= 2000, `last wait ${waits[9]}`);
    assert.ok(Math.abs(limiter.waitedMs() - waits.reduce((a, b) => a + b, 0)) < 1);
  });

  test('refuses a budget below one request a second', () => {
    assert.throws(() => createRequestLimiter(0), RangeError);
    assert.throws(() => createRequestLimiter(1.5), RangeError);
  });
});
