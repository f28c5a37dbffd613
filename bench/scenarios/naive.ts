import { withRetry } from '../../src/core/engine/pacer';
import { MIB, row, sizeText, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

const LABEL = '8 naive baseline';

/** The way the public sample copies a disk: read all of it in order, write every 4 MiB, empty or not. */
export const naive: Scenario = {
  id: '8',
  title: 'naive sequential whole-disk copy',
  async run(ctx: BenchContext): Promise<Row[]> {
    const full = await ctx.fullBackup();
    const source = ctx.dataPlane.openSource(full.sas);
    const blob = ctx.container.getPageBlobClient('naive');
    await blob.create(full.diskSize);
    const t = await timed(async () => {
      for (let o = 0; o < full.diskSize; o += 4 * MIB) {
        const data = await withRetry(() => source.read({ start: o, end: o + 4 * MIB }));
        await withRetry(() => blob.uploadPages(data, o, 4 * MIB));
      }
    });
    return [
      row(LABEL, `sequential whole-disk copy of the ${sizeText(full.diskSize)} disk (${full.written / MIB} MiB written)`, t.ms / 1000, 's'),
      row(LABEL, 'our full backup of the same snapshot', full.ms / 1000, 's'),
      row(LABEL, 'speed-up of ours', t.ms / full.ms, 'x'),
    ];
  },
};
