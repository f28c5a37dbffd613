import type { RangeDiff, SourceSnapshot, TargetDisk } from '../../src/core/ports/storage';
import { coalesce, type Range } from '../../src/core/domain/ranges';

const P = 512;

/**
 * A deliberately simple sparse disk: page index -> 512 bytes. Used as a source fake for fast engine unit tests
 * (the integration tests use the compute emulator over HTTP instead).
 */
export class PageModel {
  pages = new Map<number, Buffer>();
  constructor(public size: number) {}

  write(offset: number, data: Buffer): void {
    for (let o = 0; o < data.length; o += P) this.pages.set((offset + o) / P, Buffer.from(data.subarray(o, o + P)));
  }
  clear(offset: number, length: number): void {
    for (let o = 0; o < length; o += P) this.pages.delete((offset + o) / P);
  }
  clone(): PageModel {
    const m = new PageModel(this.size);
    m.pages = new Map(this.pages);
    return m;
  }
  read(r: Range): Buffer {
    const out = Buffer.alloc(r.end - r.start);
    for (let o = r.start; o < r.end; o += P) this.pages.get(o / P)?.copy(out, o - r.start);
    return out;
  }
  ranges(window: Range, pred: (i: number) => boolean = (i) => this.pages.has(i)): Range[] {
    const idx = [...this.pages.keys()].filter((i) => i * P >= window.start && i * P < window.end && pred(i));
    return coalesce(idx.map((i) => ({ start: i * P, end: i * P + P })));
  }
  equals(other: PageModel): boolean {
    const keys = new Set([...this.pages.keys(), ...other.pages.keys()]);
    const zero = Buffer.alloc(P);
    for (const k of keys) if (!(this.pages.get(k) ?? zero).equals(other.pages.get(k) ?? zero)) return false;
    return this.size === other.size;
  }
}

/** A frozen generation as a SourceSnapshot; diff compares against an older generation by content identity. */
export function sourceOf(snap: PageModel, bases: Map<string, PageModel>, counters = { reads: 0, bytes: 0 }): SourceSnapshot {
  return {
    async validRanges(w) {
      return snap.ranges(w);
    },
    async diff(w, baseUrl): Promise<RangeDiff> {
      const base = bases.get(baseUrl)!;
      const changed = snap.ranges(w, (i) => base.pages.get(i) !== snap.pages.get(i));
      const cleared = base.ranges(w, (i) => !snap.pages.has(i));
      return { changed, cleared };
    },
    async read(r) {
      counters.reads++;
      counters.bytes += r.end - r.start;
      return snap.read(r);
    },
  };
}

export function modelTarget(model: PageModel): TargetDisk {
  return {
    async putPages(offset, data) {
      model.write(offset, data);
    },
  };
}
