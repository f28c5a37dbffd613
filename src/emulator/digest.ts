import { createHash } from 'node:crypto';

/** The cell grid of a content digest: 4 MiB, aligned to the start of the disk. */
export const DIGEST_CELL = 4 * 1024 * 1024;

/**
 * A disk's content digest: SHA-256 over the size (u64 BE), then for each 4 MiB cell that is not all zero,
 * its index (u64 BE) and the SHA-256 of its content. Equal content gives an equal digest whether a zero cell
 * is stored or not, and a 64 GiB sparse disk hashes in time proportional to its data.
 * (Written independently of the backup engine's manifest code, so agreeing digests check one another.)
 */
export function digestFromCells(sizeBytes: number, cells: Iterable<{ index: number; sha256: Buffer }>): string {
  const h = createHash('sha256');
  const u64 = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  h.update(u64(sizeBytes));
  for (const c of [...cells].sort((a, b) => a.index - b.index)) {
    h.update(u64(c.index));
    h.update(c.sha256);
  }
  return h.digest('hex');
}
