import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueServiceClient } from '@azure/storage-queue';
import { startOutsideStack, type ChildHost, type OutsideStack } from './child-host';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { fill, fingerprint } from '../../src/emulator/guest';
import { ensureResources } from '../../src/core/composition';
import { getJob, isTerminal } from '../../src/core/jobs/jobs';
import { reconcile } from '../../src/core/jobs/reconciler';
import type { Job } from '../../src/core/domain/model';
import { SECRET } from '../support/secrets';
import { KINDS } from '../../src/core/workflows/kinds';

const MIB = 1024 ** 2;

describe('the local host as a child process: SIGKILL mid-copy, a dead job re-driven, two hosts at once', () => {
  let s: OutsideStack;
  const hosts: ChildHost[] = [];
  const vms: { id: string; itemKey: string }[] = [];
  beforeAll(async () => {
    s = await startOutsideStack();
    await ensureResources(s.deps as Parameters<typeof ensureResources>[0], [...KINDS.queues]);
    for (const name of ['k1', 'k2']) {
      const vm = s.emulator.createVm({
        subscriptionId: SUB,
        resourceGroup: 'crash',
        name,
        disks: [
          { name: `${name}-os`, sizeBytes: 40 * MIB, lun: -1 },
          { name: `${name}-d0`, sizeBytes: 24 * MIB, lun: 0 },
        ],
      });
      for (const d of [vm.osDiskId, ...vm.dataDisks.map((x) => x.diskId)]) fill(s.emulator.store, EmulatorState.key(d), 0, 20 * MIB, name.length + d.length);
      vms.push({ id: vm.id, itemKey: '' });
    }
  }, 180_000);
  afterAll(async () => {
    for (const h of hosts) await h.kill();
    await s?.stop();
  });

  const spawn = async (): Promise<ChildHost> => {
    const h = await s.spawnHost();
    hosts.push(h);
    return h;
  };
  const until = async (jobId: string, timeoutMs = 180_000): Promise<Job> => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const j = await getJob(s.deps, jobId);
      if (isTerminal(j)) return j;
      await new Promise((r) => setTimeout(r, 100));
    }
    const j = await getJob(s.deps, jobId);
    const logs = hosts.flatMap((h, i) => h.output.slice(-15).map((l) => `host ${i}: ${l}`)).join('\n');
    throw new Error(`job ${jobId} did not end: ${j.status} ${j.phase} segments ${j.segmentsDone}/${j.segmentsTotal} error ${JSON.stringify(j.error)}\n${logs}`);
  };
  /** Polls the job row and SIGKILLs the host as soon as some, not all, segments are copied. */
  const killMidCopy = async (h: ChildHost, jobId: string): Promise<Job> => {
    for (;;) {
      const j = await getJob(s.deps, jobId);
      if (isTerminal(j)) throw new Error('the job finished before the kill: the test would prove nothing');
      if (j.phase === 'Copy' && j.segmentsDone >= 1) {
        await h.kill('SIGKILL');
        return getJob(s.deps, jobId);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** Exactly one new point per job, the restore byte-exact, and nothing left open or orphaned. */
  const expectClean = async (h: ChildHost, itemKey: string, job: Job, pointsBefore: number): Promise<void> => {
    expect(job.status, JSON.stringify(job.error)).toMatch(/^Completed/);
    const points = await s.deps.repos.points.all(itemKey);
    expect(points.length).toBe(pointsBefore + 1);
    const point = points.find((p) => p.pointId === job.result.recoveryPointId)!;
    const r = await h.call('POST', `items/${encodeURIComponent(itemKey)}/recoveryPoints/${point.pointId}/restore`, { mode: 'newDisks', source: 'vault' });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const rj = await until(r.body.jobId);
    expect(rj.status, JSON.stringify(rj.error)).toBe('Completed');
    for (const x of rj.result.disks as { diskKey: string; diskId: string }[]) {
      const src = point.disks.find((p) => p.diskKey === x.diskKey)!.sourceSnapshotId;
      expect(fingerprint(s.emulator.store, EmulatorState.key(x.diskId)), x.diskKey).toBe(fingerprint(s.emulator.store, EmulatorState.key(src)));
    }
    expect(s.emulator.state.grants.size, 'open SAS').toBe(0);
    expect(
      s.emulator.state.grantLog.every((g) => g.revokedAt !== undefined),
      'every SAS revoked',
    ).toBe(true);
    expect((await s.deps.repos.items.get(itemKey))!.doc.lockOwner, 'lock').toBeUndefined();
    const item = (await s.deps.repos.items.get(itemKey))!.doc;
    const referenced = new Set([...item.disks.map((d) => d.baseSnapshotId!), ...points.flatMap((p) => p.disks.map((d) => d.sourceSnapshotId))].map(EmulatorState.key));
    const orphans = [...s.emulator.state.snapshots.values()].filter((x) => x.tags['vmbackup-item'] === itemKey && !referenced.has(EmulatorState.key(x.id)));
    expect(
      orphans.map((o) => o.name),
      'orphaned snapshots',
    ).toEqual([]);
    // And the reconciler, run now, finds nothing of this job to put right.
    const rec = await reconcile(s.deps);
    expect(rec).toMatchObject({ jobsRedriven: 0, jobsAbandoned: 0, locksFreed: 0, snapshotsDeleted: 0 });
  };

  it('completes a backup whose host was SIGKILLed during the copy, once another host starts', { timeout: 300_000 }, async () => {
    const h1 = await spawn();
    const reg = await h1.call('POST', 'items/register', { vmIds: vms.map((v) => v.id) });
    expect(reg.status).toBe(202);
    for (const j of reg.body.jobs) expect((await until(j.jobId)).status).toBe('Completed');
    const items = (await h1.call('GET', 'items')).body.items as { itemKey: string; vmName: string }[];
    for (const [i, name] of ['k1', 'k2'].entries()) vms[i]!.itemKey = items.find((x) => x.vmName === name)!.itemKey;
    const itemKey = vms[0]!.itemKey;

    const b = await h1.call('POST', `items/${encodeURIComponent(itemKey)}/backup`, {});
    expect(b.status).toBe(202);
    const atKill = await killMidCopy(h1, b.body.jobId);
    expect(atKill.segmentsDone).toBeLessThan(atKill.segmentsTotal);
    const h2 = await spawn();
    const done = await until(b.body.jobId);
    await expectClean(h2, itemKey, done, 0);
    for (const h of hosts) for (const line of h.output) for (const re of SECRET) expect(re.test(line), line).toBe(false);
  });

  // This test found the lost-count stall: a kill between a segment's Done row and the job's counter left the
  // re-driven job at 15 of 16 segments for good (now in-process in reconciler-backup.test.ts as well).
  it('re-drives a job whose host died and whose messages were lost, through the reconciler', { timeout: 300_000 }, async () => {
    const itemKey = vms[0]!.itemKey;
    fill(s.emulator.store, EmulatorState.key(s.emulator.state.vm(vms[0]!.id)!.osDiskId), 4 * MIB, 30 * MIB, 99);
    const h2 = hosts[hosts.length - 1]!;
    const b = await h2.call('POST', `items/${encodeURIComponent(itemKey)}/backup`, {});
    await killMidCopy(h2, b.body.jobId);
    // The messages are gone too (a poisoned or expired message, a cleared queue): only the job row is left.
    const qs = QueueServiceClient.fromConnectionString(s.azurite.connectionString);
    for (const q of [...KINDS.queues]) await qs.getQueueClient(q).clearMessages();
    for (const q of [...KINDS.queues]) expect((await qs.getQueueClient(q).getProperties()).approximateMessagesCount, q).toBe(0);
    const h3 = await spawn();
    const stuck = await getJob(s.deps, b.body.jobId);
    expect(isTerminal(stuck)).toBe(false);
    // Too early: the job's lock lease still runs, so it is left alone.
    expect((await reconcile(s.deps)).jobsRedriven).toBe(0);
    // Once the lease has run out (seen from a clock past it), the job is re-driven and completes.
    const later = new Date(Date.now() + 2 * 60_000);
    const r = await reconcile(s.deps, later);
    expect(r.jobsRedriven).toBe(1);
    const done = await until(b.body.jobId);
    expect((await getJob(s.deps, b.body.jobId)).params.redrives).toBe(1);
    await expectClean(h3, itemKey, done, 1);
  });

  it('runs with two hosts consuming the same queues: every job once, every point exact', { timeout: 300_000 }, async () => {
    const h3 = hosts[hosts.length - 1]!;
    const h4 = await spawn();
    const before = await Promise.all(vms.map(async (v) => (await s.deps.repos.points.all(v.itemKey)).length));
    for (const v of vms) fill(s.emulator.store, EmulatorState.key(s.emulator.state.vm(v.id)!.osDiskId), 0, 16 * MIB, 7);
    const jobs = await Promise.all(vms.map((v, i) => (i === 0 ? h3 : h4).call('POST', `items/${encodeURIComponent(v.itemKey)}/backup`, {})));
    const done = await Promise.all(jobs.map((j) => until(j.body.jobId)));
    for (const [i, v] of vms.entries()) await expectClean(i === 0 ? h4 : h3, v.itemKey, done[i]!, before[i]!);
    for (const h of [h3, h4]) expect(h.output.join('\n')).not.toMatch(/unhandled/);
  });
});
