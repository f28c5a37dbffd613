import { describe, expect, it } from 'vitest';
import { nextOccurrence, parseNcrontab } from '../../src/local/host/ncrontab';

describe('NCRONTAB', () => {
  it.each([
    ['0 */5 * * * *', '2026-11-22T10:03:07Z', '2026-11-22T10:05:00.000Z'],
    ['*/10 * * * * *', '2026-11-22T10:03:07Z', '2026-11-22T10:03:10.000Z'],
    ['0 30 9 * * MON-FRI', '2026-11-21T12:00:00Z', '2026-11-23T09:30:00.000Z'],
    ['0 0 0 1 JAN *', '2026-11-22T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['0 0 12 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T12:00:00.000Z'],
    ['0 0,30 8-9 * * *', '2026-11-22T08:45:00Z', '2026-11-22T09:00:00.000Z'],
  ])('%s after %s', (expr, after, want) => {
    expect(nextOccurrence(expr, new Date(after)).toISOString()).toBe(want);
  });

  it('fires in WEBSITE_TIME_ZONE when one is set', () => {
    expect(nextOccurrence('0 0 2 * * *', new Date('2026-11-22T00:00:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-11-22T01:00:00.000Z');
  });

  it.each(['* * * * *', '61 * * * * *', '0 0 25 * * *', 'x * * * * *', '0 */0 * * * *'])('rejects %s', (expr) => {
    expect(() => parseNcrontab(expr)).toThrow();
  });
});
