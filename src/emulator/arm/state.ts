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
  dataDisks: { lun: number; diskId: string }[];
  vmId: string;
  /** What Run Command answers on this VM (tests set failures here). */
  runCommandResult: { succeeded: boolean; output: string };
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
  uploadSizeBytes?: number;
  osType?: string;
  tags: Record<string, string>;
  timeCreated: string;
  creationData: Record<string, unknown>;
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
}

export interface Grant {
  id: string;
  resourceId: string;
  access: 'Read' | 'Write';
  expiresAt: number;
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
}

export interface Operation {
  id: string;
  doneAt: number;
  result?: unknown;
  error?: { code: string; message: string };
  /** Applied once when the operation completes (state changes of start/deallocate and the like). */
  complete?: () => void;
  completed?: boolean;
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
