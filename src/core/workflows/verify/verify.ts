import type { RecoveryPoint } from '../../domain/model';
import { decodeManifest } from '../../engine/manifest';
import { ManifestMismatchError, restoreDisk } from '../../engine/restore-disk';
import type { Deps } from '../../jobs/deps';
import { getPoint } from './restore';

export interface VerifyResult {
  pointId: string;
  state: 'Verified' | 'Corrupt';
  disks: { diskKey: string; ok: boolean; problem?: string }[];
}

/** Re-reads a recovery point's shard snapshots and checks every cell against its manifest. */
export async function verifyPoint(deps: Deps, itemKey: string, pointId: string): Promise<VerifyResult> {
  const point: RecoveryPoint = await getPoint(deps, itemKey, pointId);
  const disks: VerifyResult['disks'] = [];
  for (const d of point.disks) {
    const buf = await deps.store.getObject(d.manifest);
    if (!buf) {
      disks.push({ diskKey: d.diskKey, ok: false, problem: 'manifest missing' });
      continue;
    }
    try {
      await restoreDisk(
        { diskSize: d.sizeBytes, shardSize: d.shardSize, shards: d.shards, manifest: decodeManifest(buf), concurrency: deps.config.copy.concurrency, rangeWindow: deps.config.copy.diffWindow },
        deps.store,
        { putPages: async () => {} }, // reading and hashing is the check; nothing is written
      );
      disks.push({ diskKey: d.diskKey, ok: true });
    } catch (err) {
      if (!(err instanceof ManifestMismatchError)) throw err;
      disks.push({ diskKey: d.diskKey, ok: false, problem: `${err.cells.length} cell(s) differ from the manifest` });
    }
  }
  const ok = disks.every((d) => d.ok);
  await deps.repos.points.update(itemKey, pointId, (x) => {
    if (ok) x.verifiedAt = deps.clock();
    else x.state = 'Corrupt';
  });
  return { pointId, state: ok ? 'Verified' : 'Corrupt', disks };
}
