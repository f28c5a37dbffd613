import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../src/local/azurite';
import { BlobBackupStore } from '../src/core/adapters/azure/blob-backup-store';
import { SasDataPlane } from '../src/core/adapters/azure/sas-data-plane';
import { copySegment } from '../src/core/engine/copy-segment';
import { restoreDisk } from '../src/core/engine/restore-disk';
import { applyDeltas } from '../src/core/engine/manifest';
import { AdaptiveLimiter } from '../src/core/engine/pacer';
import { runPool } from '../src/core/engine/copy-segment';
import { peakRss, startEmulatorProcess, timed, type EmulatorProcess } from './support';

const MIB = 1024 ** 2, GIB = 1024 ** 3, TIB = 1024 ** 4;
const SUB = '00000000-0000-0000-0000-0000000bench';
const quick = process.argv.includes('--quick');
const written = quick ? 256 * MIB : 2 * GIB;
const diskSize = quick ? 1 * GIB : 8 * GIB;
const CONCURRENCY = 16;
const rows: { scenario: string; figure: string; value: string; target?: string; met?: boolean }[] = [];
const row = (scenario: string, figure: string, value: string, target?: string, met?: boolean): void => void rows.push({ scenario, figure, value, target, met });
const mibps = (bytes: number, ms: number): number => bytes / MIB / (ms / 1000);

async function main(): Promise<void> {
  const azurite = await startAzurite();
  const emu = await startEmulatorProcess();
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient(`bench-${randomBytes(3).toString('hex')}`);
    await container.create();
    const store = new BlobBackupStore(container);
    const dataPlane = new SasDataPlane();
    const compute = emu.compute(SUB);

    let n = 0;
    const disk = async (size: number, fills: { offset: number; length: number }[]): Promise<{ diskId: string; snapshot: () => Promise<string> }> => {
      const name = `vm${n++}`;
      const { id } = (await emu.admin('vms', { subscriptionId: SUB, resourceGroup: 'bench', name, disks: [{ name: `${name}-os`, sizeBytes: 64 * MIB, lun: -1 }, { name: `${name}-d`, sizeBytes: size, lun: 0 }] })) as { id: string };
      const diskId = `/subscriptions/${SUB}/resourceGroups/bench/providers/Microsoft.Compute/disks/${name}-d`;
      for (const f of fills) await emu.admin('guest/fill', { ...f, seed: f.offset / 512 + 1 }, { id: diskId });
      let s = 0;
      return {
        diskId,
        snapshot: async () => {
          const snap = await compute.snapshots.beginCreateOrUpdateAndWait('bench', `${name}-s${s++}`, { location: 'w', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } });
          return (await compute.snapshots.beginGrantAccessAndWait('bench', snap.name!, { access: 'Read', durationInSeconds: 3600 })).accessSAS!;
        },
      };
      void id;
    };
    const copy = async (sas: string, size: number, shard: string, base?: string, previousCells = new Set<number>()) => {
      await store.ensureShard(shard, size);
      return copySegment(
        { segment: { start: 0, end: size }, diskSize: size, shardSize: size, shardName: () => shard, baseSasUrl: base, previousCells, concurrency: CONCURRENCY, diffWindow: 512 * MIB },
        { source: dataPlane.openSource(sas), store },
      );
    };

    // 1. Raw Put Page loop into Azurite vs our full copy of a disk with the same bytes written.
    const chunk = createHash('sha512').update('x').digest().toString('hex').repeat(4 * MIB / 128);
    const payload = Buffer.from(chunk.slice(0, 4 * MIB));
    const rawBlob = container.getPageBlobClient('raw');
    await rawBlob.create(written);
    const raw = await timed(() => runPool(Array.from({ length: written / (4 * MIB) }, (_, i) => i), new AdaptiveLimiter(CONCURRENCY), async (i) => {
      await rawBlob.uploadPages(payload, i * 4 * MIB, 4 * MIB);
    }));
    // The same loop sending a transactional MD5, as our copy does: Azurite checks it, which costs it CPU.
    const md5 = createHash('md5').update(payload).digest();
    const rawMd5 = await timed(() => runPool(Array.from({ length: written / (4 * MIB) }, (_, i) => i), new AdaptiveLimiter(CONCURRENCY), async (i) => {
      await rawBlob.uploadPages(payload, i * 4 * MIB, 4 * MIB, { transactionalContentMD5: md5 });
    }));
    row('1 raw limit vs our copy', 'raw loop with a transactional MD5 per Put Page', `${mibps(written, rawMd5.ms).toFixed(1)} MiB/s`);
    const d1 = await disk(diskSize, [{ offset: 0, length: written }]);
    const sas1 = await d1.snapshot();
    const ours = await peakRss(() => timed(() => copy(sas1, diskSize, 'full/shard-0')));
    const rawMbps = mibps(written, raw.ms), oursMbps = mibps(written, ours.value.ms);
    row('1 raw limit vs our copy', 'raw 4 MiB Put Page loop into Azurite', `${rawMbps.toFixed(1)} MiB/s`);
    row('1 raw limit vs our copy', 'our full backup (read from the emulator, write to Azurite)', `${oursMbps.toFixed(1)} MiB/s`);
    row('1 raw limit vs our copy', 'ratio ours / raw', (oursMbps / rawMbps).toFixed(2), '>= 0.85', oursMbps / rawMbps >= 0.85);
    const rssLimit = 300 * MIB;
    row('5 memory', `peak RSS while copying ${written / MIB} MiB at concurrency ${CONCURRENCY}`, `${(ours.peak / MIB).toFixed(0)} MiB`, '<= 300 MiB', ours.peak <= rssLimit);

    // 2. Incrementals of 1 % and 10 % of the written data, scattered in 1 MiB pieces.
    const baseManifest = applyDeltas(undefined, diskSize, [ours.value.value.delta]);
    for (const pct of [1, 10]) {
      const changed = Math.floor((written * pct) / 100 / MIB);
      const fills = Array.from({ length: changed }, (_, i) => ({ offset: Math.floor(((i * 7919) % (written / MIB))) * MIB, length: MIB }));
      const d = await disk(diskSize, [{ offset: 0, length: written }]);
      const s0 = await d.snapshot();
      const full = await copy(s0, diskSize, `incr${pct}/shard-0`);
      for (const f of fills) await emu.admin('guest/fill', { ...f, seed: 999 + f.offset / 512 }, { id: d.diskId });
      const s1 = await d.snapshot();
      const inc = await timed(() => copy(s1, diskSize, `incr${pct}/shard-0`, s0, new Set(applyDeltas(undefined, diskSize, [full.delta]).cells.keys())));
      const st = inc.value.stats;
      const eff = (st.bytesUploaded + st.zeroBytesSkipped) / st.changedBytes;
      row(`2 incremental ${pct} %`, 'time', `${(inc.ms / 1000).toFixed(2)} s`);
      row(`2 incremental ${pct} %`, 'changed / read / uploaded', `${st.changedBytes / MIB} / ${st.sourceBytesRead / MIB} / ${st.bytesUploaded / MIB} MiB`);
      row(`2 incremental ${pct} %`, 'requests: range listings / reads / Put Page', `${st.rangeRequests} / ${st.sourceReads} / ${st.putRequests}`);
      row(`2 incremental ${pct} %`, 'efficiency (bytes moved / changed bytes)', eff.toFixed(2), '1.00', Math.abs(eff - 1) < 1e-9 && st.sourceBytesRead === st.changedBytes);
    }
    void baseManifest;

    // 3. Cost follows change, not size: 64 MiB on an 8 GiB and on a 1 TiB sparse disk.
    const small = await disk(8 * GIB, [{ offset: 3 * GIB, length: 64 * MIB }]);
    const big = await disk(1 * TIB, [{ offset: 700 * GIB, length: 64 * MIB }]);
    const ts = await timed(async () => copy(await small.snapshot(), 8 * GIB, 'small/shard-0'));
    const tb = await peakRss(() => timed(async () => copy(await big.snapshot(), 1 * TIB, 'big/shard-0')));
    row('3 cost follows change', '64 MiB on 8 GiB / on 1 TiB', `${(ts.ms / 1000).toFixed(2)} s / ${(tb.value.ms / 1000).toFixed(2)} s`);
    row('3 cost follows change', 'time ratio 1 TiB / 8 GiB', (tb.value.ms / ts.ms).toFixed(2), '<= 1.5', tb.value.ms / ts.ms <= 1.5);
    row('5 memory', 'peak RSS copying the 1 TiB sparse disk', `${(tb.peak / MIB).toFixed(0)} MiB`, 'flat as size grows', tb.peak <= rssLimit);

    // 4. Restore vs a raw Put Page loop into the emulator's upload endpoint.
    const snapshotId = await store.snapshotShard('full/shard-0');
    const upload = async (name: string): Promise<string> => {
      await compute.disks.beginCreateOrUpdateAndWait('bench', name, { location: 'w', creationData: { createOption: 'Upload', uploadSizeBytes: diskSize + 512 } });
      return (await compute.disks.beginGrantAccessAndWait('bench', name, { access: 'Write', durationInSeconds: 3600 })).accessSAS!;
    };
    const rawTarget = dataPlane.openTarget(await upload('raw-upload'));
    const rawUp = await timed(() => runPool(Array.from({ length: written / (4 * MIB) }, (_, i) => i), new AdaptiveLimiter(CONCURRENCY), (i) => rawTarget.putPages(i * 4 * MIB, payload)));
    const target = dataPlane.openTarget(await upload('restored'));
    const rest = await timed(() => restoreDisk({ diskSize, shardSize: diskSize, shards: [{ name: 'full/shard-0', snapshot: snapshotId }], manifest: baseManifest, concurrency: CONCURRENCY, rangeWindow: 512 * MIB }, store, target));
    const rawUpMbps = mibps(written, rawUp.ms), restMbps = mibps(written, rest.ms);
    row('4 restore', 'raw Put Page loop into the emulator / our restore', `${rawUpMbps.toFixed(1)} / ${restMbps.toFixed(1)} MiB/s`);
    row('4 restore', 'ratio ours / raw', (restMbps / rawUpMbps).toFixed(2), '>= 0.85', restMbps / rawUpMbps >= 0.85);

    // 8. The naive way: read the whole disk sequentially and write every 4 MiB, empty or not.
    const naiveSource = dataPlane.openSource(sas1);
    const naiveBlob = container.getPageBlobClient('naive');
    await naiveBlob.create(diskSize);
    const naive = await timed(async () => {
      for (let o = 0; o < diskSize; o += 4 * MIB) {
        const data = await naiveSource.read({ start: o, end: o + 4 * MIB });
        await naiveBlob.uploadPages(data, o, 4 * MIB);
      }
    });
    row('8 naive baseline', `sequential whole-disk copy of the ${diskSize / GIB} GiB disk / ours`, `${(naive.ms / 1000).toFixed(1)} s / ${(ours.value.ms / 1000).toFixed(1)} s`);
    row('8 naive baseline', 'speed-up of ours', `${(naive.ms / ours.value.ms).toFixed(1)}x`);
  } finally {
    await emu.stop();
    await azurite.stop();
  }

  const width = [0, 0, 0, 0];
  const lines = rows.map((r) => [r.scenario, r.figure, r.value, r.target ? `${r.target} ${r.met ? 'met' : 'NOT met'}` : '']);
  for (const l of lines) l.forEach((c, i) => (width[i] = Math.max(width[i]!, c.length)));
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(width[i]!)).join('  '));
  const dir = path.join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify({ quick, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / GIB), node: process.version }, rows }, null, 2));
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
