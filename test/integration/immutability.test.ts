import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestError } from '@azure/core-rest-pipeline';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { requestRegistration, backupNow } from '../../src/core/workflows/protection/protection';
import { deletePoint, retentionRun } from '../../src/core/workflows/protection/retention';
import { getJob } from '../../src/core/jobs/jobs';
import { itemBackupsPrefix, itemKeyFor } from '../../src/core/store/layout';
import { BlobImmutableError } from '../../src/core/ports/storage';
import type { RecoveryPoint } from '../../src/core/domain/model';
import { attachPolicy } from '../../src/core/adapters/azure/attach-policy';
import { strictAzureLimitsPolicy } from '../../src/local/strict-limits';
import { azuriteAsAzureShim } from '../../src/local/azurite-shim';
import { shimImmutability } from '../../src/local/azurite-immutability';

/**
 * Immutable recovery points on the local stack. Azurite has no immutability (its Set Blob Immutability Policy
 * answers 501); the backup account's shim answers as Azure does
 * (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies,
 * https://learn.microsoft.com/rest/api/storageservices/set-blob-immutability-policy, 409 BlobImmutableDueToPolicy
 * from https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
 */
const MIB = 1024 ** 2,
  DAY = 86_400_000;

async function refusal(p: Promise<unknown>): Promise<{ status?: number; code?: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the request was expected to be refused').toBeInstanceOf(RestError);
  return { status: (err as RestError).statusCode, code: (err as RestError).code };
}

describe('immutable recovery points (Unlocked)', () => {
  let s: AppStack;
  let raw: ContainerClient;
  let itemKey: string;
  let first: RecoveryPoint;
  const realClock = shimImmutability.clock;

  beforeAll(async () => {
    s = await startAppStack({ VMBACKUP_IMMUTABILITY: 'Unlocked' });
    // Azure's clock is the emulator's, which the test moves.
    shimImmutability.clock = () => s.emulator.clock.now();
    const vm = s.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'rg', name: 'worm-vm', osType: 'Linux', disks: [{ name: 'worm-os', sizeBytes: 32 * MIB, lun: -1 }] }).id;
    itemKey = itemKeyFor(vm);
    await s.deps.repos.policies.insert({
      name: 'month',
      timeZone: 'UTC',
      schedule: { frequency: 'Weekly', daysOfWeek: ['Sunday'], times: ['02:00'] },
      retention: { dailyDays: 30 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60, thawAfterSeconds: 120 },
    });
    await requestRegistration(s.deps, [vm], 'month');
    await s.drain();
    const job = await backupNow(s.deps, itemKey);
    await s.drain();
    expect((await getJob(s.deps, job.jobId)).status).toBe('Completed');
    first = (await s.deps.repos.points.all(itemKey))[0]!;
    // A client of our own with the app's credentials (the account key in its connection string), carrying only
    // what the local stack gives every client: the strict-limits policy and the Azurite shim.
    const service = BlobServiceClient.fromConnectionString(s.azurite.connectionString);
    attachPolicy(service, strictAzureLimitsPolicy());
    attachPolicy(service, azuriteAsAzureShim());
    raw = service.getContainerClient(s.deps.config.backupContainer);
  }, 120_000);
  afterAll(async () => {
    shimImmutability.clock = realClock;
    await s?.stop();
  });

  it('gives every shard snapshot and manifest of a new point a policy until the point expires', async () => {
    expect(first.expiresAt!.getTime()).toBeGreaterThan(s.emulator.clock.now() + 29 * DAY);
    expect(first.immutabilityMode).toBe('Unlocked');
    expect(Math.abs(first.immutableUntil!.getTime() - first.expiresAt!.getTime())).toBeLessThan(1000);
    for (const d of first.disks) {
      for (const sh of d.shards) {
        const props = await raw.getBlobClient(sh.name).withSnapshot(sh.snapshot).getProperties();
        expect(props.immutabilityPolicyMode).toBe('unlocked');
        expect(Math.floor(props.immutabilityPolicyExpiresOn!.getTime() / 1000)).toBe(Math.floor(first.immutableUntil!.getTime() / 1000));
      }
      expect((await raw.getBlobClient(d.manifest).getProperties()).immutabilityPolicyMode).toBe('unlocked');
    }
  });

  it('refuses the app to delete or overwrite the point', async () => {
    const d = first.disks[0]!;
    await expect(s.deps.store.deleteShardSnapshot(d.shards[0]!.name, d.shards[0]!.snapshot)).rejects.toBeInstanceOf(BlobImmutableError);
    await expect(s.deps.store.deleteObject(d.manifest)).rejects.toBeInstanceOf(BlobImmutableError);
    await expect(s.deps.store.putObject(d.manifest, Buffer.from('tampered'))).rejects.toBeInstanceOf(BlobImmutableError);
    await expect(s.deps.store.deletePrefix(itemBackupsPrefix(itemKey))).rejects.toBeInstanceOf(BlobImmutableError);
  });

  it('refuses a raw SDK client with the app credentials the same: snapshot, base blob with its snapshots, manifest, container', async () => {
    const d = first.disks[0]!;
    const shard = raw.getBlobClient(d.shards[0]!.name);
    expect(await refusal(shard.withSnapshot(d.shards[0]!.snapshot).delete())).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(shard.delete({ deleteSnapshots: 'include' }))).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(raw.getBlockBlobClient(d.manifest).uploadData(Buffer.from('tampered')))).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(raw.getBlobClient(d.manifest).delete())).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(raw.delete())).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    // Everything is still there, and the manifest is the one the point recorded.
    expect((await raw.getBlobClient(d.manifest).downloadToBuffer()).equals(Buffer.from('tampered'))).toBe(false);
    expect((await shard.withSnapshot(d.shards[0]!.snapshot).getProperties()).contentLength).toBeGreaterThan(0);
  });

  it('lets an unlocked policy move either way, and a locked one only later (Set/Delete Blob Immutability Policy)', async () => {
    const now = s.emulator.clock.now();
    const blob = raw.getBlockBlobClient('scratch/policy-rules');
    await blob.uploadData(Buffer.from('x'));
    await blob.setImmutabilityPolicy({ expiriesOn: new Date(now + 10 * DAY), policyMode: 'Unlocked' });
    await blob.setImmutabilityPolicy({ expiriesOn: new Date(now + 5 * DAY), policyMode: 'Unlocked' }); // shortened
    expect(await refusal(blob.setImmutabilityPolicy({ expiriesOn: new Date(now - DAY), policyMode: 'Unlocked' }))).toEqual({ status: 400, code: 'InvalidHeaderValue' });
    await blob.setImmutabilityPolicy({ expiriesOn: new Date(now + 5 * DAY), policyMode: 'Locked' });
    expect(await refusal(blob.setImmutabilityPolicy({ expiriesOn: new Date(now + 4 * DAY), policyMode: 'Locked' }))).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(blob.setImmutabilityPolicy({ expiriesOn: new Date(now + 6 * DAY), policyMode: 'Unlocked' }))).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(blob.deleteImmutabilityPolicy())).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    await blob.setImmutabilityPolicy({ expiriesOn: new Date(now + 6 * DAY), policyMode: 'Locked' }); // extended
    expect((await blob.getProperties()).immutabilityPolicyMode).toBe('locked');
    expect(await refusal(raw.getBlockBlobClient('scratch/absent').setImmutabilityPolicy({ expiriesOn: new Date(now + DAY) }))).toMatchObject({ status: 404 });
  });

  it('keeps backing up: the policies are on the snapshots, so Put Page on the shards goes on', async () => {
    const job = await backupNow(s.deps, itemKey);
    await s.drain();
    expect((await getJob(s.deps, job.jobId)).status).toBe('Completed');
    expect((await s.deps.repos.points.all(itemKey)).filter((p) => p.state === 'Available' && p.immutabilityMode === 'Unlocked')).toHaveLength(2);
  }, 60_000);

  it('purges a point deleted early only once its policy has expired, without failing the run', async () => {
    await deletePoint(s.deps, itemKey, first.pointId);
    s.emulator.clock.advance(20 * DAY); // past the soft-delete window (14 days), before the policy ends (30)
    const early = await retentionRun(s.deps);
    expect(early).toMatchObject({ purged: 0, purgeDeferred: 1, failedItems: 0 });
    const d = first.disks[0]!;
    expect((await raw.getBlobClient(d.shards[0]!.name).withSnapshot(d.shards[0]!.snapshot).getProperties()).contentLength).toBeGreaterThan(0);
    s.emulator.clock.advance(11 * DAY); // the policy has expired
    const late = await retentionRun(s.deps);
    expect(late).toMatchObject({ purged: 1, purgeDeferred: 0, failedItems: 0 });
    expect(await s.deps.repos.points.get(itemKey, first.pointId)).toBeUndefined();
    expect((await refusal(raw.getBlobClient(d.shards[0]!.name).withSnapshot(d.shards[0]!.snapshot).getProperties())).status).toBe(404);
  }, 60_000);
});
