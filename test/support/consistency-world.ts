import { QueueServiceClient } from '@azure/storage-queue';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { expect, vi } from 'vitest';
import { ArmComputeAdapter } from '../../src/core/adapters/azure/compute';
import type { Deps } from '../../src/core/jobs/deps';
import type { Job } from '../../src/core/domain/model';
import { getJob } from '../../src/core/jobs/jobs';
import { backupNow, requestRegistration } from '../../src/core/workflows/protection/protection';
import { itemKeyFor } from '../../src/core/store/layout';
import { CORE_STEPS, drainQueues } from '../../src/local/queue-drain';
import type { VmRecord } from '../../src/emulator/arm/state';
import type { AppStack } from './app-stack';
import { SUB } from './emulator';

const MIB = 1024 ** 2;

/** What the guest had frozen when a snapshot PUT left the client and when its answer came back. */
export interface SnapshotSample {
  vm: string;
  before: string[];
  after: string[];
}

/**
 * The app's services with an ArmComputeAdapter on the emulator's compressed time (Run Command waits scaled as the
 * emulator scales them), plus an observer on the ARM pipeline: it samples the guest's frozen mounts around every
 * snapshot PUT, which is what makes a consistency label checkable, and runs a test's hook at the first snapshot
 * of a VM (to fault the post-script only). Real HTTP, real SDK: the observer looks, it does not answer.
 */
export class ConsistencyWorld {
  readonly samples: SnapshotSample[] = [];
  readonly atFirstSnapshot = new Map<string, () => void>();
  private qs: QueueServiceClient;

  constructor(readonly stack: AppStack) {
    this.qs = QueueServiceClient.fromConnectionString(stack.azurite.connectionString);
  }

  /** Deps whose compute adapter believes Azure time runs `timeScale` times faster than the wall clock. */
  deps(timeScale: number): Deps {
    const emu = this.stack.emulator;
    const compute = new ArmComputeAdapter({
      credential: emu.credential,
      subscriptionIds: [SUB],
      endpoint: emu.armEndpoint,
      timeScale,
      pollIntervalMs: 2,
      clientOptions: { tlsOptions: { ca: emu.caCert }, additionalPolicies: [{ policy: this.observer(), position: 'perCall' }] },
    });
    const config = this.stack.deps.config;
    return { ...this.stack.deps, compute, config: { ...config, arm: { ...config.arm, timeScale } } };
  }

  private observer(): PipelinePolicy {
    return {
      name: 'snapshot-observer',
      sendRequest: async (req, next) => {
        if (req.method !== 'PUT' || !/\/snapshots\//i.test(new URL(req.url).pathname)) return next(req);
        const source = String((JSON.parse(String(req.body ?? '{}')) as { properties?: { creationData?: { sourceResourceId?: string } } }).properties?.creationData?.sourceResourceId ?? '');
        const vm = this.vmOfDisk(source);
        if (!vm) return next(req);
        const hook = this.atFirstSnapshot.get(vm.name);
        this.atFirstSnapshot.delete(vm.name);
        hook?.();
        const before = this.stack.emulator.guests.frozenOf(vm);
        const res = await next(req);
        this.samples.push({ vm: vm.name, before, after: this.stack.emulator.guests.frozenOf(vm) });
        return res;
      },
    };
  }

  private vmOfDisk(diskId: string): VmRecord | undefined {
    const owner = this.stack.emulator.state.disk(diskId)?.managedBy;
    return owner ? this.stack.emulator.state.vm(owner) : undefined;
  }

  createVm(name: string, osType: 'Linux' | 'Windows'): VmRecord {
    const vm = this.stack.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'rg',
      name,
      osType,
      disks: [
        { name: `${name}-os`, sizeBytes: 64 * MIB, lun: -1 },
        { name: `${name}-d0`, sizeBytes: 32 * MIB, lun: 0 },
        { name: `${name}-d1`, sizeBytes: 32 * MIB, lun: 1 },
      ],
    });
    return this.stack.emulator.state.vm(vm.id)!;
  }

  async drain(deps: Deps): Promise<void> {
    await drainQueues(this.qs, CORE_STEPS, deps, { maxDequeueCount: 5 });
  }

  async register(deps: Deps, vm: VmRecord, policy: string): Promise<void> {
    await requestRegistration(deps, [vm.id], policy);
    await this.drain(deps);
  }

  async backup(deps: Deps, vm: VmRecord): Promise<Job> {
    const job = await backupNow(deps, itemKeyFor(vm.id));
    await this.drain(deps);
    const done = await getJob(deps, job.jobId);
    expect(['Completed', 'CompletedWithWarnings'], JSON.stringify(done.error)).toContain(done.status);
    return done;
  }

  /** The Run Commands sent to this VM, oldest first. */
  scripts(vm: VmRecord): { script: string; finished: boolean }[] {
    return this.stack.emulator.state.runCommands.filter((r) => r.vmId.toLowerCase() === vm.id.toLowerCase()).map((r) => ({ script: r.script.join('\n'), finished: r.finishedAt !== undefined }));
  }

  /**
   * No guest left frozen once every script sent has run and the watchdog's time is over. Waits for that state
   * (it comes on the emulator's own timers); how long it takes is not what is checked.
   */
  async noGuestFrozenAfterWatchdog(vm: VmRecord): Promise<void> {
    await vi.waitFor(() => expect(this.scripts(vm).every((s) => s.finished)).toBe(true), { timeout: 20_000, interval: 20 });
    await vi.waitFor(() => expect(this.stack.emulator.guests.allFrozen()).toEqual([]), { timeout: 20_000, interval: 20 });
  }

  /**
   * The label is true: a file-system-consistent point had every data file system frozen around every snapshot
   * of it (and a crash-consistent one claims nothing beyond each disk's own snapshot).
   */
  expectLabelTrue(vm: VmRecord, job: Job): void {
    const mine = this.samples.filter((s) => s.vm === vm.name);
    expect(mine.length).toBeGreaterThanOrEqual(3);
    if (job.consistency !== 'CrashConsistent') {
      for (const s of mine)
        expect([s.before, s.after]).toEqual([
          ['/data0', '/data1'],
          ['/data0', '/data1'],
        ]);
    } else {
      // What was asked and not reached is said, and the disks are not claimed to be one consistent set (M9).
      expect(job.warnings.join('\n')).toMatch(/crash-consistent/);
      expect(job.warnings.join('\n')).toMatch(/Disks snapshotted independently/);
    }
  }
}
