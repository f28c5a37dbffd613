import { DateTime } from 'luxon';

/** NCRONTAB, the six-field cron of Azure Functions timers: {second} {minute} {hour} {day} {month} {day-of-week}. */
export interface Ncrontab {
  second: Set<number>;
  minute: Set<number>;
  hour: Set<number>;
  day: Set<number>;
  month: Set<number>;
  dayOfWeek: Set<number>;
  dayRestricted: boolean;
  dowRestricted: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DOWS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

function field(text: string, min: number, max: number, names: string[] = [], nameBase = 0): Set<number> {
  const out = new Set<number>();
  const value = (s: string): number => {
    const i = names.indexOf(s.toUpperCase());
    const n = i >= 0 ? i + nameBase : Number(s);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`'${s}' is outside ${min}-${max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const [rangePart, stepPart] = part.split('/');
    const step = stepPart === undefined ? 1 : Number(stepPart);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in '${part}'`);
    let lo: number, hi: number;
    if (rangePart === '*') [lo, hi] = [min, max];
    else if (rangePart!.includes('-')) [lo, hi] = rangePart!.split('-').map(value) as [number, number];
    else [lo, hi] = [value(rangePart!), stepPart === undefined ? value(rangePart!) : max];
    for (let v = lo; v <= hi; v += step) out.add(v === 7 && max === 7 ? 0 : v);
  }
  return out;
}

export function parseNcrontab(expr: string): Ncrontab {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 6) throw new Error(`'${expr}' is not an NCRONTAB expression: it needs six fields ({second} {minute} {hour} {day} {month} {day-of-week})`);
  return {
    second: field(f[0]!, 0, 59),
    minute: field(f[1]!, 0, 59),
    hour: field(f[2]!, 0, 23),
    day: field(f[3]!, 1, 31),
    month: field(f[4]!, 1, 12, MONTHS, 1),
    dayOfWeek: field(f[5]!, 0, 7, DOWS, 0),
    dayRestricted: f[3] !== '*',
    dowRestricted: f[5] !== '*',
  };
}

function dayMatches(c: Ncrontab, t: DateTime): boolean {
  const dom = c.day.has(t.day);
  const dow = c.dayOfWeek.has(t.weekday % 7);
  // As in cron: when both are restricted, either may match.
  if (c.dayRestricted && c.dowRestricted) return dom || dow;
  return dom && dow;
}

/** The first occurrence strictly after `after`, in UTC or the given time zone (WEBSITE_TIME_ZONE). */
export function nextOccurrence(expr: string | Ncrontab, after: Date, timeZone = 'UTC'): Date {
  const c = typeof expr === 'string' ? parseNcrontab(expr) : expr;
  let t = DateTime.fromJSDate(after, { zone: timeZone }).startOf('second').plus({ seconds: 1 });
  const limit = t.plus({ years: 5 });
  while (t < limit) {
    if (!c.month.has(t.month)) {
      t = t.plus({ months: 1 }).startOf('month');
      continue;
    }
    if (!dayMatches(c, t)) {
      t = t.plus({ days: 1 }).startOf('day');
      continue;
    }
    if (!c.hour.has(t.hour)) {
      t = t.plus({ hours: 1 }).startOf('hour');
      continue;
    }
    if (!c.minute.has(t.minute)) {
      t = t.plus({ minutes: 1 }).startOf('minute');
      continue;
    }
    if (!c.second.has(t.second)) {
      t = t.plus({ seconds: 1 });
      continue;
    }
    return t.toJSDate();
  }
  throw new Error(`'${typeof expr === 'string' ? expr : 'expression'}' never fires`);
}
