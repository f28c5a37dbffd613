import { createHash } from 'node:crypto';
import { AnonymousCredential, PageBlobClient, newPipeline } from '@azure/storage-blob';
import { AdaptiveLimiter, withRetry } from '../../src/core/engine/pacer';
import { runPool } from '../../src/core/engine/copy-segment';
import { CONCURRENCY, GIB, MIB, mibps, row, type BenchContext, type Row, type Scenario } from '../context';
import { timedCpu, type CpuSplit } from '../support';

const LABEL = '1 raw limit vs our copy';
const STEP = 4 * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

export function payload(): Buffer {
  const hex = createHash('sha512').update('x').digest('hex');
  return Buffer.from(hex.repeat(STEP / hex.length), 'latin1');
}

async function collect(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

type Measured = { ms: number; cpu: CpuSplit };
const best = (xs: Measured[]): Measured => xs.reduce((a, b) => (b.ms < a.ms ? b : a));
export const cpuText = (c: CpuSplit, bytes: number): string => {
  const per = (ms: number): string => (ms / 1000 / (bytes / GIB)).toFixed(2);
  return `bench ${per(c.bench)} + emulator ${per(c.emulator)} + Azurite ${per(c.azurite)}`;
};
export const cpuTotal = (c: CpuSplit, bytes: number): number => (c.bench + c.emulator + c.azurite) / 1000 / (bytes / GIB);

/**
 * Plain loops next to our copy, all at the same concurrency: Put Page only (the ceiling), Put Page
 * with a transactional MD5, Get Blob alone (what reading costs by itself), and read-from-the-emulator-then-Put-Page, which keeps the same three processes
 * busy as our copy (bench, emulator, Azurite) and so is the fair ceiling on a 2-core machine. The read+write
 * loop and our copy alternate for ROUNDS rounds and the best of each counts, because the machine is shared.
 */
export const rawVsCopy: Scenario = {
  id: '1',
  title: 'raw Put Page loops vs our full copy',
  async run(ctx: BenchContext): Promise<Row[]> {
    const data = payload();
    const md5 = createHash('md5').update(data).digest();
    const count = ctx.written / STEP;
    const loop = (fn: (i: number) => Promise<unknown>) =>
      timedCpu(ctx.pids, () =>
        runPool(
          Array.from({ length: count }, (_, i) => i),
          new AdaptiveLimiter(CONCURRENCY),
          async (i) => void (await withRetry(() => fn(i))),
        ),
      );
    const rawBlob = ctx.container.getPageBlobClient('raw');
    await rawBlob.create(ctx.written);
    const raw = await loop((i) => rawBlob.uploadPages(data, i * STEP, STEP));
    const rawMd5 = await loop((i) => rawBlob.uploadPages(data, i * STEP, STEP, { transactionalContentMD5: md5 }));

    const full = await ctx.fullBackup();
    const source = new PageBlobClient(full.sas, newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } }));
    // Reading alone, nothing written: what the emulator's data plane and the SDK's download cost by themselves.
    const readOnly = await loop(async (i) => void (await collect((await source.download(i * STEP, STEP)).readableStreamBody)));
    const rws: Measured[] = [],
      ours: Measured[] = [full];
    for (let round = 0; round < ROUNDS; round++) {
      // A fresh blob each round, as our copy gets a fresh shard: overwriting pages costs Azurite more.
      const rwBlob = ctx.container.getPageBlobClient(`raw-rw-${round}`);
      await rwBlob.create(ctx.written);
      rws.push(
        await loop(async (i) => {
          const body = await collect((await source.download(i * STEP, STEP)).readableStreamBody);
          await rwBlob.uploadPages(body, i * STEP, STEP, { transactionalContentMD5: createHash('md5').update(body).digest() });
        }),
      );
      if (round > 0) ours.push(await timedCpu(ctx.pids, () => ctx.copy(full.sas, full.diskSize, `full-round${round}/shard-0`)));
    }
    if (process.env.BENCH_VERBOSE)
      console.error(
        'rw',
        rws.map((m) => m.ms.toFixed(0)),
        'ours',
        ours.map((m) => m.ms.toFixed(0)),
      );
    const rw = best(rws),
      our = best(ours);
    const oursM = mibps(full.written, our.ms),
      rawW = mibps(ctx.written, raw.ms),
      rawRw = mibps(ctx.written, rw.ms);
    return [
      row(LABEL, `raw 4 MiB Put Page loop into Azurite (${ctx.written / MIB} MiB, concurrency ${CONCURRENCY})`, rawW, 'MiB/s'),
      row(LABEL, 'raw loop with a transactional MD5 per Put Page', mibps(ctx.written, rawMd5.ms), 'MiB/s'),
      row(LABEL, 'raw read loop alone: 4 MiB Get Blob from the emulator SAS, nothing written', mibps(ctx.written, readOnly.ms), 'MiB/s'),
      row(LABEL, `raw read+write loop: 4 MiB Get Blob from the emulator SAS, then Put Page with MD5 (best of ${ROUNDS})`, rawRw, 'MiB/s'),
      row(LABEL, `our full backup, read from the emulator, write to Azurite (best of ${ROUNDS})`, oursM, 'MiB/s'),
      row(LABEL, 'ratio ours / raw Put Page loop', oursM / rawW, '', 2, { text: '>= 0.85', met: oursM / rawW >= 0.85 }),
      row(LABEL, 'ratio ours / raw read+write loop (same three processes)', oursM / rawRw, '', 2, { text: '>= 0.85', met: oursM / rawRw >= 0.85 }),
      row(LABEL, `CPU s/GiB, raw Put Page loop: ${cpuText(raw.cpu, ctx.written)}`, cpuTotal(raw.cpu, ctx.written), 's/GiB', 2),
      row(LABEL, `CPU s/GiB, raw read loop alone: ${cpuText(readOnly.cpu, ctx.written)}`, cpuTotal(readOnly.cpu, ctx.written), 's/GiB', 2),
      row(LABEL, `CPU s/GiB, raw read+write loop: ${cpuText(rw.cpu, ctx.written)}`, cpuTotal(rw.cpu, ctx.written), 's/GiB', 2),
      row(LABEL, `CPU s/GiB, our copy: ${cpuText(our.cpu, full.written)}`, cpuTotal(our.cpu, full.written), 's/GiB', 2),
      row(LABEL, 'CPU efficiency: CPU s/GiB of the read+write loop / of our copy (load-independent)', cpuTotal(rw.cpu, ctx.written) / cpuTotal(our.cpu, full.written), '', 2),
    ];
  },
};
