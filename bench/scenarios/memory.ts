import { CONCURRENCY, GIB, MIB, TIB, row, sizeText, type BenchContext, type Row, type Scenario } from '../context';
import { copyInChild, type ChildCopy } from '../support';

const LABEL = '5 memory';
const LIMIT = 300 * MIB;

/**
 * The copy runs alone in a child process, so its RSS is the engine's and not the bench's (which also holds
 * the raw loops' buffers and the SDK clients of every scenario). Same bytes written on a small and a 1 TiB disk.
 */
export const memory: Scenario = {
  id: '5',
  title: 'memory of one copy at concurrency 16',
  async run(ctx: BenchContext): Promise<Row[]> {
    const full = await ctx.fullBackup();
    const job = (shard: string, sas: string, size: number) => ({ connectionString: ctx.azurite.connectionString, container: ctx.container.containerName, shard, sas, size, concurrency: CONCURRENCY });
    const small = await copyInChild(job('mem-small/shard-0', full.sas, full.diskSize));
    // --smoke: a big disk still far larger than the small one, without listing a terabyte of ranges.
    const bigSize = ctx.pick({ full: 1 * TIB, quick: 1 * TIB, smoke: 64 * GIB });
    const big = await ctx.disk(bigSize, [{ offset: (700 * bigSize) / 1024, length: full.written }]);
    const large = await copyInChild(job('mem-large/shard-0', await big.snapshot(), bigSize));
    const describe = (c: ChildCopy) =>
      `heap ${(c.peak.heapUsed / MIB).toFixed(0)}, external ${(c.peak.external / MIB).toFixed(0)} (array buffers ${(c.peak.arrayBuffers / MIB).toFixed(0)}) MiB at peak; RSS before the copy ${(c.base.rss / MIB).toFixed(0)} MiB`;
    const flat = large.peak.rss / small.peak.rss;
    return [
      row(LABEL, `peak RSS of the copy process, ${full.written / MIB} MiB on a ${sizeText(full.diskSize)} disk`, small.peak.rss / MIB, 'MiB', 0, { text: '<= 300 MiB', met: small.peak.rss <= LIMIT }),
      row(LABEL, `  of which: ${describe(small)}`, small.peak.arrayBuffers / MIB, 'MiB', 0),
      row(LABEL, `peak RSS of the copy process, ${full.written / MIB} MiB on a ${sizeText(bigSize)} disk`, large.peak.rss / MIB, 'MiB', 0, { text: '<= 300 MiB', met: large.peak.rss <= LIMIT }),
      row(LABEL, `  of which: ${describe(large)}`, large.peak.arrayBuffers / MIB, 'MiB', 0),
      row(LABEL, 'CPU time of the copy process per GiB copied (small disk; less noisy than wall time)', small.cpuMs / 1000 / (small.bytes / GIB), 's/GiB', 2),
      row(LABEL, `peak RSS ratio ${sizeText(bigSize)} disk / small disk`, flat, '', 2, { text: 'flat (<= 1.15)', met: flat <= 1.15 }),
    ];
  },
};
