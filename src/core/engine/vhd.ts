import { randomBytes } from 'node:crypto';

/**
 * Azure's direct upload takes a fixed-format VHD: the disk's bytes followed by a 512-byte footer. The restore
 * writes the footer after the data so the new managed disk has exactly the recovery point's size.
 */
export const VHD_FOOTER_SIZE = 512;

function geometry(size: number): { cylinders: number; heads: number; sectors: number } {
  // The CHS derivation from the VHD specification (appendix "CHS calculation").
  let total = Math.min(Math.floor(size / 512), 65535 * 16 * 255);
  let sectors: number, heads: number, cylTimesHeads: number;
  if (total >= 65535 * 16 * 63) {
    sectors = 255;
    heads = 16;
    cylTimesHeads = Math.floor(total / sectors);
  } else {
    sectors = 17;
    cylTimesHeads = Math.floor(total / sectors);
    heads = Math.max(4, Math.floor((cylTimesHeads + 1023) / 1024));
    if (cylTimesHeads >= heads * 1024 || heads > 16) {
      sectors = 31;
      heads = 16;
      cylTimesHeads = Math.floor(total / sectors);
    }
    if (cylTimesHeads >= heads * 1024) {
      sectors = 63;
      heads = 16;
      cylTimesHeads = Math.floor(total / sectors);
    }
  }
  total = cylTimesHeads;
  return { cylinders: Math.floor(total / heads), heads, sectors };
}

export function vhdFooter(diskSize: number, now = new Date(), uniqueId: Buffer = randomBytes(16)): Buffer {
  const f = Buffer.alloc(VHD_FOOTER_SIZE);
  f.write('conectix', 0, 'ascii');
  f.writeUInt32BE(2, 8); // features: reserved bit always set
  f.writeUInt32BE(0x00010000, 12); // format version 1.0
  f.writeBigUInt64BE(0xffffffffffffffffn, 16); // fixed disks have no dynamic header
  f.writeUInt32BE(Math.max(0, Math.floor((now.getTime() - Date.UTC(2000, 0, 1)) / 1000)) >>> 0, 24);
  f.write('vmbk', 28, 'ascii');
  f.writeUInt32BE(0x00010000, 32);
  f.write('Wi2k', 36, 'ascii');
  f.writeBigUInt64BE(BigInt(diskSize), 40);
  f.writeBigUInt64BE(BigInt(diskSize), 48);
  const g = geometry(diskSize);
  f.writeUInt16BE(g.cylinders, 56);
  f.writeUInt8(g.heads, 58);
  f.writeUInt8(g.sectors, 59);
  f.writeUInt32BE(2, 60); // disk type: fixed
  uniqueId.copy(f, 68, 0, 16);
  f.writeUInt32BE(vhdChecksum(f), 64);
  return f;
}

export function vhdChecksum(footer: Buffer): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_SIZE; i++) if (i < 64 || i >= 68) sum += footer[i]!;
  return ~sum >>> 0;
}

/** Checks the parts Azure checks on upload: cookie, fixed type, sizes and checksum. */
export function parseVhdFooter(buf: Buffer): { currentSize: number } | undefined {
  if (buf.length !== VHD_FOOTER_SIZE || buf.toString('ascii', 0, 8) !== 'conectix') return undefined;
  if (buf.readUInt32BE(60) !== 2 || buf.readUInt32BE(64) !== vhdChecksum(buf)) return undefined;
  return { currentSize: Number(buf.readBigUInt64BE(48)) };
}
