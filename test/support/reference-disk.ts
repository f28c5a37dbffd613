/**
 * A deliberately naive model of a managed disk and its incremental snapshots: a page map for content and a
 * per-generation log of the last operation on each page. Used to check the emulator's store page by page.
 */
export const P = 512;

export class ReferenceDisk {
  pages = new Map<number, Buffer>();
  /** ops[g]: page -> 'w' | 'c' for operations after snapshot g-1 up to snapshot g. */
  private current = new Map<number, 'w' | 'c'>();
  generations: { id: string; pages: Map<number, Buffer>; ops: Map<number, 'w' | 'c'> }[] = [];

  constructor(readonly size: number) {}

  write(offset: number, data: Buffer): void {
    for (let o = 0; o < data.length; o += P) {
      this.pages.set((offset + o) / P, Buffer.from(data.subarray(o, o + P)));
      this.current.set((offset + o) / P, 'w');
    }
  }

  /** Clearing records only pages that held data or were touched in this generation (see the store). */
  clear(offset: number, length: number): void {
    const first = offset / P,
      end = (offset + length) / P;
    for (const p of new Set([...this.pages.keys(), ...this.current.keys()])) {
      if (p < first || p >= end) continue;
      this.pages.delete(p);
      this.current.set(p, 'c');
    }
  }

  snapshot(id: string): void {
    this.generations.push({ id, pages: new Map(this.pages), ops: this.current });
    this.current = new Map();
  }

  deleteSnapshot(id: string): void {
    const i = this.generations.findIndex((g) => g.id === id);
    const [gone] = this.generations.splice(i, 1);
    const next = this.generations[i];
    const target = next ? next.ops : this.current;
    for (const [p, op] of gone!.ops) if (!target.has(p)) target.set(p, op);
  }

  diff(id: string, baseId: string, window = { start: 0, end: this.size }): { changed: Set<number>; cleared: Set<number> } {
    const from = this.generations.findIndex((g) => g.id === baseId);
    const to = this.generations.findIndex((g) => g.id === id);
    const last = new Map<number, 'w' | 'c'>();
    for (let g = from + 1; g <= to; g++) for (const [p, op] of this.generations[g]!.ops) last.set(p, op);
    const changed = new Set<number>(),
      cleared = new Set<number>();
    for (const [p, op] of last) {
      if (p * P < window.start || p * P >= window.end) continue;
      (op === 'w' ? changed : cleared).add(p);
    }
    return { changed, cleared };
  }

  valid(id: string, window = { start: 0, end: this.size }): Set<number> {
    const g = this.generations.find((x) => x.id === id)!;
    return new Set([...g.pages.keys()].filter((p) => p * P >= window.start && p * P < window.end));
  }

  content(id: string, page: number): Buffer {
    return this.generations.find((x) => x.id === id)!.pages.get(page) ?? Buffer.alloc(P);
  }
}

export function pagesOf(ranges: { start: number; end: number }[]): Set<number> {
  const s = new Set<number>();
  for (const r of ranges) for (let o = r.start; o < r.end; o += P) s.add(o / P);
  return s;
}
