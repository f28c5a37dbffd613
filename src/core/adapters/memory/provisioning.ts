import type { NewVmSpec, NicInfo, ProvisioningPort, SubnetInfo, VmSizeOffer } from '../../ports/provisioning';
import { MemoryCloud, resourceId, type CloudVm } from './cloud';
import { MemoryServiceError } from './pages';

/**
 * ProvisioningPort on a MemoryCloud, with the rules the compute emulator models from Azure's documentation
 * (src/emulator/arm/network.ts, same sources): a NIC names an existing subnet of its region (400
 * InvalidResourceReference), a VM names an existing NIC of its region not attached elsewhere, a NIC attached to
 * a VM cannot be deleted (400 NicInUse), a VM's disks must be Unattached, out of upload state and in its zone.
 */
export class MemoryProvisioning implements ProvisioningPort {
  readonly subnets = new Map<string, SubnetInfo>();
  readonly nics = new Map<string, NicInfo>();
  /** VM sizes per region (lower case) with their zones: what the Resource SKUs list answers. */
  readonly offers = new Map<string, Map<string, VmSizeOffer>>();

  constructor(readonly cloud: MemoryCloud) {}

  addSubnet(id: string, location: string): void {
    this.subnets.set(MemoryCloud.key(id), { id, location });
  }

  offer(location: string, vmSize: string, zones: string[], maxDataDisks?: number): void {
    const m = this.offers.get(location.toLowerCase()) ?? new Map<string, VmSizeOffer>();
    m.set(vmSize.toLowerCase(), { zones, ...(maxDataDisks ? { maxDataDisks } : {}) });
    this.offers.set(location.toLowerCase(), m);
  }

  async getSubnet(subnetId: string): Promise<SubnetInfo | undefined> {
    return this.subnets.get(MemoryCloud.key(subnetId));
  }

  async getNic(nicId: string): Promise<NicInfo | undefined> {
    const n = this.nics.get(MemoryCloud.key(nicId));
    return n ? { ...n } : undefined;
  }

  async createNic(a: Parameters<ProvisioningPort['createNic']>[0]): Promise<NicInfo> {
    const id = `/subscriptions/${a.subscriptionId}/resourceGroups/${a.resourceGroup}/providers/Microsoft.Network/networkInterfaces/${a.name}`;
    const subnet = this.subnets.get(MemoryCloud.key(a.subnetId));
    if (!subnet || subnet.location.toLowerCase() !== a.location.toLowerCase()) {
      throw new MemoryServiceError(
        400,
        'InvalidResourceReference',
        `Resource ${a.subnetId} referenced by resource ${id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
      );
    }
    const existing = this.nics.get(MemoryCloud.key(id));
    const nic: NicInfo = { ...existing, id, location: a.location, subnetId: a.subnetId, tags: { ...a.tags } };
    this.nics.set(MemoryCloud.key(id), nic);
    return { ...nic };
  }

  async deleteNic(nicId: string): Promise<void> {
    const n = this.nics.get(MemoryCloud.key(nicId));
    if (!n) return;
    if (n.virtualMachineId) {
      throw new MemoryServiceError(
        400,
        'NicInUse',
        `Network Interface ${n.id} is used by existing resource ${n.virtualMachineId}. In order to delete the network interface, it must be dissociated from the resource.`,
      );
    }
    this.nics.delete(MemoryCloud.key(nicId));
  }

  async vmSizeOffer(_subscriptionId: string, location: string, vmSize: string): Promise<VmSizeOffer | undefined> {
    return this.offers.get(location.toLowerCase())?.get(vmSize.toLowerCase());
  }

  async createVm(s: NewVmSpec): Promise<{ id: string }> {
    const id = resourceId(s.subscriptionId, s.resourceGroup, 'virtualMachines', s.name);
    if (this.cloud.vm(id)) return { id: this.cloud.vm(id)!.id };
    const nic = this.nics.get(MemoryCloud.key(s.nicId));
    if (!nic) throw new MemoryServiceError(400, 'NotFound', `Resource ${s.nicId} not found.`);
    if (nic.location.toLowerCase() !== s.location.toLowerCase()) throw new MemoryServiceError(400, 'InvalidParameter', `The network interface ${s.nicId} is in ${nic.location}, not ${s.location}.`);
    if (nic.virtualMachineId) throw new MemoryServiceError(400, 'NicInUse', `Network Interface ${nic.id} is used by existing resource ${nic.virtualMachineId}.`);
    const offer = await this.vmSizeOffer(s.subscriptionId, s.location, s.vmSize);
    if (!offer || (s.zone && !offer.zones.includes(s.zone))) {
      throw new MemoryServiceError(409, 'SkuNotAvailable', `The requested VM size '${s.vmSize}' is currently not available in location '${s.location}'${s.zone ? ` zones '${s.zone}'` : ''}.`);
    }
    const disks = [s.os.diskId, ...s.dataDisks.map((d) => d.diskId)].map((d) => this.cloud.requireDisk(d));
    for (const d of disks) {
      if (d.managedBy) throw new MemoryServiceError(409, 'Conflict', `Disk '${d.name}' is already attached to VM '${d.managedBy}'.`);
      if (d.state === 'ReadyToUpload' || d.state === 'ActiveUpload') throw new MemoryServiceError(409, 'OperationNotAllowed', `Disk '${d.name}' is still in upload state.`);
      if (s.zone && !/_zrs$/i.test(d.sku) && !(d.zones ?? []).includes(s.zone))
        throw new MemoryServiceError(400, 'BadRequest', `Disk ${d.id} cannot be attached to the VM because it is not in zone '${s.zone}'.`);
    }
    const vm: CloudVm = {
      id,
      name: s.name,
      subscriptionId: s.subscriptionId,
      resourceGroup: s.resourceGroup,
      location: s.location,
      osType: s.osType,
      powerState: 'running',
      agentReady: true,
      tags: { ...s.tags },
      osDiskId: disks[0]!.id,
      dataDisks: s.dataDisks.map((d) => ({ ...d, diskId: this.cloud.requireDisk(d.diskId).id })),
      zones: s.zone ? [s.zone] : undefined,
      securityType: s.securityType,
      osCreateOption: 'Attach',
      runCommandResult: { succeeded: true, output: 'Enable succeeded' },
    };
    for (const d of disks) {
      d.managedBy = id;
      d.state = 'Attached';
    }
    nic.virtualMachineId = id;
    this.cloud.vms.set(MemoryCloud.key(id), vm);
    return { id };
  }

  async deleteVm(vmId: string): Promise<void> {
    const vm = this.cloud.vm(vmId);
    if (!vm) return;
    for (const id of [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]) {
      const d = this.cloud.disk(id);
      if (d) {
        d.managedBy = undefined;
        d.state = 'Unattached';
      }
    }
    for (const n of this.nics.values()) if (n.virtualMachineId?.toLowerCase() === vm.id.toLowerCase()) n.virtualMachineId = undefined;
    this.cloud.vms.delete(MemoryCloud.key(vm.id));
  }
}
