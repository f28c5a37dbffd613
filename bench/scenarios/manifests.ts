import { fork } from 'node:child_process';
import path from 'node:path';
import { GIB, MIB, TIB, row, sizeText, type BenchContext, type Row, type Scenario } from '../context';

function child(mode: string, size: number): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const c = fork(path.join(__dirname, '..', 'manifest-child.js'), [mode, String(size)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('error', reject);
    c.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`manifest child exited ${code}`))));
  });
}

/**
 * Manifests of fully written 4 TiB and 32 TiB disks (synthetic: no data), one incremental's worth of manifest work:
 * format 2 reads each segment's part once; format 1 had every one of the 4 GiB segments read the whole manifest.
 */
export const manifests: Scenario = {
  id: '12',
  title: 'manifest reads per backup and finalize at 4 and 32 TiB (synthetic)',
  async run(ctx: BenchContext): Promise<Row[]> {
    const rows: Row[] = [];
    // --smoke: 16 segments, enough for parts, merges and a header of several parts.
    for (const size of ctx.pick({ full: [4 * TIB, 32 * TIB], quick: [4 * TIB], smoke: [64 * GIB] })) {
      const label = `12 fully written ${sizeText(size)} disk, 4 GiB segments`;
      const seg = await child('segments', size);
      const fin = await child('finalize', size);
      const segments = size / (4 * 1024 ** 3);
      const v1 = 24 + 40 * (size / (4 * MIB)); // format 1: 40 bytes a cell, in one blob
      const ratio = seg.read! / seg.one!;
      rows.push(
        row(label, 'one manifest (header + parts)', seg.one! / MIB, 'MiB', 1),
        row(label, 'manifest bytes read per backup / one manifest', ratio, 'x', 2, { text: '<= 2', met: ratio <= 2 }),
        row(label, 'format 1: manifest bytes read per backup / one manifest (each segment read it whole)', (segments * v1) / v1, 'x', 0),
        row(label, 'finalize time', fin.ms! / 1000, 's', 2, size === 32 * TIB ? { text: '<= 60 s', met: fin.ms! <= 60_000 } : undefined),
        row(label, 'finalize peak RSS (its own process)', fin.maxRssKiB! / 1024, 'MiB', 0, size === 32 * TIB ? { text: '<= 300 MiB', met: fin.maxRssKiB! / 1024 <= 300 } : undefined),
        row(label, "segments' manifest work (read, merge, write), all segments", seg.ms! / 1000, 's', 1),
      );
    }
    return rows;
  },
};
