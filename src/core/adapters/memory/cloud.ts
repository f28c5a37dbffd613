import { randomBytes } from 'node:crypto';
import type { OsType } from '../../ports/compute';
import { MemoryServiceError, PageMap } from './pages';

/**
 * Azure's limits on incremental snapshots (https://learn.microsoft.com/azure/virtual-machines/disks-incremental-snapshots,
 * "Restrictions"): 500 per disk; seven per disk in five minutes; a SAS at a time for at most five snapshots of
 * one disk. Tests lower them to reach them cheaply.
 */
export interface CloudLimits {
  maxIncrementalSnapshotsPerDisk: number;
  maxSnapshotsPerWindow: number;
  snapshotWindowMs: number;
  maxOpenSnapshotSasPerDisk: number;
}

export const AZURE_SNAPSHOT_LIMITS: CloudLimits = { maxIncrementalSnapshotsPerDisk: 500, maxSnapshotsPerWindow: 7, snapshotWindowMs: 5 * 60_000, maxOpenSnapshotSasPerDisk: 5 };

export type DiskState = 'Unattached' | 'Attached' | 'ReadyToUpload' | 'ActiveUpload' | 'ActiveSAS';
export type VmPower = 'running' | 'stopped' | 'deallocated';

export interface CloudDisk {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  sizeBytes: number;
  sku: string;
  state: DiskState;
  managedBy?: string;
  uploadSizeBytes?: number;
  osType?: OsType;
  tags: Record<string, string>;
  content: PageMap;
  zones?: string[];
  hyperVGeneration?: string;
  securityType?: string;
  diskEncryptionSetId?: string;
  /** The VM guest state of a Trusted Launch / CVM disk (granted with getSecureVMGuestStateSAS). */
  guestState?: PageMap;
}

export interface CloudSnapshot {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  sizeBytes: number;
  sourceDiskId: string;
  tags: Record<string, string>;
  createdAtMs: number;
  /** Position in the source disk's lineage: a diff needs an older base of the same disk. */
  seq: number;
  content: PageMap;
  securityType?: string;
  guestState?: PageMap;
}

export interface CloudVm {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  osType: OsType;
  powerState: VmPower;
  agentReady: boolean;
  tags: Record<string, string>;
  osDiskId: string;
  dataDisks: { lun: number; diskId: string; caching?: string; writeAcceleratorEnabled?: boolean; deleteOption?: string }[];
  zones?: string[];
  securityType?: string;
  osCreateOption?: string;
  provisioningState?: string;
  /** What Run Command answers (tests set failures here). */
  runCommandResult: { succeeded: boolean; output: string };
}

export interface Grant {
  id: string;
  resourceId: string;
  access: 'Read' | 'Write';
  expiresAtMs: number;
}

export interface VmSpec {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location?: string;
  osType?: OsType;
  powerState?: VmPower;
  agentReady?: boolean;
  tags?: Record<string, string>;
  /** lun -1 is the OS disk. */
  disks: { name: string; sizeBytes: number; lun: number; sku?: string }[];
}

/** Compute answers ids with the resource group upper-cased (Azure/azure-rest-api-specs#8068); so does this fake. */
export const resourceId = (sub: string, rg: string, type: 'virtualMachines' | 'disks' | 'snapshots', name: string): string =>
  `/subscriptions/${sub}/resourceGroups/${rg.toUpperCase()}/providers/Microsoft.Compute/${type}/${name}`;

/** The subscription as ARM and the disk data plane see it: VMs, managed disks, snapshots and SAS grants. */
export class MemoryCloud {
  readonly vms = new Map<string, CloudVm>();
  readonly disks = new Map<string, CloudDisk>();
  readonly snapshots = new Map<string, CloudSnapshot>();
  readonly grants = new Map<string, Grant>();
  readonly runCommands: { vmId: string; script: string }[] = [];
  private seq = 0;

  constructor(
    readonly clock: () => number = Date.now,
    readonly limits: CloudLimits = AZURE_SNAPSHOT_LIMITS,
  ) {}

  /** ARM resource ids are case-insensitive. */
  static key(id: string): string {
    return id.toLowerCase();
  }

  nextSeq(): number {
    return ++this.seq;
  }

  vm(id: string): CloudVm | undefined {
    return this.vms.get(MemoryCloud.key(id));
  }
  disk(id: string): CloudDisk | undefined {
    return this.disks.get(MemoryCloud.key(id));
  }
  snapshot(id: string): CloudSnapshot | undefined {
    return this.snapshots.get(MemoryCloud.key(id));
  }

  requireDisk(id: string): CloudDisk {
    const d = this.disk(id);
    if (!d) throw new MemoryServiceError(404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/disks/${id.split('/').pop()}' was not found.`);
    return d;
  }

  requireVm(id: string): CloudVm {
    const v = this.vm(id);
    if (!v) throw new MemoryServiceError(404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/virtualMachines/${id.split('/').pop()}' was not found.`);
    return v;
  }

  requireSnapshot(id: string): CloudSnapshot {
    const s = this.snapshot(id);
    if (!s) throw new MemoryServiceError(404, 'ResourceNotFound', `The Resource 'Microsoft.Compute/snapshots/${id.split('/').pop()}' was not found.`);
    return s;
  }

  issueSas(resource: string, access: 'Read' | 'Write', seconds: number): string {
    const id = randomBytes(12).toString('hex');
    const expiresAtMs = this.clock() + seconds * 1000;
    this.grants.set(id, { id, resourceId: resource, access, expiresAtMs });
    const se = new Date(expiresAtMs).toISOString();
    return `https://md-memory.blob.storage.invalid/md-${id}/abcd?sv=2018-03-28&sr=b&sp=${access === 'Write' ? 'rw' : 'r'}&se=${encodeURIComponent(se)}&sig=${id}`;
  }

  revokeAll(resource: string): void {
    for (const [k, g] of this.grants) if (MemoryCloud.key(g.resourceId) === MemoryCloud.key(resource)) this.grants.delete(k);
  }

  openGrants(resource: string): Grant[] {
    return [...this.grants.values()].filter((g) => MemoryCloud.key(g.resourceId) === MemoryCloud.key(resource) && g.expiresAtMs > this.clock());
  }

  /** A data-plane SAS URL back to its live grant, or the 403 Azure answers for a revoked or expired one. */
  resolveSas(url: string, needWrite: boolean): Grant {
    const m = /\/md-([0-9a-f]+)\/abcd/.exec(new URL(url).pathname);
    const g = m ? this.grants.get(m[1]!) : undefined;
    if (!g || g.expiresAtMs <= this.clock()) throw new MemoryServiceError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. The SAS is invalid, expired or revoked.');
    if (needWrite && g.access !== 'Write') throw new MemoryServiceError(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.');
    return g;
  }

  // ---- what a subscription already has, and what the guest does (for tests) ----

  createVm(spec: VmSpec): CloudVm {
    const location = spec.location ?? 'westeurope';
    const disks = spec.disks.map((d) => {
      const id = resourceId(spec.subscriptionId, spec.resourceGroup, 'disks', d.name);
      const disk: CloudDisk = {
        id,
        name: d.name,
        subscriptionId: spec.subscriptionId,
        resourceGroup: spec.resourceGroup,
        location,
        sizeBytes: d.sizeBytes,
        sku: d.sku ?? 'Premium_LRS',
        state: 'Attached',
        tags: {},
        content: new PageMap(d.sizeBytes),
        osType: d.lun < 0 ? (spec.osType ?? 'Linux') : undefined,
      };
      this.disks.set(MemoryCloud.key(id), disk);
      return { lun: d.lun, disk };
    });
    const id = resourceId(spec.subscriptionId, spec.resourceGroup, 'virtualMachines', spec.name);
    const os = disks.find((d) => d.lun < 0) ?? disks[0]!;
    const vm: CloudVm = {
      id,
      name: spec.name,
      subscriptionId: spec.subscriptionId,
      resourceGroup: spec.resourceGroup,
      location,
      osType: spec.osType ?? 'Linux',
      powerState: spec.powerState ?? 'running',
      agentReady: spec.agentReady ?? true,
      tags: spec.tags ?? {},
      osDiskId: os.disk.id,
      dataDisks: disks.filter((d) => d !== os).map((d) => ({ lun: d.lun, diskId: d.disk.id })),
      runCommandResult: { succeeded: true, output: 'Enable succeeded' },
    };
    for (const d of disks) d.disk.managedBy = id;
    this.vms.set(MemoryCloud.key(id), vm);
    return vm;
  }

  writeDisk(diskId: string, offset: number, data: Buffer): void {
    this.requireDisk(diskId).content.write(offset, data);
  }

  trimDisk(diskId: string, offset: number, length: number): void {
    this.requireDisk(diskId).content.clear({ start: offset, end: offset + length });
  }

  readDisk(diskId: string, offset = 0, length?: number): Buffer {
    const d = this.requireDisk(diskId);
    return d.content.read({ start: offset, end: offset + (length ?? d.sizeBytes - offset) });
  }
}
