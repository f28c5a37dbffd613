import type { TestProject } from 'vitest/node';
import { startAzurite, type AzuriteInstance } from '../../src/local/azurite';

let azurite: AzuriteInstance | undefined;

/** One in-memory Azurite per test run; each test file isolates itself with unique names. */
export async function setup(project: TestProject): Promise<void> {
  azurite = await startAzurite();
  project.provide('azurite', {
    connectionString: azurite.connectionString,
    blobEndpoint: azurite.blobEndpoint,
    queueEndpoint: azurite.queueEndpoint,
    tableEndpoint: azurite.tableEndpoint,
  });
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    azurite: {
      connectionString: string;
      blobEndpoint: string;
      queueEndpoint: string;
      tableEndpoint: string;
    };
  }
}
