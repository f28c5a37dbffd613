import { describe, expect, it, inject } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { startAzurite } from '../../src/local/azurite';
import { uniqueName, uniqueTableName } from '../support/names';

describe('Azurite harness', () => {
  it('serves blob, queue and table with the injected connection string', async () => {
    const { connectionString } = inject('azurite');
    const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(uniqueName('h'));
    await container.create();
    const blob = container.getPageBlobClient('p');
    await blob.create(1024);
    await blob.uploadPages(Buffer.alloc(512, 7), 512, 512);
    const buf = await blob.downloadToBuffer(512, 512);
    expect(buf.equals(Buffer.alloc(512, 7))).toBe(true);

    const queue = QueueServiceClient.fromConnectionString(connectionString).getQueueClient(uniqueName('q'));
    await queue.create();
    await queue.sendMessage('hello');
    const got = await queue.receiveMessages();
    expect(got.receivedMessageItems[0]?.messageText).toBe('hello');

    const table = TableClient.fromConnectionString(connectionString, uniqueTableName('t'), { allowInsecureConnection: true });
    await table.createTable();
    await table.createEntity({ partitionKey: 'p', rowKey: 'r', n: 1 });
    expect((await table.getEntity<{ n: number }>('p', 'r')).n).toBe(1);
  });

  it('starts a second instance on other free ports and stops it without a stray process', async () => {
    const { blobEndpoint } = inject('azurite');
    const az = await startAzurite();
    expect(az.blobEndpoint).not.toBe(blobEndpoint);
    const pid = az.pid;
    await az.stop();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
