export type PowerState = 'running' | 'stopped' | 'deallocated';
export type DiskState = 'Unattached' | 'Attached' | 'ReadyToUpload' | 'ActiveUpload' | 'ActiveSAS';

export interface VmRecord {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  vmSize: string;
  osType: 'Linux' | 'Windows';
  powerState: PowerState;
  agentReady: boolean;
  tags: Record<string, string>;
  osDiskId: string;
  /** Each attachment keeps its own settings (VirtualMachine storageProfile.dataDisks: caching, writeAcceleratorEnabled, deleteOption). */
  dataDisks: { lun: number; diskId: string; caching?: string; writeAcceleratorEnabled?: boolean; deleteOption?: string }[];
  vmId: string;
  /** What Run Command answers on this VM (tests set failures here): a forced outcome, instead of the guest model's. */
  runCommandResult: { succeeded: boolean; output: string };
  /** How the OS disk was created: `FromImage` for image-based VMs (what Azure reports for them), `Attach` otherwise. */
  osCreateOption: 'FromImage' | 'Attach';
  zones?: string[];
  securityProfile?: { securityType?: string; uefiSettings?: { secureBootEnabled?: boolean; vTpmEnabled?: boolean } };
  /** Ephemeral OS disk (`diffDiskSettings`): the OS disk is no managed-disk resource (GET answers 404). */
  ephemeralOs?: { option: string; placement?: string };
  osWriteAccelerator?: boolean;
  /** Unmanaged (VHD in a storage account) data disks: part of the VM model, no Microsoft.Compute disk resource. */
  unmanagedDataDisks: { lun: number; name: string; vhdUri: string }[];
  /** networkProfile.networkInterfaces (Microsoft.Network NICs, network.ts); seeded VMs have none. */
  networkInterfaces?: { id: string; primary?: boolean; deleteOption?: string }[];
}

/** Microsoft.Network virtual network with its subnets (network.ts). */
export interface VnetRecord {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  addressPrefixes: string[];
  subnets: { name: string; addressPrefix: string }[];
  tags: Record<string, string>;
}

/** Microsoft.Network network interface: one IP configuration in a subnet, attached to at most one VM. */
export interface NicRecord {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  subnetId: string;
  privateIPAddress: string;
  virtualMachineId?: string;
  tags: Record<string, string>;
}

export interface DiskRecord {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  sizeBytes: number;
  sku: string;
  state: DiskState;
  managedBy?: string;
  /** Every VM a shared disk (maxShares > 1) is attached to. */
  managedByExtended?: string[];
  uploadSizeBytes?: number;
  osType?: string;
  tags: Record<string, string>;
  timeCreated: string;
  creationData: Record<string, unknown>;
  zones?: string[];
  hyperVGeneration?: 'V1' | 'V2';
  architecture?: 'x64' | 'Arm64';
  securityProfile?: { securityType?: string; secureVMDiskEncryptionSetId?: string };
  encryption?: { type?: string; diskEncryptionSetId?: string };
  logicalSectorSize?: number;
  maxShares?: number;
  dataAccessAuthMode?: string;
  networkAccessPolicy?: string;
  diskAccessId?: string;
  /** Ephemeral OS disks live on the host: the resource is hidden from ARM (GET 404, no snapshot). */
  ephemeral?: boolean;
  /**
   * The disk instance's `uniqueId` (disk.json "Unique Guid identifying the resource"): a disk deleted and created
   * again under the same name is another instance, so its snapshots get another sourceUniqueId and family.
   * Absent on state saved before it was kept (then derived from the id).
   */
  uniqueId?: string;
}

export interface SnapshotRecord {
  id: string;
  name: string;
  resourceGroup: string;
  subscriptionId: string;
  location: string;
  sizeBytes: number;
  incremental: boolean;
  sourceDiskId: string;
  tags: Record<string, string>;
  timeCreated: string;
  createdAtMs: number;
  /** The source disk's SKU: PremiumV2_LRS and UltraSSD_LRS snapshots copy in the background. */
  sourceSku: string;
  /** Clock time at which the background copy reaches 100 % (= createdAtMs for other SKUs). */
  copyDoneAtMs: number;
  /** Clock time until which an instant-access snapshot stays instantly restorable (creationData.instantAccessDurationMinutes). */
  instantAccessUntilMs?: number;
  /** Copied from the source disk so grants can say what the data plane must ask for. */
  hyperVGeneration?: string;
  securityType?: string;
  osType?: string;
  logicalSectorSize?: number;
  dataAccessAuthMode?: string;
  networkAccessPolicy?: string;
  sourceUniqueId: string;
}

export interface Grant {
  id: string;
  resourceId: string;
  access: 'Read' | 'Write';
  expiresAt: number;
  /**
   * Data-plane hook (not enforced by the ARM side): a SAS of a disk with dataAccessAuthMode AzureActiveDirectory
   * also needs a bearer token for this audience; one of a disk with networkAccessPolicy AllowPrivate works only
   * through a private endpoint (disks-secure-upload-download.md; Azure/azure-storage-azcopy#2667).
   */
  requires?: { bearerAudience?: string; privateEndpoint?: boolean };
}

export interface GrantRecord extends Grant {
  issuedAt: number;
  seconds: number;
  revokedAt?: number;
}

export interface RunCommandRecord {
  vmId: string;
  commandId: string;
  script: string[];
  at: number;
  /** Set when the script has run in the guest (its effect applied), whether or not anyone collected the result. */
  finishedAt?: number;
  exitStatus?: number;
  /** The result was fetched by a client; false after completion means the client gave up (aborted). */
  collected?: boolean;
  /** Fault mode: the script ran, but its result never came back (the LRO never completes). */
  neverAnswered?: boolean;
}

export interface Operation {
  id: string;
  doneAt: number;
  result?: unknown;
  error?: { code: string; message: string };
  /** Applied once when the operation completes (state changes of start/deallocate and the like). */
  complete?: () => void;
  completed?: boolean;
  /** Called when a client fetches the final result (Run Command counts results nobody collected). */
  collected?: () => void;
}

export class EmulatorState {
  vms = new Map<string, VmRecord>();
  disks = new Map<string, DiskRecord>();
  snapshots = new Map<string, SnapshotRecord>();
  grants = new Map<string, Grant>();
  /** Every SAS ever issued, kept after revocation: what least-privilege and revocation tests audit. */
  grantLog: GrantRecord[] = [];
  operations = new Map<string, Operation>();
  runCommands: RunCommandRecord[] = [];
  vnets = new Map<string, VnetRecord>();
  nics = new Map<string, NicRecord>();

  static key(id: string): string {
    return id.toLowerCase();
  }
  vm(id: string): VmRecord | undefined {
    return this.vms.get(EmulatorState.key(id));
  }
  disk(id: string): DiskRecord | undefined {
    return this.disks.get(EmulatorState.key(id));
  }
  snapshot(id: string): SnapshotRecord | undefined {
    return this.snapshots.get(EmulatorState.key(id));
  }
  grantsOf(resourceId: string): Grant[] {
    return [...this.grants.values()].filter((g) => EmulatorState.key(g.resourceId) === EmulatorState.key(resourceId));
  }
}

export function resourceId(sub: string, rg: string, type: 'virtualMachines' | 'disks' | 'snapshots', name: string): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/${type}/${name}`;
}

/**
 * The id Compute answers with: the resource-group segment in its own upper casing, "by design" (Drewm3 in
 * Azure/azure-rest-api-specs#8068 and #10016; MicrosoftDocs/azure-docs#36222). Lookups stay case-insensitive.
 */
export function computeId(sub: string, rg: string, type: 'virtualMachines' | 'disks' | 'snapshots', name: string, upperRg: boolean): string {
  return resourceId(sub, upperRg ? rg.toUpperCase() : rg, type, name);
}

/** The disk instance's uniqueId: kept on the record, or derived from the id for state saved before it was kept. */
export const diskUniqueId = (d: Pick<DiskRecord, 'id' | 'uniqueId'>): string => d.uniqueId ?? uniqueIdOf(d.id);

/** A stable per-resource id, as Azure's uniqueId / sourceUniqueId. */
export function uniqueIdOf(id: string): string {
  let h = 0x811c9dc5;
  for (const ch of id.toLowerCase()) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return `${h.toString(16).padStart(8, '0')}-0000-4000-8000-${id.length.toString(16).padStart(12, '0')}`;
}
