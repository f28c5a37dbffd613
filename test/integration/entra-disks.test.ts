import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, fingerprint } from '../../src/emulator/guest';
import { requestRegistration, backupNow } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2;

/**
 * A disk with dataAccessAuthMode AzureActiveDirectory: "the system checks if the user has an identity in Azure
 * Active Directory and has necessary permissions to export/upload the data" (DiskRP DataAccessAuthMode,
 * aka.ms/DisksAzureADAuth; azure-compute-docs articles/virtual-machines/disks-secure-upload-download.md), on top
 * of the SAS. The app sends its identity's token for the disk audience (StorageBlobAudience.DiskComputeOAuthScopes)
 * on every read of such a disk's snapshots and every write to its restored disk; the emulator refuses the SAS
 * alone for these grants and counts, per disk, the requests that carried a bearer token.
 */
describe('Entra-only disks (dataAccessAuthMode AzureActiveDirectory) over Azurite and the emulator', () => {
  let s: AppStack;
  beforeAll(async () => {
    s = await startAppStack();
  }, 60_000);
  afterAll(async () => s?.stop());

  it('registers, backs up with the token on every read, restores byte-exact to an Entra-only disk written with the token', { timeout: 120_000 }, async () => {
    const vm = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'aad1',
      disks: [
        { name: 'aad1-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'aad1-data', sizeBytes: 64 * MIB, lun: 0, dataAccessAuthMode: 'AzureActiveDirectory' },
      ],
    });
    const rec = s.emulator.state.vm(vm.id)!;
    const dataDisk = rec.dataDisks[0]!.diskId;
    fill(s.emulator.store, EmulatorState.key(dataDisk), 3 * MIB, 20 * MIB, 5);
    fill(s.emulator.store, EmulatorState.key(rec.osDiskId), 0, 4 * MIB, 6);
    const [reg] = await requestRegistration(s.deps, [vm.id]);
    await s.drain();
    expect((await getJob(s.deps, reg!.jobId)).status).toBe('Completed');

    const itemKey = itemKeyFor(vm.id);
    const backup = await backupNow(s.deps, itemKey);
    await s.drain();
    const done = await getJob(s.deps, backup.jobId);
    expect(done.status, JSON.stringify(done.error)).toBe('Completed');
    const tally = (id: string) => s.emulator.dataStats.bearerByDisk[id.toLowerCase()];
    // Every data request on the Entra-only disk's snapshots carried the token; the ordinary disk got the SAS alone.
    expect(tally(dataDisk)!.withToken).toBeGreaterThan(0);
    expect(tally(dataDisk)!.withoutToken).toBe(0);
    expect(tally(rec.osDiskId)).toMatchObject({ withToken: 0 });
    expect(tally(rec.osDiskId)!.withoutToken).toBeGreaterThan(0);

    // The SAS alone is refused for such a snapshot: a client that stopped sending the token would fail.
    const snap = done.plan!.find((d) => d.diskKey === 'lun-0')!;
    s.emulator.clock.advance(60_000);
    const url = await s.deps.compute.grantSnapshotRead(snap.snapshotId, 300);
    const bare = await fetch(url, { headers: { 'x-ms-range': 'bytes=0-511', 'x-ms-version': '2021-12-02' } });
    expect(bare.status).toBe(403);
    expect(bare.headers.get('x-ms-error-code')).toBe('AuthorizationFailure');
    await s.deps.compute.revokeSnapshot(snap.snapshotId);

    const pointId = done.result.recoveryPointId as string;
    const restore = await requestRestore(s.deps, { itemKey, pointId, mode: 'newDisks', targetResourceGroup: 'restored', source: 'vault' });
    await s.drain();
    const r = await getJob(s.deps, restore.jobId);
    expect(r.status, JSON.stringify(r.error)).toBe('Completed');
    const restored = (r.result.disks as { diskKey: string; diskId: string }[]).find((x) => x.diskKey === 'lun-0')!;
    expect(s.emulator.state.disk(restored.diskId)!.dataAccessAuthMode).toBe('AzureActiveDirectory');
    expect(tally(restored.diskId)!.withToken).toBeGreaterThan(0);
    expect(tally(restored.diskId)!.withoutToken).toBe(0);
    const store = s.emulator.store;
    const src = EmulatorState.key(snap.snapshotId),
      dst = EmulatorState.key(restored.diskId);
    expect(fingerprint(store, dst)).toBe(fingerprint(store, src));
    expect(contentDigest(store, dst)).toBe(contentDigest(store, src));

    // From the source snapshot (instant restore, the default source while it exists): no data through the app,
    // and the copy keeps the Entra-only data access of its source.
    const instant = await requestRestore(s.deps, { itemKey, pointId, mode: 'newDisks', targetResourceGroup: 'instant', source: 'snapshot' });
    await s.drain();
    const ir = await getJob(s.deps, instant.jobId);
    expect(ir.status, JSON.stringify(ir.error)).toBe('Completed');
    const copied = (ir.result.disks as { diskKey: string; diskId: string }[]).find((x) => x.diskKey === 'lun-0')!;
    expect(s.emulator.state.disk(copied.diskId)!.dataAccessAuthMode).toBe('AzureActiveDirectory');
    expect(fingerprint(store, EmulatorState.key(copied.diskId))).toBe(fingerprint(store, src));
  });
});
