import { AdaptiveLimiter } from '../../src/core/engine/pacer';
import { runPool } from '../../src/core/engine/copy-segment';
import { PAGE_BLOB_TARGETS, type CostModel, type PreviousImage } from '../../src/core/engine/copy-cell';
import { imageDigest, sumCells } from '../../src/core/engine/manifest-parts';
import { restoreDisk } from '../../src/core/engine/restore-disk';
import type { CopyStats } from '../../src/core/engine/stats';
import { CONCURRENCY, GIB, MIB, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

interface Write {
  offset: number;
  length: number;
}

/** Changes a fully written disk, backs it up incrementally (once per cost model), and checks every point exact. */
async function changeRun(ctx: BenchContext, tag: string, size: number, writes: Write[], costs: { name: string; cost?: CostModel }[]) {
  const d = await ctx.disk(size, [{ offset: 0, length: size }]);
  const s0 = await d.snapshot();
  const base = `${tag}/shard-0`;
  const full = await ctx.copy(s0, size, base);
  const previous = await ctx.pointOf(full, base, size);
  await runPool(writes, new AdaptiveLimiter(32), async (w) => void (await ctx.fill(d.diskId, w.offset, w.length, 7 + w.offset / 512)));
  const s1 = await d.snapshot();
  const expected = ((await ctx.emu.admin('digest', undefined, { id: d.lastSnapshotId() })) as { contentDigest: string }).contentDigest;
  const out: { name: string; stats: CopyStats; ms: number; exact: boolean }[] = [];
  for (const [k, c] of costs.entries()) {
    // Each further cost model starts from its own copy of the previous point, so every run does the same work.
    const shard = k === 0 ? base : `${tag}-${c.name}/shard-0`;
    if (k > 0) await ctx.store.ensureShard(shard, size);
    const own: PreviousImage = k === 0 ? previous : await copyPoint(ctx, base, previous, shard, size);
    const inc = await timed(() => ctx.copy(s1, size, shard, s0, own, c.cost));
    const now = await ctx.pointOf(inc.value, shard, size, own);
    // Exact: every cell read back matches its digest, and the digests add up to the emulator's own digest.
    await restoreDisk(
      {
        diskSize: size,
        shardSize: size,
        shards: [{ name: shard, snapshot: now.snapshots[0]! }],
        manifest: { diskSize: size, cells: new Map(now.cells) },
        concurrency: CONCURRENCY,
        rangeWindow: 512 * MIB,
      },
      ctx.store,
      { putPages: async () => {} },
    );
    out.push({ name: c.name, stats: inc.value.stats, ms: inc.ms, exact: imageDigest(size, sumCells(now.cells)) === expected });
  }
  return out;
}

/** A second shard holding the same point: a server-side copy of the base shard's snapshot. */
async function copyPoint(ctx: BenchContext, from: string, previous: PreviousImage, to: string, size: number): Promise<PreviousImage> {
  for (let o = 0; o < size; o += 4 * MIB) {
    const data = await ctx.store.readShardSnapshot(from, previous.snapshots[0]!, { start: o, end: Math.min(size, o + 4 * MIB) });
    await ctx.store.putPages(to, o, data);
  }
  return { ...previous, snapshots: [await ctx.store.snapshotShard(to)] };
}

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const moved = (s: CopyStats): number => (s.sourceBytesRead + s.backupBytesRead + s.bytesUploaded) / s.changedBytes;
const requests = (s: CopyStats): number => s.sourceReads + s.backupReads + s.putRequests + s.clearRequests;
/** Time the data requests would take against one page blob's targets (500 requests/s, 60 MiB/s). */
const capSeconds = (s: CopyStats): number => requests(s) / PAGE_BLOB_TARGETS.requestsPerSecond + (s.sourceBytesRead + s.backupBytesRead + s.bytesUploaded) / PAGE_BLOB_TARGETS.bytesPerSecond;

/** A cost model under which requests are free: every cell by its fragments, one request each (the engine before). */
const FRAGMENTS: CostModel = { requestsPerSecond: Number.POSITIVE_INFINITY, bytesPerSecond: PAGE_BLOB_TARGETS.bytesPerSecond };

/**
 * Database-like changes on a fully written disk: random 8 KiB writes, 4 KiB writes at unaligned 512-byte offsets,
 * and scattered single pages. Format 2 updates a cell's digest from the old bytes of the changed pages alone, so
 * bytes moved stay at 3x the change (read it, read back its old bytes, write it) where format 1 reread whole cells.
 */
export const format: Scenario = {
  id: '11',
  title: 'incrementals of database-like writes on a fully written disk (format 2)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const size = ctx.pick({ full: 1 * GIB, quick: 128 * MIB, smoke: 16 * MIB });
    const n = ctx.pick({ full: 2000, quick: 500, smoke: 50 });
    const rows: Row[] = [];
    const rand = lcg(4242);
    const cases: { tag: string; label: string; writes: Write[] }[] = [
      {
        tag: 'r8k',
        label: `11 random 8 KiB writes (${n}) on ${size / MIB} MiB written`,
        writes: Array.from({ length: n }, () => ({ offset: Math.floor(rand() * (size / 8192)) * 8192, length: 8192 })),
      },
      {
        tag: 'u4k',
        label: `11 4 KiB writes at unaligned 512-byte offsets (${n}) on ${size / MIB} MiB written`,
        writes: Array.from({ length: n }, () => ({ offset: Math.floor(rand() * (size / 512 - 8)) * 512, length: 4096 })),
      },
    ];
    for (const c of cases) {
      const [r] = await changeRun(ctx, c.tag, size, c.writes, [{ name: 'model' }]);
      const st = r!.stats;
      rows.push(
        row(c.label, 'bytes changed', st.changedBytes / MIB, 'MiB', 2),
        row(c.label, 'read from the snapshot / read back / written', st.sourceBytesRead / MIB, `/ ${(st.backupBytesRead / MIB).toFixed(2)} / ${(st.bytesUploaded / MIB).toFixed(2)} MiB`, 2),
        row(c.label, '(source read + read back + written) / changed', moved(st), '', 2, { text: '<= 3 (format 1: 68)', met: moved(st) <= 3 }),
        row(c.label, 'cells copied whole by the cost model', st.wholeCells, '', 0),
        row(c.label, "restore exact (every cell checked, digests add up to the emulator's)", r!.exact ? 1 : 0, '', 0, { text: '1', met: r!.exact }),
      );
    }
    rows.push(...(await scatteredOnFull(ctx, size)));
    return rows;
  },
};

/** Scattered single pages on a fully written disk: the cost model against one request per fragment, same run. */
async function scatteredOnFull(ctx: BenchContext, size: number): Promise<Row[]> {
  // BENCH_SCATTERED_WRITES lowers the full run's 100,000 (its one-request-per-fragment half alone takes some 20 min).
  const writes = Number(process.env.BENCH_SCATTERED_WRITES) || ctx.pick({ full: 100_000, quick: 3_000, smoke: 200 });
  const rand = lcg(77);
  const pages = [...new Set(Array.from({ length: writes }, () => Math.floor(rand() * (size / 512))))];
  const label = `11 ${writes.toLocaleString('en-US')} scattered single-page writes on ${size / MIB} MiB written`;
  const [model, frag] = await changeRun(
    ctx,
    'sc1',
    size,
    pages.map((p) => ({ offset: p * 512, length: 512 })),
    [{ name: 'model' }, { name: 'fragments', cost: FRAGMENTS }],
  );
  const out: Row[] = [];
  for (const r of [model!, frag!]) {
    const l = `${label}, ${r.name === 'model' ? 'cost model (whole cells where cheaper)' : 'one request per fragment (before)'}`;
    out.push(
      row(l, 'data requests (reads, read-backs, Put/Clear Pages)', requests(r.stats), '', 0),
      row(l, 'bytes moved', (r.stats.sourceBytesRead + r.stats.backupBytesRead + r.stats.bytesUploaded) / MIB, 'MiB', 1),
      row(l, "time at one page blob's 500 requests/s and 60 MiB/s", capSeconds(r.stats), 's', 1),
      row(l, 'measured time (local stack, no caps)', r.ms / 1000, 's', 2),
      row(l, 'restore exact', r.exact ? 1 : 0, '', 0, { text: '1', met: r.exact }),
    );
  }
  const gain = capSeconds(frag!.stats) / capSeconds(model!.stats);
  out.push(row(label, 'time at the caps: one request per fragment / cost model', gain, 'x', 1, { text: '> 1', met: gain > 1 }));
  return out;
}
