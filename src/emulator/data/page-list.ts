/**
 * Get Page Ranges answers as Azure Storage pages them (https://learn.microsoft.com/rest/api/storageservices/get-page-ranges):
 * from version 2020-10-02 the service may return only part of the ranges with a `NextMarker` element, and the
 * client continues by sending that value as `marker`; `maxresults` caps the ranges of one answer ("If the
 * request specifies a value greater than 10,000, the server will return up to 10,000 items").
 *
 * Azure does not publish when it cuts an answer without `maxresults` (AZURE-FIDELITY B1, Appendix B.1), so the
 * cut point is a setting: after a fixed number of ranges, or (fault mode) after a seeded random number of them.
 * The same code serves the compute emulator and the pipeline shim in front of Azurite.
 */
export interface PageEntry {
  tag: 'PageRange' | 'ClearRange';
  /** Byte offsets, end exclusive. */
  start: number;
  end: number;
}

export interface PagingOptions {
  /** Ranges per answer when the client sends no smaller `maxresults`. */
  rangesPerAnswer: number;
  /** Fault mode: cut each answer after a seeded random count in [1, rangesPerAnswer]. */
  randomSeed?: number;
}

export class PagingError extends Error {
  readonly status = 400;
  constructor(
    readonly code: 'InvalidQueryParameterValue',
    message: string,
  ) {
    super(message);
  }
}

export const MAX_RESULTS_LIMIT = 10_000;

/** A small, seeded generator (mulberry32): the same seed cuts a run's answers at the same points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The marker is opaque to clients, as Azure's is; it carries the offset where the next answer starts. */
function encodeMarker(offset: number): string {
  return `2!${Buffer.from(JSON.stringify({ o: offset })).toString('base64url')}`;
}

function decodeMarker(marker: string): number {
  const m = /^2!([A-Za-z0-9_-]+)$/.exec(marker);
  try {
    const o = m ? (JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { o?: unknown }).o : undefined;
    if (typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) return o;
  } catch {
    /* fall through */
  }
  throw new PagingError('InvalidQueryParameterValue', `Value for one of the query parameters specified in the request URI is invalid. marker=${marker.slice(0, 64)}`);
}

export class PageListPager {
  private readonly random?: () => number;
  /** Answers that ended with a NextMarker: what the soak reports as injected paging cuts. */
  cuts = 0;

  constructor(private readonly options: PagingOptions) {
    if (options.randomSeed !== undefined) this.random = seededRandom(options.randomSeed);
  }

  /**
   * One answer: the entries (sorted by start) from `marker` on, cut after the allowed count. Resuming at the
   * start of the first entry left out gives exactly the rest: entries of one kind never touch, so none is split.
   */
  page(all: PageEntry[], query: { marker?: string | null; maxresults?: string | null }): { entries: PageEntry[]; nextMarker?: string } {
    const from = query.marker ? decodeMarker(query.marker) : 0;
    let limit = Math.max(1, this.options.rangesPerAnswer);
    if (query.maxresults !== undefined && query.maxresults !== null) {
      const n = Number(query.maxresults);
      if (!Number.isSafeInteger(n) || n < 1)
        throw new PagingError('InvalidQueryParameterValue', `Value for one of the query parameters specified in the request URI is invalid. maxresults=${query.maxresults}`);
      limit = Math.min(limit, n, MAX_RESULTS_LIMIT);
    }
    if (this.random) limit = 1 + Math.floor(this.random() * limit);
    const rest = all.filter((e) => e.start >= from);
    if (rest.length <= limit) return { entries: rest };
    this.cuts++;
    return { entries: rest.slice(0, limit), nextMarker: encodeMarker(rest[limit]!.start) };
  }
}

/** The PageList body, with ranges' inclusive ends as the service writes them. */
export function pageListXml(entries: PageEntry[], nextMarker?: string): string {
  const body = entries.map((x) => `<${x.tag}><Start>${x.start}</Start><End>${x.end - 1}</End></${x.tag}>`).join('');
  return `<?xml version="1.0" encoding="utf-8"?><PageList>${body}${nextMarker ? `<NextMarker>${nextMarker}</NextMarker>` : ''}</PageList>`;
}

/** Reads a PageList body back (the shim reads Azurite's full answer with it). */
export function parsePageListXml(xml: string): PageEntry[] {
  const out: PageEntry[] = [];
  for (const m of xml.matchAll(/<(PageRange|ClearRange)>\s*<Start>(\d+)<\/Start>\s*<End>(\d+)<\/End>\s*<\/\1>/g)) {
    out.push({ tag: m[1] as PageEntry['tag'], start: Number(m[2]), end: Number(m[3]) + 1 });
  }
  return out.sort((a, b) => a.start - b.start);
}
