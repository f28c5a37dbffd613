import { describe, expect, it } from 'vitest';
import { QUEUES } from '../../../src/core/config';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { checkIdempotencyKey, IDEMPOTENCY_WINDOW_MS, purgeExpiredRequests } from '../../../src/core/jobs/idempotency';
import { httpStatusFor } from '../../../src/core/errors';
import { memoryDeps } from '../../support/memory-deps';
import { finished, registeredVm } from '../../support/memory-fixtures';

describe('idempotency keys (memory adapters)', () => {
  it('answers a retried backup-now with the same key with the first job, and sends no second message', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const a = await backupNow(s.deps, vm.itemKey, undefined, 'key-1');
    let replay: Awaited<ReturnType<typeof backupNow>> | undefined;
    let resent = -1;
    await s.drain({
      beforeStep: async (queue) => {
        // While the job runs and holds the item lock: a replay skips the busy check and sends nothing.
        if (queue !== QUEUES.copy || replay) return;
        replay = await backupNow(s.deps, vm.itemKey, undefined, 'key-1');
        resent = (s.queues.sent.get(QUEUES.snapshot) ?? []).length;
      },
    });
    expect(replay!.jobId).toBe(a.jobId);
    expect(replay!.status).toBe('InProgress');
    expect(resent).toBe(0);
    await finished(s, a.jobId);
    expect(await s.deps.repos.jobs.all({ where: { type: 'Backup' } })).toHaveLength(1);
  });

  it('re-sends the message of a replayed job that is still queued (the first call may have died before it)', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const a = await backupNow(s.deps, vm.itemKey, undefined, 'key-q');
    s.queues.drain(QUEUES.snapshot);
    const b = await backupNow(s.deps, vm.itemKey, undefined, 'key-q');
    expect(b.jobId).toBe(a.jobId);
    expect(s.queues.sent.get(QUEUES.snapshot)).toHaveLength(1);
  });

  it('refuses the same key for a different request with 409 IdempotencyKeyReused', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const b = await backupNow(s.deps, vm.itemKey, undefined, 'key-2');
    await s.drain();
    await finished(s, b.jobId);
    const err = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId: b.jobId, mode: 'newDisks', idempotencyKey: 'key-2' }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('IdempotencyKeyReused');
    expect(httpStatusFor(err)).toBe(409);
    const other = await backupNow(s.deps, vm.itemKey, new Date(s.clock.ms + 86_400_000), 'key-2').catch((e: unknown) => e);
    expect((other as { code: string }).code).toBe('IdempotencyKeyReused');
  });

  it('lets a key refused for a busy item create the job once the item is free', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    await s.deps.repos.items.update(vm.itemKey, (i) => {
      i.lockOwner = 'x';
      i.lockExpiresAt = new Date(s.clock.ms + 60_000);
    });
    await expect(backupNow(s.deps, vm.itemKey, undefined, 'key-3')).rejects.toMatchObject({ code: 'AnotherOperationInProgress' });
    s.clock.advance(61_000);
    const job = await backupNow(s.deps, vm.itemKey, undefined, 'key-3');
    await s.drain();
    await finished(s, job.jobId);
  });

  it('frees a key after the window: the purge removes it and the same key makes a new job', async () => {
    const s = memoryDeps();
    const vm = await registeredVm(s);
    const a = await backupNow(s.deps, vm.itemKey, undefined, 'key-4');
    await s.drain();
    s.clock.advance(IDEMPOTENCY_WINDOW_MS + 1);
    const b = await backupNow(s.deps, vm.itemKey, undefined, 'key-4');
    expect(b.jobId).not.toBe(a.jobId);
    s.clock.advance(IDEMPOTENCY_WINDOW_MS + 1);
    expect(await purgeExpiredRequests(s.deps)).toBe(1);
  });

  it('accepts 1-200 printable ASCII characters and nothing else', () => {
    expect(checkIdempotencyKey('a'.repeat(200))).toBe('a'.repeat(200));
    expect(checkIdempotencyKey(undefined)).toBeUndefined();
    for (const bad of ['', 'a b', 'ü', 'a'.repeat(201)]) expect(() => checkIdempotencyKey(bad)).toThrow(/Idempotency-Key/);
  });
});
