import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { PageBlobClient } from '@azure/storage-blob';
import { fromInclusive, type Range } from '../../domain/ranges';

/**
 * Get Page Ranges answers can be incomplete: "The operation returns a marker value within the response body if
 * the returned ranges were incomplete", to be sent back as `marker` (version 2020-10-02 and later,
 * https://learn.microsoft.com/rest/api/storageservices/get-page-ranges). Every listing here follows NextMarker
 * until the service says the window is done; reading one answer and dropping the rest loses data silently
 * (AZURE-FIDELITY B1).
 */

/** Ranges of the generated model (inclusive ends) to half-open ones. */
function fromModel(xs: { start: number; end: number }[] | undefined): Range[] {
  return (xs ?? []).map((x) => fromInclusive(x.start, x.end));
}

/** A marker the service hands back twice in a row would loop forever; fail the listing instead. */
function nextMarker(previous: string | undefined, token: string | undefined): string | undefined {
  if (!token) return undefined;
  if (token === previous) throw new Error('Get Page Ranges returned the same NextMarker twice');
  return token;
}

/** Valid ranges of a window of a page blob (or blob snapshot), every answer of it. */
export async function listValidRanges(blob: PageBlobClient, window: Range): Promise<Range[]> {
  // The SDK's paged form sends `marker` back until the answer carries no NextMarker.
  const out: Range[] = [];
  let previous: string | undefined;
  for await (const page of blob.listPageRanges(window.start, window.end - window.start).byPage()) {
    out.push(...fromModel(page.pageRange));
    previous = nextMarker(previous, page.continuationToken);
  }
  return out;
}

/**
 * Sets `marker` on the Get Page Ranges request it sees. The SDK's managed-disk diff
 * (`getPageRangesDiffForManagedDisks`) sends `x-ms-previous-snapshot-url` but takes no marker, and its paged diff
 * (`listPageRangesDiff`) sends `prevsnapshot=` (a timestamp of the same blob), which a managed-disk snapshot
 * cannot use. So the diff goes through the SDK's own call and pipeline, and this policy adds the continuation.
 */
export interface MarkerPolicy extends PipelinePolicy {
  marker?: string;
}

export function pageListMarkerPolicy(): MarkerPolicy {
  const policy: MarkerPolicy = {
    name: 'pageListMarker',
    async sendRequest(req, next) {
      if (policy.marker) {
        const url = new URL(req.url);
        if (url.searchParams.get('comp') === 'pagelist') {
          url.searchParams.set('marker', policy.marker);
          req.url = url.toString();
        }
      }
      return next(req);
    },
  };
  return policy;
}

/**
 * Changed and cleared ranges of a window against an older snapshot of the same managed disk (by its SAS URL),
 * every answer of it. `blob` must carry `marker` (its pipeline's pageListMarkerPolicy) and serve this listing only.
 */
export async function listDiff(blob: PageBlobClient, marker: MarkerPolicy, window: Range, baseSasUrl: string): Promise<{ changed: Range[]; cleared: Range[] }> {
  const changed: Range[] = [];
  const cleared: Range[] = [];
  marker.marker = undefined;
  do {
    const res = await blob.getPageRangesDiffForManagedDisks(window.start, window.end - window.start, baseSasUrl);
    // This call reports { offset, count = end - start } of the inclusive range.
    for (const r of res.pageRange ?? []) changed.push(fromInclusive(r.offset, r.offset + (r.count ?? 0)));
    for (const r of res.clearRange ?? []) cleared.push(fromInclusive(r.offset, r.offset + (r.count ?? 0)));
    // The call keeps the generated response's NextMarker as continuationToken, untyped (AZURE-FIDELITY Appendix A).
    marker.marker = nextMarker(marker.marker, (res as { continuationToken?: string }).continuationToken);
  } while (marker.marker);
  return { changed, cleared };
}
