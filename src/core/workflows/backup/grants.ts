import type { Job } from '../../domain/model';
import type { Deps } from '../../jobs/deps';
import { snapshotGrantBlob } from '../../store/layout';

/**
 * One read SAS per snapshot per job, shared by all its segments. Each grantAccess is an ARM POST plus its
 * polls, and counts against the subscription's write bucket (200 burst, 10/s:
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling) and
 * the Compute RP's own; Azure also lets at most five snapshots of one family hold a SAS at a time
 * (includes/virtual-machines-disks-incremental-snapshots-restrictions.md). Granting per segment, twice, made a
 * 4 TiB disk cost thousands of LROs (AZURE-FIDELITY M3). The SAS is kept in a job-scoped blob of the backup
 * account (only the app's identity reads it) and goes with the job's scratch when the job ends.
 */
interface StoredGrant {
  url: string;
  expiresAt: number;
}

/** A stored SAS is renewed once less than this share of its lifetime is left, so no segment starts on a dying one. */
const RENEW_WHEN_LEFT = 0.25;

async function stored(deps: Deps, jobId: string, snapshotId: string): Promise<StoredGrant | undefined> {
  const buf = await deps.store.getObject(snapshotGrantBlob(jobId, snapshotId));
  if (!buf) return undefined;
  try {
    const g = JSON.parse(buf.toString('utf8')) as StoredGrant;
    return typeof g.url === 'string' && typeof g.expiresAt === 'number' ? g : undefined;
  } catch {
    return undefined; // a torn write: grant again
  }
}

async function grantAndStore(deps: Deps, jobId: string, snapshotId: string): Promise<string> {
  const duration = deps.config.sasDurationSeconds;
  const expiresAt = deps.clock().getTime() + duration * 1000;
  const url = await deps.compute.grantSnapshotRead(snapshotId, duration);
  await deps.store.putObject(snapshotGrantBlob(jobId, snapshotId), Buffer.from(JSON.stringify({ url, expiresAt } satisfies StoredGrant)));
  return url;
}

/**
 * The job's SAS for a snapshot: the stored one while it has time left, else a new grant. `rejected` is a URL the
 * service just refused (403): if the stored one is still that URL, grant again; if another segment renewed it
 * meanwhile, use theirs.
 */
export async function sharedSnapshotRead(deps: Deps, jobId: string, snapshotId: string, rejected?: string): Promise<string> {
  const g = await stored(deps, jobId, snapshotId);
  const margin = deps.config.sasDurationSeconds * 1000 * RENEW_WHEN_LEFT;
  if (g && g.url !== rejected && g.expiresAt - deps.clock().getTime() > margin) return g.url;
  return grantAndStore(deps, jobId, snapshotId);
}

/** Every snapshot a job's copy reads: its new snapshots and their diff bases. */
export function snapshotsOf(job: Job): string[] {
  const ids = new Set<string>();
  for (const d of job.plan ?? []) {
    ids.add(d.snapshotId);
    if (d.baseSnapshotId) ids.add(d.baseSnapshotId);
  }
  return [...ids];
}

/** Grants before the fan-out, so concurrent first segments find the SAS instead of each asking ARM for one. */
export async function grantJobSnapshots(deps: Deps, job: Job): Promise<void> {
  for (const id of snapshotsOf(job)) await sharedSnapshotRead(deps, job.jobId, id);
}
