import { GIB, MIB, TIB, row, sizeText, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

const LABEL = '3 cost follows change';

/** The same 64 MiB written on an 8 GiB and on a 1 TiB sparse disk (--smoke: smaller): a full backup of each. */
export const changeNotSize: Scenario = {
  id: '3',
  title: 'cost follows change, not disk size',
  async run(ctx: BenchContext): Promise<Row[]> {
    // --smoke: a big disk still many range windows wide, but not so many that listing them is the whole run.
    const { smallSize, bigSize, data } = ctx.pick({
      full: { smallSize: 8 * GIB, bigSize: 1 * TIB, data: 64 * MIB },
      quick: { smallSize: 8 * GIB, bigSize: 1 * TIB, data: 64 * MIB },
      smoke: { smallSize: 1 * GIB, bigSize: 64 * GIB, data: 16 * MIB },
    });
    const small = await ctx.disk(smallSize, [{ offset: (3 * smallSize) / 8, length: data }]);
    const big = await ctx.disk(bigSize, [{ offset: (700 * bigSize) / 1024, length: data }]);
    const smallSas = await small.snapshot(),
      bigSas = await big.snapshot();
    const ts = await timed(() => ctx.copy(smallSas, smallSize, 'small/shard-0'));
    const tb = await timed(() => ctx.copy(bigSas, bigSize, 'big/shard-0'));
    const ratio = tb.ms / ts.ms;
    const [s, b, d] = [sizeText(smallSize), sizeText(bigSize), sizeText(data)];
    return [
      row(LABEL, `${d} on a${s.startsWith('8') ? 'n' : ''} ${s} disk`, ts.ms / 1000, 's', 2),
      row(LABEL, `${d} on a ${b} sparse disk`, tb.ms / 1000, 's', 2),
      row(LABEL, `range listings on ${s} / on ${b}`, ts.value.stats.rangeRequests, `/ ${tb.value.stats.rangeRequests}`, 0),
      row(LABEL, `time ratio ${b} / ${s}`, ratio, '', 2, { text: '<= 1.5', met: ratio <= 1.5 }),
    ];
  },
};
