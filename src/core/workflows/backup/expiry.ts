import type { Job } from '../../domain/model';
import { expiryFor, recomputeExpiries } from '../../domain/retention';
import type { Policy } from '../../domain/policy';
import type { Deps } from '../../jobs/deps';
import { DAY_MS } from '../../domain/time';
import { DEFAULT_RETENTION_DAYS } from '../../domain/retention';
import { paramsOf } from '../../jobs/params';
import { backupParams } from './params';

/**
 * A backup-now job carries its own retention; a scheduled one follows the item's policy (GFS tiers in the
 * policy's time zone). No policy and no override: keep the point for 30 days rather than forever.
 */
export async function expiryForNewPoint(deps: Deps, job: Job, createdAt: Date): Promise<Date> {
  const { retainUntil } = paramsOf(job, backupParams);
  if (retainUntil) return new Date(retainUntil);
  const item = job.itemKey ? (await deps.repos.items.get(job.itemKey))?.doc : undefined;
  const policy = item?.policyName ? (await deps.repos.policies.get(item.policyName))?.doc : undefined;
  if (!policy) return new Date(createdAt.getTime() + DEFAULT_RETENTION_DAYS * DAY_MS);
  const earlier = (await deps.repos.points.all(job.itemKey)).filter((p) => p.createdAt < createdAt).map((p) => p.createdAt);
  return expiryFor(createdAt, earlier, policy.retention, policy.timeZone).expiresAt;
}

/**
 * After the item's policy changed (edited, or another policy protects it), its scheduled points expire as the
 * new retention says, as Azure Backup applies a retention change to existing points; a backup-now point keeps
 * the date it was given. Returns how many points changed.
 */
export async function reapplyRetention(deps: Deps, itemKey: string, policy: Policy): Promise<number> {
  const points = (await deps.repos.points.all(itemKey)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const expiries = recomputeExpiries(
    points.map((p) => p.createdAt),
    policy.retention,
    policy.timeZone,
  );
  let changed = 0;
  for (const [i, p] of points.entries()) {
    if (p.state !== 'Available') continue;
    const job = (await deps.repos.jobs.get(p.jobId))?.doc;
    // Another job's row: one this version cannot read keeps the policy's expiry rather than failing this job.
    if (backupParams.safeParse(job?.params).data?.retainUntil) continue;
    const next = expiries[i]!;
    if (p.expiresAt?.getTime() === next.getTime()) continue;
    await deps.repos.points.update(itemKey, p.pointId, (x) => void (x.expiresAt = next));
    changed++;
  }
  return changed;
}
