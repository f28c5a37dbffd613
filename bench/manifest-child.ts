import { createHash } from 'node:crypto';
import { CELL } from '../src/core/domain/ranges';
import type { BackupDiskPlan } from '../src/core/domain/model';
import { segmentLayout } from '../src/core/engine/shards';
import { encodeHeader, encodePart } from '../src/core/engine/manifest-parts';
import type { Deps } from '../src/core/jobs/deps';
import type { SegmentRow } from '../src/core/store/records';
import { manifestBlob, manifestPartBlob } from '../src/core/store/layout';
import { readManifest, segmentCells, writeManifestHeader, writeSegmentPart } from '../src/core/workflows/backup/manifest-io';

/**
 * One backup's manifest work on a synthetic, fully written disk (no data): every segment reads the previous point's
 * manifest for its range and writes its own part, as copy.ts does, then finalize writes the header from the
 * segments' summaries, as finalize.ts does. The previous manifest is generated on demand and new parts are counted
 * and dropped, so the process holds no manifest. Mode 'segments' reports bytes read; mode 'finalize' is run in a
 * fresh process so its peak RSS is finalize's alone.
 */
const [mode, sizeArg] = process.argv.slice(2);
const size = Number(sizeArg);
const SEGMENT = 4 * 1024 ** 3;
const partCells = SEGMENT / CELL;
const prev = manifestBlob('item', 'p0', 'lun-0');
const cellsOf = (p: number): Map<number, Buffer> => {
  const first = p * partCells;
  const n = Math.min(partCells, Math.ceil(size / CELL) - first);
  return new Map(
    Array.from(
      { length: n },
      (_, k) =>
        [
          first + k,
          createHash('md5')
            .update(String(first + k))
            .digest(),
        ] as [number, Buffer],
    ),
  );
};
const parts = Math.ceil(Math.ceil(size / CELL) / partCells);
let read = 0;
let written = 0;
const store = {
  async getObject(name: string): Promise<Buffer | undefined> {
    let out: Buffer | undefined;
    if (name === prev) out = encodeHeader({ diskSize: size, partCells, parts, cells: Math.ceil(size / CELL), sum: Buffer.alloc(32) });
    else if (name.startsWith(`${prev}.parts/`)) {
      const p = Number(name.slice(name.lastIndexOf('/') + 1));
      out = encodePart({ firstCell: p * partCells, spanCells: Math.min(partCells, Math.ceil(size / CELL) - p * partCells), cells: cellsOf(p) });
    }
    read += out?.length ?? 0;
    return out;
  },
  async putObject(_name: string, data: Buffer): Promise<void> {
    written += data.length;
  },
};
const deps = { store, config: { copy: { segmentSize: SEGMENT } } } as unknown as Deps;
const disk = { diskKey: 'lun-0', sizeBytes: size, segmentSize: SEGMENT, segments: parts } as BackupDiskPlan;

async function main(): Promise<void> {
  const t = process.hrtime.bigint();
  if (mode === 'segments') {
    for (const [n, segment] of segmentLayout(size, SEGMENT).entries()) {
      const reader = (await readManifest(deps, prev))!;
      const previous = { diskSize: size, cells: await reader.cells(segment), snapshots: [] };
      await writeSegmentPart(deps, 'item', 'p1', disk, n, segment, segmentCells(previous, new Map(), segment));
    }
    // One manifest: the header and every part.
    let one = (await store.getObject(prev))!.length;
    for (let p = 0; p < parts; p++) one += (await store.getObject(manifestPartBlob(prev, p)))!.length;
    read -= one; // the line above is the measure's yardstick, not part of the backup
    process.stdout.write(`${JSON.stringify({ read, written, one, ms: Number(process.hrtime.bigint() - t) / 1e6 })}\n`);
    return;
  }
  // Finalize reads the segment rows (here built as the table would return them) and writes the header.
  // Finalize adds the rows' sums without recomputing them, so any 32 bytes stand in for a part's real sum here.
  const rows: SegmentRow[] = Array.from({ length: parts }, (_, p) => ({
    jobId: 'p1',
    segmentKey: `lun-0~${p}`,
    state: 'Done',
    nextCell: 0,
    stats: { changedBytes: 0 },
    part: { cells: partCells, sum: createHash('sha256').update(String(p)).digest('base64') },
  }));
  const t1 = process.hrtime.bigint();
  await writeManifestHeader(
    deps,
    'item',
    'p1',
    disk,
    rows.map((r) => r.part!),
  );
  process.stdout.write(`${JSON.stringify({ ms: Number(process.hrtime.bigint() - t1) / 1e6, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
