import { invalid } from './errors';
import type { DiskRecord, SnapshotRecord } from './state';

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
type Body = Record<string, any>;

/** Premium SSD v2 and Ultra: snapshots copy in the background, 4096-byte sectors by default. */
export const BACKGROUND_COPY_SKUS = new Set(['premiumv2_lrs', 'ultrassd_lrs']);
export const isBackgroundCopySku = (sku: string): boolean => BACKGROUND_COPY_SKUS.has(sku.toLowerCase());

const SECURITY_TYPES = [
  'TrustedLaunch',
  'ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey',
  'ConfidentialVM_DiskEncryptedWithPlatformKey',
  'ConfidentialVM_DiskEncryptedWithCustomerKey',
  'ConfidentialVM_NonPersistedTPM',
  'Standard',
];

/** Does this disk or snapshot carry VM guest state (vTPM/UEFI): Trusted Launch or Confidential VM. */
export const hasGuestState = (securityType: string | undefined): boolean => !!securityType && securityType !== 'Standard';

/**
 * The disk properties of DiskRP 2025-01-02 (disk.json, diskRPCommon.json) that change how the disk can be used:
 * checked with the enums the swagger gives, kept on the record and answered back.
 */
export function diskPropsFrom(body: Body, sku: string): Partial<DiskRecord> {
  const p = body.properties ?? {};
  const cd = p.creationData ?? {};
  const out: Partial<DiskRecord> = {};
  if (body.zones !== undefined) {
    if (!Array.isArray(body.zones) || body.zones.length > 1) throw invalid('zones must hold at most one zone.');
    // "A disk with sku 'Premium_ZRS' cannot be created in an availability zone" (Azure/terraform-azurerm-avm-res-compute-virtualmachine#236).
    if (body.zones.length && /_zrs$/i.test(sku)) throw invalid(`A disk with sku '${sku}' cannot be created in an availability zone.`);
    out.zones = body.zones.map(String);
  }
  if (p.hyperVGeneration !== undefined) {
    if (p.hyperVGeneration !== 'V1' && p.hyperVGeneration !== 'V2') throw invalid(`hyperVGeneration '${p.hyperVGeneration}' is invalid; use V1 or V2.`);
    out.hyperVGeneration = p.hyperVGeneration;
  }
  const arch = p.supportedCapabilities?.architecture;
  if (arch !== undefined) {
    if (arch !== 'x64' && arch !== 'Arm64') throw invalid(`supportedCapabilities.architecture '${arch}' is invalid; use x64 or Arm64.`);
    out.architecture = arch;
  }
  const st = p.securityProfile?.securityType;
  if (st !== undefined) {
    if (!SECURITY_TYPES.includes(st)) throw invalid(`securityProfile.securityType '${st}' is invalid.`);
    // Trusted Launch and Confidential VM disks are Gen2 only (trusted-launch.md, confidential VM docs).
    if (hasGuestState(st) && p.hyperVGeneration === 'V1') throw invalid(`securityType '${st}' needs hyperVGeneration V2.`);
    out.securityProfile = { securityType: st, secureVMDiskEncryptionSetId: p.securityProfile?.secureVMDiskEncryptionSetId };
  }
  if (p.encryption) out.encryption = { type: p.encryption.type, diskEncryptionSetId: p.encryption.diskEncryptionSetId };
  const lss = cd.logicalSectorSize;
  if (lss !== undefined) {
    if (lss !== 512 && lss !== 4096) throw invalid(`logicalSectorSize ${lss} is invalid; use 512 or 4096.`);
    // "Logical sector size ... Supported values are 512 ad 4096. 4096 is the default" and only for Ultra/PremiumV2 (diskRPCommon.json CreationData).
    if (!isBackgroundCopySku(sku)) throw invalid(`logicalSectorSize can only be set on UltraSSD_LRS and PremiumV2_LRS disks, not ${sku}.`);
    out.logicalSectorSize = lss;
  } else if (isBackgroundCopySku(sku)) out.logicalSectorSize = 4096;
  if (p.maxShares !== undefined) {
    if (!Number.isInteger(p.maxShares) || p.maxShares < 1) throw invalid('maxShares must be a positive integer.');
    out.maxShares = p.maxShares;
  }
  if (p.dataAccessAuthMode !== undefined) {
    if (p.dataAccessAuthMode !== 'AzureActiveDirectory' && p.dataAccessAuthMode !== 'None') throw invalid(`dataAccessAuthMode '${p.dataAccessAuthMode}' is invalid.`);
    out.dataAccessAuthMode = p.dataAccessAuthMode;
  }
  if (p.networkAccessPolicy !== undefined) {
    if (!['AllowAll', 'AllowPrivate', 'DenyAll'].includes(p.networkAccessPolicy)) throw invalid(`networkAccessPolicy '${p.networkAccessPolicy}' is invalid.`);
    // AllowPrivate needs a DiskAccess resource: "diskAccessId ... for using private endpoints on disks" (disk.json).
    if (p.networkAccessPolicy === 'AllowPrivate' && !p.diskAccessId) throw invalid("networkAccessPolicy 'AllowPrivate' needs a diskAccessId.");
    out.networkAccessPolicy = p.networkAccessPolicy;
    out.diskAccessId = p.diskAccessId;
  }
  return out;
}

/** What a grant's SAS needs besides itself on the data plane (a hook: the data plane decides whether to enforce). */
export function grantRequirements(
  r: Pick<DiskRecord, 'dataAccessAuthMode' | 'networkAccessPolicy'> | Pick<SnapshotRecord, 'dataAccessAuthMode' | 'networkAccessPolicy'>,
): { bearerAudience?: string; privateEndpoint?: boolean } | undefined {
  const req: { bearerAudience?: string; privateEndpoint?: boolean } = {};
  // disks-secure-upload-download.md; storage-blob StorageBlobAudience.DiskComputeOAuthScopes.
  if (r.dataAccessAuthMode === 'AzureActiveDirectory') req.bearerAudience = 'https://disk.compute.azure.com';
  if (r.networkAccessPolicy === 'AllowPrivate') req.privateEndpoint = true;
  return Object.keys(req).length ? req : undefined;
}
