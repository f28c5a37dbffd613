import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../src/core/config';

describe('loadConfig', () => {
  it('lists every missing or invalid setting at once', () => {
    let err: unknown;
    try {
      loadConfig({ VMBACKUP_COPY_CONCURRENCY: 'many', VMBACKUP_SHARD_SIZE_MIB: '6', VMBACKUP_BACKUP_CONTAINER: 'Bad_Name' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/VMBACKUP_SUBSCRIPTION_IDS/);
    expect(problems).toMatch(/VMBACKUP_STORAGE/);
    expect(problems).toMatch(/VMBACKUP_COPY_CONCURRENCY/);
    expect(problems).toMatch(/VMBACKUP_BACKUP_CONTAINER/);
  });

  it('accepts the sample settings and applies defaults', () => {
    const sample = JSON.parse(readFileSync('local.settings.sample.json', 'utf8')).Values as Record<string, string>;
    const c = loadConfig(sample);
    expect(c.subscriptionIds).toEqual(['00000000-0000-0000-0000-000000000001']);
    expect(c.copy.concurrency).toBe(16);
    expect(c.copy.shardSize).toBe(256 * 1024 ** 3); // a 1 TiB disk spans 4 page blobs (#15)
    expect(c.storage.kind).toBe('connectionString');
  });

  it('uses the managed identity when only service URIs are given', () => {
    const c = loadConfig({
      VMBACKUP_SUBSCRIPTION_IDS: 'a, b',
      VMBACKUP_STORAGE__blobServiceUri: 'https://acct.blob.core.windows.net',
      VMBACKUP_STORAGE__queueServiceUri: 'https://acct.queue.core.windows.net',
      VMBACKUP_STORAGE__tableServiceUri: 'https://acct.table.core.windows.net',
    });
    expect(c.storage.kind).toBe('identity');
    expect(c.subscriptionIds).toEqual(['a', 'b']);
  });
});
