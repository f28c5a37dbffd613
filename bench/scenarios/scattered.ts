import { AdaptiveLimiter } from '../../src/core/engine/pacer';
import { runPool } from '../../src/core/engine/copy-segment';
import { CELL, coalesce } from '../../src/core/domain/ranges';
import { GIB, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

const PAGE = 512;

/**
 * Many single-page writes spread over a disk, then an incremental backup: every contiguous run needs one read
 * and one write at least, so the number of runs is the optimum for requests that move data.
 */
export const scattered: Scenario = {
  id: '6',
  title: 'scattered single-page changes',
  async run(ctx: BenchContext): Promise<Row[]> {
    // --quick: a tenth of the writes, so seeding fits in its budget; --smoke: enough for runs across cell lines.
    const writes = ctx.pick({ full: 100_000, quick: 10_000, smoke: 200 });
    // 1 GiB even in a full run: the emulator keeps a 64 KiB block per written page, so 100,000 pages spread
    // over 8 GiB would cost it some 4.5 GiB of memory; the request count, which is what this measures, is the
    // same on a larger disk.
    const size = 1 * GIB;
    const label = `6 scattered ${writes.toLocaleString('en-US')} single-page writes`;
    const d = await ctx.disk(size, []);
    const s0 = await d.snapshot();
    const shard = 'scattered/shard-0';
    await ctx.copy(s0, size, shard);
    let x = 12345;
    const pages = Array.from({ length: writes }, () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return Math.floor((x / 2 ** 32) * (size / PAGE));
    });
    const coalesced = coalesce(pages.map((p) => ({ start: p * PAGE, end: (p + 1) * PAGE })));
    const runs = coalesced.length;
    // The engine reads, hashes and writes by 4 MiB cell, so a run across a cell line is two requests each way.
    const cellRuns = coalesced.reduce((n, r) => n + Math.floor((r.end - 1) / CELL) - Math.floor(r.start / CELL) + 1, 0);
    await runPool(pages, new AdaptiveLimiter(32), async (p) => void (await ctx.fill(d.diskId, p * PAGE, PAGE, p + 7)));
    const s1 = await d.snapshot();
    const inc = await timed(() => ctx.copy(s1, size, shard, s0));
    const st = inc.value.stats;
    const moving = st.sourceReads + st.putRequests + st.clearRequests;
    return [
      row(label, `contiguous runs (the coalesced optimum) on a ${size / GIB} GiB disk`, runs, '', 0),
      row(label, 'source reads / Put Page + Clear Pages', st.sourceReads, `/ ${st.putRequests + st.clearRequests}`, 0),
      row(label, 'range listings', st.rangeRequests, '', 0),
      row(label, 'contiguous runs split at 4 MiB cell lines (the optimum for a copy that hashes by cell)', cellRuns, '', 0),
      row(label, 'data requests / (2 x runs split at cell lines)', moving / (2 * cellRuns), '', 2),
      // Below 1 where the cost model copied busy cells whole (2 requests instead of 2 per run): scenario 11 compares both.
      row(label, 'cells copied whole by the cost model', st.wholeCells, '', 0),
      row(label, 'data requests / (2 x contiguous runs)', moving / (2 * runs), '', 5),
      row(label, 'incremental backup time', inc.ms / 1000, 's', 2),
      row(label, 'requests per second', (moving + st.rangeRequests) / (inc.ms / 1000), 'req/s', 0),
    ];
  },
};
