import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, inject } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { FolderPackageStore } from '../../src/core/adapters/fs/folder-package-store';
import { BlobPackageStore, packageStoreFactory } from '../../src/core/adapters/azure/blob-package-store';
import type { PackageStore } from '../../src/core/ports/packages';
import { uniqueName } from '../support/names';

/** One suite, both adapters: a package written through one behaves the same in a folder and in a container. */
function packageStoreContract(name: string, create: () => PackageStore): void {
  describe(`PackageStore contract: ${name}`, () => {
    it('lists nothing before the first write, and gets undefined for a missing file', async () => {
      const s = create();
      expect(await s.list()).toEqual([]);
      expect(await s.get('manifest.json')).toBeUndefined();
      await s.prepare();
      await s.prepare(); // idempotent
      expect(await s.list()).toEqual([]);
    });

    it('puts, reads back byte-exact, overwrites, lists nested names with sizes, removes', async () => {
      const s = create();
      await s.prepare();
      const chunk = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff));
      await s.put('disks/os/c0000000001-aa.z', chunk);
      await s.put('manifest.json', Buffer.from('{"a":1}'));
      await s.put('manifest.json', Buffer.from('{"a":22}'));
      expect((await s.get('disks/os/c0000000001-aa.z'))!.equals(chunk)).toBe(true);
      expect((await s.get('manifest.json'))!.toString()).toBe('{"a":22}');
      const listed = (await s.list()).sort((a, b) => a.name.localeCompare(b.name));
      expect(listed).toEqual([
        { name: 'disks/os/c0000000001-aa.z', size: 70_000 },
        { name: 'manifest.json', size: 8 },
      ]);
      await s.remove('disks/os/c0000000001-aa.z');
      await s.remove('disks/os/c0000000001-aa.z'); // absent is fine
      expect((await s.list()).map((f) => f.name)).toEqual(['manifest.json']);
      expect(s.location).not.toMatch(/AccountKey|sig=/i);
    });
  });
}

const root = mkdtempSync(path.join(tmpdir(), 'vmb-pkg-contract-'));
packageStoreContract('folder', () => new FolderPackageStore(path.join(root, uniqueName('p'))));
packageStoreContract('blob container (Azurite)', () => {
  const svc = BlobServiceClient.fromConnectionString(inject('azurite').connectionString);
  return new BlobPackageStore(svc.getContainerClient(uniqueName('pkg')), 'staging/item-1');
});

describe('the package store factory', () => {
  it('opens folders and containers, and keeps packages under different prefixes apart', async () => {
    const svc = BlobServiceClient.fromConnectionString(inject('azurite').connectionString);
    const f = packageStoreFactory(svc);
    const container = uniqueName('pkg');
    const a = f.open({ kind: 'container', container, prefix: 'a' });
    const b = f.open({ kind: 'container', container, prefix: 'b' });
    await a.prepare();
    await a.put('x', Buffer.from('1'));
    expect(await b.list()).toEqual([]);
    expect(f.open({ kind: 'folder', path: root })).toBeInstanceOf(FolderPackageStore);
    await expect(new FolderPackageStore(root).put('../escape', Buffer.from('x'))).rejects.toThrow(/outside/);
  });
});
