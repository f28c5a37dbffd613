import { coalesce, PAGE, type Range } from '../../domain/ranges';

/**
 * An error shaped like the SDKs' RestError (statusCode and the service's error code), so the engine's
 * classification (403 renews a SAS, 409 and 404 are not retried, 5xx are) treats the memory fakes as it
 * treats Azure.
 */
export class MemoryServiceError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MemoryServiceError';
  }
}

/** One 512-byte page and the write that put it there: what incremental diffs compare. */
interface Page {
  data: Buffer;
  gen: number;
}

let generation = 0;

/**
 * A page blob's or managed disk's content as a sparse map of 512-byte pages: memory follows the written data,
 * never the nominal size. Written pages are "valid ranges" even when they hold zeros, as on Azure; cleared
 * pages are gone. Pages are never mutated in place, so a copy of the map is an immutable snapshot.
 */
export class PageMap {
  private pages = new Map<number, Page>();

  constructor(public size: number) {}

  /**
   * Put Page and Clear Pages take 512-byte aligned ranges inside the blob
   * (https://learn.microsoft.com/rest/api/storageservices/put-page: "start and end ... must be 512-byte aligned").
   */
  checkRange(offset: number, length: number): void {
    if (offset % PAGE !== 0 || length % PAGE !== 0 || length <= 0) {
      throw new MemoryServiceError(416, 'InvalidPageRange', `The page range ${offset}+${length} is not 512-byte aligned.`);
    }
    if (offset + length > this.size) throw new MemoryServiceError(416, 'InvalidPageRange', `The page range ${offset}+${length} is past the end (${this.size}).`);
  }

  write(offset: number, data: Buffer): void {
    this.checkRange(offset, data.length);
    const gen = ++generation;
    for (let o = 0; o < data.length; o += PAGE) {
      this.pages.set((offset + o) / PAGE, { data: Buffer.from(data.subarray(o, o + PAGE)), gen });
    }
  }

  clear(range: Range): void {
    this.checkRange(range.start, range.end - range.start);
    const first = range.start / PAGE,
      last = range.end / PAGE;
    if (last - first > this.pages.size) {
      for (const p of [...this.pages.keys()]) if (p >= first && p < last) this.pages.delete(p);
    } else {
      for (let p = first; p < last; p++) this.pages.delete(p);
    }
  }

  /** Any byte range inside the blob; unwritten space reads as zeros. */
  read(range: Range): Buffer {
    if (range.start < 0 || range.end > this.size || range.end <= range.start) {
      throw new MemoryServiceError(416, 'InvalidRange', `The range ${range.start}-${range.end - 1} is not satisfiable for a size of ${this.size}.`);
    }
    const out = Buffer.alloc(range.end - range.start);
    const first = Math.floor(range.start / PAGE),
      last = Math.ceil(range.end / PAGE);
    for (let p = first; p < last; p++) {
      const page = this.pages.get(p);
      if (!page) continue;
      const from = Math.max(range.start, p * PAGE),
        to = Math.min(range.end, (p + 1) * PAGE);
      page.data.copy(out, from - range.start, from - p * PAGE, to - p * PAGE);
    }
    return out;
  }

  /** Get Page Ranges takes a 512-aligned window (https://learn.microsoft.com/rest/api/storageservices/get-page-ranges). */
  private pagesIn(window: Range): number[] {
    if (window.start % PAGE !== 0 || window.end % PAGE !== 0 || window.start < 0 || window.end > this.size) {
      throw new MemoryServiceError(416, 'InvalidPageRange', `The window ${window.start}-${window.end} is not 512-byte aligned or is outside the blob.`);
    }
    const first = window.start / PAGE,
      last = window.end / PAGE;
    return [...this.pages.keys()].filter((p) => p >= first && p < last);
  }

  validRanges(window: Range = { start: 0, end: this.size }): Range[] {
    return toRanges(this.pagesIn(window));
  }

  /**
   * What changed since `base` (an older copy of the same lineage): pages written since (changed) and pages
   * that held data then and are cleared now (cleared), as Get Page Ranges with a previous snapshot answers.
   */
  diff(base: PageMap, window: Range): { changed: Range[]; cleared: Range[] } {
    const changed = this.pagesIn(window).filter((p) => base.pages.get(p)?.gen !== this.pages.get(p)!.gen);
    const cleared = base.pagesIn({ start: window.start, end: Math.min(window.end, base.size) }).filter((p) => !this.pages.has(p));
    return { changed: toRanges(changed), cleared: toRanges(cleared) };
  }

  /** Shrinking drops the pages past the new end; growing adds empty space. */
  resize(size: number): void {
    if (size % PAGE !== 0 || size < 0) throw new MemoryServiceError(400, 'InvalidHeaderValue', `The blob size ${size} is not a multiple of 512.`);
    for (const p of [...this.pages.keys()]) if (p * PAGE >= size) this.pages.delete(p);
    this.size = size;
  }

  copy(): PageMap {
    const c = new PageMap(this.size);
    c.pages = new Map(this.pages);
    return c;
  }
}

function toRanges(pages: number[]): Range[] {
  return coalesce(pages.map((p) => ({ start: p * PAGE, end: (p + 1) * PAGE })));
}
