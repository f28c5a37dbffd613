import { describe, expect, it } from 'vitest';
import { createDiskStore } from '../../../src/emulator/disk/store';
import { fill, fingerprint, sha256, trim, write } from '../../../src/emulator/guest';

const MIB = 1024 ** 2;

describe('a disk fingerprint: equal exactly when the whole content is', () => {
  const store = createDiskStore();
  const disk = (id: string, size = 12 * MIB): string => {
    store.createDisk(id, size);
    return id;
  };

  it('ignores how the zeros got there, as the real SHA-256 does', () => {
    const a = disk('a'),
      b = disk('b');
    fill(store, a, 5 * MIB, 4096, 7);
    fill(store, b, 5 * MIB, 4096, 7);
    write(store, b, 0, Buffer.alloc(4 * MIB)); // explicit zeros: a valid range, same bytes
    fill(store, b, 9 * MIB, 1024, 3);
    trim(store, b, 9 * MIB, 1024); // written, then trimmed back to zeros
    expect(fingerprint(store, b)).toBe(fingerprint(store, a));
    expect(sha256(store, b)).toBe(sha256(store, a));
  });

  it('tells apart one changed byte in the last page, a size and the same bytes in another cell', () => {
    const a = disk('c'),
      b = disk('d'),
      bigger = disk('e', 16 * MIB),
      moved = disk('f');
    for (const id of [a, b, bigger]) fill(store, id, 0, 4096, 1);
    fill(store, moved, 4 * MIB, 4096, 1);
    write(store, b, 12 * MIB - 512, Buffer.concat([Buffer.alloc(511), Buffer.from([1])])); // the very last byte
    const prints = [a, b, bigger, moved].map((id) => fingerprint(store, id));
    expect(new Set(prints).size).toBe(4);
  });
});
