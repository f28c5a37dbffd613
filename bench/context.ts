import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { startAzurite, type AzuriteInstance } from '../src/local/azurite';
import { BlobBackupStore } from '../src/core/adapters/azure/blob-backup-store';
import { SasDataPlane } from '../src/core/adapters/azure/sas-data-plane';
import { copySegment, type SegmentCopyResult } from '../src/core/engine/copy-segment';
import type { CostModel, PreviousImage } from '../src/core/engine/copy-cell';
import { applyDeltas, type DiskManifest } from '../src/core/engine/manifest';
import { withRetry } from '../src/core/engine/pacer';
import { startEmulatorProcess, timedCpu, type CpuSplit, type EmulatorProcess } from './support';

export const KIB = 1024,
  MIB = 1024 ** 2,
  GIB = 1024 ** 3,
  TIB = 1024 ** 4;
export const CONCURRENCY = 16;
const SUB = '00000000-0000-0000-0000-0000000bench';

/** One figure of the report. `n` is the number behind `value`, so results can be checked by machine. */
export interface Row {
  scenario: string;
  figure: string;
  value: string;
  n: number;
  unit: string;
  target?: string;
  met?: boolean;
}

export interface Scenario {
  /** Stable key, e.g. "1"; rows carry it as the start of their scenario label. */
  id: string;
  title: string;
  run(ctx: BenchContext): Promise<Row[]>;
}

export interface BenchDisk {
  name: string;
  diskId: string;
  /** A new incremental snapshot of the disk and its read SAS. */
  snapshot(): Promise<string>;
  /** The resource id of the newest snapshot snapshot() made. */
  lastSnapshotId(): string;
}

export interface FullBackup {
  sas: string;
  diskSize: number;
  written: number;
  shard: string;
  ms: number;
  cpu: CpuSplit;
  result: SegmentCopyResult;
  manifest: DiskManifest;
}

/**
 * How big a run is: `full` measures, `quick` is a shorter run whose figures still mean something, `smoke` runs
 * every scenario's code path once at the smallest sizes that still exercise it (a test, its figures mean nothing).
 */
export type BenchLevel = 'full' | 'quick' | 'smoke';

/** Bytes as the labels print them: whole GiB or TiB where they divide, MiB otherwise. */
export const sizeText = (bytes: number): string => (bytes >= TIB && bytes % TIB === 0 ? `${bytes / TIB} TiB` : bytes >= GIB && bytes % GIB === 0 ? `${bytes / GIB} GiB` : `${bytes / MIB} MiB`);

export const mibps = (bytes: number, ms: number): number => bytes / MIB / (ms / 1000);
export const fixed = (n: number, digits: number): number => Number(n.toFixed(digits));

/** Builds a row; `label` is the scenario label, e.g. "1 raw limit vs our copy". */
export function row(label: string, figure: string, n: number, unit: string, digits = 1, target?: { text: string; met: boolean }): Row {
  const value = `${n.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
  return { scenario: label, figure, value, n: fixed(n, digits), unit, ...(target ? { target: target.text, met: target.met } : {}) };
}

/** The local stack every scenario runs against: Azurite and the compute emulator, each in its own process. */
export class BenchContext {
  readonly written: number;
  readonly diskSize: number;
  readonly container: ContainerClient;
  readonly store: BlobBackupStore;
  readonly dataPlane = new SasDataPlane();
  readonly compute: ComputeManagementClient;
  private n = 0;
  private full?: Promise<FullBackup>;
  /** The VM of the shared full backup: its disk and snapshot outlive the scenario that made them. */
  private fullVm?: string;

  private constructor(
    readonly level: BenchLevel,
    readonly azurite: AzuriteInstance,
    readonly emu: EmulatorProcess,
    service: BlobServiceClient,
    readonly azuriteDir?: string,
  ) {
    this.written = this.pick({ full: 2 * GIB, quick: 256 * MIB, smoke: 32 * MIB });
    this.diskSize = this.pick({ full: 8 * GIB, quick: 1 * GIB, smoke: 128 * MIB });
    this.container = service.getContainerClient(`bench-${randomBytes(3).toString('hex')}`);
    this.store = new BlobBackupStore(this.container);
    this.compute = emu.compute(SUB);
  }

  /** The value of a size or count for this run's level. */
  pick<T>(by: Record<BenchLevel, T>): T {
    return by[this.level];
  }

  static async start(level: BenchLevel): Promise<BenchContext> {
    // A full run writes some 30 GiB into Azurite, and Azurite frees overwritten or deleted pages only every
    // ten minutes: kept in its memory that would not fit, so a full run gives it files in a temp folder.
    // Measured at --quick, files and memory give the same figures. BENCH_AZURITE_DIR picks the folder.
    const dir = process.env.BENCH_AZURITE_DIR ?? (level !== 'full' ? undefined : mkdtempSync(path.join(os.tmpdir(), 'bench-azurite-')));
    const azurite = await startAzurite(dir ? { location: dir } : {});
    const emu = await startEmulatorProcess();
    const ctx = new BenchContext(level, azurite, emu, BlobServiceClient.fromConnectionString(azurite.connectionString), dir);
    await ctx.container.create();
    return ctx;
  }

  get pids(): { emulator: number; azurite: number } {
    return { emulator: this.emu.pid, azurite: this.azurite.pid };
  }

  async stop(): Promise<void> {
    await this.emu.stop();
    await this.azurite.stop();
    if (this.azuriteDir && !process.env.BENCH_AZURITE_DIR) rmSync(this.azuriteDir, { recursive: true, force: true });
  }

  /**
   * Deletes what a scenario left in the emulator (VMs, disks, snapshots) except the shared full backup's:
   * the emulator keeps disks in memory, and a full run's scenarios together wrote some 18 GiB into it.
   */
  async release(): Promise<{ deleted: number; failed: number }> {
    const keep = this.fullVm;
    const shared = (name: string | undefined): boolean => !!keep && !!name && (name === keep || name.startsWith(`${keep}-`));
    const out = { deleted: 0, failed: 0 };
    const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
        out.deleted++;
      } catch {
        out.failed++;
      }
    };
    for await (const vm of this.compute.virtualMachines.list('bench')) if (!shared(vm.name)) await attempt(() => this.compute.virtualMachines.beginDeleteAndWait('bench', vm.name!));
    for await (const snap of this.compute.snapshots.listByResourceGroup('bench')) {
      if (shared(snap.name)) continue;
      await attempt(async () => {
        await this.compute.snapshots.beginRevokeAccessAndWait('bench', snap.name!);
        await this.compute.snapshots.beginDeleteAndWait('bench', snap.name!);
      });
    }
    for await (const disk of this.compute.disks.listByResourceGroup('bench')) {
      if (shared(disk.name)) continue;
      await attempt(async () => {
        // An upload disk whose content has no VHD footer refuses to end its upload; delete it all the same.
        await this.compute.disks.beginRevokeAccessAndWait('bench', disk.name!).catch(() => undefined);
        await this.compute.disks.beginDeleteAndWait('bench', disk.name!);
      });
    }
    return out;
  }

  /** A VM with one data disk of `size` bytes, filled with seeded data in `fills`. */
  async disk(size: number, fills: { offset: number; length: number }[]): Promise<BenchDisk> {
    const name = `vm${this.n++}`;
    await this.emu.admin('vms', {
      subscriptionId: SUB,
      resourceGroup: 'bench',
      name,
      disks: [
        { name: `${name}-os`, sizeBytes: 64 * MIB, lun: -1 },
        { name: `${name}-d`, sizeBytes: size, lun: 0 },
      ],
    });
    const diskId = `/subscriptions/${SUB}/resourceGroups/bench/providers/Microsoft.Compute/disks/${name}-d`;
    for (const f of fills) await this.fill(diskId, f.offset, f.length, f.offset / 512 + 1);
    let s = 0;
    return {
      name,
      diskId,
      lastSnapshotId: () => `/subscriptions/${SUB}/resourceGroups/bench/providers/Microsoft.Compute/snapshots/${name}-s${s - 1}`,
      snapshot: async () => {
        const snap = await this.compute.snapshots.beginCreateOrUpdateAndWait('bench', `${name}-s${s++}`, {
          location: 'w',
          incremental: true,
          creationData: { createOption: 'Copy', sourceResourceId: diskId },
        });
        return (await this.compute.snapshots.beginGrantAccessAndWait('bench', snap.name!, { access: 'Read', durationInSeconds: 3600 })).accessSAS!;
      },
    };
  }

  fill(diskId: string, offset: number, length: number, seed: number): Promise<unknown> {
    // The same fill twice writes the same bytes, so a reset connection under load is simply retried.
    return withRetry(() => this.emu.admin('guest/fill', { offset, length, seed }, { id: diskId }));
  }

  /** Our engine's copy of [0, size) of a snapshot into one shard, as the backup-copy step runs it. */
  async copy(sas: string, size: number, shard: string, base?: string, previous?: PreviousImage, cost?: CostModel): Promise<SegmentCopyResult> {
    await this.store.ensureShard(shard, size);
    return copySegment(
      { segment: { start: 0, end: size }, diskSize: size, shardSize: size, shardName: () => shard, baseSasUrl: base, previous, cost, concurrency: CONCURRENCY, diffWindow: 512 * MIB },
      { source: this.dataPlane.openSource(sas), store: this.store },
    );
  }

  /** The recovery point a copy just made, as the next incremental sees it: its cells and a snapshot of the shard. */
  async pointOf(result: SegmentCopyResult, shard: string, size: number, before?: PreviousImage): Promise<PreviousImage> {
    const cells = new Map(before?.cells ?? []);
    for (const [i, h] of result.delta) h ? cells.set(i, h) : cells.delete(i);
    return { diskSize: size, cells, snapshots: [await this.store.snapshotShard(shard)] };
  }

  /** The full backup of a disk with `written` bytes: made once, shared by scenarios 1, 4, 5 and 8. */
  fullBackup(): Promise<FullBackup> {
    this.full ??= (async () => {
      const d = await this.disk(this.diskSize, [{ offset: 0, length: this.written }]);
      this.fullVm = d.name;
      const sas = await d.snapshot();
      const shard = 'full/shard-0';
      const t = await timedCpu(this.pids, () => this.copy(sas, this.diskSize, shard));
      return { sas, diskSize: this.diskSize, written: this.written, shard, ms: t.ms, cpu: t.cpu, result: t.value, manifest: applyDeltas(undefined, this.diskSize, [t.value.delta]) };
    })();
    return this.full;
  }
}
