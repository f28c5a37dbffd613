import { applyDeltas } from '../../src/core/engine/manifest';
import { restoreDisk } from '../../src/core/engine/restore-disk';
import { vhdFooter } from '../../src/core/engine/vhd';
import { CONCURRENCY, GIB, MIB, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

const LABEL = '10 instant vs vault restore';

/**
 * One disk restored both ways as it grows (disk size and data together): the vault restore the app runs
 * (create an upload disk, grant write, read the shard and Put Page every cell with its check, footer, end the
 * upload) against an instant restore (one Disks create with createOption Copy from the source snapshot, the
 * platform copying: azure-compute-docs disks-incremental-snapshots.md). Locally the emulator's Copy shares the
 * snapshot's blocks, so the instant time is ARM round trips only; on Azure such a disk is created in the same
 * few ARM calls whatever its size, and its content is served while the platform copies in the background.
 */
export const instantRestore: Scenario = {
  id: '10',
  title: 'instant restore (disk from snapshot) vs vault restore as the disk grows',
  async run(ctx: BenchContext): Promise<Row[]> {
    // --smoke: one size, so both restores run once.
    const sizes = ctx.pick({ full: [256 * MIB, 1 * GIB, 2 * GIB], quick: [64 * MIB, 256 * MIB], smoke: [16 * MIB] });
    const rows: Row[] = [];
    for (const data of sizes) {
      const diskSize = data + 64 * MIB;
      const d = await ctx.disk(diskSize, [{ offset: 0, length: data }]);
      const sas = await d.snapshot();
      // BenchDisk names its snapshots <vm>-s<n>: this is the first.
      const snapshotId = d.diskId.replace(/\/disks\/[^/]+$/, `/snapshots/${d.name}-s0`);
      const shard = `${d.name}/shard-0`;
      const copy = await ctx.copy(sas, diskSize, shard);
      const snap = await ctx.store.snapshotShard(shard);
      const manifest = applyDeltas(undefined, diskSize, [copy.delta]);
      const vault = await timed(async () => {
        const name = `${d.name}-vault`;
        await ctx.compute.disks.beginCreateOrUpdateAndWait('bench', name, { location: 'w', creationData: { createOption: 'Upload', uploadSizeBytes: diskSize + 512 } });
        const target = ctx.dataPlane.openTarget((await ctx.compute.disks.beginGrantAccessAndWait('bench', name, { access: 'Write', durationInSeconds: 3600 })).accessSAS!);
        await restoreDisk({ diskSize, shardSize: diskSize, shards: [{ name: shard, snapshot: snap }], manifest, concurrency: CONCURRENCY, rangeWindow: 512 * MIB }, ctx.store, target);
        await target.putPages(diskSize, vhdFooter(diskSize));
        await ctx.compute.disks.beginRevokeAccessAndWait('bench', name);
      });
      const instant = await timed(() =>
        ctx.compute.disks.beginCreateOrUpdateAndWait('bench', `${d.name}-instant`, { location: 'w', creationData: { createOption: 'Copy', sourceResourceId: snapshotId } }),
      );
      const size = data >= GIB ? `${data / GIB} GiB` : `${data / MIB} MiB`;
      rows.push(
        row(LABEL, `${size} of data: vault restore (upload + verified Put Page)`, vault.ms / 1000, 's', 2),
        row(LABEL, `${size} of data: instant restore (disk from snapshot)`, instant.ms / 1000, 's', 3),
        row(LABEL, `${size} of data: ratio vault / instant`, vault.ms / instant.ms, 'x', 0),
      );
    }
    return rows;
  },
};
