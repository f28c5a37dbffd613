import { createHash } from 'node:crypto';
import { AnonymousCredential, PageBlobClient, newPipeline } from '@azure/storage-blob';
import { AdaptiveLimiter } from '../../src/core/engine/pacer';
import { runPool } from '../../src/core/engine/copy-segment';
import { CONCURRENCY, MIB, mibps, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

const LABEL = '1 raw limit vs our copy';
const STEP = 4 * MIB;

export function payload(): Buffer {
  const hex = createHash('sha512').update('x').digest('hex');
  return Buffer.from(hex.repeat(STEP / hex.length), 'latin1');
}

async function collect(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/**
 * Three plain loops next to our copy, all at the same concurrency: Put Page only (the ceiling), Put
 * Page with a transactional MD5, and read-from-the-emulator-then-Put-Page, which has the same three busy
 * processes as our copy (bench, emulator, Azurite) and so is the fair ceiling on a small machine.
 */
export const rawVsCopy: Scenario = {
  id: '1',
  title: 'raw Put Page loops vs our full copy',
  async run(ctx: BenchContext): Promise<Row[]> {
    const data = payload();
    const md5 = createHash('md5').update(data).digest();
    const count = ctx.written / STEP;
    const loop = (fn: (i: number) => Promise<unknown>) => timed(() => runPool(Array.from({ length: count }, (_, i) => i), new AdaptiveLimiter(CONCURRENCY), async (i) => void (await fn(i))));
    const rawBlob = ctx.container.getPageBlobClient('raw');
    await rawBlob.create(ctx.written);
    const raw = await loop((i) => rawBlob.uploadPages(data, i * STEP, STEP));
    const rawMd5 = await loop((i) => rawBlob.uploadPages(data, i * STEP, STEP, { transactionalContentMD5: md5 }));

    const full = await ctx.fullBackup();
    const source = new PageBlobClient(full.sas, newPipeline(new AnonymousCredential(), { retryOptions: { maxTries: 1 } }));
    const rwBlob = ctx.container.getPageBlobClient('raw-rw');
    await rwBlob.create(ctx.written);
    const rw = await loop(async (i) => {
      const body = await collect((await source.download(i * STEP, STEP)).readableStreamBody);
      await rwBlob.uploadPages(body, i * STEP, STEP, { transactionalContentMD5: createHash('md5').update(body).digest() });
    });

    const ours = mibps(full.written, full.ms);
    const rawW = mibps(ctx.written, raw.ms), rawRw = mibps(ctx.written, rw.ms);
    return [
      row(LABEL, `raw 4 MiB Put Page loop into Azurite (${ctx.written / MIB} MiB, concurrency ${CONCURRENCY})`, rawW, 'MiB/s'),
      row(LABEL, 'raw loop with a transactional MD5 per Put Page', mibps(ctx.written, rawMd5.ms), 'MiB/s'),
      row(LABEL, 'raw read+write loop: 4 MiB Get Blob from the emulator SAS, then Put Page with MD5', rawRw, 'MiB/s'),
      row(LABEL, 'our full backup (read from the emulator, write to Azurite)', ours, 'MiB/s'),
      row(LABEL, 'ratio ours / raw Put Page loop', ours / rawW, '', 2, { text: '>= 0.85', met: ours / rawW >= 0.85 }),
      row(LABEL, 'ratio ours / raw read+write loop (same three processes)', ours / rawRw, '', 2, { text: '>= 0.85', met: ours / rawRw >= 0.85 }),
    ];
  },
};
