import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReliabilityStack, type ReliabilityStack } from '../../soak/stack';
import { audit, backupRestoreCycle, mutate, newTally, registerVm, settle, type SoakItem } from '../../soak/cycle';
import { seededRandom } from '../../soak/faults';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fingerprint } from '../../src/emulator/guest';
import { ConflictError } from '../../src/core/errors';
import { backupNow, requestProtection } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { createPolicy } from '../../src/core/workflows/protection/policies';
import { schedulerTick } from '../../src/core/workflows/protection/scheduler';
import { getJob, isTerminal } from '../../src/core/jobs/jobs';
import { reconcile } from '../../src/core/jobs/reconciler';
import type { Job } from '../../src/core/domain/model';

const DAY = 86_400_000;

// The suite's default timeout (180 s) is over 3x each test's time: 5, 14, 3 and 5 s measured beside an 8-worker
// soak. Each drain stops once its jobs have ended, instead of waiting out the no-op re-sends of duplicates that
// lost a lease (5-60 s later), which made these tests 81-113 s each.
describe('duplicate delivery, two consumers, and racing operations on one item', () => {
  let s: ReliabilityStack;
  let item: SoakItem;
  beforeAll(async () => {
    s = await startReliabilityStack();
    item = await registerVm(s, 'dup', [20, 24]);
    await createPolicy(s.deps, { name: 'race', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['00:00'] }, retention: { dailyDays: 7 } });
    await requestProtection(s.deps, [item.itemKey], 'race');
    await s.drain();
  });
  afterAll(async () => s?.stop());

  it('delivers every message twice, concurrently, under faults: one point per backup, exact restores', async () => {
    const t = newTally();
    await backupRestoreCycle(s, item, seededRandom(22), 22, t, { restore: true, faults: true, drain: { duplicate: true } });
    expect(t.problems).toEqual([]);
    expect(t.restores).toBe(1);
  });

  it('races backup-now, a scheduled backup and a restore, consumed by two app instances that each get every message twice', async () => {
    const other = s.makeDeps();
    // A new daily slot is due: two days on, since a backup within half a day before a slot counts as its backup.
    s.emulator.clock.advance(2 * DAY);
    mutate(s, item.vmId, seededRandom(23), 23);
    const before = await s.observer.repos.points.all(item.itemKey);
    const last = before[0]!;
    const raceStart = s.emulator.clock.now();
    const raced = await Promise.allSettled([backupNow(s.deps, item.itemKey), schedulerTick(other), requestRestore(s.deps, { itemKey: item.itemKey, pointId: last.pointId, mode: 'newDisks' })]);
    for (const r of raced) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'AnotherOperationInProgress' });
    const tick = raced[1].status === 'fulfilled' ? raced[1].value : undefined;
    expect(tick?.jobsCreated).toBe(1);
    // Until both jobs of the race have ended (the scheduled one and the admitted one): duplicates that lost a lease
    // re-send themselves for when it runs out, no-ops the next drain delivers.
    const raceJobs = async (): Promise<Job[]> =>
      (await s.observer.repos.jobs.all({ where: { itemKey: item.itemKey } })).filter((j) => j.createdAt.getTime() >= raceStart && (j.type === 'Backup' || j.type === 'Restore'));
    const until = async (): Promise<boolean> => {
      const js = await raceJobs();
      return js.length >= 2 && js.every(isTerminal);
    };
    await Promise.all([s.drain({ duplicate: true, until }), s.drain({ duplicate: true, until }, other)]);
    const jobs: Job[] = [];
    for (const j of await s.observer.repos.jobs.all({ where: { itemKey: item.itemKey } })) {
      if (j.createdAt.getTime() >= raceStart && (j.type === 'Backup' || j.type === 'Restore')) jobs.push(await settle(s, j.jobId));
    }
    // Backup-now and the restore are admitted one at a time: the one that comes second answers 409 and makes no
    // job. The scheduled job is created either way and waits its turn.
    expect(raced.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(raced[1].status).toBe('fulfilled');
    expect(jobs.length).toBe(2);
    // Each one either ran, or waited its turn until the queue gave up and ended it with a clear conflict.
    for (const j of jobs) {
      expect(isTerminal(j)).toBe(true);
      if (j.status === 'Failed') expect(j.error?.code, JSON.stringify(j.error)).toBe('AnotherOperationInProgress');
      else expect(j.status).toMatch(/^Completed/);
    }
    expect(jobs.some((j) => j.status.startsWith('Completed'))).toBe(true);
    const after = await s.observer.repos.points.all(item.itemKey);
    const completedBackups = jobs.filter((j) => j.type === 'Backup' && j.status.startsWith('Completed'));
    expect(after.length).toBe(before.length + completedBackups.length);
    for (const b of completedBackups) {
      const p = after.find((x) => x.pointId === b.result.recoveryPointId)!;
      for (const d of p.disks) expect(d.digest).toBe(contentDigest(s.emulator.store, EmulatorState.key(d.sourceSnapshotId)));
    }
    const restore = jobs.find((j) => j.type === 'Restore')!;
    if (restore?.status === 'Completed') {
      for (const x of restore.result.disks as { diskKey: string; diskId: string }[]) {
        const src = last.disks.find((p) => p.diskKey === x.diskKey)!.sourceSnapshotId;
        expect(fingerprint(s.emulator.store, EmulatorState.key(x.diskId))).toBe(fingerprint(s.emulator.store, EmulatorState.key(src)));
      }
    }
    const t = newTally();
    await audit(s, [item], t, 'race');
    expect(t.problems).toEqual([]);
  });

  it('answers 409 to backup-now and restore while a backup runs; the scheduled backup waits its turn', async () => {
    s.emulator.clock.advance(2 * DAY); // a slot is due whatever the hour: see the race above
    mutate(s, item.vmId, seededRandom(24), 24);
    const first = await backupNow(s.deps, item.itemKey);
    const last = (await s.observer.repos.points.all(item.itemKey))[0]!;
    let probed = false;
    let scheduledId = '';
    let probeError: unknown;
    await s.drain({
      until: async () => isTerminal(await getJob(s.observer, first.jobId)) && !!scheduledId && isTerminal(await getJob(s.observer, scheduledId)),
      beforeStep: async (queue) => {
        if (probed || !queue.endsWith('copy')) return;
        probed = true;
        // A failed expectation here would only look like a failed step to the consumer: keep it for later.
        try {
          await probe();
        } catch (err) {
          probeError = err;
        }
      },
    });
    async function probe(): Promise<void> {
      await expect(backupNow(s.deps, item.itemKey)).rejects.toBeInstanceOf(ConflictError);
      await expect(requestRestore(s.deps, { itemKey: item.itemKey, pointId: last.pointId, mode: 'newDisks' })).rejects.toMatchObject({ code: 'AnotherOperationInProgress' });
      const tick = await schedulerTick(s.deps);
      expect(tick.jobsCreated).toBe(1);
      const jobs = await s.observer.repos.jobs.all({ where: { itemKey: item.itemKey, status: 'Queued' } });
      scheduledId = jobs.find((j) => j.trigger === 'Scheduled')!.jobId;
    }
    expect(probed).toBe(true);
    if (probeError) throw probeError;
    const a = await settle(s, first.jobId);
    const b = await settle(s, scheduledId);
    expect(a.status).toMatch(/^Completed/);
    expect(b.status, JSON.stringify(b.error)).toMatch(/^Completed|Failed/);
    if (b.status === 'Failed') expect(b.error?.code, JSON.stringify(b.error)).toBe('AnotherOperationInProgress');
    expect((await getJob(s.observer, first.jobId)).result.recoveryPointId).toBe(first.jobId);
    const t = newTally();
    await audit(s, [item], t, 'busy');
    expect(t.problems).toEqual([]);
  });

  it("gives a retried backup-now or restore with the same Idempotency-Key the first call's job, even racing or while it runs", async () => {
    s.emulator.clock.advance(DAY);
    mutate(s, item.vmId, seededRandom(25), 25);
    const before = await s.observer.repos.points.all(item.itemKey);
    // Five clients racing with one key (a client and its retries), and a plain call without a key.
    const raced = await Promise.all(Array.from({ length: 5 }, () => backupNow(s.deps, item.itemKey, undefined, 'client-7f3a-backup')));
    expect(new Set(raced.map((j) => j.jobId)).size).toBe(1);
    const jobId = raced[0]!.jobId;
    let replayWhileRunning: string | undefined;
    let probeError: unknown;
    await s.drain({
      until: async () => isTerminal(await getJob(s.observer, jobId)),
      beforeStep: async (queue) => {
        if (replayWhileRunning || !queue.endsWith('copy')) return;
        try {
          // The item is locked by that very backup: a replay is answered with it, not with 409.
          replayWhileRunning = (await backupNow(s.deps, item.itemKey, undefined, 'client-7f3a-backup')).jobId;
          await expect(backupNow(s.deps, item.itemKey, undefined, 'client-other')).rejects.toMatchObject({ code: 'AnotherOperationInProgress' });
        } catch (err) {
          probeError = err;
        }
      },
    });
    if (probeError) throw probeError;
    expect(replayWhileRunning).toBe(jobId);
    const done = await settle(s, jobId);
    expect(done.status).toMatch(/^Completed/);
    const after = await s.observer.repos.points.all(item.itemKey);
    expect(after.length).toBe(before.length + 1);
    const backups = await s.observer.repos.jobs.all({ where: { itemKey: item.itemKey, type: 'Backup' } });
    expect(backups.filter((j) => j.createdAt.getTime() >= done.createdAt.getTime())).toHaveLength(1);
    // After it finished, the same key still answers with the same (now finished) job and starts nothing.
    expect((await backupNow(s.deps, item.itemKey, undefined, 'client-7f3a-backup')).jobId).toBe(jobId);
    // The key is bound to that request: another request with it is refused and changes nothing.
    await expect(requestRestore(s.deps, { itemKey: item.itemKey, pointId: after[0]!.pointId, mode: 'newDisks', idempotencyKey: 'client-7f3a-backup' })).rejects.toMatchObject({
      code: 'IdempotencyKeyReused',
    });
    await expect(backupNow(s.deps, item.itemKey, new Date(s.emulator.clock.now() + DAY), 'client-7f3a-backup')).rejects.toMatchObject({ code: 'IdempotencyKeyReused' });
    // Restore: two calls, one job.
    const r1 = await requestRestore(s.deps, { itemKey: item.itemKey, pointId: after[0]!.pointId, mode: 'newDisks', idempotencyKey: 'client-7f3a-restore' });
    const r2 = await requestRestore(s.deps, { itemKey: item.itemKey, pointId: after[0]!.pointId, mode: 'newDisks', idempotencyKey: 'client-7f3a-restore' });
    expect(r2.jobId).toBe(r1.jobId);
    expect((await settle(s, r1.jobId)).status).toBe('Completed');
    // A day later the key has expired: the reconciler purges it and the same key starts a new backup.
    s.emulator.clock.advance(DAY + 60_000);
    expect((await reconcile(s.deps)).requestsPurged).toBeGreaterThanOrEqual(2);
    const again = await backupNow(s.deps, item.itemKey, undefined, 'client-7f3a-backup');
    expect(again.jobId).not.toBe(jobId);
    expect((await settle(s, again.jobId)).status).toMatch(/^Completed/);
    const t = newTally();
    await audit(s, [item], t, 'idempotency');
    expect(t.problems).toEqual([]);
  });
});
