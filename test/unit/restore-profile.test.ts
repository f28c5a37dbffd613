import { describe, expect, it } from 'vitest';
import { armDiskProfile, uploadDiskProperties } from '../../src/core/adapters/azure/disk-profile';
import { diskRestoreProfile, uploadProfile } from '../../src/core/workflows/restore/profile';
import type { RecoveryPointDisk } from '../../src/core/domain/model';

const point = (over: Partial<RecoveryPointDisk>): RecoveryPointDisk => ({
  diskKey: 'os',
  name: 'vm-os',
  lun: -1,
  sizeBytes: 64 * 1024 ** 3,
  shardSize: 1024 ** 4,
  shards: [],
  manifest: 'm',
  digest: 'd',
  changedBytes: 0,
  bytesUploaded: 0,
  sourceSnapshotId: 's',
  ...over,
});

describe('restore profiles (AZURE-FIDELITY B4, M6)', () => {
  // A Disk GET in the shape of DiskRP 2025-01-02 disk.json (zonal Gen2 Trusted Launch OS disk with a DES).
  const armDisk = {
    location: 'westeurope',
    sku: { name: 'Premium_LRS' },
    zones: ['2'],
    osType: 'Linux',
    hyperVGeneration: 'V2',
    creationData: { createOption: 'FromImage', logicalSectorSize: 512 },
    supportedCapabilities: { architecture: 'Arm64' },
    securityProfile: { securityType: 'TrustedLaunch' },
    encryption: { diskEncryptionSetId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/diskEncryptionSets/des1', type: 'EncryptionAtRestWithCustomerKey' },
    networkAccessPolicy: 'AllowPrivate',
    diskAccessId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/diskAccesses/da1',
    maxShares: 1,
    tags: { app: 'shop' },
  } as const;

  it('records what a restore needs from the disk and its attachment', () => {
    const p = armDiskProfile(armDisk as never, -1, { caching: 'ReadWrite', writeAcceleratorEnabled: false });
    expect(p).toMatchObject({
      sku: 'Premium_LRS',
      zones: ['2'],
      osType: 'Linux',
      hyperVGeneration: 'V2',
      logicalSectorSize: 512,
      architecture: 'Arm64',
      securityType: 'TrustedLaunch',
      diskEncryptionSetId: armDisk.encryption.diskEncryptionSetId,
      networkAccessPolicy: 'AllowPrivate',
      diskAccessId: armDisk.diskAccessId,
      tags: { app: 'shop' },
      lun: -1,
      caching: 'ReadWrite',
      writeAcceleratorEnabled: false,
    });
    expect(diskRestoreProfile({ lun: 3, diskId: 'x', name: 'x', sizeBytes: 1, sku: 'Standard_LRS' })).toEqual({ sku: 'Standard_LRS', lun: 3 });
  });

  it('creates the upload disk in the zone, generation, encryption set and network policy of the source', () => {
    const up = uploadProfile(point({ profile: armDiskProfile(armDisk as never, -1, {}) }), 'Windows');
    expect(up.sku).toBe('Premium_LRS');
    expect(up.osType).toBe('Linux');
    expect(uploadDiskProperties(up.profile)).toEqual({
      zones: ['2'],
      hyperVGeneration: 'V2',
      encryption: { diskEncryptionSetId: armDisk.encryption.diskEncryptionSetId, type: 'EncryptionAtRestWithCustomerKey' },
      networkAccessPolicy: 'AllowPrivate',
      diskAccessId: armDisk.diskAccessId,
      supportedCapabilities: { architecture: 'Arm64' },
    });
    // Trusted Launch needs the VM guest state, which an upload restore does not carry: said, not hidden.
    expect(up.warnings.join(' ')).toMatch(/TrustedLaunch/);
  });

  it('gives a ZRS disk no zone, a data disk no OS type or generation, and an Ultra disk an uploadable SKU', () => {
    expect(uploadDiskProperties({ lun: 0, sku: 'Premium_ZRS', zones: ['1'] })).toEqual({});
    const data = uploadProfile(point({ diskKey: 'lun-0', lun: 0, profile: { lun: 0, osType: 'Linux', hyperVGeneration: 'V2', sku: 'UltraSSD_LRS' } }), 'Linux');
    expect(data.osType).toBeUndefined();
    expect(data.profile.hyperVGeneration).toBeUndefined();
    expect(data.sku).toBe('Premium_LRS');
    expect(data.warnings.join(' ')).toMatch(/UltraSSD_LRS/);
  });

  it('restores a point recorded before profiles with the item OS type, as before', () => {
    const up = uploadProfile(point({ sku: undefined }), 'Windows');
    expect(up).toMatchObject({ osType: 'Windows', sku: undefined, warnings: [] });
  });
});
