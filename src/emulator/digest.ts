import { createCipheriv, createHash } from 'node:crypto';

/** The cell grid of a content digest: 4 MiB, aligned to the start of the disk. */
export const DIGEST_CELL = 4 * 1024 * 1024;

const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

/**
 * Format 1 (what seeding packages and older recovery points record): SHA-256 over the size (u64 BE), then for each
 * 4 MiB cell that is not all zero, its index (u64 BE) and the SHA-256 of its content. Equal content gives an equal
 * digest whether a zero cell is stored or not. (Written independently of the backup engine's manifest code, from
 * the format in docs/ARCHITECTURE.md, so agreeing digests check one another.)
 */
export function digestFromCells(sizeBytes: number, cells: Iterable<{ index: number; sha256: Buffer }>): string {
  const h = createHash('sha256');
  h.update(u64(sizeBytes));
  for (const c of [...cells].sort((a, b) => a.index - b.index)) {
    h.update(u64(c.index));
    h.update(c.sha256);
  }
  return h.digest('hex');
}

const GHASH_KEY = createHash('sha256').update('vmbackup cell digest, format 2').digest();

/** A cell's format-2 digest: the AES-256-GCM tag over the cell as additional data, published key, zero nonce. */
export function ghashCell(data: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', GHASH_KEY, Buffer.alloc(12));
  c.setAAD(data);
  c.final();
  return c.getAuthTag();
}

/**
 * Format 2 (what recovery points record since): SHA-256 of 'VMBI0002', the size (u64 BE) and the lane sum: for each
 * non-zero cell, SHA-256(index u64 BE, GHASH digest of the cell) added as eight u32 BE lanes, mod 2^32.
 */
export function imageDigestFromCells(sizeBytes: number, cells: Iterable<{ index: number; ghash: Buffer }>): string {
  const lanes = new Uint32Array(8);
  for (const c of cells) {
    const x = createHash('sha256').update(u64(c.index)).update(c.ghash).digest();
    for (let k = 0; k < 8; k++) lanes[k] = (lanes[k]! + x.readUInt32BE(k * 4)) >>> 0;
  }
  const sum = Buffer.alloc(32);
  for (let k = 0; k < 8; k++) sum.writeUInt32BE(lanes[k]!, k * 4);
  return createHash('sha256').update('VMBI0002').update(u64(sizeBytes)).update(sum).digest('hex');
}
