import { MIB, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

/** 1 % and 10 % of the written data changed in scattered 1 MiB pieces, then an incremental backup. */
export const incremental: Scenario = {
  id: '2',
  title: 'incremental backups of 1 % and 10 % change',
  async run(ctx: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    for (const pct of [1, 10]) {
      const label = `2 incremental ${pct} %`;
      const changed = Math.max(1, Math.floor((ctx.written * pct) / 100 / MIB));
      // A stride coprime to the number of MiB spreads the pieces over the written area without repeats.
      const fills = Array.from({ length: changed }, (_, i) => ({ offset: ((i * 7919) % (ctx.written / MIB)) * MIB, length: MIB }));
      const d = await ctx.disk(ctx.diskSize, [{ offset: 0, length: ctx.written }]);
      const s0 = await d.snapshot();
      const shard = `incr${pct}/shard-0`;
      const full = await ctx.copy(s0, ctx.diskSize, shard);
      for (const f of fills) await ctx.fill(d.diskId, f.offset, f.length, 999 + f.offset / 512);
      const s1 = await d.snapshot();
      const previous = await ctx.pointOf(full, shard, ctx.diskSize);
      const inc = await timed(() => ctx.copy(s1, ctx.diskSize, shard, s0, previous));
      const st = inc.value.stats;
      const eff = (st.bytesUploaded + st.zeroBytesSkipped) / st.changedBytes;
      rows.push(
        row(label, `time (${changed} MiB changed of ${ctx.written / MIB} MiB written)`, inc.ms / 1000, 's', 2),
        row(label, 'bytes changed', st.changedBytes / MIB, 'MiB'),
        row(label, 'bytes read from the snapshot', st.sourceBytesRead / MIB, 'MiB'),
        row(label, 'bytes read back from the previous backup', st.backupBytesRead / MIB, 'MiB'),
        row(label, 'bytes written', st.bytesUploaded / MIB, 'MiB'),
        row(label, 'requests: range listings + reads + Put Page + Clear Pages', st.rangeRequests + st.sourceReads + st.putRequests + st.clearRequests, '', 0),
        row(label, '(source read + read back + written) / changed', (st.sourceBytesRead + st.backupBytesRead + st.bytesUploaded) / st.changedBytes, '', 2, {
          text: '<= 3 (format 1: 5.2)',
          met: (st.sourceBytesRead + st.backupBytesRead + st.bytesUploaded) / st.changedBytes <= 3,
        }),
        row(label, 'efficiency (bytes moved / changed bytes)', eff, '', 2, { text: '1.00', met: Math.abs(eff - 1) < 1e-9 && st.sourceBytesRead === st.changedBytes }),
      );
    }
    return rows;
  },
};
