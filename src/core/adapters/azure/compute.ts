import { ComputeManagementClient, type ComputeManagementClientOptionalParams, type Disk, type VirtualMachine } from '@azure/arm-compute';
import { pollThrough, withArmThrottle } from './arm-throttle';
import type { TokenCredential } from '@azure/core-auth';
import {
  parseResourceId,
  type ComputePort,
  type DataDiskAttachment,
  type DiskInfo,
  type GuestStateAccess,
  type OsType,
  type RunCommandResult,
  type SnapshotFileFormat,
  type SnapshotInfo,
  type VmInfo,
} from '../../ports/compute';
import { snapshotInfoOf, snapshotLimitError } from './snapshot-info';
import { interpretRunCommand } from './run-command-result';
import { ignore404, orUndefined, status } from './arm-status';
import { runCommandBusy } from '../../errors';
import { copyDiskProperties, grantWithGuestState, uploadCreation, uploadDiskProperties } from './disk-profile';
import { attachDataDisks, detachDataDisks, swapOsDisk } from './vm-disks';
import { diskSizeOf, toVmInfo, type DiskSize, type DiskSizer } from './vm-info';
const GIB = 1024 ** 3;

export interface ArmComputeOptions {
  credential: TokenCredential;
  subscriptionIds: string[];
  /** Only for the local emulator; production uses the public ARM endpoint. */
  endpoint?: string;
  clientOptions?: ComputeManagementClientOptionalParams;
  /** Long-running operation polling interval; Azure's Retry-After is honoured when it is absent. */
  pollIntervalMs?: number;
  /** Only for an emulator on compressed time: local duration = Azure duration / timeScale (Run Command waits). */
  timeScale?: number;
  /** Azure's incremental snapshots per disk (default 500, snapshot-info.ts). */
  snapshotsPerDisk?: number;
}

/** Pause before asking again when Run Command answers 409 Conflict (another script still runs on the VM). */
const RUN_COMMAND_BUSY_RETRY_SECONDS = 5;
/** Polling of a running script (20 s at least): about ten reads per script, on the scaled clock. */
const RUN_COMMAND_POLL_SECONDS = 2;
/** The request that hands a script over answers at once (202, or 409 while another runs); this bounds a hung one. */
const RUN_COMMAND_SUBMIT_SECONDS = 60;

/** ComputePort on @azure/arm-compute: one client per subscription. */
export class ArmComputeAdapter implements ComputePort {
  private clients = new Map<string, ComputeManagementClient>();

  constructor(private readonly o: ArmComputeOptions) {}

  private client(subscriptionId: string): ComputeManagementClient {
    let c = this.clients.get(subscriptionId);
    if (!c) {
      c = new ComputeManagementClient(this.o.credential, subscriptionId, { ...withArmThrottle(this.o.clientOptions), ...(this.o.endpoint ? { endpoint: this.o.endpoint } : {}) });
      this.clients.set(subscriptionId, c);
    }
    return c;
  }

  private lro(): { updateIntervalInMs?: number } {
    return this.o.pollIntervalMs !== undefined ? { updateIntervalInMs: this.o.pollIntervalMs } : {};
  }

  private async diskSize(diskId: string | undefined, sizeGb: number | undefined, lun: number, attach: Parameters<DiskSizer>[3], listed?: Map<string, Disk>): Promise<DiskSize> {
    if (!diskId) return { bytes: (sizeGb ?? 0) * GIB };
    return diskSizeOf(listed?.get(diskId.toLowerCase()) ?? (await this.getDiskRaw(diskId)), sizeGb, lun, attach);
  }

  private async getDiskRaw(diskId: string) {
    const r = parseResourceId(diskId);
    return orUndefined(this.client(r.subscriptionId).disks.get(r.resourceGroup, r.name));
  }

  private toVmInfo(vm: VirtualMachine, withView: VirtualMachine | undefined, listed?: Map<string, Disk>): Promise<VmInfo> {
    return toVmInfo(vm, withView, (id, gb, lun, attach) => this.diskSize(id, gb, lun, attach, listed));
  }

  /**
   * Three paged lists per subscription instead of a GET per VM and per disk (AZURE-FIDELITY m9): the VMs, their
   * run-time status ("statusOnly=true enables fetching run time status of all Virtual Machines in the
   * subscription", https://learn.microsoft.com/rest/api/compute/virtual-machines/list-all), and the disks
   * (https://learn.microsoft.com/rest/api/compute/disks/list). Joined by id, so nothing depends on what else the
   * status list carries.
   */
  async *listVms(subscriptionId: string): AsyncIterable<VmInfo> {
    const c = this.client(subscriptionId);
    const views = new Map<string, VirtualMachine>();
    for await (const v of c.virtualMachines.listAll({ statusOnly: 'true' })) if (v.id) views.set(v.id.toLowerCase(), v);
    const disks = new Map<string, Disk>();
    for await (const d of c.disks.list()) if (d.id) disks.set(d.id.toLowerCase(), d);
    for await (const vm of c.virtualMachines.listAll()) yield this.toVmInfo(vm, views.get(vm.id!.toLowerCase()), disks);
  }

  async getVm(vmId: string): Promise<VmInfo | undefined> {
    const r = parseResourceId(vmId);
    const vm = await orUndefined(this.client(r.subscriptionId).virtualMachines.get(r.resourceGroup, r.name, { expand: 'instanceView' }));
    return vm ? this.toVmInfo(vm, vm) : undefined;
  }

  /**
   * The action Run Command, waited for at most `timeoutSeconds` (Azure seconds) in all. Azure runs one script at
   * a time per VM and answers 409 Conflict to the next (azure-compute-docs articles/virtual-machines/linux/
   * run-command.md, Restrictions; the message quoted in MicrosoftDocs/azure-docs#43356): that one is retried
   * within the time left, since the script ahead of it (an aborted freeze, say) cannot be cancelled and ends on
   * its own. An abort stops the waiting only; the script still runs in the guest. The verdict comes from the
   * script's exit status (run-command-result.ts), not from the operation's state.
   */
  async runCommand(vmId: string, osType: OsType, script: string, timeoutSeconds: number): Promise<RunCommandResult> {
    const r = parseResourceId(vmId);
    const scale = this.o.timeScale ?? 1;
    const deadline = Date.now() + (timeoutSeconds * 1000) / scale;
    const vms = this.client(r.subscriptionId).virtualMachines;
    const command = { commandId: osType === 'Windows' ? 'RunPowerShellScript' : 'RunShellScript', script: [script], parameters: [] };
    const updateIntervalInMs = this.o.pollIntervalMs ?? (RUN_COMMAND_POLL_SECONDS * 1000) / scale;
    for (;;) {
      let poller: Awaited<ReturnType<typeof vms.beginRunCommand>>;
      try {
        // The request that hands the script over is not cut at the deadline: cut in flight, a refusal (409,
        // the script never ran, safe to send again) and an accepted script would look alike to the caller.
        const submitMs = Math.max(deadline - Date.now(), (RUN_COMMAND_SUBMIT_SECONDS * 1000) / scale);
        poller = await vms.beginRunCommand(r.resourceGroup, r.name, command, { updateIntervalInMs, abortSignal: AbortSignal.timeout(submitMs) });
      } catch (err) {
        const busy = status(err) === 409 && (err as { code?: string }).code === 'Conflict';
        const pause = (RUN_COMMAND_BUSY_RETRY_SECONDS * 1000) / scale;
        if (busy && Date.now() + pause >= deadline) {
          throw runCommandBusy(`Another Run Command script was still running on VM '${r.name}' after ${timeoutSeconds} s; Run Command runs one script at a time, so this one did not run.`);
        }
        if (!busy) throw err;
        await new Promise((resolve) => setTimeout(resolve, pause));
        continue;
      }
      // Accepted: from here an abort stops the waiting only, and the script runs on in the guest.
      const res = await pollThrough(poller, deadline);
      return interpretRunCommand(osType, res.value ?? []);
    }
  }

  async deallocateVm(vmId: string): Promise<void> {
    const r = parseResourceId(vmId);
    await this.client(r.subscriptionId).virtualMachines.beginDeallocateAndWait(r.resourceGroup, r.name, this.lro());
  }

  async startVm(vmId: string): Promise<void> {
    const r = parseResourceId(vmId);
    await this.client(r.subscriptionId).virtualMachines.beginStartAndWait(r.resourceGroup, r.name, this.lro());
  }

  async swapOsDisk(vmId: string, disk: { diskId: string; name: string }): Promise<void> {
    await swapOsDisk(this.client(parseResourceId(vmId).subscriptionId), vmId, disk, this.lro());
  }

  async detachDataDisks(vmId: string, luns: number[]): Promise<void> {
    await detachDataDisks(this.client(parseResourceId(vmId).subscriptionId), vmId, luns, this.lro());
  }

  async attachDataDisks(vmId: string, disks: DataDiskAttachment[]): Promise<void> {
    await attachDataDisks(this.client(parseResourceId(vmId).subscriptionId), vmId, disks, this.lro());
  }

  async getDisk(diskId: string): Promise<DiskInfo | undefined> {
    const d = await this.getDiskRaw(diskId);
    return d
      ? {
          id: d.id!,
          name: d.name!,
          sizeBytes: d.diskSizeBytes ?? (d.diskSizeGB ?? 0) * GIB,
          managedBy: d.managedBy,
          state: d.diskState,
          zones: d.zones?.length ? [...d.zones] : undefined,
          sku: d.sku?.name,
          hyperVGeneration: d.hyperVGeneration,
          securityType: d.securityProfile?.securityType,
          diskEncryptionSetId: d.encryption?.diskEncryptionSetId,
        }
      : undefined;
  }

  async createUploadDisk(a: Parameters<ComputePort['createUploadDisk']>[0]): Promise<DiskInfo> {
    const d = await this.client(a.subscriptionId).disks.beginCreateOrUpdateAndWait(
      a.resourceGroup,
      a.name,
      {
        ...uploadDiskProperties(a.profile),
        location: a.location,
        sku: a.sku ? { name: a.sku as never } : undefined,
        osType: a.osType,
        tags: a.tags,
        ...uploadCreation(a.sizeBytes, a.secure, a.profile),
      },
      this.lro(),
    );
    return { id: d.id!, name: d.name!, sizeBytes: a.sizeBytes, state: d.diskState };
  }

  /** A disk from a snapshot with createOption Copy (disks-incremental-snapshots.md, "Restore ... create a disk"). */
  async createDiskFromSnapshot(a: Parameters<ComputePort['createDiskFromSnapshot']>[0]): Promise<DiskInfo> {
    const d = await this.client(a.subscriptionId).disks.beginCreateOrUpdateAndWait(
      a.resourceGroup,
      a.name,
      {
        ...copyDiskProperties(a.profile),
        location: a.location,
        sku: a.sku ? { name: a.sku as never } : undefined,
        osType: a.osType,
        tags: a.tags,
        creationData: { createOption: 'Copy', sourceResourceId: a.snapshotId },
      },
      this.lro(),
    );
    return { id: d.id!, name: d.name!, sizeBytes: d.diskSizeBytes ?? (d.diskSizeGB ?? 0) * GIB, managedBy: d.managedBy, state: d.diskState };
  }

  async grantDiskWrite(diskId: string, durationSeconds: number): Promise<string> {
    const r = parseResourceId(diskId);
    const g = await this.client(r.subscriptionId).disks.beginGrantAccessAndWait(r.resourceGroup, r.name, { access: 'Write', durationInSeconds: durationSeconds }, this.lro());
    return g.accessSAS!;
  }

  grantGuestState(id: string, access: 'Read' | 'Write', durationSeconds: number): Promise<GuestStateAccess> {
    return grantWithGuestState(this.client(parseResourceId(id).subscriptionId), id, access, durationSeconds, this.lro());
  }

  async revokeDisk(diskId: string): Promise<void> {
    const r = parseResourceId(diskId);
    await ignore404(this.client(r.subscriptionId).disks.beginRevokeAccessAndWait(r.resourceGroup, r.name, this.lro()));
  }

  async deleteDisk(diskId: string): Promise<void> {
    const r = parseResourceId(diskId);
    await ignore404(this.client(r.subscriptionId).disks.beginDeleteAndWait(r.resourceGroup, r.name, this.lro()));
  }

  async createIncrementalSnapshot(a: { diskId: string; resourceGroup: string; name: string; location: string; tags?: Record<string, string> }): Promise<SnapshotInfo> {
    const sub = parseResourceId(a.diskId).subscriptionId;
    try {
      const s = await this.client(sub).snapshots.beginCreateOrUpdateAndWait(
        a.resourceGroup,
        a.name,
        {
          location: a.location,
          incremental: true,
          tags: a.tags,
          creationData: { createOption: 'Copy', sourceResourceId: a.diskId },
        },
        this.lro(),
      );
      return snapshotInfoOf(s);
    } catch (err) {
      throw (await this.snapshotRefusal(err, a.diskId)) ?? err;
    }
  }

  /** A 409 or 400 on create is judged by the disk's snapshot count, not the message (snapshot-info.ts). */
  private async snapshotRefusal(err: unknown, diskId: string): Promise<Error | undefined> {
    const st = status(err);
    if (st !== 409 && st !== 400) return undefined;
    const mine: SnapshotInfo[] = [];
    try {
      for await (const s of this.client(parseResourceId(diskId).subscriptionId).snapshots.list()) {
        if (s.incremental && s.creationData?.sourceResourceId?.toLowerCase() === diskId.toLowerCase()) mine.push(snapshotInfoOf(s));
      }
    } catch {
      return undefined; // the count could not be taken: the original error stands
    }
    return snapshotLimitError(diskId, mine, Date.now(), this.o.snapshotsPerDisk);
  }

  async getSnapshot(snapshotId: string): Promise<SnapshotInfo | undefined> {
    const r = parseResourceId(snapshotId);
    const s = await orUndefined(this.client(r.subscriptionId).snapshots.get(r.resourceGroup, r.name));
    return s ? snapshotInfoOf(s) : undefined;
  }

  async *listSnapshots(subscriptionId: string, resourceGroup: string): AsyncIterable<SnapshotInfo & { tags: Record<string, string> }> {
    for await (const s of this.client(subscriptionId).snapshots.listByResourceGroup(resourceGroup)) yield snapshotInfoOf(s);
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    const r = parseResourceId(snapshotId);
    await ignore404(this.client(r.subscriptionId).snapshots.beginDeleteAndWait(r.resourceGroup, r.name, this.lro()));
  }

  async grantSnapshotRead(snapshotId: string, durationSeconds: number, options: { fileFormat?: SnapshotFileFormat } = {}): Promise<string> {
    const r = parseResourceId(snapshotId);
    const data = { access: 'Read', durationInSeconds: durationSeconds, ...(options.fileFormat ? { fileFormat: options.fileFormat } : {}) } as const;
    const g = await this.client(r.subscriptionId).snapshots.beginGrantAccessAndWait(r.resourceGroup, r.name, data, this.lro());
    return g.accessSAS!;
  }

  async revokeSnapshot(snapshotId: string): Promise<void> {
    const r = parseResourceId(snapshotId);
    await ignore404(this.client(r.subscriptionId).snapshots.beginRevokeAccessAndWait(r.resourceGroup, r.name, this.lro()));
  }
}
