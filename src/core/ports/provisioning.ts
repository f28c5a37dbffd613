/**
 * What a restore to a new VM creates besides its disks: a network interface (Microsoft.Network) in a subnet the
 * caller names, and the VM on the restored disks (Microsoft.Compute). IDs are full ARM resource ids.
 */
import type { DataDiskAttachment } from './compute';

export interface SubnetInfo {
  id: string;
  /** The region of its virtual network: subnets have none of their own, a NIC must be in the vnet's. */
  location: string;
}

export interface NicInfo {
  id: string;
  location: string;
  subnetId?: string;
  /** The VM the NIC is attached to (Microsoft.Network answers `virtualMachine.id`). */
  virtualMachineId?: string;
  tags: Record<string, string>;
}

/** A VM size in a region, from the Compute resource SKUs. */
export interface VmSizeOffer {
  /** Zones the size can be deployed to in the region (none in a region without availability zones). */
  zones: string[];
  /** Why the subscription cannot deploy the size there (NotAvailableForSubscription, QuotaId), if restricted. */
  restricted?: string;
  /** Zones the subscription may not use for the size. */
  restrictedZones?: string[];
  /** Resource SKUs' `MaxDataDiskCount` capability: the data disks a VM of this size takes. */
  maxDataDisks?: number;
}

export interface NewVmSpec {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  vmSize: string;
  zone?: string;
  osType: 'Linux' | 'Windows';
  os: { diskId: string; caching?: string; writeAcceleratorEnabled?: boolean; deleteOption?: string };
  dataDisks: DataDiskAttachment[];
  nicId: string;
  /** TrustedLaunch when the OS disk carries that security type (the VM must match its disk). */
  securityType?: string;
  tags: Record<string, string>;
}

export interface ProvisioningPort {
  getSubnet(subnetId: string): Promise<SubnetInfo | undefined>;
  getNic(nicId: string): Promise<NicInfo | undefined>;
  /** Creates (or, for an existing name, updates) a NIC with one dynamic private IP configuration in the subnet. */
  createNic(args: { subscriptionId: string; resourceGroup: string; name: string; location: string; subnetId: string; tags: Record<string, string> }): Promise<NicInfo>;
  /** Absent is done. */
  deleteNic(nicId: string): Promise<void>;
  /** The size's offer in a region, or undefined when the region does not offer it at all. */
  vmSizeOffer(subscriptionId: string, location: string, vmSize: string): Promise<VmSizeOffer | undefined>;
  /** Creates the VM on existing disks (createOption Attach) with the NIC; resolves when it is provisioned. */
  createVm(spec: NewVmSpec): Promise<{ id: string }>;
  /** Absent is done. The VM's disks and NIC stay (they are deleted on their own). */
  deleteVm(vmId: string): Promise<void>;
}

export function parseArmId(id: string): { subscriptionId: string; resourceGroup: string; provider: string; type: string; name: string; child?: { type: string; name: string } } {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)(?:\/([^/]+)\/([^/]+))?$/i.exec(id);
  if (!m) throw new Error(`not an ARM resource id: ${id}`);
  return { subscriptionId: m[1]!, resourceGroup: m[2]!, provider: m[3]!, type: m[4]!, name: m[5]!, ...(m[6] ? { child: { type: m[6], name: m[7]! } } : {}) };
}
