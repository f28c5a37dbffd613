import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { ComputeEmulator } from '../../../src/emulator/server';
import { computeClientFor, SUB, withEmulator } from '../../support/emulator';

const MIB = 1024 ** 2;
const fast = { updateIntervalInMs: 5 };

async function failure(p: Promise<unknown>): Promise<{ status?: number; code?: string; message?: string }> {
  try {
    await p;
    return {};
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; message?: string };
    return { status: e.statusCode, code: e.code, message: e.message };
  }
}

// Sources: azure-compute-docs articles/virtual-machines/disks-incremental-snapshots.md (background copy,
// CompletionPercent, "Snapshots of other disk types always report 100%"); DiskRP 2025-01-02 diskRPCommon.json
// SnapshotAccessState; includes/virtual-machines-disks-incremental-snapshots-restrictions.md (3 pending).
describe('incremental snapshots of Premium SSD v2 and Ultra disks copy in the background', () => {
  let emu: ComputeEmulator;
  let c: ComputeManagementClient;
  const snap = (name: string, disk: string, extra: Record<string, unknown> = {}) =>
    c.snapshots.beginCreateOrUpdateAndWait(
      'rg',
      name,
      {
        location: 'westeurope',
        incremental: true,
        creationData: { createOption: 'Copy', sourceResourceId: emu.state.disk(`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/${disk}`)!.id, ...extra },
      },
      fast,
    );
  beforeAll(async () => {
    emu = await withEmulator({ lroDelayMs: 0, fidelity: { snapshotCopyMs: 60_000 } });
    c = computeClientFor(emu);
    emu.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name: 'pv2',
      zones: ['1'],
      disks: [
        { name: 'pv2-os', sizeBytes: 32 * MIB, lun: -1 },
        { name: 'pv2-d0', sizeBytes: 32 * MIB, lun: 0, sku: 'PremiumV2_LRS' },
        { name: 'pv2-d1', sizeBytes: 32 * MIB, lun: 1, sku: 'UltraSSD_LRS' },
      ],
    });
  });
  afterAll(async () => emu?.close());

  it('a Premium SSD snapshot reports 100 and Available at once, and can be downloaded', async () => {
    const s = await snap('std', 'pv2-os');
    expect(s.completionPercent).toBe(100);
    expect(s.snapshotAccessState).toBe('Available');
    expect((await c.snapshots.beginGrantAccessAndWait('rg', 'std', { access: 'Read', durationInSeconds: 600 }, fast)).accessSAS).toMatch(/^http/);
  });

  it('a PremiumV2 snapshot is Pending, refuses grantAccess and disk creation, then reaches 100 / Available', async () => {
    const s = await snap('p1', 'pv2-d0');
    expect(s.snapshotAccessState).toBe('Pending');
    expect(s.completionPercent).toBeLessThan(100);
    const grant = await failure(c.snapshots.beginGrantAccessAndWait('rg', 'p1', { access: 'Read', durationInSeconds: 600 }, fast));
    expect(grant.status).toBe(409);
    expect(grant.code).toBe('OperationNotAllowed');
    const disk = await failure(
      c.disks.beginCreateOrUpdateAndWait(
        'rg',
        'from-p1',
        { location: 'westeurope', sku: { name: 'PremiumV2_LRS' }, zones: ['1'], creationData: { createOption: 'Copy', sourceResourceId: s.id } },
        fast,
      ),
    );
    expect(disk.status).toBe(409);
    emu.clock.advance(30_000);
    const half = await c.snapshots.get('rg', 'p1');
    expect(half.completionPercent).toBeGreaterThan(0);
    expect(half.completionPercent).toBeLessThan(100);
    emu.clock.advance(30_000);
    const done = await c.snapshots.get('rg', 'p1');
    expect(done.completionPercent).toBe(100);
    expect(done.snapshotAccessState).toBe('Available');
    // Stored as VHDX (4096-byte sectors): the grant names the format (snapshots/grant-access, GrantAccessData.fileFormat).
    const noFormat = await failure(c.snapshots.beginGrantAccessAndWait('rg', 'p1', { access: 'Read', durationInSeconds: 600 }, fast));
    expect([noFormat.status, noFormat.message]).toEqual([409, expect.stringMatching(/fileFormat VHDX/)]);
    expect((await failure(c.snapshots.beginGrantAccessAndWait('rg', 'p1', { access: 'Read', durationInSeconds: 600, fileFormat: 'VHD' }, fast))).status).toBe(409);
    expect((await c.snapshots.beginGrantAccessAndWait('rg', 'p1', { access: 'Read', durationInSeconds: 600, fileFormat: 'VHDX' }, fast)).accessSAS).toMatch(/^http/);
    expect(
      (
        await c.disks.beginCreateOrUpdateAndWait(
          'rg',
          'from-p1',
          { location: 'westeurope', sku: { name: 'PremiumV2_LRS' }, zones: ['1'], creationData: { createOption: 'Copy', sourceResourceId: s.id } },
          fast,
        )
      ).provisioningState,
    ).toBe('Succeeded');
    expect(emu.armStats.snapshotsRefusedNotReady).toBe(2);
  });

  it('with instant access the snapshot is InstantAccess (restorable, not downloadable), then AvailableWithInstantAccess, then Available', async () => {
    const s = await snap('ia', 'pv2-d1', { instantAccessDurationMinutes: 2000 });
    expect(s.snapshotAccessState).toBe('InstantAccess');
    expect((await failure(c.snapshots.beginGrantAccessAndWait('rg', 'ia', { access: 'Read', durationInSeconds: 600 }, fast))).status).toBe(409);
    await c.disks.beginCreateOrUpdateAndWait(
      'rg',
      'from-ia',
      { location: 'westeurope', sku: { name: 'UltraSSD_LRS' }, zones: ['1'], creationData: { createOption: 'Copy', sourceResourceId: s.id } },
      fast,
    );
    emu.clock.advance(60_000);
    expect((await c.snapshots.get('rg', 'ia')).snapshotAccessState).toBe('AvailableWithInstantAccess');
    emu.clock.advance((2000 * 60_000) / emu.fidelity.timeScale);
    expect((await c.snapshots.get('rg', 'ia')).snapshotAccessState).toBe('Available');
  });

  it('at most 3 snapshots per disk can be pending; a 4th is refused until one completes', async () => {
    for (const n of ['q1', 'q2', 'q3']) await snap(n, 'pv2-d0');
    const fourth = await failure(snap('q4', 'pv2-d0'));
    expect(fourth.status).toBe(409);
    expect(fourth.message).toMatch(/at most 3 can be pending/);
    emu.clock.advance(60_000);
    expect((await snap('q4', 'pv2-d0')).snapshotAccessState).toBe('Pending');
  });

  it('PremiumV2 and Ultra disks default to 4096-byte logical sectors, reported on the disk and its snapshots', async () => {
    expect((await c.disks.get('rg', 'pv2-d0')).creationData?.logicalSectorSize).toBe(4096);
    expect((await c.snapshots.get('rg', 'q4')).creationData?.logicalSectorSize).toBe(4096);
  });
});
