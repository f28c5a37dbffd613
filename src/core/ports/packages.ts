/**
 * A staging location that holds one recovery-point package: a local or mounted folder, or a blob container
 * (prefix). Names are relative, '/'-separated. A put is all-or-nothing: a reader sees the whole file or none.
 */
export interface PackageStore {
  /** Where the package is, for messages and logs; never holds a key or a SAS token. */
  readonly location: string;
  /** Creates the folder or container if needed (export only). */
  prepare(): Promise<void>;
  put(name: string, data: Buffer): Promise<void>;
  get(name: string): Promise<Buffer | undefined>;
  /** Every file of the package with its size in bytes. */
  list(): Promise<{ name: string; size: number }[]>;
  remove(name: string): Promise<void>;
}

/** Where a package is. Not a secret: a container of the backup account, or a folder the process can reach. */
export type PackageLocation = { kind: 'container'; container: string; prefix?: string } | { kind: 'folder'; path: string };

export interface PackageStoreFactory {
  open(location: PackageLocation): PackageStore;
}

export function describeLocation(l: PackageLocation): string {
  return l.kind === 'folder' ? `folder '${l.path}'` : `container '${l.container}'${l.prefix ? ` under '${l.prefix}'` : ''}`;
}
