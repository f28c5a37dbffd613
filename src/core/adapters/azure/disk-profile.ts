import type { ComputeManagementClient, Disk, GrantAccessData } from '@azure/arm-compute';
import { parseResourceId, type DiskRestoreProfile, type GuestStateAccess, type OsType } from '../../ports/compute';

/**
 * The restore profile of a disk from its ARM GET (DiskRP 2025-01-02 disk.json DiskProperties) and the VM's
 * attachment of it (caching, writeAcceleratorEnabled: VirtualMachine storageProfile dataDisks/osDisk).
 */
export function armDiskProfile(d: Disk, lun: number, attach: { caching?: string; writeAcceleratorEnabled?: boolean; deleteOption?: string }): DiskRestoreProfile {
  return {
    sku: d.sku?.name,
    zones: d.zones?.length ? [...d.zones] : undefined,
    osType: d.osType as OsType | undefined,
    hyperVGeneration: d.hyperVGeneration as DiskRestoreProfile['hyperVGeneration'],
    logicalSectorSize: d.creationData?.logicalSectorSize,
    architecture: d.supportedCapabilities?.architecture,
    securityType: d.securityProfile?.securityType,
    diskEncryptionSetId: d.encryption?.diskEncryptionSetId,
    encryptionType: d.encryption?.type,
    networkAccessPolicy: d.networkAccessPolicy,
    diskAccessId: d.diskAccessId,
    dataAccessAuthMode: d.dataAccessAuthMode,
    maxShares: d.maxShares,
    tags: d.tags && Object.keys(d.tags).length ? { ...d.tags } : undefined,
    lun,
    caching: attach.caching,
    writeAcceleratorEnabled: attach.writeAcceleratorEnabled,
    deleteOption: attach.deleteOption,
  };
}

/**
 * The disk settings an Upload disk takes from a profile. Direct upload names SKU, zone, Hyper-V generation and
 * OS type as upload-time settings (learn.microsoft.com/powershell/module/az.compute/add-azvhd,
 * DirectUploadToManagedDiskSet); encryption with a disk encryption set and the network policy are ordinary
 * disk properties (disk.json Encryption, networkAccessPolicy). A zone only for non-ZRS SKUs: "A disk with sku
 * 'Premium_ZRS' cannot be created in an availability zone" (AZURE-FIDELITY M6).
 */
export function uploadDiskProperties(p: DiskRestoreProfile | undefined): Partial<Disk> {
  if (!p) return {};
  const zonal = p.zones?.length && !/_ZRS$/i.test(p.sku ?? '');
  return {
    ...(zonal ? { zones: p.zones } : {}),
    ...(p.hyperVGeneration ? { hyperVGeneration: p.hyperVGeneration } : {}),
    ...(p.diskEncryptionSetId ? { encryption: { diskEncryptionSetId: p.diskEncryptionSetId, type: p.encryptionType ?? 'EncryptionAtRestWithCustomerKey' } } : {}),
    ...(p.networkAccessPolicy ? { networkAccessPolicy: p.networkAccessPolicy, ...(p.diskAccessId ? { diskAccessId: p.diskAccessId } : {}) } : {}),
    ...(p.architecture ? { supportedCapabilities: { architecture: p.architecture } } : {}),
    // A restored Entra-only disk stays Entra-only (dataAccessAuthMode, disk.json DiskProperties).
    ...(p.dataAccessAuthMode ? { dataAccessAuthMode: p.dataAccessAuthMode } : {}),
  };
}

/**
 * The settings a disk created from a snapshot (createOption Copy) takes from a profile: those of an upload disk,
 * plus what Copy keeps that an upload cannot: the security type, whose VM guest state a Trusted Launch snapshot
 * carries (snapshots answer getSecureVMGuestStateSAS: diskRPCommon.json GrantAccessData) and which a disk is
 * given at creation (securityProfile.securityType, disk.json; Set-AzDiskSecurityProfile,
 * learn.microsoft.com/powershell/module/az.compute/set-azdisksecurityprofile), and maxShares (disk.json). Size and
 * sector size come from the snapshot.
 */
export function copyDiskProperties(p: DiskRestoreProfile | undefined): Partial<Disk> {
  if (!p) return {};
  return {
    ...uploadDiskProperties(p),
    ...(p.securityType && p.securityType !== 'Standard' ? { securityProfile: { securityType: p.securityType as never } } : {}),
    ...(p.maxShares && p.maxShares > 1 ? { maxShares: p.maxShares } : {}),
  };
}

/**
 * The creation data of an upload disk. Direct upload takes a fixed VHD: the data and a 512-byte footer, which the
 * restore writes last. A Trusted Launch disk with its VM guest state is created with UploadPreparedSecure, "Similar
 * to Upload create option. Create a new Trusted Launch VM or Confidential VM supported disk and upload using write
 * token in disk, VM guest state and VM metadata" (DiskCreateOption, learn.microsoft.com/dotnet/api/
 * azure.resourcemanager.compute.models.diskcreateoption.uploadpreparedsecure), with its securityProfile.
 */
export function uploadCreation(sizeBytes: number, secure: boolean | undefined, p: DiskRestoreProfile | undefined): Partial<Disk> {
  const creationData = { createOption: secure ? 'UploadPreparedSecure' : 'Upload', uploadSizeBytes: sizeBytes + 512 } as const;
  return secure && p?.securityType ? { creationData, securityProfile: { securityType: p.securityType as never } } : { creationData };
}

/** Grant Access with getSecureVMGuestStateSAS (Disks - Grant Access, Snapshots - Grant Access) of a disk or a snapshot. */
export async function grantWithGuestState(c: ComputeManagementClient, id: string, access: 'Read' | 'Write', seconds: number, lro: { updateIntervalInMs?: number }): Promise<GuestStateAccess> {
  const r = parseResourceId(id);
  const data: GrantAccessData = { access, durationInSeconds: seconds, getSecureVMGuestStateSAS: true };
  const g =
    r.type.toLowerCase() === 'snapshots' ? await c.snapshots.beginGrantAccessAndWait(r.resourceGroup, r.name, data, lro) : await c.disks.beginGrantAccessAndWait(r.resourceGroup, r.name, data, lro);
  return { accessSAS: g.accessSAS!, securityDataAccessSAS: g.securityDataAccessSAS };
}
