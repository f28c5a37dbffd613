import { restoreDisk } from '../../src/core/engine/restore-disk';
import { AdaptiveLimiter, withRetry } from '../../src/core/engine/pacer';
import { runPool } from '../../src/core/engine/copy-segment';
import { CONCURRENCY, MIB, mibps, row, type BenchContext, type Row, type Scenario } from '../context';
import { timedCpu } from '../support';
import { cpuText, cpuTotal, payload } from './raw-vs-copy';

const LABEL = '4 restore';

/**
 * Restore of the full backup into a new upload disk vs two plain loops at the same concurrency: Put Page into
 * the emulator's upload endpoint, and read-from-Azurite-then-Put-Page (the same processes as our restore).
 */
export const restore: Scenario = {
  id: '4',
  title: 'restore throughput',
  async run(ctx: BenchContext): Promise<Row[]> {
    const full = await ctx.fullBackup();
    const snapshot = await ctx.store.snapshotShard(full.shard);
    const upload = async (name: string): Promise<string> => {
      await ctx.compute.disks.beginCreateOrUpdateAndWait('bench', name, { location: 'w', creationData: { createOption: 'Upload', uploadSizeBytes: full.diskSize + 512 } });
      return (await ctx.compute.disks.beginGrantAccessAndWait('bench', name, { access: 'Write', durationInSeconds: 3600 })).accessSAS!;
    };
    const data = payload();
    const count = full.written / (4 * MIB);
    const loop = (fn: (i: number) => Promise<unknown>) =>
      timedCpu(ctx.pids, () =>
        runPool(
          Array.from({ length: count }, (_, i) => i),
          new AdaptiveLimiter(CONCURRENCY),
          async (i) => void (await withRetry(() => fn(i))),
        ),
      );
    const rawTarget = ctx.dataPlane.openTarget(await upload('raw-upload'));
    const raw = await loop((i) => rawTarget.putPages(i * 4 * MIB, data));
    const rwTarget = ctx.dataPlane.openTarget(await upload('raw-rw-upload'));
    const rw = await loop(async (i) => rwTarget.putPages(i * 4 * MIB, await ctx.store.readShardSnapshot(full.shard, snapshot, { start: i * 4 * MIB, end: (i + 1) * 4 * MIB })));
    const target = ctx.dataPlane.openTarget(await upload('restored'));
    const ours = await timedCpu(ctx.pids, () =>
      restoreDisk(
        { diskSize: full.diskSize, shardSize: full.diskSize, shards: [{ name: full.shard, snapshot }], manifest: full.manifest, concurrency: CONCURRENCY, rangeWindow: 512 * MIB },
        ctx.store,
        target,
      ),
    );
    const rawM = mibps(full.written, raw.ms),
      rwM = mibps(full.written, rw.ms),
      oursM = mibps(ours.value.bytesWritten, ours.ms);
    return [
      row(LABEL, 'raw Put Page loop into the emulator upload endpoint', rawM, 'MiB/s'),
      row(LABEL, 'raw read+write loop: Get Blob from the shard snapshot, then Put Page', rwM, 'MiB/s'),
      row(LABEL, `our restore (${ours.value.bytesWritten / MIB} MiB, every cell verified)`, oursM, 'MiB/s'),
      row(LABEL, 'ratio ours / raw Put Page loop', oursM / rawM, '', 2, { text: '>= 0.85', met: oursM / rawM >= 0.85 }),
      row(LABEL, 'ratio ours / raw read+write loop', oursM / rwM, '', 2, { text: '>= 0.85', met: oursM / rwM >= 0.85 }),
      row(LABEL, `CPU s/GiB, raw Put Page loop: ${cpuText(raw.cpu, full.written)}`, cpuTotal(raw.cpu, full.written), 's/GiB', 2),
      row(LABEL, `CPU s/GiB, raw read+write loop: ${cpuText(rw.cpu, full.written)}`, cpuTotal(rw.cpu, full.written), 's/GiB', 2),
      row(LABEL, `CPU s/GiB, our restore: ${cpuText(ours.cpu, full.written)}`, cpuTotal(ours.cpu, full.written), 's/GiB', 2),
      row(LABEL, 'CPU efficiency: CPU s/GiB of the read+write loop / of our restore (load-independent)', cpuTotal(rw.cpu, full.written) / cpuTotal(ours.cpu, full.written), '', 2),
    ];
  },
};
