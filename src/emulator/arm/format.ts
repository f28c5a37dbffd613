import type { DiskRecord, EmulatorState, SnapshotRecord, VmRecord } from './state';
import { accessState, completionPercent } from './snapshot-copy';
import { diskUniqueId } from './resources';

const GIB = 1024 ** 3;

const skuJson = (name: string): { name: string; tier: string } => ({ name, tier: /^(Premium|UltraSSD)/.test(name) ? 'Premium' : 'Standard' });

/** Drops undefined fields so answers carry only what Azure would set. */
const compact = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export function diskJson(d: DiskRecord): Record<string, unknown> {
  return compact({
    id: d.id,
    name: d.name,
    type: 'Microsoft.Compute/disks',
    location: d.location,
    tags: d.tags,
    zones: d.zones,
    sku: skuJson(d.sku),
    managedBy: d.managedBy,
    managedByExtended: d.managedByExtended,
    properties: compact({
      creationData: compact({ ...d.creationData, logicalSectorSize: d.logicalSectorSize }),
      diskSizeGB: Math.ceil(d.sizeBytes / GIB),
      diskSizeBytes: d.sizeBytes,
      diskState: d.state,
      osType: d.osType,
      hyperVGeneration: d.hyperVGeneration,
      supportedCapabilities: d.architecture ? { architecture: d.architecture } : undefined,
      securityProfile: d.securityProfile,
      encryption: d.encryption ?? { type: 'EncryptionAtRestWithPlatformKey' },
      maxShares: d.maxShares,
      dataAccessAuthMode: d.dataAccessAuthMode,
      networkAccessPolicy: d.networkAccessPolicy ?? 'AllowAll',
      diskAccessId: d.diskAccessId,
      provisioningState: 'Succeeded',
      timeCreated: d.timeCreated,
      uniqueId: diskUniqueId(d),
    }),
  });
}

export function snapshotJson(s: SnapshotRecord, now: number): Record<string, unknown> {
  return compact({
    id: s.id,
    name: s.name,
    type: 'Microsoft.Compute/snapshots',
    location: s.location,
    tags: s.tags,
    sku: { name: 'Standard_ZRS', tier: 'Standard' },
    properties: compact({
      creationData: compact({ createOption: 'Copy', sourceResourceId: s.sourceDiskId, sourceUniqueId: s.sourceUniqueId, logicalSectorSize: s.logicalSectorSize }),
      diskSizeGB: Math.ceil(s.sizeBytes / GIB),
      diskSizeBytes: s.sizeBytes,
      incremental: s.incremental,
      // The family id: "Get Page Range Diff API can only be called on incremental snapshots with the same family id".
      incrementalSnapshotFamilyId: s.incremental ? s.sourceUniqueId : undefined,
      completionPercent: completionPercent(s, now),
      snapshotAccessState: accessState(s, now),
      hyperVGeneration: s.hyperVGeneration,
      osType: s.osType,
      securityProfile: s.securityType ? { securityType: s.securityType } : undefined,
      dataAccessAuthMode: s.dataAccessAuthMode,
      networkAccessPolicy: s.networkAccessPolicy ?? 'AllowAll',
      provisioningState: 'Succeeded',
      timeCreated: s.timeCreated,
      diskState: 'Unattached',
    }),
  });
}

export function vmJson(vm: VmRecord, state: EmulatorState, withInstanceView: boolean): Record<string, unknown> {
  const os = state.disk(vm.osDiskId);
  const managedDisk = (d: DiskRecord | undefined, id: string): Record<string, unknown> =>
    compact({
      id,
      storageAccountType: d?.sku,
      diskEncryptionSet: d?.encryption?.diskEncryptionSetId ? { id: d.encryption.diskEncryptionSetId } : undefined,
    });
  const properties: Record<string, unknown> = compact({
    vmId: vm.vmId,
    hardwareProfile: { vmSize: vm.vmSize },
    securityProfile: vm.securityProfile,
    storageProfile: {
      osDisk: compact({
        osType: vm.osType,
        name: os?.name,
        // Image-based VMs report FromImage (how-to-enable-write-accelerator.md example VM JSON).
        createOption: vm.osCreateOption,
        caching: vm.ephemeralOs ? 'ReadOnly' : 'ReadWrite',
        diffDiskSettings: vm.ephemeralOs,
        writeAcceleratorEnabled: vm.osWriteAccelerator,
        managedDisk: managedDisk(os, vm.osDiskId),
        diskSizeGB: os ? Math.ceil(os.sizeBytes / GIB) : undefined,
      }),
      dataDisks: [
        ...vm.dataDisks.map((dd) => {
          const d = state.disk(dd.diskId);
          return compact({
            lun: dd.lun,
            name: d?.name,
            createOption: 'Attach',
            managedDisk: managedDisk(d, dd.diskId),
            diskSizeGB: d ? Math.ceil(d.sizeBytes / GIB) : undefined,
            // Defaults as the DataDisk reference states them (learn.microsoft.com/javascript/api/@azure/arm-compute/datadisk):
            // caching "None for Standard storage. ReadOnly for Premium storage", deleteOption "The default value is set to Detach".
            caching: dd.caching ?? (/^premium/i.test(d?.sku ?? '') ? 'ReadOnly' : 'None'),
            writeAcceleratorEnabled: dd.writeAcceleratorEnabled,
            deleteOption: dd.deleteOption ?? 'Detach',
          });
        }),
        // Unmanaged disks: a VHD URI and no managedDisk.
        ...vm.unmanagedDataDisks.map((u) => ({ lun: u.lun, name: u.name, createOption: 'Attach', vhd: { uri: u.vhdUri } })),
      ].sort((a, b) => a.lun - b.lun),
    },
    networkProfile: vm.networkInterfaces
      ? { networkInterfaces: vm.networkInterfaces.map((n) => compact({ id: n.id, properties: compact({ primary: n.primary, deleteOption: n.deleteOption }) })) }
      : undefined,
    provisioningState: 'Succeeded',
  });
  if (withInstanceView) properties.instanceView = instanceViewJson(vm, os?.hyperVGeneration);
  return compact({ id: vm.id, name: vm.name, type: 'Microsoft.Compute/virtualMachines', location: vm.location, tags: vm.tags, zones: vm.zones, properties });
}

export function instanceViewJson(vm: VmRecord, hyperVGeneration?: string): Record<string, unknown> {
  const display = { running: 'VM running', stopped: 'VM stopped', deallocated: 'VM deallocated' }[vm.powerState];
  return {
    hyperVGeneration: hyperVGeneration ?? 'V1',
    statuses: [
      { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' },
      { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: display },
    ],
    vmAgent: {
      vmAgentVersion: vm.agentReady ? '2.7.41491.1102' : 'Unknown',
      statuses: [
        vm.agentReady && vm.powerState === 'running'
          ? { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Ready', message: 'Guest Agent is running' }
          : { code: 'ProvisioningState/Unavailable', level: 'Warning', displayStatus: 'Not Ready', message: 'VM status blob is found but not yet populated.' },
      ],
    },
  };
}
