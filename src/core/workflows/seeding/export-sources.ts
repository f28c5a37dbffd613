import { PermanentStepError } from '../../errors';
import type { Job, ProtectedDisk, RecoveryPointDisk } from '../../domain/model';
import type { DiskManifest } from '../../engine/manifest';
import { openManifest } from '../../engine/manifest-parts';
import { pointImageReader, type DiskImageReader } from '../../engine/package-export';
import type { PackageDisk } from '../../engine/package-format';
import type { SourceSnapshot } from '../../ports/storage';
import type { Deps } from '../../jobs/deps';
import { getPoint } from '../restore/restore';
import { manifestPartBlob } from '../../store/layout';
import { paramsOf } from '../../jobs/params';
import { exportParams } from './params';

/** One disk to export: what the package records of it, how to read its image, and (a point's) the cells to match. */
export interface ExportSource {
  disk: PackageDisk;
  reader: () => Promise<DiskImageReader>;
  expected?: () => Promise<DiskManifest>;
}

/** A source snapshot's reader whose SAS is renewed on a 403, once for all the reads in flight. */
export async function renewingSnapshotReader(deps: Deps, snapshotId: string, entra: boolean | undefined): Promise<DiskImageReader> {
  const grant = async (): Promise<SourceSnapshot> => deps.dataPlane.openSource(await deps.compute.grantSnapshotRead(snapshotId, deps.config.sasDurationSeconds), { entra });
  let src = await grant();
  let renewal: Promise<SourceSnapshot> | undefined;
  // An export of many TiB outlives its SAS: a 403 gets one fresh grant, shared by the reads in flight.
  const renewing = async <T>(fn: (x: SourceSnapshot) => Promise<T>): Promise<T> => {
    const used = src;
    try {
      return await fn(used);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 403) throw err;
      if (src === used) {
        renewal ??= grant().finally(() => {
          renewal = undefined;
        });
        src = await renewal;
      }
      return fn(src);
    }
  };
  return { ranges: (w) => renewing((x) => x.validRanges(w)), read: (r) => renewing((x) => x.read(r)) };
}

/** A recovery point: read from its shard snapshots, every chunk checked against its manifest. */
export async function pointSources(deps: Deps, job: Job): Promise<ExportSource[]> {
  const point = await getPoint(deps, job.itemKey!, paramsOf(job, exportParams).pointId!); // only a point's export comes here
  const item = (await deps.repos.items.get(job.itemKey!))?.doc;
  return point.disks.map((d: RecoveryPointDisk) => ({
    disk: {
      diskKey: d.diskKey,
      name: d.name,
      lun: d.lun,
      sizeBytes: d.sizeBytes,
      shardSize: d.shardSize,
      sourceDiskId: item?.disks.find((x: ProtectedDisk) => x.diskKey === d.diskKey)?.diskId ?? '',
      sourceSnapshot: { id: d.sourceSnapshotId, time: point.createdAt.toISOString() },
      dataBytes: 0,
      chunks: [],
    },
    reader: async () => pointImageReader(deps.store, d.shards, d.shardSize),
    expected: async () => {
      const reader = await openManifest((n) => deps.store.getObject(n), d.manifest, manifestPartBlob);
      if (!reader) throw new PermanentStepError('ManifestMissing', `The manifest of disk '${d.name}' is missing from the backup storage.`, 'Export another recovery point and run verify on this one.');
      return { diskSize: d.sizeBytes, cells: await reader.cells({ start: 0, end: d.sizeBytes }) };
    },
  }));
}
