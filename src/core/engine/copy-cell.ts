import type { BackupStore, SourceSnapshot } from '../ports/storage';
import { CELL, len, rangesCover, type CellWork, type Range } from '../domain/ranges';
import { cellTag, isUpdatable, updatedTag, zeroTag } from './cell-digest';
import { isAllZero } from './manifest';
import { toShardPieces } from './shards';
import type { CopyStats } from './stats';

/**
 * What one request and one byte cost against a page blob, from Azure's scalability targets for a single page
 * blob: up to 500 requests per second and 60 MiB/s (learn.microsoft.com/azure/storage/blobs/scalability-targets).
 * A cell is copied whole when that is cheaper in time than copying its fragments one request each.
 */
export interface CostModel {
  requestsPerSecond: number;
  bytesPerSecond: number;
}

export const PAGE_BLOB_TARGETS: CostModel = { requestsPerSecond: 500, bytesPerSecond: 60 * 1024 * 1024 };

/** The previous recovery point of the disk: its cell digests and, per shard index, the blob snapshot holding it. */
export interface PreviousImage {
  diskSize: number;
  cells: ReadonlyMap<number, Buffer>;
  snapshots: readonly string[];
}

export interface CellContext {
  shardSize: number;
  shardName: (index: number) => string;
  previous?: PreviousImage;
  cost?: CostModel;
  store: BackupStore;
  source: <T>(fn: (s: SourceSnapshot) => Promise<T>) => Promise<T>;
  call: <T>(fn: () => Promise<T>) => Promise<T>;
  stats: CopyStats;
}

export type CellPlan = 'whole' | 'fragments' | 'rebuild';

/**
 * How to copy a cell. 'whole': read it from the snapshot in one request and write it in one (the new digest comes
 * from the full image). 'fragments': read and write only the changed pages, and read back their old bytes from
 * the previous point to update its digest. 'rebuild': the previous digest is a format-1 SHA-256, which only the
 * whole cell can recompute, so the unchanged rest is read back once (the cell then carries a format-2 digest).
 */
export function planCell(cell: CellWork, ctx: Pick<CellContext, 'previous' | 'cost'>): CellPlan {
  const { span } = cell;
  const wholeChange = cell.cleared.length === 0 && cell.changed.length === 1 && cell.changed[0]!.start === span.start && cell.changed[0]!.end === span.end;
  if (wholeChange) return 'whole';
  const before = ctx.previous?.cells.get(cell.index);
  if (before && !updatable(cell, ctx.previous!) && !rangesCover([...cell.changed, ...cell.cleared], span)) return 'rebuild';
  const model = ctx.cost ?? PAGE_BLOB_TARGETS;
  const bytes = cell.changed.reduce((n, r) => n + len(r), 0);
  const backBytes = before ? bytes + cell.cleared.reduce((n, r) => n + len(r), 0) : 0;
  const backReads = before ? cell.changed.length + cell.cleared.length : 0;
  const fragments = (2 * cell.changed.length + cell.cleared.length + backReads) / model.requestsPerSecond + (2 * bytes + backBytes) / model.bytesPerSecond;
  const whole = 2 / model.requestsPerSecond + (2 * len(span)) / model.bytesPerSecond;
  return whole < fragments ? 'whole' : 'fragments';
}

/** Copies one cell into its shard and returns its new digest, or null when it reads as zeros. */
export async function copyCell(cell: CellWork, ctx: CellContext): Promise<Buffer | null> {
  const plan = planCell(cell, ctx);
  if (plan === 'fragments') return copyFragments(cell, ctx);
  const changed = cell.changed.reduce((n, r) => n + len(r), 0);
  if (plan === 'whole' && changed < len(cell.span)) {
    ctx.stats.wholeCells++;
    ctx.stats.wholeCellExtraBytes += len(cell.span) - changed;
  }
  const image = plan === 'whole' ? await readSource(ctx, cell.span) : await rebuild(cell, ctx);
  const target = locate(cell.span, ctx);
  if (isAllZero(image)) {
    await ctx.call(() => ctx.store.clearPages(target.shard, target.local(cell.span)));
    ctx.stats.clearRequests++;
    ctx.stats.zeroBytesSkipped += image.length;
    return null;
  }
  if (plan === 'whole') {
    await ctx.call(() => ctx.store.putPages(target.shard, target.local(cell.span).start, image));
    ctx.stats.putRequests++;
    ctx.stats.bytesUploaded += image.length;
  } else {
    await writeChanges(cell, image, cell.span.start, ctx);
  }
  return cellTag(image);
}

async function copyFragments(cell: CellWork, ctx: CellContext): Promise<Buffer | null> {
  const { span } = cell;
  // A format-1 digest reaches here only when the changes cover the whole cell: the old bytes do not matter then.
  const before = ctx.previous && updatable(cell, ctx.previous) ? ctx.previous.cells.get(cell.index) : undefined;
  // old ^ new over the cell, zero where nothing changed: all GHASH needs to move the digest forward.
  const xor = Buffer.alloc(len(span));
  for (const r of cell.changed) {
    const data = await readSource(ctx, r);
    if (before) xorInto(xor, r.start - span.start, data, await readPrevious(ctx, r));
    else data.copy(xor, r.start - span.start);
    await writeRange(r, data, ctx);
  }
  for (const r of cell.cleared) {
    if (before) (await readPrevious(ctx, r)).copy(xor, r.start - span.start);
    await clearRange(r, ctx);
  }
  const tag = updatedTag(before ?? zeroTag(len(span)), xor);
  return tag.equals(zeroTag(len(span))) ? null : tag;
}

/**
 * A GHASH digest moves forward only over a cell of the same length: the last cell of a disk that grew or shrank
 * since the previous point is rebuilt instead, as is any cell whose digest is a format-1 SHA-256.
 */
function updatable(cell: CellWork, previous: PreviousImage): boolean {
  const d = previous.cells.get(cell.index);
  const before = Math.min(previous.diskSize, (cell.index + 1) * CELL) - cell.index * CELL;
  return isUpdatable(d) && before === len(cell.span);
}

async function rebuild(cell: CellWork, ctx: CellContext): Promise<Buffer> {
  const image = Buffer.alloc(len(cell.span));
  const kept = { start: cell.span.start, end: Math.min(cell.span.end, ctx.previous!.diskSize) };
  if (kept.end > kept.start) (await readPrevious(ctx, kept)).copy(image, 0);
  for (const r of cell.cleared) image.fill(0, r.start - cell.span.start, r.end - cell.span.start);
  for (const r of cell.changed) (await readSource(ctx, r)).copy(image, r.start - cell.span.start);
  return image;
}

async function writeChanges(cell: CellWork, image: Buffer, at: number, ctx: CellContext): Promise<void> {
  for (const r of cell.changed) await writeRange(r, image.subarray(r.start - at, r.end - at), ctx);
  for (const r of cell.cleared) await clearRange(r, ctx);
}

async function writeRange(r: Range, data: Buffer, ctx: CellContext): Promise<void> {
  const t = locate(r, ctx);
  if (isAllZero(data)) {
    await ctx.call(() => ctx.store.clearPages(t.shard, t.local(r)));
    ctx.stats.clearRequests++;
    ctx.stats.zeroBytesSkipped += data.length;
    return;
  }
  await ctx.call(() => ctx.store.putPages(t.shard, t.local(r).start, data));
  ctx.stats.putRequests++;
  ctx.stats.bytesUploaded += data.length;
}

async function clearRange(r: Range, ctx: CellContext): Promise<void> {
  const t = locate(r, ctx);
  await ctx.call(() => ctx.store.clearPages(t.shard, t.local(r)));
  ctx.stats.clearRequests++;
}

async function readSource(ctx: CellContext, r: Range): Promise<Buffer> {
  const data = await ctx.source((s) => s.read(r));
  ctx.stats.sourceBytesRead += data.length;
  ctx.stats.sourceReads++;
  return data;
}

/**
 * Old bytes come from the previous point's blob snapshot, never from the shard being written: after a crash the
 * shard may already hold this backup's bytes for a cell cut off mid-way, and a resumed cell must still end exact.
 */
async function readPrevious(ctx: CellContext, r: Range): Promise<Buffer> {
  const t = locate(r, ctx);
  const snapshot = ctx.previous?.snapshots[t.index];
  if (!snapshot) throw new Error(`no snapshot of shard ${t.index} in the previous recovery point`);
  const data = await ctx.call(() => ctx.store.readShardSnapshot(t.shard, snapshot, t.local(r)));
  ctx.stats.backupBytesRead += data.length;
  ctx.stats.backupReads++;
  return data;
}

function locate(r: Range, ctx: CellContext): { index: number; shard: string; local: (x: Range) => Range } {
  const [piece] = toShardPieces(r, ctx.shardSize);
  const base = piece!.shard * ctx.shardSize;
  return { index: piece!.shard, shard: ctx.shardName(piece!.shard), local: (x) => ({ start: x.start - base, end: x.end - base }) };
}

function xorInto(out: Buffer, at: number, a: Buffer, b: Buffer): void {
  for (let i = 0; i < a.length; i++) out[at + i] = a[i]! ^ b[i]!;
}
