import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { BLOCK_SIZE, PAGES_PER_BLOCK, type Block, type OpMap } from './disk/blocks';
import { MemoryDiskStore, type DiskState, type SnapshotState, type StoreState } from './disk/store';
import { EmulatorState } from './arm/state';

/**
 * The emulator's resources and disk content in a folder, so a local stack that restarts keeps what a real
 * subscription keeps: VMs, disks, incremental snapshots and their diff lineage (a backup after the restart is
 * incremental again, as in Azure where snapshots outlive any client). Grants, operations and Run Command
 * history are not kept: a SAS does not survive its issuer's key, and operations are finished by then.
 *
 * Layout: `state.json` (records and the store's maps, each block as a reference into the blob file) and
 * `blocks.bin` (each distinct 64 KiB block once: its data, then one valid flag per 512-byte page). Blocks
 * that a disk and its snapshots share are written once and shared again after loading, so memory after a
 * restart is what it was before it.
 */
const STATE = 'state.json';
const BLOCKS = 'blocks.bin';
const RECORD = BLOCK_SIZE + PAGES_PER_BLOCK;

type BlockRef = [blockNo: number, index: number, gen: number];
interface SavedOps {
  [block: string]: string;
}
interface Saved {
  version: 1;
  vms: unknown[];
  disks: unknown[];
  snapshots: unknown[];
  /** Absent in state saved before the emulator modelled Microsoft.Network. */
  vnets?: unknown[];
  nics?: unknown[];
  store: {
    disks: { key: string; meta: DiskState['meta']; gen: number; blocks: BlockRef[]; pending: SavedOps; lineage: string[] }[];
    snapshots: { key: string; meta: SnapshotState['meta']; blocks: BlockRef[]; delta: SavedOps }[];
    orphans: [string, string[]][];
  };
}

const opsOut = (m: OpMap): SavedOps => Object.fromEntries([...m].map(([b, ops]) => [String(b), Buffer.from(ops).toString('base64')]));
const opsIn = (o: SavedOps): OpMap => new Map(Object.entries(o).map(([b, v]) => [Number(b), new Uint8Array(Buffer.from(v, 'base64'))]));

/** Writes state and blocks to temporary files first, then renames: a crash mid-save leaves the last save. */
export function saveEmulatorState(dir: string, state: EmulatorState, store: MemoryDiskStore): { blocks: number; bytes: number } {
  mkdirSync(dir, { recursive: true });
  const s = store.exportState();
  const index = new Map<Buffer, number>();
  const fd = openSync(path.join(dir, `${BLOCKS}.tmp`), 'w');
  const refs = (blocks: Map<number, Block>): BlockRef[] =>
    [...blocks].map(([no, b]) => {
      let i = index.get(b.data);
      if (i === undefined) {
        i = index.size;
        index.set(b.data, i);
        writeSync(fd, b.data, 0, BLOCK_SIZE, i * RECORD);
        writeSync(fd, b.valid, 0, PAGES_PER_BLOCK, i * RECORD + BLOCK_SIZE);
      }
      return [no, i, b.gen];
    });
  let saved: Saved;
  try {
    saved = {
      version: 1,
      vms: [...state.vms.values()],
      disks: [...state.disks.values()],
      snapshots: [...state.snapshots.values()],
      vnets: [...state.vnets.values()],
      nics: [...state.nics.values()],
      store: {
        disks: [...s.disks].map(([key, d]) => ({ key, meta: d.meta, gen: d.gen, blocks: refs(d.blocks), pending: opsOut(d.pending), lineage: d.lineage })),
        snapshots: [...s.snapshots].map(([key, x]) => ({ key, meta: x.meta, blocks: refs(x.blocks), delta: opsOut(x.delta) })),
        orphans: [...s.orphans],
      },
    };
  } finally {
    closeSync(fd);
  }
  writeFileSync(path.join(dir, `${STATE}.tmp`), JSON.stringify(saved));
  renameSync(path.join(dir, `${BLOCKS}.tmp`), path.join(dir, BLOCKS));
  renameSync(path.join(dir, `${STATE}.tmp`), path.join(dir, STATE));
  return { blocks: index.size, bytes: index.size * BLOCK_SIZE };
}

/** What saveEmulatorState wrote, or undefined when the folder holds no saved state. */
export function loadEmulatorState(dir: string): { state: EmulatorState; store: MemoryDiskStore } | undefined {
  const file = path.join(dir, STATE);
  if (!existsSync(file)) return undefined;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
  if (saved.version !== 1) throw new Error(`${file}: unknown version ${String(saved.version)}`);
  const state = new EmulatorState();
  const keyed = <T extends { id: string }>(m: Map<string, T>, rows: unknown[]): void => {
    for (const r of rows as T[]) m.set(EmulatorState.key(r.id), r);
  };
  keyed(state.vms, saved.vms);
  keyed(state.disks, saved.disks);
  keyed(state.snapshots, saved.snapshots);
  keyed(state.vnets, saved.vnets ?? []);
  keyed(state.nics, saved.nics ?? []);

  const fd = openSync(path.join(dir, BLOCKS), 'r');
  const loaded = new Map<number, { data: Buffer; valid: Uint8Array }>();
  const blocks = (rows: BlockRef[]): Map<number, Block> =>
    new Map(
      rows.map(([no, i, gen]) => {
        let b = loaded.get(i);
        if (!b) {
          b = { data: Buffer.alloc(BLOCK_SIZE), valid: new Uint8Array(PAGES_PER_BLOCK) };
          readSync(fd, b.data, 0, BLOCK_SIZE, i * RECORD);
          readSync(fd, b.valid, 0, PAGES_PER_BLOCK, i * RECORD + BLOCK_SIZE);
          loaded.set(i, b);
        }
        return [no, { data: b.data, valid: b.valid, gen }];
      }),
    );
  const s: StoreState = { disks: new Map(), snapshots: new Map(), orphans: new Map() };
  try {
    for (const d of saved.store.disks) s.disks.set(d.key, { meta: d.meta, gen: d.gen, blocks: blocks(d.blocks), pending: opsIn(d.pending), lineage: d.lineage });
    for (const x of saved.store.snapshots) s.snapshots.set(x.key, { meta: x.meta, blocks: blocks(x.blocks), delta: opsIn(x.delta) });
  } finally {
    closeSync(fd);
  }
  // A live disk's lineage and its orphan entry are one array (the store appends to both at once): keep it so.
  for (const [key, lineage] of saved.store.orphans) s.orphans.set(key, s.disks.get(key)?.lineage ?? lineage);
  const store = new MemoryDiskStore();
  store.importState(s);
  return { state, store };
}
