import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FolderPackageStore } from '../../src/core/adapters/fs/folder-package-store';
import { exportDisk, newExportStats } from '../../src/core/engine/package-export';
import { GIB, MIB, row, type BenchContext, type Row, type Scenario } from '../context';
import { timed } from '../support';

interface Case {
  name: string;
  size: number;
  fills: { offset: number; length: number }[];
}

function cases(ctx: BenchContext): Case[] {
  const size = ctx.pick({ full: 128 * GIB, quick: 16 * GIB, smoke: 1 * GIB });
  const n = ctx.pick({ full: 2000, quick: 400, smoke: 50 });
  const scattered = Array.from({ length: n }, (_, i) => ({ offset: Math.floor((i * (size - MIB)) / n / 512) * 512, length: 64 * 1024 }));
  const run = ctx.pick({ full: 2048, quick: 512, smoke: 16 }) * MIB;
  return [
    { name: `${size / GIB} GiB disk, ${run / MIB} MiB in one run`, size, fills: [{ offset: 3 * MIB, length: run }] },
    { name: `${size / GIB} GiB disk, ${n} scattered 64 KiB writes`, size, fills: scattered },
  ];
}

/**
 * The offline-seeding package of a first backup next to the disk it describes: its size against the disk's
 * logical size and against the bytes the guest wrote. Guest data is pseudo-random (incompressible), so the
 * figures show what skipping empty space and compressing the zero part of partly written cells saves.
 */
export const packageSize: Scenario = {
  id: '9',
  title: 'seeding package size',
  async run(ctx: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    const root = mkdtempSync(path.join(tmpdir(), 'vmb-bench-pkg-'));
    try {
      for (const [i, c] of cases(ctx).entries()) {
        const label = `9 package: ${c.name}`;
        const disk = await ctx.disk(c.size, c.fills);
        const src = ctx.dataPlane.openSource(await disk.snapshot());
        const pkg = new FolderPackageStore(path.join(root, `p${i}`));
        await pkg.prepare();
        const stats = newExportStats();
        const { ms } = await timed(() =>
          exportDisk({ diskKey: 'lun-0', diskSize: c.size, concurrency: 8, rangeWindow: 512 * MIB, existing: [] }, { ranges: (w) => src.validRanges(w), read: (r) => src.read(r) }, pkg, { stats }),
        );
        const written = c.fills.reduce((n, f) => n + f.length, 0);
        const files = await pkg.list();
        const onDisk = files.reduce((n, f) => n + f.size, 0);
        rows.push(row(label, `package size (${files.length} chunks)`, onDisk / MIB, 'MiB'));
        rows.push(row(label, 'package / logical disk size', (onDisk / c.size) * 100, '%', 3, { text: '< 5 %', met: onDisk / c.size < 0.05 }));
        rows.push(row(label, 'package / bytes written by the guest', (onDisk / written) * 100, '%', 3, { text: '<= 102 %', met: onDisk / written <= 1.02 }));
        rows.push(row(label, 'uncompressed cells / bytes written', (stats.dataBytes / written) * 100, '%', 3));
        rows.push(row(label, 'export throughput (cells)', stats.dataBytes / MIB / (ms / 1000), 'MiB/s', 0));
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    return rows;
  },
};
