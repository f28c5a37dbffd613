import type { ComputePort, VmInfo } from '../../src/core/ports/compute';
import type { DataPlane } from '../../src/core/ports/storage';
import { ArmComputeAdapter } from '../../src/core/adapters/azure/compute';
import { SasDataPlane } from '../../src/core/adapters/azure/sas-data-plane';
import { MemoryCloud, type CloudLimits, AZURE_SNAPSHOT_LIMITS, type VmSpec } from '../../src/core/adapters/memory/cloud';
import { MemoryCompute } from '../../src/core/adapters/memory/compute';
import { MemoryDataPlane } from '../../src/core/adapters/memory/data-plane';
import { EmulatorState } from '../../src/emulator/arm/state';
import { startComputeEmulator } from '../../src/emulator/server';
import { FakeClock, SUB } from './memory-deps';

/**
 * A subscription behind the ComputePort and DataPlane, plus what a contract test does from outside them: seed
 * VMs, act as the guest on a disk, stop a VM, move the clock. One per adapter, so one suite runs on both.
 */
export interface ComputeWorld {
  compute: ComputePort;
  dataPlane: DataPlane;
  createVm(spec: Omit<VmSpec, 'subscriptionId'>): Promise<VmInfo>;
  write(diskId: string, offset: number, data: Buffer): void;
  trim(diskId: string, offset: number, length: number): void;
  read(diskId: string, offset: number, length: number): Buffer;
  setPower(vmId: string, state: 'running' | 'deallocated'): void;
  advance(ms: number): void;
  close(): Promise<void>;
}

export type WorldFactory = (limits?: Partial<CloudLimits>) => Promise<ComputeWorld>;

export const memoryWorld: WorldFactory = async (limits) => {
  const clock = new FakeClock();
  const cloud = new MemoryCloud(clock.now, { ...AZURE_SNAPSHOT_LIMITS, ...limits });
  const compute = new MemoryCompute(cloud);
  return {
    compute,
    dataPlane: new MemoryDataPlane(cloud),
    createVm: async (spec) => (await compute.getVm(cloud.createVm({ ...spec, subscriptionId: SUB }).id))!,
    write: (id, o, d) => cloud.writeDisk(id, o, d),
    trim: (id, o, n) => cloud.trimDisk(id, o, n),
    read: (id, o, n) => cloud.readDisk(id, o, n),
    setPower: (id, p) => void (cloud.requireVm(id).powerState = p),
    advance: (ms) => clock.advance(ms),
    close: async () => {},
  };
};

/** The compute emulator over real HTTPS/HTTP with the real ARM client and SAS data plane. */
export const emulatorWorld: WorldFactory = async (limits) => {
  const emu = await startComputeEmulator({ lroDelayMs: 0, limits });
  const compute = new ArmComputeAdapter({
    credential: emu.credential,
    subscriptionIds: [SUB],
    endpoint: emu.armEndpoint,
    clientOptions: { tlsOptions: { ca: emu.caCert } },
    pollIntervalMs: 5,
    ...(limits?.maxIncrementalSnapshotsPerDisk ? { snapshotsPerDisk: limits.maxIncrementalSnapshotsPerDisk } : {}),
  });
  return {
    compute,
    dataPlane: new SasDataPlane(),
    createVm: async (spec) => (await compute.getVm(emu.createVm({ ...spec, subscriptionId: SUB }).id))!,
    write: (id, o, d) => emu.store.write(EmulatorState.key(id), o, d),
    trim: (id, o, n) => emu.store.clear(EmulatorState.key(id), o, n),
    read: (id, o, n) => emu.store.read(EmulatorState.key(id), o, n),
    setPower: (id, p) => void (emu.state.vm(id)!.powerState = p),
    advance: (ms) => emu.clock.advance(ms),
    close: () => emu.close(),
  };
};
