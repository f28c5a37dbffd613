import type { Job } from '../domain/model';
import type { Deps } from '../jobs/deps';
import { toJobError } from '../jobs/jobs';
import { EntityExistsError } from '../ports/tables';
import { redact } from '../redact';
import { alertEventKey } from '../store/layout';
import type { AlertRecord } from '../store/records';
import { MINUTE_MS } from '../domain/time';
import { verifyParams } from '../workflows/verify/params';

export const ALERT_TYPES = ['JobFailed', 'VerificationFailed', 'MissedBackup', 'PointSoftDeleted', 'PointPurged'] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** One event: `id` tells this event from the next of the same type about the same item (a job id, a point...). */
export interface AlertEvent {
  type: AlertType;
  id: string;
  text: string;
  itemKey?: string;
  jobId?: string;
  pointId?: string;
  open?: boolean;
}

/** A sweep every few minutes for a day, then the alert is given up (and that is logged as an error). */
export const MAX_DELIVERY_ATTEMPTS = 288;
const CLAIM_MS = 2 * MINUTE_MS;

/**
 * Raises an event once: the first caller inserts its row (keyed by the event), later callers meet the row and
 * do nothing. The new alert is counted in telemetry and posted at once; if the post fails, the row stays
 * Pending and the alert sweep posts it again.
 */
export async function raiseAlert(deps: Deps, ev: AlertEvent): Promise<boolean> {
  const record: AlertRecord = {
    eventKey: alertEventKey(ev.type, { itemKey: ev.itemKey, id: ev.id }),
    type: ev.type,
    text: alertText(ev.text),
    itemKey: ev.itemKey,
    jobId: ev.jobId,
    pointId: ev.pointId,
    state: deps.alertChannel ? 'Pending' : 'Recorded',
    attempts: 0,
    createdAt: deps.clock(),
    open: ev.open,
  };
  try {
    await deps.repos.alerts.insert(record);
  } catch (err) {
    if (err instanceof EntityExistsError) return false;
    throw err;
  }
  deps.telemetry?.alertRaised(ev.type);
  deps.log.warn(`alert raised: ${ev.type}`, { code: ev.type, jobId: ev.jobId, itemKey: ev.itemKey, pointId: ev.pointId });
  await deliverAlert(deps, record.eventKey);
  return true;
}

/** Posts one Pending alert under a short claim (two sweeps at once post it once); true when the webhook took it. */
export async function deliverAlert(deps: Deps, eventKey: string): Promise<boolean> {
  const channel = deps.alertChannel;
  if (!channel) return false;
  const now = deps.clock();
  let mine = false;
  const claimed = await deps.repos.alerts.update(eventKey, (a) => {
    mine = false;
    if (a.state !== 'Pending' || (a.claimUntil && a.claimUntil > now)) return false;
    a.claimUntil = new Date(now.getTime() + CLAIM_MS);
    a.attempts++;
    mine = true;
  });
  if (!claimed || !mine) return false;
  try {
    await channel.send({ text: claimed.text });
  } catch (err) {
    const error = redact(toJobError(err).message).slice(0, 300);
    const after = await deps.repos.alerts.update(eventKey, (a) => {
      a.claimUntil = undefined;
      a.lastError = error;
      if (a.attempts >= MAX_DELIVERY_ATTEMPTS) a.state = 'GaveUp';
    });
    if (after?.state === 'GaveUp') deps.log.error('alert given up after repeated webhook failures', { code: 'AlertNotDelivered', itemKey: after.itemKey, jobId: after.jobId });
    else deps.log.warn('alert webhook failed; the alert sweep retries it', { code: 'AlertWebhookFailed', jobId: claimed.jobId });
    return false;
  }
  await deps.repos.alerts.update(eventKey, (a) => {
    a.state = 'Sent';
    a.sentAt = deps.clock();
    a.claimUntil = undefined;
  });
  return true;
}

/**
 * Every text passes redact (an error message may quote a URL), and then even the names of what was redacted
 * go: a chat message is read by people who need no hint that a key was there.
 */
export function alertText(text: string): string {
  return redact(text).replace(/\b(AccountKey|SharedAccessSignature|AccessToken|sig)=\[redacted\]/gi, '[redacted]');
}

const TYPE_NAMES: Partial<Record<Job['type'], string>> = { Backup: 'Backup', Restore: 'Restore', Verify: 'Verification' };

/** The job-end hook: a failed job is one alert, a failed verification its own kind of alert. */
export async function alertOnJobEnd(deps: Deps, job: Job): Promise<void> {
  const ev = failedJobEvent(job);
  if (ev) await raiseAlert(deps, ev);
}

export function failedJobEvent(job: Job): AlertEvent | undefined {
  if (job.status !== 'Failed') return undefined;
  const what = TYPE_NAMES[job.type] ?? `${job.type} job`;
  const on = job.itemKey ? ` of ${describeItem(job.itemKey)}` : '';
  const e = job.error;
  const verify = job.type === 'Verify';
  // An alert is raised whatever the row holds: params it cannot read leave the point out, they do not stop it.
  const pointId = verify ? (verifyParams.safeParse(job.params).data?.pointId ?? '') : undefined;
  return {
    type: verify ? 'VerificationFailed' : 'JobFailed',
    id: job.jobId,
    jobId: job.jobId,
    itemKey: job.itemKey,
    pointId,
    text: [
      `vmbackup: ${what}${on} failed${verify ? ` for recovery point ${pointId}` : ''} (job ${job.jobId}).`,
      e ? `${e.code}: ${e.message}` : 'No error was recorded.',
      e?.recommendedAction ? `Recommended action: ${e.recommendedAction}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  };
}

/** `vm;<sub>;<rg>;<vm>` read as people name a VM: its name, resource group and subscription. */
export function describeItem(itemKey: string): string {
  const [, sub, rg, vm] = itemKey.split(';');
  return vm ? `VM ${vm} (resource group ${rg}, subscription ${sub})` : itemKey;
}
