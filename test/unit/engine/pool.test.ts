import { describe, expect, it } from 'vitest';
import { runPool } from '../../../src/core/engine/copy-segment';
import { AdaptiveLimiter, pacedCalls } from '../../../src/core/engine/pacer';
import { CancelledError } from '../../../src/core/engine/stats';

describe('runPool and pacedCalls: the pool every copy, restore, export and import runs on', () => {
  it('stops taking items once cancelled, lets the items in flight finish, and throws CancelledError', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    let cancel = false;
    const run = runPool(
      Array.from({ length: 50 }, (_, i) => i),
      new AdaptiveLimiter(4),
      async (i) => {
        started.push(i);
        if (i === 5) cancel = true;
        await new Promise((r) => setTimeout(r, 5));
        finished.push(i);
      },
      async () => cancel,
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(started.length).toBeLessThan(12); // the 4 workers each take at most one more item after the cancel
    expect(finished.sort((a, b) => a - b)).toEqual(started.sort((a, b) => a - b));
  });

  it('runs every item once without a cancel, and a failure beats a cancel', async () => {
    const seen = new Set<number>();
    await runPool(
      Array.from({ length: 30 }, (_, i) => i),
      new AdaptiveLimiter(3),
      async (i) => void seen.add(i),
      async () => false,
    );
    expect(seen.size).toBe(30);
    const boom = runPool(
      [1, 2, 3],
      new AdaptiveLimiter(1),
      async () => {
        throw new Error('boom');
      },
      async () => false,
    );
    await expect(boom).rejects.toThrow('boom');
  });

  it('retries a throttled call and halves the limiter, counting each throttle', async () => {
    let throttles = 0;
    let attempts = 0;
    const { limiter, call } = pacedCalls(16, { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 2 }, () => {
      throttles++;
    });
    const value = await call(async () => {
      if (++attempts < 3) throw Object.assign(new Error('busy'), { statusCode: 503 });
      return 'ok';
    });
    expect(value).toBe('ok');
    expect(attempts).toBe(3);
    expect(throttles).toBe(2);
    expect(limiter.limit).toBeLessThan(16);
  });
});
