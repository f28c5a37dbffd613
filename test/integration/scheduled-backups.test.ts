import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill, fingerprint } from '../../src/emulator/guest';
import { requestRegistration } from '../../src/core/workflows/protection/protection';
import { schedulerTick, scheduledJobId } from '../../src/core/workflows/protection/scheduler';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import { itemKeyFor, snapshotNameFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2,
  DAY = 86_400_000;

describe('scheduled backups of one item, slot after slot', () => {
  let s: AppStack;
  let vmId: string;
  beforeAll(async () => {
    s = await startAppStack();
    vmId = s.emulator.createVm({
      subscriptionId: SUB,
      resourceGroup: 'sched',
      name: 'app1',
      disks: [
        { name: 'app1-os', sizeBytes: 64 * MIB, lun: -1 },
        { name: 'app1-d', sizeBytes: 48 * MIB, lun: 0 },
      ],
    }).id;
    await s.deps.repos.policies.insert({
      name: 'daily',
      timeZone: 'UTC',
      schedule: { frequency: 'Daily', times: ['02:00'] },
      retention: { dailyDays: 30 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    await requestRegistration(s.deps, [vmId], 'daily');
    await s.drain();
  }, 60_000);
  afterAll(async () => s?.stop());

  it("names every job's snapshots apart, though scheduled job ids of one item share their ending", () => {
    const itemKey = itemKeyFor(vmId);
    // The suffix names item and slot; ids of one slot created at two times share it.
    const slot = new Date('2026-11-20T02:00:00Z');
    const a = scheduledJobId(itemKey, slot, new Date('2026-11-20T02:00:05Z'));
    const b = scheduledJobId(itemKey, slot, new Date('2026-11-21T02:00:05Z'));
    expect(a.slice(-12)).toBe(b.slice(-12)); // why a suffix was not enough
    const na = snapshotNameFor({ jobId: a }, 'lun-0'),
      nb = snapshotNameFor({ jobId: b }, 'lun-0');
    expect(na).not.toBe(nb);
    expect(snapshotNameFor({ jobId: a }, 'lun-0')).toBe(na); // a rerun of the step finds its own snapshot
    for (const n of [na, nb, snapshotNameFor({ jobId: a }, 'lun-63')]) expect(n).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$/); // Azure's rule for snapshot names
  });

  it('takes a new snapshot for each slot: three scheduled backups complete, the later ones incremental, each point exact', { timeout: 120_000 }, async () => {
    const itemKey = itemKeyFor(vmId);
    const vm = s.emulator.state.vm(vmId)!;
    const data = EmulatorState.key(vm.dataDisks[0]!.diskId);
    const jobs: string[] = [];
    for (let day = 0; day < 3; day++) {
      // The first slot due is the next one after protection (Azure Backup: "An initial backup will run in
      // accordance with your backup schedule", articles/backup/backup-azure-arm-vms-prepare.md): a day on.
      s.emulator.clock.advance(DAY);
      fill(s.emulator.store, data, day * 4 * MIB, 2 * MIB, 40 + day);
      const tick = await schedulerTick(s.deps);
      expect(tick.jobsCreated, `day ${day}`).toBe(1);
      await s.drain();
      const job = (await s.deps.repos.jobs.all({ where: { itemKey } })).find((j) => j.trigger === 'Scheduled' && !jobs.includes(j.jobId))!;
      const done = await getJob(s.deps, job.jobId);
      expect(done.status, JSON.stringify(done.error)).toBe('Completed');
      if (day > 0)
        expect(
          done.plan!.every((d) => !d.full),
          `day ${day} is incremental`,
        ).toBe(true);
      jobs.push(job.jobId);
    }
    const points = await s.deps.repos.points.all(itemKey);
    expect(points.map((p) => p.pointId).sort()).toEqual([...jobs].sort());
    const sources = new Set(points.flatMap((p) => p.disks.map((d) => d.sourceSnapshotId.toLowerCase())));
    expect(sources.size).toBe(points.length * 2);
    // The newest point restores to exactly what its own snapshot holds.
    const newest = points.find((p) => p.pointId === jobs[2])!;
    const r = await requestRestore(s.deps, { itemKey, pointId: newest.pointId, mode: 'newDisks' });
    await s.drain();
    const restored = await getJob(s.deps, r.jobId);
    expect(restored.status, JSON.stringify(restored.error)).toBe('Completed');
    for (const x of restored.result.disks as { diskKey: string; diskId: string }[]) {
      const src = newest.disks.find((d) => d.diskKey === x.diskKey)!.sourceSnapshotId;
      expect(fingerprint(s.emulator.store, EmulatorState.key(x.diskId)), x.diskKey).toBe(fingerprint(s.emulator.store, EmulatorState.key(src)));
    }
  });
});
