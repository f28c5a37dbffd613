import { BlobServiceClient } from '@azure/storage-blob';
import { attachPolicy } from '../../src/core/adapters/azure/attach-policy';
import { BlobBackupStore } from '../../src/core/adapters/azure/blob-backup-store';
import { copySegment } from '../../src/core/engine/copy-segment';
import { segmentLayout, shardLayout } from '../../src/core/engine/shards';
import type { BackupDiskPlan } from '../../src/core/domain/model';
import { fanOutOrder } from '../../src/core/workflows/backup/fan-out';
import { azuriteAsAzureShim } from '../../src/local/azurite-shim';
import { strictProfile } from '../../src/local/azure-profile';
import { strictAzureLimitsPolicy } from '../../src/local/strict-limits';
import { CONCURRENCY, MIB, mibps, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

/** Azure's 60 MiB/s per page blob, scaled down so four of them fit well inside what this machine can move. */
const SCALE = 6;
const CAP = 60 / SCALE;
const SHARDS = 4;
const WORKERS = 4;

/**
 * A first full backup of a disk over four shards under the strict stack's per-blob caps (the Azurite shim, at
 * 60/6 MiB/s per page blob): four queue workers take the segments in the order the product sends them (round
 * robin over shards) and, for contrast, in disk order.
 */
export const fanOut: Scenario = {
  id: '13',
  title: 'first full backup over 4 shards under per-blob caps',
  async run(ctx: BenchContext): Promise<Row[]> {
    // --smoke: the smallest disk whose eight segments are still two 4 MiB cells each.
    const size = ctx.pick({ full: 1024 * MIB, quick: 256 * MIB, smoke: 64 * MIB });
    const shardSize = size / SHARDS;
    const segmentSize = size / (2 * SHARDS);
    const d = await ctx.disk(size, [{ offset: 0, length: size }]);
    const sas = await d.snapshot();
    // As the composition root builds them: one client for the blob calls, one without SDK retries for page data.
    const svc = BlobServiceClient.fromConnectionString(ctx.azurite.connectionString);
    const pages = BlobServiceClient.fromConnectionString(ctx.azurite.connectionString, { retryOptions: { maxTries: 1 } });
    // The rates are divided by SCALE, the request size is not: a 4 MiB Put Page takes SCALE times longer against the
    // cap than on Azure, so the server's queue (1 s on Azure) is kept at the same length in requests, not seconds.
    const shim = azuriteAsAzureShim(strictProfile({ timeScale: SCALE, maxQueueSeconds: SCALE }));
    for (const c of [svc, pages]) {
      attachPolicy(c, strictAzureLimitsPolicy());
      attachPolicy(c, shim);
    }
    const store = new BlobBackupStore(svc.getContainerClient(ctx.container.containerName), pages.getContainerClient(ctx.container.containerName));
    const plan = { diskKey: 'd', segments: segmentLayout(size, segmentSize).length, segmentSize, shardSize } as BackupDiskPlan;
    const rows: Row[] = [];
    const label = `13 first full backup of ${size / MIB} MiB over ${SHARDS} shards, ${WORKERS} workers, cap ${CAP} MiB/s per blob`;
    const orders: [string, number[]][] = [
      ['one shard, one worker (the per-blob baseline)', [0]],
      ['round robin over shards (as sent)', fanOutOrder([plan], segmentSize).map((m) => m.segment)],
      ['disk order (before)', [...Array(plan.segments).keys()]],
    ];
    for (const [name, order] of orders) {
      const shard = (n: number): string => `fan-${name.split(' ')[0]}/shard-${n}`;
      for (const s of shardLayout(size, shardSize)) await store.ensureShard(shard(s.index), s.span.end - s.span.start);
      const queue = [...order];
      let throttled = 0;
      const bytes = order.length * segmentSize;
      const t = await timed(() =>
        Promise.all(
          Array.from({ length: order.length === 1 ? 1 : WORKERS }, async () => {
            for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
              const segment = segmentLayout(size, segmentSize)[n]!;
              const r = await copySegment({ segment, diskSize: size, shardSize, shardName: shard, concurrency: CONCURRENCY, diffWindow: 512 * MIB }, { source: ctx.dataPlane.openSource(sas), store });
              throttled += r.stats.throttled;
            }
          }),
        ),
      );
      const rate = mibps(bytes, t.ms);
      const target = 0.8 * SHARDS * CAP;
      rows.push(row(label, `requests throttled (503/500) and retried, ${name}`, throttled, '', 0));
      rows.push(row(label, `throughput, ${name}`, rate, 'MiB/s', 1, name.startsWith('round') ? { text: `>= ${target} (0.8 x ${SHARDS} x ${CAP})`, met: rate >= target } : undefined));
    }
    return rows;
  },
};
