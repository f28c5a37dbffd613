import { createHash } from 'node:crypto';
import { parseResourceId } from '../ports/compute';

/**
 * Every name vmbackup writes: table keys, blob names and prefixes, snapshot names and tags. A change of
 * layout is one edit here; nothing else types a prefix.
 */

/** Keys that sort newest first: (max - ms) zero padded. */
export function newestFirstKey(d: Date): string {
  return String(8_640_000_000_000_000 - d.getTime()).padStart(16, '0');
}

/** Table-key-safe, readable, stable: one item per VM. */
export function itemKeyFor(vmId: string): string {
  const r = parseResourceId(vmId);
  return `vm;${r.subscriptionId};${r.resourceGroup};${r.name}`.toLowerCase();
}

export function diskKeyFor(lun: number): string {
  return lun < 0 ? 'os' : `lun-${lun}`;
}

export function segmentKey(diskKey: string, segment: number): string {
  return `${diskKey}~${String(segment).padStart(6, '0')}`;
}

/** The item's backup page blobs; their blob snapshots are the recovery points' vault copies. */
export function itemBackupsPrefix(itemKey: string): string {
  return `backups/${itemKey}/`;
}

export function shardBlobName(itemKey: string, diskKey: string, shard: number): string {
  return `${itemBackupsPrefix(itemKey)}${diskKey}/shard-${shard}`;
}

export function manifestBlob(itemKey: string, pointId: string, diskKey: string): string {
  return `manifests/${itemKey}/${pointId}/${diskKey}`;
}

/** The VM guest state of one Trusted Launch disk of a point, beside its manifest. */
export function guestStateBlob(itemKey: string, pointId: string, diskKey: string): string {
  return `${manifestBlob(itemKey, pointId, diskKey)}.guest-state`;
}

/** Every manifest blob of one point (a failed or cancelled backup leaves parts here that go with it). */
export function manifestPrefix(itemKey: string, pointId: string): string {
  return `manifests/${itemKey}/${pointId}/`;
}

/** Part n of a format-2 manifest (engine/manifest-parts.ts), next to its header blob `manifest`. */
export function manifestPartBlob(manifest: string, part: number): string {
  return `${manifest}.parts/${String(part).padStart(6, '0')}`;
}

/** Scratch of one job (checkpoints, deltas): deleted when the job ends, whatever its outcome. */
export function jobWorkPrefix(jobId: string): string {
  return `work/${jobId}/`;
}

/** The read SAS of one snapshot, shared by every segment of the job; it goes with the job's scratch. */
export function snapshotGrantBlob(jobId: string, snapshotId: string): string {
  return `${jobWorkPrefix(jobId)}grants/${createHash('sha256').update(snapshotId.toLowerCase()).digest('hex').slice(0, 32)}`;
}

export function checkpointBlob(jobId: string, diskKey: string, segment: number): string {
  return `${jobWorkPrefix(jobId)}${diskKey}/seg-${segment}`;
}

/**
 * The whole job id, not a piece of it: scheduled job ids end in a hash of the item, so any suffix would give
 * every scheduled backup of an item the same name, and creating it again returns the previous snapshot (the
 * diff base) instead of a new one. Deterministic per job, so a rerun of the step reuses its own snapshot.
 */
export function snapshotNameFor(job: { jobId: string }, diskKey: string): string {
  return `vmb-${job.jobId}-${diskKey}`;
}

/** Tags on the resources vmbackup creates, so retention and the reconciler can find their owners. */
export const TAGS = {
  item: 'vmbackup-item',
  job: 'vmbackup-job',
  restoreJob: 'vmbackup-restore-job',
  autoProtect: 'vmbackup-policy',
} as const;

/** Azure caps a tag value at 256 characters. */
export const tagValue = (v: string): string => v.slice(0, 256);

export function sourceSnapshotTags(itemKey: string, jobId: string): Record<string, string> {
  return { [TAGS.item]: tagValue(itemKey), [TAGS.job]: jobId };
}

/** Row key of an alert event: its type and what it is about (an item's key is hashed: it is long and has `;`). */
export function alertEventKey(type: string, parts: { itemKey?: string; id?: string }): string {
  const item = parts.itemKey ? createHash('sha256').update(parts.itemKey).digest('hex').slice(0, 16) : '';
  return [type, item, parts.id ?? ''].filter(Boolean).join('~');
}
