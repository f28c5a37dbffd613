import type { DiskRecord, EmulatorState, SnapshotRecord, VmRecord } from './state';

const GIB = 1024 ** 3;

export function diskJson(d: DiskRecord): Record<string, unknown> {
  return {
    id: d.id,
    name: d.name,
    type: 'Microsoft.Compute/disks',
    location: d.location,
    tags: d.tags,
    sku: { name: d.sku, tier: d.sku.startsWith('Premium') ? 'Premium' : 'Standard' },
    managedBy: d.managedBy,
    properties: {
      creationData: d.creationData,
      diskSizeGB: Math.ceil(d.sizeBytes / GIB),
      diskSizeBytes: d.sizeBytes,
      diskState: d.state,
      osType: d.osType,
      provisioningState: 'Succeeded',
      timeCreated: d.timeCreated,
      uniqueId: d.id.length.toString(16).padStart(8, '0'),
    },
  };
}

export function snapshotJson(s: SnapshotRecord): Record<string, unknown> {
  return {
    id: s.id,
    name: s.name,
    type: 'Microsoft.Compute/snapshots',
    location: s.location,
    tags: s.tags,
    sku: { name: 'Standard_ZRS', tier: 'Standard' },
    properties: {
      creationData: { createOption: 'Copy', sourceResourceId: s.sourceDiskId },
      diskSizeGB: Math.ceil(s.sizeBytes / GIB),
      diskSizeBytes: s.sizeBytes,
      incremental: s.incremental,
      provisioningState: 'Succeeded',
      timeCreated: s.timeCreated,
      diskState: 'Unattached',
    },
  };
}

export function vmJson(vm: VmRecord, state: EmulatorState, withInstanceView: boolean): Record<string, unknown> {
  const os = state.disk(vm.osDiskId);
  const properties: Record<string, unknown> = {
    vmId: vm.vmId,
    hardwareProfile: { vmSize: vm.vmSize },
    storageProfile: {
      osDisk: {
        osType: vm.osType,
        name: os?.name,
        createOption: 'Attach',
        managedDisk: { id: vm.osDiskId, storageAccountType: os?.sku },
        diskSizeGB: os ? Math.ceil(os.sizeBytes / GIB) : undefined,
      },
      dataDisks: vm.dataDisks.map((dd) => {
        const d = state.disk(dd.diskId);
        return { lun: dd.lun, name: d?.name, createOption: 'Attach', managedDisk: { id: dd.diskId, storageAccountType: d?.sku }, diskSizeGB: d ? Math.ceil(d.sizeBytes / GIB) : undefined };
      }),
    },
    provisioningState: 'Succeeded',
  };
  if (withInstanceView) properties.instanceView = instanceViewJson(vm);
  return { id: vm.id, name: vm.name, type: 'Microsoft.Compute/virtualMachines', location: vm.location, tags: vm.tags, properties };
}

export function instanceViewJson(vm: VmRecord): Record<string, unknown> {
  const display = { running: 'VM running', stopped: 'VM stopped', deallocated: 'VM deallocated' }[vm.powerState];
  return {
    statuses: [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
      { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: display },
    ],
    vmAgent: {
      vmAgentVersion: vm.agentReady ? '2.7.41491.1102' : 'Unknown',
      statuses: [vm.agentReady && vm.powerState === 'running'
        ? { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Ready', message: 'Guest Agent is running' }
        : { code: 'ProvisioningState/Unavailable', level: 'Warning', displayStatus: 'Not Ready', message: 'VM status blob is found but not yet populated.' }],
    },
  };
}
