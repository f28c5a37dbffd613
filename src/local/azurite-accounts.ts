import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableServiceClient } from '@azure/data-tables';
import { DEV_ACCOUNT, DEV_KEY } from './azurite';

/** One storage account: what a stack's app settings and clients need. */
export interface StorageAccount {
  name: string;
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
}

/**
 * Accounts a shared Azurite serves besides the development one. The app's queue names are fixed (the trigger
 * bindings name them), so two stacks on one account would consume each other's messages: each stack takes a
 * whole account instead. Azurite reads its accounts from AZURITE_ACCOUNTS at start
 * (https://github.com/Azure/Azurite#customized-storage-accounts--keys), so the pool is fixed in advance.
 */
export const ACCOUNT_POOL_SIZE = 96;
const accountName = (i: number): string => `vmbstack${i}`;

/** The AZURITE_ACCOUNTS value for a shared Azurite: the development account and the pool, all with its key. */
export function sharedAccountsSetting(): string {
  return [DEV_ACCOUNT, ...Array.from({ length: ACCOUNT_POOL_SIZE }, (_, i) => accountName(i))].map((a) => `${a}:${DEV_KEY}`).join(';');
}

/** Whether an Azurite started with this environment serves the pool. */
export function servesAccountPool(env: Record<string, string | undefined> = process.env): boolean {
  return (env.AZURITE_ACCOUNTS ?? '').includes(`${accountName(ACCOUNT_POOL_SIZE - 1)}:`);
}

/** The same Azurite endpoints (`http://host:port/<account>`) for another account. */
export function accountOn(devEndpoints: { blobEndpoint: string; queueEndpoint: string; tableEndpoint: string }, name: string): StorageAccount {
  const swap = (endpoint: string): string => `${endpoint.slice(0, endpoint.lastIndexOf('/'))}/${name}`;
  const blobEndpoint = swap(devEndpoints.blobEndpoint),
    queueEndpoint = swap(devEndpoints.queueEndpoint),
    tableEndpoint = swap(devEndpoints.tableEndpoint);
  const connectionString = [
    'DefaultEndpointsProtocol=http',
    `AccountName=${name}`,
    `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=${blobEndpoint}`,
    `QueueEndpoint=${queueEndpoint}`,
    `TableEndpoint=${tableEndpoint}`,
  ].join(';');
  return { name, connectionString, blobEndpoint, queueEndpoint, tableEndpoint };
}

/**
 * Takes an unused account of the pool on the Azurite at these endpoints. Test files run in several worker
 * processes: creating a marker folder is atomic, so exactly one process gets each account. Never handed out
 * twice in one Azurite's life (its port is in the folder name), so no stack sees another's leftovers.
 */
export function claimAccount(devEndpoints: { blobEndpoint: string; queueEndpoint: string; tableEndpoint: string }): StorageAccount {
  const dir = path.join(tmpdir(), `vmb-accounts-${new URL(devEndpoints.blobEndpoint).port}`);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < ACCOUNT_POOL_SIZE; i++) {
    try {
      mkdirSync(path.join(dir, String(i)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    return accountOn(devEndpoints, accountName(i));
  }
  throw new Error(`All ${ACCOUNT_POOL_SIZE} accounts of the shared Azurite are taken: raise ACCOUNT_POOL_SIZE`);
}

/** Deletes every container, queue and table of an account, so a shared in-memory Azurite gives the memory back. */
export async function emptyAccount(account: StorageAccount): Promise<void> {
  const blobs = BlobServiceClient.fromConnectionString(account.connectionString);
  const queues = QueueServiceClient.fromConnectionString(account.connectionString);
  const tables = TableServiceClient.fromConnectionString(account.connectionString, { allowInsecureConnection: true });
  const names = async <T>(it: AsyncIterable<T>, name: (x: T) => string | undefined): Promise<string[]> => {
    const out: string[] = [];
    for await (const x of it) {
      const n = name(x);
      if (n) out.push(n);
    }
    return out;
  };
  await Promise.all([
    ...(await names(blobs.listContainers(), (c) => c.name)).map((n) => blobs.deleteContainer(n)),
    ...(await names(queues.listQueues(), (q) => q.name)).map((n) => queues.deleteQueue(n)),
    ...(await names(tables.listTables(), (t) => t.name)).map((n) => tables.deleteTable(n)),
  ]);
}
