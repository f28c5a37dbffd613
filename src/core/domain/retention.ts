import { DateTime } from 'luxon';
import { DAYS, type Retention, type Schedule } from './policy';
import { slotsBetween } from './schedule';
import { DAY_MS } from './time';

/** How long a point lives when neither a policy nor the request says: an on-demand backup of an unprotected item. */
export const DEFAULT_RETENTION_DAYS = 30;

export type Tier = 'daily' | 'weekly' | 'monthly' | 'yearly';

/**
 * GFS retention, decided when a point is created so its expiry can be stored with it:
 * - every point is kept `dailyDays` days;
 * - the first point of each week (weeks start at `dayOfWeek` 00:00 local) is kept `weeks` weeks;
 * - the first point on or after `dayOfMonth` of each month (clamped: 31 is the 30th in April, 'Last' the
 *   last day) is kept `months` months; likewise yearly on month/day (Feb 29 is Feb 28 in other years).
 * Calendar arithmetic is in the policy's time zone: a month after Jan 31 is the end of February, and across a
 * DST change the local wall time is kept.
 */
function clampDay(year: number, month: number, day: number | 'Last', zone: string): DateTime {
  const first = DateTime.fromObject({ year, month, day: 1 }, { zone });
  const last = first.daysInMonth!;
  return first.set({ day: day === 'Last' ? last : Math.min(day, last) });
}

function weekStart(t: DateTime, dayOfWeek: (typeof DAYS)[number]): DateTime {
  const want = DAYS.indexOf(dayOfWeek) + 1;
  const back = (t.weekday - want + 7) % 7;
  return t.startOf('day').minus({ days: back });
}

function monthStart(t: DateTime, day: number | 'Last'): DateTime {
  const anchor = clampDay(t.year, t.month, day, t.zoneName!);
  if (t >= anchor) return anchor;
  const prev = t.minus({ months: 1 });
  return clampDay(prev.year, prev.month, day, t.zoneName!);
}

function yearStart(t: DateTime, month: number, day: number | 'Last'): DateTime {
  const anchor = clampDay(t.year, month, day, t.zoneName!);
  return t >= anchor ? anchor : clampDay(t.year - 1, month, day, t.zoneName!);
}

export function expiryFor(createdAt: Date, earlierPointTimes: Date[], retention: Retention, timeZone: string): { expiresAt: Date; tiers: Tier[] } {
  const t = DateTime.fromJSDate(createdAt, { zone: timeZone });
  const firstSince = (start: DateTime): boolean => !earlierPointTimes.some((e) => e.getTime() >= start.toMillis() && e.getTime() < createdAt.getTime());
  const tiers: Tier[] = ['daily'];
  let expires = t.plus({ days: retention.dailyDays });
  const consider = (tier: Tier, qualifies: boolean, until: () => DateTime): void => {
    if (!qualifies) return;
    tiers.push(tier);
    const u = until();
    if (u > expires) expires = u;
  };
  if (retention.weekly) consider('weekly', firstSince(weekStart(t, retention.weekly.dayOfWeek)), () => t.plus({ weeks: retention.weekly!.weeks }));
  if (retention.monthly) consider('monthly', firstSince(monthStart(t, retention.monthly.dayOfMonth)), () => t.plus({ months: retention.monthly!.months }));
  if (retention.yearly) consider('yearly', firstSince(yearStart(t, retention.yearly.month, retention.yearly.dayOfMonth)), () => t.plus({ years: retention.yearly!.years }));
  return { expiresAt: expires.toJSDate(), tiers };
}

export function selectExpired<T extends { expiresAt?: Date }>(points: T[], now: Date): T[] {
  return points.filter((p) => p.expiresAt !== undefined && p.expiresAt <= now);
}

/** New expiries for all points of an item (oldest first) after its policy changed. */
export function recomputeExpiries(times: Date[], retention: Retention, timeZone: string): Date[] {
  const sorted = [...times].sort((a, b) => a.getTime() - b.getTime());
  return sorted.map((t, i) => expiryFor(t, sorted.slice(0, i), retention, timeZone).expiresAt);
}

/** Which of the next `days` days' scheduled points would still be kept at the end: the policy editor's preview. */
export function previewRetained(schedule: Schedule, retention: Retention, timeZone: string, from: Date, days: number): { at: Date; expiresAt: Date; tiers: Tier[] }[] {
  const end = new Date(from.getTime() + days * DAY_MS);
  const slots = slotsBetween(schedule, timeZone, from, end);
  const out: { at: Date; expiresAt: Date; tiers: Tier[] }[] = [];
  slots.forEach((at, i) => {
    const e = expiryFor(at, slots.slice(Math.max(0, i - 400), i), retention, timeZone);
    if (e.expiresAt > end) out.push({ at, ...e });
  });
  return out;
}
