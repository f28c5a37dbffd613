import { DateTime } from 'luxon';
import { DAYS, type Schedule } from './policy';
import { DAY_MS } from './time';

/**
 * Backup slots of a policy schedule, computed in the policy's time zone.
 * DST: a configured local time that does not exist on a spring-forward day fires at the same wall time
 * shifted by the gap (02:30 becomes 03:30 in Europe/Berlin); a local time that occurs twice on a fall-back day
 * fires once, at its first occurrence. A slot is identified by its UTC instant.
 */

function parseTime(t: string): [number, number] {
  const [h, m] = t.split(':').map(Number);
  return [h!, m!];
}

function at(date: DateTime, hour: number, minute: number): DateTime {
  const extraDays = Math.floor(hour / 24);
  const d = date.plus({ days: extraDays });
  // Luxon moves a missing wall time past the gap; an ambiguous one we resolve to its first occurrence.
  const t = DateTime.fromObject({ year: d.year, month: d.month, day: d.day, hour: hour % 24, minute }, { zone: date.zone });
  const earlier = t.minus({ hours: 1 });
  return earlier.hour === t.hour && earlier.minute === t.minute && earlier.day === t.day ? earlier : t;
}

/** Slots whose schedule day is the given local date (an hourly window may run past midnight). */
export function slotsOfDay(schedule: Schedule, day: DateTime): DateTime[] {
  switch (schedule.frequency) {
    case 'Daily':
      return schedule.times.map((t) => at(day, ...parseTime(t)));
    case 'Weekly': {
      const name = DAYS[day.weekday - 1]!;
      return schedule.daysOfWeek.includes(name) ? schedule.times.map((t) => at(day, ...parseTime(t))) : [];
    }
    case 'Hourly': {
      const [h, m] = parseTime(schedule.windowStart);
      const out: DateTime[] = [];
      for (let k = 0; k * schedule.intervalHours < schedule.windowHours; k++) out.push(at(day, h + k * schedule.intervalHours, m));
      return out;
    }
  }
}

function startOfLocalDay(t: Date, timeZone: string): DateTime {
  return DateTime.fromJSDate(t, { zone: timeZone }).startOf('day');
}

function uniqueSorted(ds: DateTime[]): Date[] {
  const ms = [...new Set(ds.filter((d) => d.isValid).map((d) => d.toMillis()))].sort((a, b) => a - b);
  return ms.map((x) => new Date(x));
}

export function slotsBetween(schedule: Schedule, timeZone: string, afterExclusive: Date, untilInclusive: Date): Date[] {
  const out: DateTime[] = [];
  const last = startOfLocalDay(untilInclusive, timeZone);
  for (let day = startOfLocalDay(afterExclusive, timeZone).minus({ days: 1 }); day <= last; day = day.plus({ days: 1 })) {
    for (const s of slotsOfDay(schedule, day)) {
      const ms = s.toMillis();
      if (ms > afterExclusive.getTime() && ms <= untilInclusive.getTime()) out.push(s);
    }
  }
  return uniqueSorted(out);
}

/** The latest slot at or before t; looks back at most eight days, so it is cheap on every tick. */
export function latestSlotAtOrBefore(schedule: Schedule, timeZone: string, t: Date): Date | undefined {
  let best: number | undefined;
  const today = startOfLocalDay(t, timeZone);
  for (let back = -1; back <= 8; back++) {
    for (const s of slotsOfDay(schedule, today.minus({ days: back }))) {
      const ms = s.toMillis();
      if (s.isValid && ms <= t.getTime() && (best === undefined || ms > best)) best = ms;
    }
  }
  return best === undefined ? undefined : new Date(best);
}

export function nextSlots(schedule: Schedule, timeZone: string, after: Date, n: number): Date[] {
  const out: Date[] = [];
  let from = after;
  while (out.length < n) {
    const until = new Date(from.getTime() + 8 * DAY_MS);
    const batch = slotsBetween(schedule, timeZone, from, until);
    out.push(...batch.slice(0, n - out.length));
    from = until;
  }
  return out;
}

/** A stable, key-safe name for a slot: 20261122T0300Z. */
export function slotId(d: Date): string {
  return (
    d
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z')
      .slice(0, 13) + 'Z'
  );
}
