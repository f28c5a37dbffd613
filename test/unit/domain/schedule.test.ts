import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { latestSlotAtOrBefore, nextSlots, slotId, slotsBetween } from '../../../src/core/domain/schedule';
import type { Schedule } from '../../../src/core/domain/policy';

const iso = (ds: Date[]): string[] => ds.map((d) => d.toISOString());

describe('policy schedule slots', () => {
  it.each([
    // Europe/Berlin springs forward 2026-03-29 02:00 -> 03:00: 02:30 does not exist and moves past the gap.
    ['Europe/Berlin', '2026-03-28T12:00:00Z', '2026-03-30T12:00:00Z', ['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']],
    // Falls back 2026-10-25 03:00 -> 02:00: 02:30 happens twice and fires once, at the first (CEST) one.
    ['Europe/Berlin', '2026-10-24T12:00:00Z', '2026-10-26T12:00:00Z', ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']],
    // New York springs forward 2026-03-08.
    ['America/New_York', '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z', ['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z']],
  ])('daily 02:30 in %s across a DST change', (tz, from, to, want) => {
    const s: Schedule = { frequency: 'Daily', times: ['02:30'] };
    expect(iso(slotsBetween(s, tz, new Date(from), new Date(to)))).toEqual(want);
  });

  it('fires every configured local time once a day, in Asia/Kolkata (+05:30)', () => {
    const s: Schedule = { frequency: 'Daily', times: ['00:00', '12:15'] };
    expect(iso(slotsBetween(s, 'Asia/Kolkata', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z')))).toEqual(['2026-01-01T06:45:00.000Z', '2026-01-01T18:30:00.000Z']);
  });

  it('weekly on several days and hourly windows that cross midnight', () => {
    const w: Schedule = { frequency: 'Weekly', daysOfWeek: ['Monday', 'Thursday'], times: ['23:00'] };
    expect(iso(slotsBetween(w, 'UTC', new Date('2026-11-22T00:00:00Z'), new Date('2026-11-30T00:00:00Z')))).toEqual(['2026-11-23T23:00:00.000Z', '2026-11-26T23:00:00.000Z']);
    const h: Schedule = { frequency: 'Hourly', intervalHours: 4, windowStart: '22:00', windowHours: 8 };
    expect(iso(slotsBetween(h, 'UTC', new Date('2026-11-22T12:00:00Z'), new Date('2026-11-23T12:00:00Z')))).toEqual(['2026-11-22T22:00:00.000Z', '2026-11-23T02:00:00.000Z']);
  });

  it('Australia/Sydney (southern hemisphere) springs forward in October', () => {
    const s: Schedule = { frequency: 'Daily', times: ['02:30'] };
    const got = iso(slotsBetween(s, 'Australia/Sydney', new Date('2026-10-03T00:00:00Z'), new Date('2026-10-05T00:00:00Z')));
    // 2026-10-04 02:30 local does not exist -> 03:30 AEDT (16:30Z on the 3rd); the next day is +11:00.
    expect(got).toEqual(['2026-10-03T16:30:00.000Z', '2026-10-04T15:30:00.000Z']);
  });

  it('latestSlotAtOrBefore agrees with enumeration (property)', () => {
    const schedules: Schedule[] = [
      { frequency: 'Daily', times: ['01:15', '13:45'] },
      { frequency: 'Hourly', intervalHours: 2, windowStart: '20:00', windowHours: 12 },
      { frequency: 'Weekly', daysOfWeek: ['Sunday'], times: ['03:00'] },
    ];
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2030, 0, 1) }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 4 }), (t, si, zi) => {
        const s = schedules[si]!,
          tz = zones[zi]!;
        const at = new Date(t);
        const all = slotsBetween(s, tz, new Date(t - 9 * 86_400_000), at);
        expect(latestSlotAtOrBefore(s, tz, at)?.toISOString()).toBe(all[all.length - 1]?.toISOString());
        for (let i = 1; i < all.length; i++) expect(all[i]!.getTime()).toBeGreaterThan(all[i - 1]!.getTime());
      }),
      { numRuns: 200, seed: 42 },
    );
  });

  it('nextSlots and slotId', () => {
    const s: Schedule = { frequency: 'Daily', times: ['03:00'] };
    const n = nextSlots(s, 'UTC', new Date('2026-11-22T03:00:00Z'), 3);
    expect(iso(n)).toEqual(['2026-11-23T03:00:00.000Z', '2026-11-24T03:00:00.000Z', '2026-11-25T03:00:00.000Z']);
    expect(slotId(n[0]!)).toBe('20261123T0300Z');
  });
});
