import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PackageStore } from '../../ports/packages';

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/**
 * A package in a local or mounted folder (a shipped disk, a Data Box share, an Azure Files mount). Files are
 * written under a temporary name and renamed, so a crash never leaves a half file under a chunk's name.
 */
export class FolderPackageStore implements PackageStore {
  readonly location: string;
  constructor(private readonly root: string) {
    this.location = `folder '${root}'`;
  }

  private full(name: string): string {
    const p = path.resolve(this.root, ...name.split('/'));
    if (!p.startsWith(path.resolve(this.root) + path.sep)) throw new RangeError(`'${name}' is outside the package folder`);
    return p;
  }

  async prepare(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  async put(name: string, data: Buffer): Promise<void> {
    const target = this.full(name);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, target);
  }

  async get(name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.full(name));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(): Promise<{ name: string; size: number }[]> {
    const out: { name: string; size: number }[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const e of entries) {
        const rel = prefix ? `${prefix}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(path.join(dir, e.name), rel);
        else if (e.isFile() && !e.name.endsWith('.tmp')) out.push({ name: rel, size: (await stat(path.join(dir, e.name))).size });
      }
    };
    await walk(this.root, '');
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(name: string): Promise<void> {
    await rm(this.full(name), { force: true });
  }
}
