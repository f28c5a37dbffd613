/** What Azure checks of a direct upload's last 512 bytes: a fixed VHD footer with a valid checksum. */
export function parseFooter(buf: Buffer): { currentSize: number } | undefined {
  if (buf.length !== 512 || buf.toString('ascii', 0, 8) !== 'conectix') return undefined;
  if (buf.readUInt32BE(60) !== 2) return undefined; // fixed disk
  let sum = 0;
  for (let i = 0; i < 512; i++) if (i < 64 || i > 67) sum += buf[i]!;
  if (~sum >>> 0 !== buf.readUInt32BE(64)) return undefined;
  return { currentSize: Number(buf.readBigUInt64BE(48)) };
}
