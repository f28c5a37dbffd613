import { beforeEach, describe, expect, it, inject } from 'vitest';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { TableClient, TableTransaction } from '@azure/data-tables';
import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { clearStrictLimitViolations, strictAzureLimitsPolicy, strictLimitViolations } from '../../src/local/strict-limits';
import { attachPolicy } from '../../src/core/adapters/azure/attach-policy';
import { uniqueName, uniqueTableName } from '../support/names';

const MIB = 1024 * 1024;

async function rule(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { rule?: string }).rule ?? `not a violation: ${(err as Error).message}`;
  }
}

describe('strict Azure limits policy against Azurite', () => {
  const conn = (): string => inject('azurite').connectionString;
  let container: ContainerClient;

  beforeEach(async () => {
    clearStrictLimitViolations();
    const svc = BlobServiceClient.fromConnectionString(conn());
    attachPolicy(svc, strictAzureLimitsPolicy());
    container = svc.getContainerClient(uniqueName('strict'));
    await container.create();
  });

  it('rejects Put Page over 4 MiB, unaligned or past the end, and lets the exact limits through', async () => {
    const blob = container.getPageBlobClient('disk');
    await blob.create(16 * MIB);
    expect(await rule(blob.uploadPages(Buffer.alloc(4 * MIB + 512), 0, 4 * MIB + 512))).toBe('PutPageSize');
    expect(await rule(blob.uploadPages(Buffer.alloc(512), 100, 512))).toBe('PutPageAlignment');
    expect(await rule(blob.uploadPages(Buffer.alloc(1000), 0, 1000))).toBe('PutPageAlignment');
    expect(await rule(blob.uploadPages(Buffer.alloc(1024), 16 * MIB - 512, 1024))).toBe('PageBeyondEnd');
    expect(await rule(blob.clearPages(16 * MIB, 512))).toBe('PageBeyondEnd');
    expect(await rule(blob.uploadPages(Buffer.alloc(4 * MIB, 1), 0, 4 * MIB))).toBeUndefined();
    expect(await rule(blob.uploadPages(Buffer.alloc(512, 2), 16 * MIB - 512, 512))).toBeUndefined();
    expect((await blob.downloadToBuffer(16 * MIB - 512, 512))[0]).toBe(2);
    // The size is learnt by asking when the policy did not see the create.
    const other = BlobServiceClient.fromConnectionString(conn());
    attachPolicy(other, strictAzureLimitsPolicy());
    const again = other.getContainerClient(container.containerName).getPageBlobClient('disk');
    expect(await rule(again.uploadPages(Buffer.alloc(512), 16 * MIB, 512))).toBe('PageBeyondEnd');
    expect(strictLimitViolations().map((v) => v.rule)).toContain('PutPageSize');
  });

  it('rejects page blob sizes Azure cannot hold', async () => {
    expect(await rule(container.getPageBlobClient('odd').create(1000))).toBe('PageBlobSize');
    expect(await rule(container.getPageBlobClient('huge').create(9 * 1024 ** 4))).toBe('PageBlobSize');
  });

  it('rejects table keys, entities and transactions Azure rejects', async () => {
    const table = TableClient.fromConnectionString(conn(), uniqueTableName('strict'), {
      allowInsecureConnection: true,
      additionalPolicies: [{ policy: strictAzureLimitsPolicy(), position: 'perCall' }],
    });
    await table.createTable();
    for (const bad of ['a/b', 'a\\b', 'a#b', 'a?b', 'a\u0001b']) {
      expect(await rule(table.createEntity({ partitionKey: 'p', rowKey: bad }))).toBe('TableKeyCharacters');
    }
    expect(await rule(table.getEntity('p', 'x/y'))).toBe('TableKeyCharacters');
    expect(await rule(table.createEntity({ partitionKey: 'p', rowKey: 'big', v: 'x'.repeat(40_000) }))).toBe('TablePropertySize');
    const fat: Record<string, string> = {};
    for (let i = 0; i < 20; i++) fat[`p${i}`] = 'y'.repeat(30_000);
    expect(await rule(table.createEntity({ partitionKey: 'p', rowKey: 'fat', ...fat }))).toBe('TableEntitySize');
    expect(await rule(table.createEntity({ partitionKey: 'p', rowKey: 'ünïcødé ok', v: 'x'.repeat(30_000) }))).toBeUndefined();

    const tx = new TableTransaction();
    for (let i = 0; i < 101; i++) tx.createEntity({ partitionKey: 'p', rowKey: `r${i}` });
    expect(await rule(table.submitTransaction(tx.actions))).toBe('TableBatchSize');
    // The SDK itself refuses mixed partitions, so the rule is checked on a hand-made $batch request.
    const body = ['a', 'b'].map((pk) => `POST ${table.url}/t HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{"PartitionKey":"${pk}","RowKey":"1"}`).join('\r\n--changeset\r\n');
    const req = createPipelineRequest({ url: `${table.url.replace(/\/[^/]*$/, '')}/$batch`, method: 'POST', body, headers: createHttpHeaders({ 'content-type': 'multipart/mixed' }) });
    expect(
      await rule(
        strictAzureLimitsPolicy().sendRequest(req, async () => {
          throw new Error('must not be sent');
        }),
      ),
    ).toBe('TableBatchPartitions');
    const ok = new TableTransaction();
    for (let i = 0; i < 100; i++) ok.createEntity({ partitionKey: 'q', rowKey: `r${i}` });
    expect(await rule(table.submitTransaction(ok.actions))).toBeUndefined();
    let n = 0;
    for await (const _ of table.listEntities({ queryOptions: { filter: "PartitionKey eq 'q'" } })) n++;
    expect(n).toBe(100);
  });

  it('rejects queue messages over 64 KiB', async () => {
    const svc = QueueServiceClient.fromConnectionString(conn());
    attachPolicy(svc, strictAzureLimitsPolicy());
    const q = svc.getQueueClient(uniqueName('strict'));
    await q.create();
    expect(await rule(q.sendMessage('x'.repeat(64 * 1024 + 1)))).toBe('QueueMessageSize');
    expect(await rule(q.sendMessage('x'.repeat(60 * 1024)))).toBeUndefined();
    expect((await q.receiveMessages()).receivedMessageItems).toHaveLength(1);
  });
});
