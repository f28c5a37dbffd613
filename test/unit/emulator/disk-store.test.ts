import { describe, expect, it } from 'vitest';
import { createDiskStore } from '../../../src/emulator/disk/store';
import type { DiskStoreError } from '../../../src/emulator/disk/types';
import { ReferenceDisk, pagesOf, P } from '../../support/reference-disk';

const GIB = 1024 ** 3,
  MIB = 1024 ** 2;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function randomData(rand: () => number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i += 4) b.writeUInt32LE(Math.floor(rand() * 2 ** 32), i);
  return b;
}

function expectSame(actual: Set<number>, expected: Set<number>): void {
  expect([...actual].sort((a, b) => a - b)).toEqual([...expected].sort((a, b) => a - b));
}

describe.each([11, 29])('emulator disk store against a reference model (seed %i)', (seed) => {
  // 8-11 s each on a loaded 2-core machine (pure CPU, no Azurite): the timeout leaves more than 3x that.
  it('keeps page-exact diffs and contents across 22 incremental generations of a 64 GiB disk', { timeout: 60_000 }, () => {
    const size = 64 * GIB;
    const store = createDiskStore();
    const ref = new ReferenceDisk(size);
    store.createDisk('d', size);
    const rand = rng(seed);
    // Hot spots keep overwrites and clears frequent, as a real guest's writes are.
    const hot = [0, 4 * MIB - 8 * P, 17 * GIB + 3 * P, size - 2 * MIB];
    const pick = (): number => (rand() < 0.8 ? hot[Math.floor(rand() * hot.length)]! + Math.floor(rand() * 4096) * P : Math.floor(rand() * (size / P)) * P);
    const ids: string[] = [];
    for (let g = 0; g < 22; g++) {
      for (let k = 0; k < 25; k++) {
        const off = Math.min(pick(), size - P);
        const kind = rand();
        const len = Math.min(size - off, kind < 0.4 ? P : (1 + Math.floor(rand() * 24)) * 64 * P);
        if (kind < 0.8) {
          const data = randomData(rand, len);
          store.write('d', off, data);
          ref.write(off, data);
        } else {
          store.clear('d', off, len);
          ref.clear(off, len);
        }
      }
      if (g === 7) {
        store.clear('d', 0, size);
        ref.clear(0, size);
      } // whole-disk trim
      if (g === 9) {
        const d = randomData(rand, P);
        store.write('d', size - P, d);
        ref.write(size - P, d);
      }
      const id = `s${g}`;
      store.createSnapshot(id, 'd', true);
      ref.snapshot(id);
      ids.push(id);
      expectSame(pagesOf(store.validRanges(id)), ref.valid(id));
      if (g > 0) {
        for (const base of [ids[g - 1]!, ids[Math.floor(g / 2)]!].filter((b) => b !== id)) {
          const d = store.diff(id, base);
          const want = ref.diff(id, base);
          expectSame(pagesOf(d.changed), want.changed);
          expectSame(pagesOf(d.cleared), want.cleared);
          for (const p of [...want.changed].slice(0, 40)) expect(store.read(id, p * P, P).equals(ref.content(id, p))).toBe(true);
        }
        const w = { start: 4 * MIB - 3 * 64 * P, end: 17 * GIB + 5 * 64 * P };
        const dw = store.diff(id, ids[0]!, w);
        expectSame(pagesOf(dw.changed), ref.diff(id, ids[0]!, w).changed);
        expectSame(pagesOf(dw.cleared), ref.diff(id, ids[0]!, w).cleared);
      }
      if (g === 12) {
        store.deleteResource('s10');
        ref.deleteSnapshot('s10');
        ids.splice(ids.indexOf('s10'), 1);
      }
    }
    // After deleting a middle snapshot, diffs across the gap stay exact.
    const last = ids[ids.length - 1]!;
    for (const base of ids.slice(0, -1)) {
      const d = store.diff(last, base);
      const want = ref.diff(last, base);
      expectSame(pagesOf(d.changed), want.changed);
      expectSame(pagesOf(d.cleared), want.cleared);
    }
    expect(store.storedBytes()).toBeLessThan(512 * MIB);
  });
});

describe('emulator disk store rules', () => {
  it('rejects what Azure rejects, with stable codes', () => {
    const s = createDiskStore();
    s.createDisk('d', 8 * MIB);
    s.createDisk('e', 8 * MIB);
    const code = (fn: () => void): string | undefined => {
      try {
        fn();
      } catch (e) {
        return (e as DiskStoreError).code;
      }
      return undefined;
    };
    expect(code(() => s.write('d', 100, Buffer.alloc(P)))).toBe('Unaligned');
    expect(code(() => s.write('d', 8 * MIB, Buffer.alloc(P)))).toBe('InvalidRange');
    expect(code(() => s.createDisk('d', MIB))).toBe('AlreadyExists');
    expect(code(() => s.read('nope', 0, P))).toBe('NotFound');
    expect(code(() => s.resizeDisk('d', MIB))).toBe('ShrinkNotAllowed');
    s.createSnapshot('a', 'd', true);
    s.createSnapshot('b', 'd', true);
    s.createSnapshot('x', 'e', true);
    s.createSnapshot('full', 'd', false);
    expect(code(() => s.diff('a', 'b'))).toBe('BaseNotOlder');
    expect(code(() => s.diff('b', 'x'))).toBe('DifferentLineage');
    expect(code(() => s.diff('b', 'full'))).toBe('NotASnapshot');
    expect(code(() => s.write('a', 0, Buffer.alloc(P)))).toBe('NotADisk');
    s.deleteResource('a');
    expect(code(() => s.diff('b', 'a'))).toBe('NotFound');
  });

  it('keeps a 32 TiB disk sparse and snapshots immutable', () => {
    const s = createDiskStore();
    const size = 32 * 1024 ** 4;
    s.createDisk('big', size);
    s.write('big', size - 4 * MIB, Buffer.alloc(4 * MIB, 1));
    s.write('big', 0, Buffer.alloc(MIB, 2));
    s.createSnapshot('s1', 'big', true);
    s.write('big', 0, Buffer.alloc(P, 3));
    expect(s.read('s1', 0, P).equals(Buffer.alloc(P, 2))).toBe(true);
    expect(s.read('big', 0, P).equals(Buffer.alloc(P, 3))).toBe(true);
    expect(s.storedBytes()).toBeLessThan(6 * MIB);
    expect(s.validRanges('s1')).toEqual([
      { start: 0, end: MIB },
      { start: size - 4 * MIB, end: size },
    ]);
    s.copyDisk('copy', 's1');
    expect(s.read('copy', size - P, P).equals(Buffer.alloc(P, 1))).toBe(true);
  });
});
