import type { Job } from '../../domain/model';
import { expiryFor } from '../../domain/retention';
import type { Deps } from '../../jobs/deps';
import { DAY_MS } from '../../domain/time';
import { DEFAULT_RETENTION_DAYS } from '../../domain/retention';

/**
 * A backup-now job carries its own retention; a scheduled one follows the item's policy (GFS tiers in the
 * policy's time zone). No policy and no override: keep the point for 30 days rather than forever.
 */
export async function expiryForNewPoint(deps: Deps, job: Job, createdAt: Date): Promise<Date> {
  const retainUntil = job.params.retainUntil;
  if (typeof retainUntil === 'string') return new Date(retainUntil);
  const item = job.itemKey ? (await deps.repos.items.get(job.itemKey))?.doc : undefined;
  const policy = item?.policyName ? (await deps.repos.policies.get(item.policyName))?.doc : undefined;
  if (!policy) return new Date(createdAt.getTime() + DEFAULT_RETENTION_DAYS * DAY_MS);
  const earlier = (await deps.repos.points.all(job.itemKey)).filter((p) => p.createdAt < createdAt).map((p) => p.createdAt);
  return expiryFor(createdAt, earlier, policy.retention, policy.timeZone).expiresAt;
}
