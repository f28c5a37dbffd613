import type { Job } from '../../domain/model';
import type { SnapshotFileFormat } from '../../ports/compute';
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
  /** Kept so a renewal asks for the same format as the first grant (segments know only the snapshot id). */
  fileFormat?: SnapshotFileFormat;
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

async function grantAndStore(deps: Deps, jobId: string, snapshotId: string, fileFormat: SnapshotFileFormat | undefined): Promise<string> {
  const duration = deps.config.sasDurationSeconds;
  const expiresAt = deps.clock().getTime() + duration * 1000;
  const url = await deps.compute.grantSnapshotRead(snapshotId, duration, fileFormat ? { fileFormat } : undefined);
  await deps.store.putObject(snapshotGrantBlob(jobId, snapshotId), Buffer.from(JSON.stringify({ url, expiresAt, fileFormat } satisfies StoredGrant)));
  return url;
}

/**
 * "Snapshots with a 4096 logical sector size are stored as VHDX" (includes/virtual-machines-disks-incremental-
 * snapshots-restrictions.md), and GrantAccessData.fileFormat is "Used to specify the file format when making request
 * for SAS on a VHDX file format snapshot" (https://learn.microsoft.com/rest/api/compute/snapshots/grant-access).
 */
export const fileFormatFor = (logicalSectorSize: number | undefined): SnapshotFileFormat | undefined => (logicalSectorSize === 4096 ? 'VHDX' : undefined);

/**
 * The job's SAS for a snapshot: the stored one while it has time left, else a new grant. `rejected` is a URL the
 * service just refused (403): if the stored one is still that URL, grant again; if another segment renewed it
 * meanwhile, use theirs.
 */
export async function sharedSnapshotRead(deps: Deps, jobId: string, snapshotId: string, rejected?: string, fileFormat?: SnapshotFileFormat): Promise<string> {
  const g = await stored(deps, jobId, snapshotId);
  const margin = deps.config.sasDurationSeconds * 1000 * RENEW_WHEN_LEFT;
  if (g && g.url !== rejected && g.expiresAt - deps.clock().getTime() > margin) return g.url;
  return grantAndStore(deps, jobId, snapshotId, fileFormat ?? g?.fileFormat);
}

/** Every snapshot a job's copy reads: its new snapshots and their diff bases. */
export function snapshotsOf(job: Job): string[] {
  return [...formatsOf(job).keys()];
}

/** Each snapshot a job reads with the format its grant asks for; a diff base has its disk's sector size. */
function formatsOf(job: Job): Map<string, SnapshotFileFormat | undefined> {
  const out = new Map<string, SnapshotFileFormat | undefined>();
  for (const d of job.plan ?? []) {
    const f = fileFormatFor(d.logicalSectorSize);
    out.set(d.snapshotId, f);
    if (d.baseSnapshotId) out.set(d.baseSnapshotId, f);
  }
  return out;
}

/** Grants before the fan-out, so concurrent first segments find the SAS instead of each asking ARM for one. */
export async function grantJobSnapshots(deps: Deps, job: Job): Promise<void> {
  for (const [id, f] of formatsOf(job)) await sharedSnapshotRead(deps, job.jobId, id, undefined, f);
}
