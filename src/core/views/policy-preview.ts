import { DateTime } from 'luxon';
import { ValidationError } from '../errors';
import { parsePolicy } from '../domain/policy';
import { nextSlots, slotsBetween } from '../domain/schedule';
import { previewRetained, type Tier } from '../domain/retention';
import type { Deps } from '../jobs/deps';
import { DAY_MS } from '../domain/time';

export interface PolicyPreview {
  timeZone: string;
  /** The next scheduled backups, as UTC instants and as wall times in the policy's zone. */
  nextRuns: { at: string; local: string }[];
  /** Of the points the schedule would create over the next year, those still kept at its end. */
  retainedAfterOneYear: { count: number; scheduledCount: number; byTier: Record<Tier, number>; points: { at: string; local: string; expiresAt: string; tiers: Tier[] }[] };
}

const YEAR_DAYS = 365;
const MAX_POINTS_LISTED = 200;

function local(d: Date, zone: string): string {
  return DateTime.fromJSDate(d, { zone }).toFormat('yyyy-LL-dd HH:mm ZZZZ');
}

/**
 * What a policy would do before it is saved: the editor shows it while the operator types, so the same schema
 * that guards createPolicy validates it and nothing is stored.
 */
export function previewPolicy(deps: Pick<Deps, 'clock'>, input: unknown, runs = 10): PolicyPreview {
  const r = parsePolicy(input);
  if (!r.ok)
    throw new ValidationError(`The policy is invalid: ${r.issues.join('; ')}`.slice(0, 1000), 'Correct the fields listed; the preview updates when the policy is valid.', { issues: r.issues });
  const { schedule, retention, timeZone } = r.policy;
  const now = deps.clock();
  const next = nextSlots(schedule, timeZone, now, runs);
  const kept = previewRetained(schedule, retention, timeZone, now, YEAR_DAYS);
  const scheduledCount = slotsBetween(schedule, timeZone, now, new Date(now.getTime() + YEAR_DAYS * DAY_MS)).length;
  const byTier: Record<Tier, number> = { daily: 0, weekly: 0, monthly: 0, yearly: 0 };
  // Each kept point counts once, under its highest tier (tiers are listed daily, weekly, monthly, yearly).
  for (const k of kept) byTier[k.tiers[k.tiers.length - 1]!]++;
  return {
    timeZone,
    nextRuns: next.map((d) => ({ at: d.toISOString(), local: local(d, timeZone) })),
    retainedAfterOneYear: {
      count: kept.length,
      scheduledCount,
      byTier,
      points: kept.slice(0, MAX_POINTS_LISTED).map((k) => ({ at: k.at.toISOString(), local: local(k.at, timeZone), expiresAt: k.expiresAt.toISOString(), tiers: k.tiers })),
    },
  };
}
