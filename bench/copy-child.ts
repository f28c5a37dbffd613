import { BlobServiceClient } from '@azure/storage-blob';
import { BlobBackupStore } from '../src/core/adapters/azure/blob-backup-store';
import { SasDataPlane } from '../src/core/adapters/azure/sas-data-plane';
import { copySegment } from '../src/core/engine/copy-segment';

/**
 * One copy and nothing else in this process, so its memory is the engine's own: the parent passes the job as
 * JSON in argv[2] and reads one JSON line back. Run with --cpu-prof to profile exactly the copy.
 */
interface Job {
  connectionString: string;
  container: string;
  shard: string;
  sas: string;
  size: number;
  concurrency: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as Job;
  const store = new BlobBackupStore(BlobServiceClient.fromConnectionString(job.connectionString).getContainerClient(job.container));
  await store.ensureShard(job.shard, job.size);
  const source = new SasDataPlane().openSource(job.sas);
  const base = process.memoryUsage();
  const peak = { rss: base.rss, heapUsed: base.heapUsed, external: base.external, arrayBuffers: base.arrayBuffers };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  };
  const timer = setInterval(sample, 10);
  const t = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const res = await copySegment(
    { segment: { start: 0, end: job.size }, diskSize: job.size, shardSize: job.size, shardName: () => job.shard, concurrency: job.concurrency, diffWindow: 512 * 1024 * 1024 },
    { source, store },
  );
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  sample();
  process.stdout.write(
    `${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, bytes: res.stats.bytesUploaded, base: { rss: base.rss, heapUsed: base.heapUsed, external: base.external, arrayBuffers: base.arrayBuffers }, peak })}\n`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
