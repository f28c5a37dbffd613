import path from 'node:path';
import { BenchContext, type BenchLevel, type Row } from './context';
import { scenarios } from './scenarios';
import { machine, table, writeReport, type Report } from './report';
import { timed } from './support';

/**
 * npm run bench [-- --quick | --smoke] [--only 1,4] [--out DIR]. Writes bench/results/<date>[-quick|-smoke].{json,md}
 * unless --out (or BENCH_RESULTS_DIR) names another folder. It fails only on errors, never on a missed target.
 * --smoke runs every scenario once at its smallest sizes, for the test suite: its figures mean nothing.
 */
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const smoke = process.argv.includes('--smoke'),
    quick = process.argv.includes('--quick');
  if (smoke && quick) throw new Error('--quick and --smoke are two sizes of run: pass one of them.');
  const level: BenchLevel = smoke ? 'smoke' : quick ? 'quick' : 'full';
  const only = arg('--only')?.split(',');
  const outDir = arg('--out') ?? process.env.BENCH_RESULTS_DIR ?? path.join(process.cwd(), 'bench', 'results');
  const ctx = await BenchContext.start(level);
  const rows: Row[] = [];
  const ran: Report['scenarios'] = [];
  const report = (): Report => ({
    quick: level !== 'full',
    ...(level === 'full' ? {} : { level }),
    azurite: ctx.azuriteDir ? 'files' : 'memory',
    date: new Date().toISOString().slice(0, 10),
    machine: machine(),
    scenarios: ran,
    rows,
  });
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
