/**
 * Range arithmetic for page blobs and managed disks. Internally every range is half-open [start, end) in
 * bytes; the wire's inclusive ends are converted once, at the adapter edge (fromInclusive).
 */
export const PAGE = 512;
export const MAX_PUT_PAGE = 4 * 1024 * 1024;
/** The manifest grid: every recovery point hashes its content in cells of this size, absolute-aligned. */
export const CELL = 4 * 1024 * 1024;

export interface Range {
  start: number;
  end: number;
}

export function len(r: Range): number {
  return r.end - r.start;
}

/** Azure reports page ranges with an inclusive end: [start, end]. */
export function fromInclusive(start: number, endInclusive: number): Range {
  return { start, end: endInclusive + 1 };
}

export function isAligned(n: number, unit = PAGE): boolean {
  return n % unit === 0;
}

export function alignDown(n: number, unit: number): number {
  return Math.floor(n / unit) * unit;
}

export function alignUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}

/** Sorts, merges overlapping and touching ranges, drops empty ones. */
export function coalesce(ranges: Iterable<Range>): Range[] {
  const sorted = [...ranges].filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

export function clip(ranges: readonly Range[], window: Range): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    const start = Math.max(r.start, window.start);
    const end = Math.min(r.end, window.end);
    if (end > start) out.push({ start, end });
  }
  return out;
}

/** a minus b, both coalesced. */
export function subtract(a: readonly Range[], b: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const r of a) {
    let cur = r.start;
    while (j < b.length && b[j]!.end <= cur) j++;
    let k = j;
    while (k < b.length && b[k]!.start < r.end) {
      const cut = b[k]!;
      if (cut.start > cur) out.push({ start: cur, end: cut.start });
      cur = Math.max(cur, cut.end);
      k++;
    }
    if (cur < r.end) out.push({ start: cur, end: r.end });
  }
  return out;
}

export function totalBytes(ranges: readonly Range[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.start;
  return n;
}

/** Cuts ranges at every multiple of `unit` (absolute), so no piece crosses a grid line. */
export function splitOnGrid(ranges: readonly Range[], unit: number): Range[] {
  const out: Range[] = [];
  for (const r of ranges) {
    let s = r.start;
    while (s < r.end) {
      const e = Math.min(r.end, alignDown(s, unit) + unit);
      out.push({ start: s, end: e });
      s = e;
    }
  }
  return out;
}

/** Cuts the address space [0, size) into consecutive windows of at most `window` bytes. */
export function windows(span: Range, window: number): Range[] {
  const out: Range[] = [];
  for (let s = span.start; s < span.end; s += window) out.push({ start: s, end: Math.min(span.end, s + window) });
  return out;
}

export interface CellWork {
  /** Absolute index of the 4 MiB grid cell. */
  index: number;
  /** Byte span of the cell, clipped to the disk's size. */
  span: Range;
  /** Parts of the cell whose new content must be read from the source. */
  changed: Range[];
  /** Parts of the cell that became empty. */
  cleared: Range[];
}

/**
 * Groups changed and cleared ranges by manifest cell. A range may be both reported changed and cleared only if
 * the source is inconsistent; changed wins because reading it is always safe.
 */
export function planCells(changed: readonly Range[], cleared: readonly Range[], diskSize: number): CellWork[] {
  const ch = splitOnGrid(coalesce(changed), CELL);
  const cl = splitOnGrid(subtract(coalesce(cleared), coalesce(changed)), CELL);
  const cells = new Map<number, CellWork>();
  const cellFor = (start: number): CellWork => {
    const index = Math.floor(start / CELL);
    let c = cells.get(index);
    if (!c) {
      c = { index, span: { start: index * CELL, end: Math.min(diskSize, (index + 1) * CELL) }, changed: [], cleared: [] };
      cells.set(index, c);
    }
    return c;
  };
  for (const r of ch) cellFor(r.start).changed.push(r);
  for (const r of cl) cellFor(r.start).cleared.push(r);
  return [...cells.values()].sort((a, b) => a.index - b.index);
}

export function rangesCover(ranges: readonly Range[], span: Range): boolean {
  return totalBytes(clip(coalesce(ranges), span)) === len(span);
}
