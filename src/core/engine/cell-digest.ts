import { createCipheriv, createHash } from 'node:crypto';

/**
 * The digest of one 4 MiB cell. Two kinds live side by side, told apart by length:
 * - 32 bytes, SHA-256 of the cell (format 1, points written before format 2). It can only be recomputed from the
 *   whole cell, which is why an incremental over such a cell reads the rest of it back once.
 * - 16 bytes, GHASH of the cell (format 2), taken as AES-256-GCM's tag over the cell as additional data under a
 *   fixed, published key and nonce. GHASH is linear over GF(2^128) in its input: for equal lengths,
 *   tag(a) ^ tag(b) = tag(a ^ b) ^ tag(0). An incremental therefore updates a cell's digest from the old and new
 *   bytes of only the pages that changed: tag(new) = tag(old) ^ tag(old ^ new) ^ tag(0).
 * It detects corruption (a random change escapes it with probability below 2^-110), not tampering: the key is
 * public, so anyone who can write a cell can also forge its digest. Tamper resistance is the job of the backup
 * account's access control and immutability, not of this digest (docs/ARCHITECTURE.md, "Recovery-point format").
 * The AES-GCM primitive is the platform's (OpenSSL, with CLMUL), about five times faster than SHA-256 here.
 */
export const SHA256_DIGEST = 32;
export const GHASH_DIGEST = 16;

const KEY = createHash('sha256').update('vmbackup cell digest, format 2').digest();
const NONCE = Buffer.alloc(12);

export function cellTag(image: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', KEY, NONCE);
  c.setAAD(image);
  c.final();
  return c.getAuthTag();
}

const zeroTags = new Map<number, Buffer>();

/** The tag of `length` zero bytes: a cell whose tag equals it reads as zeros and is left out of the manifest. */
export function zeroTag(length: number): Buffer {
  let t = zeroTags.get(length);
  if (!t) {
    t = cellTag(Buffer.alloc(length));
    zeroTags.set(length, t);
  }
  return t;
}

/** tag(new) from tag(old) and old ^ new over the whole cell (zero where nothing changed). */
export function updatedTag(oldTag: Buffer, xorDelta: Buffer): Buffer {
  const d = cellTag(xorDelta);
  const z = zeroTag(xorDelta.length);
  const out = Buffer.alloc(GHASH_DIGEST);
  for (let i = 0; i < GHASH_DIGEST; i++) out[i] = oldTag[i]! ^ d[i]! ^ z[i]!;
  return out;
}

export function sha256(buf: Buffer): Buffer {
  return createHash('sha256').update(buf).digest();
}

/** The digest a new point records for a cell whose whole content is at hand. */
export const digestOf = cellTag;

/** Checks a cell's content against its recorded digest, whichever format wrote it. */
export function digestMatches(expected: Buffer, image: Buffer): boolean {
  if (expected.length === GHASH_DIGEST) return cellTag(image).equals(expected);
  if (expected.length === SHA256_DIGEST) return sha256(image).equals(expected);
  return false;
}

/** A digest an incremental can update from the changed pages alone (format 2); SHA-256 ones cannot be. */
export const isUpdatable = (d: Buffer | undefined): d is Buffer => d?.length === GHASH_DIGEST;
