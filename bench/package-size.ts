import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAzurite } from '../src/local/azurite';
import { SasDataPlane } from '../src/core/adapters/azure/sas-data-plane';
import { FolderPackageStore } from '../src/core/adapters/fs/folder-package-store';
import { exportDisk, newExportStats } from '../src/core/engine/package-export';
import { startEmulatorProcess, timed } from './support';

const MIB = 1024 ** 2, GIB = 1024 ** 3;
const SUB = '00000000-0000-0000-0000-0000000bench';

export interface BenchRow { scenario: string; figure: string; value: string; target?: string; met?: boolean }

interface Scenario { name: string; size: number; fills: { offset: number; length: number }[] }

function scenarios(quick: boolean): Scenario[] {
  const size = quick ? 16 * GIB : 128 * GIB;
  const scattered: { offset: number; length: number }[] = [];
  const n = quick ? 400 : 2000;
  for (let i = 0; i < n; i++) scattered.push({ offset: Math.floor((i * (size - MIB)) / n / 512) * 512, length: 64 * 1024 });
  return [
    { name: `${size / GIB} GiB disk, ${quick ? 512 : 2048} MiB written in one run`, size, fills: [{ offset: 3 * MIB, length: (quick ? 512 : 2048) * MIB }] },
    { name: `${size / GIB} GiB disk, ${n} scattered 64 KiB writes`, size, fills: scattered },
  ];
}

/**
 * The package of a first backup against the disk it describes: its size next to the disk's logical size
 * and next to the bytes the guest wrote. Guest data here is pseudo-random (incompressible), so the figures
 * show what skipping empty space and compressing the zero part of partly written cells saves, nothing more.
 */
export async function packageSizeRows(opts: { quick: boolean }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const azurite = await startAzurite(); // the emulator's data plane needs no storage, but the stack is the same as the app's
  const emu = await startEmulatorProcess();
  const root = mkdtempSync(path.join(tmpdir(), 'vmb-bench-pkg-'));
  try {
    const compute = emu.compute(SUB);
    const dataPlane = new SasDataPlane();
    for (const [i, s] of scenarios(opts.quick).entries()) {
      const name = `pkg${i}`;
      await emu.admin('vms', { subscriptionId: SUB, resourceGroup: 'bench', name, disks: [{ name: `${name}-os`, sizeBytes: 64 * MIB, lun: -1 }, { name: `${name}-d`, sizeBytes: s.size, lun: 0 }] });
      const diskId = `/subscriptions/${SUB}/resourceGroups/bench/providers/Microsoft.Compute/disks/${name}-d`;
      for (const f of s.fills) await emu.admin('guest/fill', { ...f, seed: f.offset / 512 + 1 }, { id: diskId });
      const snap = await compute.snapshots.beginCreateOrUpdateAndWait('bench', `${name}-s`, { location: 'w', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } });
      const sas = (await compute.snapshots.beginGrantAccessAndWait('bench', snap.name!, { access: 'Read', durationInSeconds: 3600 })).accessSAS!;
      const src = dataPlane.openSource(sas);
      const pkg = new FolderPackageStore(path.join(root, name));
      await pkg.prepare();
      const stats = newExportStats();
      const { ms } = await timed(() => exportDisk(
        { diskKey: 'lun-0', diskSize: s.size, concurrency: 8, rangeWindow: 512 * MIB, existing: [] },
        { ranges: (w) => src.validRanges(w), read: (r) => src.read(r) },
        pkg,
        { stats },
      ));
      const written = s.fills.reduce((n, f) => n + f.length, 0);
      const files = await pkg.list();
      const onDisk = files.reduce((n, f) => n + f.size, 0);
      const pct = (a: number, b: number): string => `${((a / b) * 100).toFixed(3)} %`;
      rows.push({ scenario: `package: ${s.name}`, figure: 'package size', value: `${(onDisk / MIB).toFixed(1)} MiB in ${files.length} chunks` });
      rows.push({ scenario: `package: ${s.name}`, figure: 'package / logical disk size', value: pct(onDisk, s.size), target: '< 5 %', met: onDisk / s.size < 0.05 });
      rows.push({ scenario: `package: ${s.name}`, figure: 'package / bytes written by the guest', value: pct(onDisk, written), target: '<= 102 %', met: onDisk / written <= 1.02 });
      rows.push({ scenario: `package: ${s.name}`, figure: 'uncompressed cells / bytes written', value: pct(stats.dataBytes, written) });
      rows.push({ scenario: `package: ${s.name}`, figure: 'export throughput', value: `${(stats.dataBytes / MIB / (ms / 1000)).toFixed(0)} MiB/s of cells` });
      await compute.snapshots.beginRevokeAccessAndWait('bench', snap.name!);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    await emu.stop();
    await azurite.stop();
  }
  return rows;
}

if (require.main === module) {
  packageSizeRows({ quick: process.argv.includes('--quick') }).then(
    (rows) => { for (const r of rows) console.log(`${r.scenario} | ${r.figure} | ${r.value}${r.target ? ` | ${r.target} ${r.met ? 'met' : 'NOT met'}` : ''}`); },
    (err: unknown) => { console.error(err); process.exit(1); },
  );
}
