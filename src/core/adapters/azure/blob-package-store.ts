import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { RestError } from '@azure/core-rest-pipeline';
import type { PackageLocation, PackageStore, PackageStoreFactory } from '../../ports/packages';
import { FolderPackageStore } from '../fs/folder-package-store';

/**
 * A package in a blob container (under an optional prefix): a staging container of the backup account where
 * an Import/Export or Data Box shipment lands. One block blob per file; an upload is atomic.
 */
export class BlobPackageStore implements PackageStore {
  readonly location: string;
  private readonly prefix: string;
  constructor(
    private readonly container: ContainerClient,
    prefix = '',
  ) {
    this.prefix = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
    this.location = `container '${container.containerName}'${prefix ? ` under '${prefix}'` : ''}`;
  }

  async prepare(): Promise<void> {
    await this.container.createIfNotExists();
  }

  async put(name: string, data: Buffer): Promise<void> {
    await this.container.getBlockBlobClient(this.prefix + name).uploadData(data);
  }

  async get(name: string): Promise<Buffer | undefined> {
    try {
      return await this.container.getBlockBlobClient(this.prefix + name).downloadToBuffer();
    } catch (err) {
      const status = err instanceof RestError ? err.statusCode : (err as { statusCode?: number })?.statusCode;
      if (status === 404) return undefined;
      throw err;
    }
  }

  async list(): Promise<{ name: string; size: number }[]> {
    const out: { name: string; size: number }[] = [];
    try {
      for await (const b of this.container.listBlobsFlat({ prefix: this.prefix })) {
        out.push({ name: b.name.slice(this.prefix.length), size: b.properties.contentLength ?? 0 });
      }
    } catch (err) {
      if ((err as { statusCode?: number })?.statusCode === 404) return [];
      throw err;
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    await this.container.getBlobClient(this.prefix + name).deleteIfExists();
  }
}

/** Containers of the backup account by name, or folders the process can reach. */
export function packageStoreFactory(blobService: BlobServiceClient): PackageStoreFactory {
  return {
    open(l: PackageLocation): PackageStore {
      return l.kind === 'folder' ? new FolderPackageStore(l.path) : new BlobPackageStore(blobService.getContainerClient(l.container), l.prefix ?? '');
    },
  };
}
