import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { expiryFor, previewRetained } from '../../../src/core/domain/retention';
import { parsePolicy, type Retention } from '../../../src/core/domain/policy';

const d = (s: string): Date => new Date(s);

describe('GFS retention', () => {
  const r: Retention = { dailyDays: 7, weekly: { weeks: 4, dayOfWeek: 'Sunday' }, monthly: { months: 12, dayOfMonth: 'Last' }, yearly: { years: 3, month: 2, dayOfMonth: 29 } };

  it.each([
    // [created, earlier points, zone, expected expiry, tiers]
    ['2026-11-18T03:00:00Z', ['2026-11-17T03:00:00Z'], 'UTC', '2026-11-25T03:00:00.000Z', ['daily']],
    // First point of the week that starts Sunday 22nd: kept four weeks.
    ['2026-11-22T03:00:00Z', ['2026-11-21T03:00:00Z'], 'UTC', '2026-12-20T03:00:00.000Z', ['daily', 'weekly']],
    // Month anchor 'Last' of November is the 30th; first point on/after it is kept 12 months.
    ['2026-11-30T03:00:00Z', ['2026-11-29T03:00:00Z'], 'UTC', '2027-11-30T03:00:00.000Z', ['daily', 'monthly']],
    // Yearly on Feb 29: in 2027 (not leap) the anchor is Feb 28.
    ['2027-02-28T03:00:00Z', ['2027-02-27T03:00:00Z'], 'UTC', '2030-02-28T03:00:00.000Z', ['daily', 'weekly', 'monthly', 'yearly']],
    // Leap year 2028: Feb 28 is not yet the anchor; Feb 29 is.
    ['2028-02-29T03:00:00Z', ['2028-02-28T03:00:00Z'], 'UTC', '2031-02-28T03:00:00.000Z', ['daily', 'monthly', 'yearly']],
  ])('point at %s', (created, earlier, tz, want, tiers) => {
    const e = expiryFor(d(created), earlier.map(d), r, tz);
    expect(e.expiresAt.toISOString()).toBe(want);
    expect(e.tiers).toEqual(tiers);
  });

  it('keeps local wall time across DST (Europe/Berlin) and clamps month ends', () => {
    const monthly: Retention = { dailyDays: 1, monthly: { months: 1, dayOfMonth: 31 } };
    // Jan 31 10:00 CET -> Feb 28 10:00 CET (a month after Jan 31 is the end of February).
    expect(expiryFor(d('2027-01-31T09:00:00Z'), [], monthly, 'Europe/Berlin').expiresAt.toISOString()).toBe('2027-02-28T09:00:00.000Z');
    // Mar 28 02:30Z ... +1 day across the spring change keeps 03:30 local wall time? The daily tier is calendar days.
    const daily: Retention = { dailyDays: 1 };
    expect(expiryFor(d('2026-03-28T09:00:00Z'), [], daily, 'Europe/Berlin').expiresAt.toISOString()).toBe('2026-03-29T08:00:00.000Z');
  });

  it('never expires a point earlier than dailyDays after it was taken (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2035, 0, 1) }),
        fc.integer({ min: 1, max: 400 }),
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney'),
        (t, days, tz) => {
          const e = expiryFor(new Date(t), [new Date(t - 3_600_000)], { ...r, dailyDays: days }, tz);
          expect(e.expiresAt.getTime()).toBeGreaterThanOrEqual(t + days * 86_400_000 - 3_600_000);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('previews which points of the next year a policy keeps', () => {
    const kept = previewRetained({ frequency: 'Daily', times: ['03:00'] }, r, 'UTC', d('2026-01-01T00:00:00Z'), 365);
    const tiers = new Set(kept.flatMap((k) => k.tiers));
    expect(tiers.has('monthly') && tiers.has('yearly')).toBe(true);
    expect(kept.length).toBeGreaterThan(12);
    expect(kept.length).toBeLessThan(40);
  });
});

describe('policy validation', () => {
  const good = { name: 'gold', timeZone: 'Europe/Berlin', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 30 } };
  it('accepts a valid policy and applies defaults', () => {
    const p = parsePolicy(good);
    expect(p.ok && p.policy.instantRestoreDays).toBe(2);
  });
  it.each([
    [{ ...good, schedule: { frequency: 'Daily', times: ['25:00'] } }, /schedule.times.0: is not a time of day/],
    [{ ...good, timeZone: 'Mars/Olympus' }, /timeZone: is not a time zone/],
    [{ ...good, extra: 1 }, /Unrecognized key/i],
    [{ ...good, retention: { dailyDays: -1 } }, /retention.dailyDays/],
    [{ ...good, instantRestoreDays: 31 }, /instantRestoreDays/],
    [{ ...good, name: 'a/b' }, /name/],
    [{ ...good, schedule: { frequency: 'Hourly', intervalHours: 3, windowStart: '00:00', windowHours: 24 } }, /intervalHours/],
  ])('rejects %j', (input, issue) => {
    const p = parsePolicy(input);
    expect(p.ok).toBe(false);
    expect(!p.ok && p.issues.join('\n')).toMatch(issue);
  });
});
