import path from 'node:path';
import { BenchContext, type Row } from './context';
import { scenarios } from './scenarios';
import { machine, table, writeReport, type Report } from './report';
import { timed } from './support';

/**
 * npm run bench [-- --quick] [--only 1,4] [--out DIR]. Writes bench/results/<date>[-quick].{json,md} unless
 * --out (or BENCH_RESULTS_DIR) names another folder. It fails only on errors, never on a missed target.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const only = arg('--only')?.split(',');
  const outDir = arg('--out') ?? process.env.BENCH_RESULTS_DIR ?? path.join(process.cwd(), 'bench', 'results');
  const ctx = await BenchContext.start(quick);
  const rows: Row[] = [];
  const ran: Report['scenarios'] = [];
  const report = (): Report => ({ quick, azurite: ctx.azuriteDir ? 'files' : 'memory', date: new Date().toISOString().slice(0, 10), machine: machine(), scenarios: ran, rows });
  try {
    for (const s of scenarios) {
      if (only && !only.includes(s.id)) continue;
      console.error(`scenario ${s.id}: ${s.title} ...`);
      const t = await timed(() => s.run(ctx));
      rows.push(...t.value);
      ran.push({ id: s.id, title: s.title, seconds: Number((t.ms / 1000).toFixed(1)) });
      console.error(`scenario ${s.id} done in ${(t.ms / 1000).toFixed(1)} s`);
      // Written after every scenario, so a long run cut short still leaves what it measured.
      writeReport(report(), outDir);
      const freed = await ctx.release();
      console.error(`scenario ${s.id}: ${freed.deleted} emulator resource(s) deleted${freed.failed ? `, ${freed.failed} could not be` : ''}`);
    }
  } finally {
    await ctx.stop();
  }
  console.log(table(rows));
  const files = writeReport(report(), outDir);
  console.log(`\nwritten to ${files.map((f) => path.relative(process.cwd(), f)).join(' and ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
