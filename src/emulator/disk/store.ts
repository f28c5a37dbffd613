import { BLOCK_SIZE, OP_CLEAR, OP_WRITE, PAGES_PER_BLOCK, checkAligned, checkInside, collectRanges, forEachBlock, mergeOps, recordOp, type Block, type OpMap } from './blocks';
import { DiskStoreError, type ByteRange, type DiskStore, type RangeDiff, type StoredResource } from './types';

export interface DiskState {
  meta: StoredResource;
  blocks: Map<number, Block>;
  gen: number;
  /** Operations since the last incremental snapshot of this disk. */
  pending: OpMap;
  /** Incremental snapshots of this disk, oldest first. */
  lineage: string[];
}

export interface SnapshotState {
  meta: StoredResource;
  blocks: Map<number, Block>;
  /** Operations between the previous incremental snapshot in the lineage and this one. */
  delta: OpMap;
}

/**
 * Sparse, copy-on-write page storage. A snapshot shares the disk's block objects; the disk clones a block
 * before its first write after a snapshot (block.gen < disk.gen). Memory follows written data only.
 */
export class MemoryDiskStore implements DiskStore {
  private disks = new Map<string, DiskState>();
  private snapshots = new Map<string, SnapshotState>();

  private key(id: string): string {
    return id.toLowerCase();
  }

  private disk(id: string): DiskState {
    const d = this.disks.get(this.key(id));
    if (!d) {
      if (this.snapshots.has(this.key(id))) throw new DiskStoreError('NotADisk', `${id} is a snapshot, not a disk`);
      throw new DiskStoreError('NotFound', `disk ${id} does not exist`);
    }
    return d;
  }

  private any(id: string): { meta: StoredResource; blocks: Map<number, Block> } {
    const r = this.disks.get(this.key(id)) ?? this.snapshots.get(this.key(id));
    if (!r) throw new DiskStoreError('NotFound', `${id} does not exist`);
    return r;
  }

  private assertNew(id: string): void {
    if (this.disks.has(this.key(id)) || this.snapshots.has(this.key(id))) throw new DiskStoreError('AlreadyExists', `${id} already exists`);
  }

  createDisk(id: string, sizeBytes: number): void {
    this.assertNew(id);
    checkAligned(0, sizeBytes, sizeBytes);
    this.disks.set(this.key(id), { meta: { id, kind: 'disk', sizeBytes }, blocks: new Map(), gen: 1, pending: new Map(), lineage: [] });
  }

  copyDisk(id: string, sourceId: string, sizeBytes?: number): void {
    const src = this.any(sourceId);
    const size = sizeBytes ?? src.meta.sizeBytes;
    if (size < src.meta.sizeBytes) throw new DiskStoreError('ShrinkNotAllowed', 'a copy cannot be smaller than its source');
    this.createDisk(id, size);
    const d = this.disk(id);
    // Share the source's blocks; gen 0 < d.gen makes the new disk clone before writing.
    for (const [b, block] of src.blocks) d.blocks.set(b, { ...block, gen: 0 });
    // The source may be a live disk: from now on it must clone before writing, as after a snapshot.
    const srcDisk = this.disks.get(this.key(sourceId));
    if (srcDisk) srcDisk.gen++;
  }

  resizeDisk(id: string, sizeBytes: number): void {
    const d = this.disk(id);
    if (sizeBytes < d.meta.sizeBytes) throw new DiskStoreError('ShrinkNotAllowed', `disk ${id} cannot shrink from ${d.meta.sizeBytes} to ${sizeBytes}`);
    checkAligned(0, sizeBytes, sizeBytes);
    d.meta = { ...d.meta, sizeBytes };
  }

  /** Cuts a disk to a smaller size (direct upload drops the VHD footer when it finishes). */
  truncateDisk(id: string, sizeBytes: number): void {
    const d = this.disk(id);
    checkAligned(0, sizeBytes, d.meta.sizeBytes);
    for (const b of [...d.blocks.keys()]) if (b * BLOCK_SIZE >= sizeBytes) d.blocks.delete(b);
    const tail = sizeBytes % BLOCK_SIZE;
    const lastBlock = Math.floor(sizeBytes / BLOCK_SIZE);
    if (tail && d.blocks.has(lastBlock)) {
      const block = this.writable(d, lastBlock);
      block.data.fill(0, tail);
      block.valid.fill(0, tail / 512);
    }
    for (const b of [...d.pending.keys()]) if (b * BLOCK_SIZE >= sizeBytes) d.pending.delete(b);
    d.meta = { ...d.meta, sizeBytes };
  }

  deleteResource(id: string): void {
    const k = this.key(id);
    if (this.disks.delete(k)) return;
    const s = this.snapshots.get(k);
    if (!s) throw new DiskStoreError('NotFound', `${id} does not exist`);
    this.snapshots.delete(k);
    const disk = s.meta.sourceDiskId ? this.disks.get(this.key(s.meta.sourceDiskId)) : undefined;
    const lineage = disk?.lineage ?? this.orphanLineage(s.meta.sourceDiskId);
    const at = lineage.findIndex((x) => this.key(x) === k);
    if (at < 0) return;
    lineage.splice(at, 1);
    // Keep later diffs right: the removed generation's changes move into its successor.
    const next = lineage[at];
    if (next) {
      const ns = this.snapshots.get(this.key(next))!;
      ns.delta = mergeOps(s.delta, ns.delta);
    } else if (disk) {
      disk.pending = mergeOps(s.delta, disk.pending);
    }
  }

  /** Lineages outlive their disk: snapshots of a deleted disk still diff against each other. */
  private orphans = new Map<string, string[]>();
  private orphanLineage(diskId: string | undefined): string[] {
    return diskId ? (this.orphans.get(this.key(diskId)) ?? []) : [];
  }

  get(id: string): StoredResource | undefined {
    return (this.disks.get(this.key(id)) ?? this.snapshots.get(this.key(id)))?.meta;
  }

  write(diskId: string, offset: number, data: Buffer): void {
    const d = this.disk(diskId);
    checkAligned(offset, data.length, d.meta.sizeBytes);
    forEachBlock(offset, data.length, (b, from, to, src) => {
      const block = this.writable(d, b);
      data.copy(block.data, from, src, src + (to - from));
      block.valid.fill(1, from / 512, to / 512);
    });
    recordOp(d.pending, offset, data.length, OP_WRITE);
  }

  /**
   * Clears pages. Only pages that held data or were touched since the last snapshot are recorded as
   * cleared: trimming space that was already empty changes nothing a diff could report, and recording it
   * would make a whole-disk trim cost memory in proportion to the disk's size.
   */
  clear(diskId: string, offset: number, length: number): void {
    const d = this.disk(diskId);
    checkAligned(offset, length, d.meta.sizeBytes);
    const touched = new Set<number>([...d.blocks.keys(), ...d.pending.keys()]);
    const first = Math.floor(offset / BLOCK_SIZE),
      last = Math.floor((offset + length - 1) / BLOCK_SIZE);
    const blocks = length / BLOCK_SIZE > touched.size ? [...touched].filter((b) => b >= first && b <= last) : rangeOf(first, last).filter((b) => touched.has(b));
    for (const b of blocks) {
      const from = Math.max(offset, b * BLOCK_SIZE) - b * BLOCK_SIZE;
      const to = Math.min(offset + length, (b + 1) * BLOCK_SIZE) - b * BLOCK_SIZE;
      const old = d.blocks.get(b);
      let ops = d.pending.get(b);
      for (let p = from / 512; p < to / 512; p++) {
        if (!old?.valid[p] && !ops?.[p]) continue;
        if (!ops) d.pending.set(b, (ops = new Uint8Array(PAGES_PER_BLOCK)));
        ops[p] = OP_CLEAR;
      }
      if (!old) continue;
      const block = this.writable(d, b);
      block.data.fill(0, from, to);
      block.valid.fill(0, from / 512, to / 512);
      if (!block.valid.some((v) => v)) d.blocks.delete(b);
    }
  }

  private writable(d: DiskState, b: number): Block {
    const cur = d.blocks.get(b);
    if (cur && cur.gen === d.gen) return cur;
    const block: Block = cur ? { data: Buffer.from(cur.data), valid: Uint8Array.from(cur.valid), gen: d.gen } : { data: Buffer.alloc(BLOCK_SIZE), valid: new Uint8Array(BLOCK_SIZE / 512), gen: d.gen };
    d.blocks.set(b, block);
    return block;
  }

  read(id: string, offset: number, length: number): Buffer {
    const r = this.any(id);
    checkInside(offset, length, r.meta.sizeBytes);
    const out = Buffer.alloc(length);
    forEachBlock(offset, length, (b, from, to, dst) => {
      r.blocks.get(b)?.data.copy(out, dst, from, to);
    });
    return out;
  }

  createSnapshot(id: string, diskId: string, incremental: boolean): void {
    const d = this.disk(diskId);
    this.assertNew(id);
    const meta: StoredResource = { id, kind: 'snapshot', sizeBytes: d.meta.sizeBytes, sourceDiskId: d.meta.id, incremental };
    this.snapshots.set(this.key(id), { meta, blocks: new Map(d.blocks), delta: incremental ? d.pending : new Map() });
    d.gen++;
    if (incremental) {
      d.pending = new Map();
      d.lineage.push(id);
      this.orphans.set(this.key(d.meta.id), d.lineage);
    }
  }

  validRanges(id: string, window?: ByteRange): ByteRange[] {
    const r = this.any(id);
    const w = window ?? { start: 0, end: r.meta.sizeBytes };
    checkInside(w.start, w.end - w.start, r.meta.sizeBytes);
    return collectRanges(r.blocks.keys(), w, (b, p) => r.blocks.get(b)!.valid[p] === 1);
  }

  diff(id: string, baseId: string, window?: ByteRange): RangeDiff {
    const s = this.snapshots.get(this.key(id));
    if (!s) throw new DiskStoreError(this.disks.has(this.key(id)) ? 'NotASnapshot' : 'NotFound', `snapshot ${id} does not exist`);
    const base = this.snapshots.get(this.key(baseId));
    if (!base) throw new DiskStoreError(this.disks.has(this.key(baseId)) ? 'NotASnapshot' : 'NotFound', `snapshot ${baseId} does not exist`);
    if (!s.meta.incremental || !base.meta.incremental) throw new DiskStoreError('NotASnapshot', 'diffs need two incremental snapshots');
    const diskKey = this.key(s.meta.sourceDiskId ?? '');
    if (diskKey !== this.key(base.meta.sourceDiskId ?? '')) throw new DiskStoreError('DifferentLineage', `${baseId} is not a snapshot of the same disk as ${id}`);
    const lineage = this.disks.get(diskKey)?.lineage ?? this.orphanLineage(s.meta.sourceDiskId);
    const from = lineage.findIndex((x) => this.key(x) === this.key(baseId));
    const to = lineage.findIndex((x) => this.key(x) === this.key(id));
    if (from < 0 || to < 0 || from >= to) throw new DiskStoreError('BaseNotOlder', `${baseId} is not older than ${id}`);
    let ops: OpMap = new Map();
    for (let i = from + 1; i <= to; i++) ops = mergeOps(ops, this.snapshots.get(this.key(lineage[i]!))!.delta);
    const w = window ?? { start: 0, end: s.meta.sizeBytes };
    checkInside(w.start, w.end - w.start, s.meta.sizeBytes);
    return {
      changed: collectRanges(ops.keys(), w, (b, p) => ops.get(b)![p] === OP_WRITE),
      cleared: collectRanges(ops.keys(), w, (b, p) => ops.get(b)![p] === OP_CLEAR),
    };
  }

  storedBytes(): number {
    const seen = new Set<Block>();
    for (const r of [...this.disks.values(), ...this.snapshots.values()]) for (const b of r.blocks.values()) seen.add(b);
    return seen.size * BLOCK_SIZE;
  }

  /** The whole state by reference, for persistence (../persist.ts): what it saves it puts back with importState. */
  exportState(): StoreState {
    return { disks: this.disks, snapshots: this.snapshots, orphans: this.orphans };
  }

  importState(s: StoreState): void {
    this.disks = s.disks;
    this.snapshots = s.snapshots;
    this.orphans = s.orphans;
  }

  /** Snapshots and disks known, for persistence and admin listings. */
  resources(): StoredResource[] {
    return [...this.disks.values(), ...this.snapshots.values()].map((r) => r.meta);
  }
}

export interface StoreState {
  disks: Map<string, DiskState>;
  snapshots: Map<string, SnapshotState>;
  orphans: Map<string, string[]>;
}

function rangeOf(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

export function createDiskStore(): MemoryDiskStore {
  return new MemoryDiskStore();
}
