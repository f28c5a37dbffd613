import { classify } from './pacer';
import { windows, type Range } from '../domain/ranges';

/** Below this a window is not split further: a listing that still times out is a real failure. */
export const MIN_LISTING_WINDOW = 64 * 1024 * 1024;

/**
 * A fragmented page blob can make Get Page Ranges over a large window time out (500 OperationTimedOut, or 408);
 * the Storage team's advice is to list it in subsets ("Getting the Page Ranges of a Large Page Blob in
 * Segments", https://docs.microsoft.com/archive/blogs/windowsazurestorage/getting-the-page-ranges-of-a-large-page-blob-in-segments).
 */
export function isListingTimeout(err: unknown): boolean {
  const status = (err as { statusCode?: number }).statusCode;
  return classify(err).retryable && (status === 408 || status === 500 || status === undefined);
}

/**
 * Lists one window with `list` (already paced and retried by the caller); when it still times out, lists the
 * window again in halves, recursively, down to MIN_LISTING_WINDOW. `found` gets every answer in order.
 */
export async function listSplitting<T>(w: Range, list: (w: Range) => Promise<T>, found: (answer: T) => void, minWindow = MIN_LISTING_WINDOW): Promise<void> {
  try {
    found(await list(w));
  } catch (err) {
    const size = w.end - w.start;
    if (size <= minWindow || !isListingTimeout(err)) throw err;
    for (const half of windows(w, Math.ceil(size / 2 / 512) * 512)) await listSplitting(half, list, found, minWindow);
  }
}
