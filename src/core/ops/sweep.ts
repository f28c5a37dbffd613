import type { ProtectedItem, RecoveryPoint } from '../domain/model';
import type { Policy } from '../domain/policy';
import { latestSlotAtOrBefore } from '../domain/schedule';
import { DAY_MS } from '../domain/time';
import type { Deps } from '../jobs/deps';
import { newestFirstKey } from '../store/layout';
import { deliverAlert, describeItem, failedJobEvent, raiseAlert, type AlertEvent } from './alerts';

export interface AlertSweepResult {
  raised: number;
  delivered: number;
  /** Alerts still waiting for the webhook after this sweep. */
  pending: number;
}

/**
 * The timer's half of alerting (the other half is the job-end hook): what no job ending reports. An item that
 * missed its backup, points soft-deleted (by retention or by a user) and purged, failed jobs whose alert was
 * lost with the process that failed them; then every alert the webhook has not taken yet is posted again.
 */
export async function alertSweep(deps: Deps, now = deps.clock()): Promise<AlertSweepResult> {
  const r: AlertSweepResult = { raised: 0, delivered: 0, pending: 0 };
  const raise = async (ev: AlertEvent | undefined): Promise<void> => {
    if (ev && (await raiseAlert(deps, ev))) r.raised++;
  };
  const since = newestFirstKey(new Date(now.getTime() - DAY_MS));
  for (const job of await deps.repos.jobs.all({ where: { status: 'Failed' }, rowKeyTo: since })) await raise(failedJobEvent(job));
  const items = await deps.repos.items.all();
  const policies = new Map((await deps.repos.policies.all()).map((p) => [p.name, p]));
  const points = new Map<string, RecoveryPoint[]>();
  for (const item of items) {
    await raise(missedBackupEvent(item, policies.get(item.policyName ?? ''), now, deps.config.alerts.missedBackupGraceMs));
    const list = await deps.repos.points.all(item.itemKey);
    points.set(item.itemKey, list);
    for (const p of list) await raise(softDeletedEvent(p));
  }
  r.raised += await followSoftDeleted(deps, points);
  for (const a of await deps.repos.alerts.all({ where: { state: 'Pending' } })) {
    if (await deliverAlert(deps, a.eventKey)) r.delivered++;
    else r.pending++;
  }
  return r;
}

/**
 * The due slot an item missed, if it missed one: the latest slot at least `graceMs` ago, after the item got its
 * policy, with no point since half the gap before it (the same rule by which the scheduler lets a backup now
 * cover a slot, workflows/protection/scheduler.ts). Items not under a policy, or waiting for a seed import, miss nothing.
 */
export function missedSlot(item: ProtectedItem, policy: Policy | undefined, now: Date, graceMs: number): Date | undefined {
  // ProtectionPending is an item under a policy that has no backup yet: its first slot can be missed too.
  if ((item.state !== 'Protected' && item.state !== 'ProtectionPending') || !policy || item.seed) return undefined;
  const due = latestSlotAtOrBefore(policy.schedule, policy.timeZone, new Date(now.getTime() - graceMs));
  if (!due || due.getTime() <= (item.protectedAt ?? item.createdAt).getTime()) return undefined;
  const prev = latestSlotAtOrBefore(policy.schedule, policy.timeZone, new Date(due.getTime() - 1));
  const coveredFrom = prev ? due.getTime() - (due.getTime() - prev.getTime()) / 2 : due.getTime();
  if (item.lastBackupAt && item.lastBackupAt.getTime() >= coveredFrom) return undefined;
  return due;
}

function missedBackupEvent(item: ProtectedItem, policy: Policy | undefined, now: Date, graceMs: number): AlertEvent | undefined {
  const due = missedSlot(item, policy, now, graceMs);
  if (!due) return undefined;
  const last = item.lastBackupAt;
  // One alert per gap: the id is the newest point's time, so a new point and a later miss is a new event.
  return {
    type: 'MissedBackup',
    id: last ? newestFirstKey(last) : 'never',
    itemKey: item.itemKey,
    text: [
      `vmbackup: ${describeItem(item.itemKey)} missed its backup due ${due.toISOString()} under policy ${policy!.name}.`,
      last ? `Its newest recovery point is from ${last.toISOString()}.` : 'It has no recovery point yet.',
      'Recommended action: check the backup jobs of this item (GET /api/jobs?itemKey=...), then run a backup now.',
    ].join('\n'),
  };
}

function softDeletedEvent(p: RecoveryPoint): AlertEvent | undefined {
  if (p.state !== 'SoftDeleted' || !p.deletedAt) return undefined;
  return {
    type: 'PointSoftDeleted',
    id: `${p.pointId}~${newestFirstKey(p.deletedAt)}`,
    itemKey: p.itemKey,
    pointId: p.pointId,
    open: true,
    text: [
      `vmbackup: recovery point ${p.pointId} of ${describeItem(p.itemKey)} was soft-deleted at ${p.deletedAt.toISOString()}.`,
      'It is purged when the soft-delete window ends. Recommended action: if this was not intended, undelete it (POST .../recoveryPoints/{pointId}/undelete).',
    ].join('\n'),
  };
}

/** Each open soft-delete alert ends with the point purged (an alert) or back to Available (none). */
async function followSoftDeleted(deps: Deps, points: Map<string, RecoveryPoint[]>): Promise<number> {
  let raised = 0;
  for (const a of await deps.repos.alerts.all({ where: { type: 'PointSoftDeleted', open: true } })) {
    if (!a.itemKey || !a.pointId) continue;
    const list = points.get(a.itemKey) ?? (await deps.repos.points.all(a.itemKey));
    const p = list.find((x) => x.pointId === a.pointId);
    if (p?.state === 'SoftDeleted') continue;
    if (!p) {
      const ev: AlertEvent = {
        type: 'PointPurged',
        id: a.pointId,
        itemKey: a.itemKey,
        pointId: a.pointId,
        text: `vmbackup: recovery point ${a.pointId} of ${describeItem(a.itemKey)} was purged; it can no longer be restored.`,
      };
      if (await raiseAlert(deps, ev)) raised++;
    }
    await deps.repos.alerts.update(a.eventKey, (x) => {
      x.open = false;
    });
  }
  return raised;
}
