import { describe, expect, it } from 'vitest';
import { getJob } from '../../../src/core/jobs/jobs';
import { newParams, paramsOf } from '../../../src/core/jobs/params';
import { KINDS } from '../../../src/core/workflows/kinds';
import { restoreParams } from '../../../src/core/workflows/restore/params';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { requestVerify } from '../../../src/core/workflows/verify/verify';
import { memoryDeps } from '../../support/memory-deps';
import { finished, registeredVm } from '../../support/memory-fixtures';

describe('typed job params (memory adapters)', () => {
  it('creates a job only through its kind schema, and reads it back typed', () => {
    const p = newParams(restoreParams, { pointId: 'p1', mode: 'newDisks', targetResourceGroup: 'rg' });
    expect(p).toEqual({ pointId: 'p1', mode: 'newDisks', targetResourceGroup: 'rg' });
    expect(() => newParams(restoreParams, { pointId: '', mode: 'newDisks', targetResourceGroup: 'rg' })).toThrow();
    const job = { jobId: 'j', type: 'Restore', params: { ...p, redrives: 2 } } as never;
    expect(paramsOf(job, restoreParams)).toEqual({ pointId: 'p1', mode: 'newDisks', targetResourceGroup: 'rg' });
  });

  it('gives every kind a params schema that accepts what its requests create', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    const created = [await getJob(s.deps, b.jobId), await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: b.jobId, mode: 'newDisks' })];
    for (const job of created) expect(KINDS.of(job.type)!.params.safeParse(job.params).success).toBe(true);
  });

  it('fails a restore whose stored params do not parse with JobParamsInvalid, not a TypeError, and frees the item', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    const job = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: b.jobId, mode: 'newDisks' });
    // A row as a newer version (or a hand edit) might leave it: a mode this version does not know, no point.
    await s.deps.repos.jobs.update(job.jobId, (j) => {
      j.params = { mode: 'sideways', targetResourceGroup: 'rg' };
    });
    await s.drain();
    const done = await finished(s, job.jobId, 'Failed');
    expect(done.error!.code).toBe('JobParamsInvalid');
    expect(done.error!.message).toContain('pointId');
    expect(done.error!.message).toContain('mode');
    expect((await s.deps.repos.items.get(vm.itemKey))!.doc.lockOwner).toBeUndefined();
    expect([...s.cloud.disks.values()].filter((d) => d.tags['vmbackup-restore-job'] === job.jobId)).toHaveLength(0);
  });

  it('fails a verify whose point id is not a string with JobParamsInvalid', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const b = await backupNow(s.deps, vm.itemKey);
    await s.drain();
    await finished(s, b.jobId);
    const job = await requestVerify(s.deps, vm.itemKey, b.jobId);
    await s.deps.repos.jobs.update(job.jobId, (j) => {
      j.params = { pointId: 42 };
    });
    await s.drain();
    expect((await finished(s, job.jobId, 'Failed')).error!.code).toBe('JobParamsInvalid');
  });
});
