import type { BlobClient } from '@azure/storage-blob';
import type { Range } from '../../domain/ranges';

/** Reads exactly one range into one buffer; a short body is a reset connection, which the engine retries. */
export async function downloadRange(blob: BlobClient, range: Range): Promise<Buffer> {
  const len = range.end - range.start;
  // Not zero-filled: every byte is overwritten, or the length check below throws and the buffer is dropped.
  const buf = Buffer.allocUnsafe(len);
  const res = await blob.download(range.start, len);
  let o = 0;
  for await (const chunk of res.readableStreamBody as AsyncIterable<Buffer>) {
    if (o + chunk.length > len) throw Object.assign(new Error(`long read: more than ${len} bytes`), { code: 'ECONNRESET' });
    chunk.copy(buf, o);
    o += chunk.length;
  }
  if (o !== len) throw Object.assign(new Error(`short read: ${o} of ${len} bytes`), { code: 'ECONNRESET' });
  return buf;
}
