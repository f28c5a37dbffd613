import { GIB, MIB, TIB, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

const LABEL = '3 cost follows change';

/** The same 64 MiB written on an 8 GiB and on a 1 TiB sparse disk: a full backup of each. */
export const changeNotSize: Scenario = {
  id: '3',
  title: 'cost follows change, not disk size',
  async run(ctx: BenchContext): Promise<Row[]> {
    const small = await ctx.disk(8 * GIB, [{ offset: 3 * GIB, length: 64 * MIB }]);
    const big = await ctx.disk(1 * TIB, [{ offset: 700 * GIB, length: 64 * MIB }]);
    const smallSas = await small.snapshot(), bigSas = await big.snapshot();
    const ts = await timed(() => ctx.copy(smallSas, 8 * GIB, 'small/shard-0'));
    const tb = await timed(() => ctx.copy(bigSas, 1 * TIB, 'big/shard-0'));
    const ratio = tb.ms / ts.ms;
    return [
      row(LABEL, '64 MiB on an 8 GiB disk', ts.ms / 1000, 's', 2),
      row(LABEL, '64 MiB on a 1 TiB sparse disk', tb.ms / 1000, 's', 2),
      row(LABEL, 'range listings on 8 GiB / on 1 TiB', ts.value.stats.rangeRequests, `/ ${tb.value.stats.rangeRequests}`, 0),
      row(LABEL, 'time ratio 1 TiB / 8 GiB', ratio, '', 2, { text: '<= 1.5', met: ratio <= 1.5 }),
    ];
  },
};
