import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { backupNow } from '../../../src/core/workflows/protection/protection';
import { createPolicy } from '../../../src/core/workflows/protection/policies';
import { deletePoint, retentionRun } from '../../../src/core/workflows/protection/retention';
import { requestVerify } from '../../../src/core/workflows/verify/verify';
import { requestRestore } from '../../../src/core/workflows/restore/restore';
import { schedulerTick } from '../../../src/core/workflows/protection/scheduler';
import { WebhookChannel } from '../../../src/core/adapters/webhook/channel';
import { withOps } from '../../../src/core/ops/wire';
import { alertSweep } from '../../../src/core/ops/sweep';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../src/core/domain/time';
import { failing, memoryDeps, type MemoryStack } from '../../support/memory-deps';
import { DAILY_POLICY, finished, registeredVm, type TestVm } from '../../support/memory-fixtures';
import { WebhookReceiver } from '../../support/webhook-receiver';
import { secretsIn } from '../../support/secrets';

const LEAKY = 'PUT https://acct.blob.core.windows.net/vmbackup/x?sv=2024-08-04&sig=AbCdEf0123456789%2Bxyz failed: AccountKey=abc123== refused';
let hook: WebhookReceiver;

/** A stack whose alerts go to the loopback receiver, with a daily 02:00 UTC policy and one protected VM. */
async function stack(o: { failWrites?: boolean } = {}): Promise<{ s: MemoryStack; vm: TestVm }> {
  const s = memoryDeps({
    settings: { VMBACKUP_ALERT_WEBHOOK_URL: hook.url, VMBACKUP_MISSED_BACKUP_GRACE_MINUTES: '180' },
    deps: (d) => withOps(o.failWrites ? { ...d, store: failing(d.store, 'putPages', () => new Error(LEAKY)) } : d, { channel: new WebhookChannel(d.config.alerts.webhookUrl!) }),
  });
  await createPolicy(s.deps, DAILY_POLICY);
  return { s, vm: await registeredVm(s, 'vm1', { policyName: DAILY_POLICY.name }) };
}

async function backedUp(s: MemoryStack, vm: TestVm): Promise<string> {
  const j = await backupNow(s.deps, vm.itemKey);
  await s.drain();
  await finished(s, j.jobId);
  return j.jobId;
}

describe('alerts to a Teams/Slack-compatible webhook (loopback receiver)', () => {
  beforeAll(async () => {
    hook = await new WebhookReceiver().start();
  });
  afterEach(() => {
    hook.received.length = 0;
  });
  afterAll(() => hook.stop());

  it('posts nothing for a healthy run: backups on schedule, a restore, a verification, sweeps before and after the next slot', async () => {
    const { s, vm } = await stack();
    const pointId = await backedUp(s, vm);
    const r = await requestRestore(s.deps, { itemKey: vm.itemKey, pointId, mode: 'newDisks', source: 'vault' });
    await s.drain();
    await finished(s, r.jobId);
    const v = await requestVerify(s.deps, vm.itemKey, pointId);
    await s.drain();
    await finished(s, v.jobId);
    expect(await alertSweep(s.deps)).toEqual({ raised: 0, delivered: 0, pending: 0 });
    // The next day's 02:00 slot runs, and the sweep comes after the grace: the slot was backed up, nothing missed.
    s.clock.ms = Date.parse('2026-03-03T02:00:00Z');
    await schedulerTick(s.deps);
    await s.drain();
    s.clock.ms = Date.parse('2026-03-03T05:30:00Z');
    expect(await alertSweep(s.deps)).toEqual({ raised: 0, delivered: 0, pending: 0 });
    expect(hook.received).toEqual([]);
  });

  it('posts a failed job once, as {"text"} JSON with the code and action and no key or SAS, however often it is swept', async () => {
    const { s, vm } = await stack({ failWrites: true });
    const j = await backupNow(s.deps, vm.itemKey);
    await s.drain({ maxDequeueCount: 2 });
    const job = await finished(s, j.jobId, 'Failed');
    await alertSweep(s.deps);
    await alertSweep(s.deps);
    expect(hook.received).toHaveLength(1);
    const [post] = hook.received;
    expect(post!.contentType).toBe('application/json');
    expect(Object.keys(post!.body as object)).toEqual(['text']);
    const text = hook.accepted[0]!;
    expect(text).toContain(`Backup of VM vm1 (resource group rg`);
    expect(text).toContain(job.jobId);
    expect(text).toContain(job.error!.code);
    expect(text).toContain('Recommended action:');
    expect(secretsIn([JSON.stringify(post!.body)])).toEqual([]);
    expect(secretsIn([LEAKY]).length).toBeGreaterThan(0); // the scan would have seen what the step met
  });

  it('retries an alert the receiver refused with a 500 on the next sweep, and then stops', async () => {
    const { s, vm } = await stack({ failWrites: true });
    hook.failNext(1);
    const j = await backupNow(s.deps, vm.itemKey);
    await s.drain({ maxDequeueCount: 2 });
    await finished(s, j.jobId, 'Failed');
    expect(hook.received.map((r) => r.status)).toEqual([500]);
    const row = (await s.deps.repos.alerts.all())[0]!;
    expect(row).toMatchObject({ state: 'Pending', attempts: 1, lastError: expect.stringMatching(/answered 500/) });
    expect(row.lastError).not.toContain('secretpart'); // the webhook URL is a credential: only its host is said
    // Two sweeps at once (two instances on the same timer): the claim on the row lets one of them post it.
    const both = await Promise.all([alertSweep(s.deps), alertSweep(s.deps)]);
    expect(both.reduce((n, r) => n + r.delivered, 0)).toBe(1);
    await alertSweep(s.deps);
    expect(hook.received.map((r) => r.status)).toEqual([500, 200]);
    expect(hook.accepted[0]).toContain(j.jobId);
  });

  it('posts a failed verification once, as its own alert', async () => {
    const { s, vm } = await stack();
    const pointId = await backedUp(s, vm);
    const p = (await s.deps.repos.points.get(vm.itemKey, pointId))!.doc;
    await s.store.deleteObject(p.disks.find((d) => d.diskKey === 'lun-0')!.manifest);
    const v = await requestVerify(s.deps, vm.itemKey, pointId);
    await s.drain();
    await finished(s, v.jobId, 'Failed');
    await alertSweep(s.deps);
    expect(hook.accepted).toHaveLength(1);
    expect(hook.accepted[0]).toMatch(new RegExp(`^vmbackup: Verification of VM vm1 .* failed for recovery point ${pointId}`));
    expect(hook.accepted[0]).toContain('RecoveryPointCorrupt');
    expect((await s.deps.repos.alerts.all()).map((a) => a.type)).toEqual(['VerificationFailed']);
  });

  it('posts a missed backup once when no point came within the slot plus the grace, and again only after a new point and a new miss', async () => {
    const { s, vm } = await stack(); // protected 2026-03-02 10:00 UTC; the first slot is 03-03 02:00
    s.clock.ms = Date.parse('2026-03-03T04:59:00Z'); // inside the 180-minute grace
    await alertSweep(s.deps);
    expect(hook.received).toEqual([]);
    s.clock.ms = Date.parse('2026-03-03T05:01:00Z');
    await alertSweep(s.deps);
    s.clock.advance(HOUR_MS);
    await alertSweep(s.deps);
    expect(hook.accepted).toHaveLength(1);
    expect(hook.accepted[0]).toContain('missed its backup due 2026-03-03T02:00:00.000Z under policy daily');
    expect(hook.accepted[0]).toContain('no recovery point yet');
    await backedUp(s, vm); // a backup now at 06:01 covers nothing due yet; the next slot is 03-04 02:00
    await alertSweep(s.deps);
    expect(hook.accepted).toHaveLength(1);
    s.clock.ms = Date.parse('2026-03-04T05:01:00Z');
    await alertSweep(s.deps);
    await alertSweep(s.deps);
    expect(hook.accepted).toHaveLength(2);
    expect(hook.accepted[1]).toContain('Its newest recovery point is from 2026-03-03T06:01:00.000Z');
  });

  it('posts a soft-deleted point once, and its purge once when retention purges it', async () => {
    const { s, vm } = await stack();
    const older = await backedUp(s, vm);
    s.clock.advance(MINUTE_MS);
    await backedUp(s, vm);
    await deletePoint(s.deps, vm.itemKey, older);
    await alertSweep(s.deps);
    await alertSweep(s.deps);
    expect(hook.accepted).toHaveLength(1);
    expect(hook.accepted[0]).toContain(`recovery point ${older} of VM vm1`);
    expect(hook.accepted[0]).toContain('soft-deleted');
    s.clock.advance(s.deps.config.softDeleteDays * DAY_MS + MINUTE_MS);
    await backedUp(s, vm); // keeps the item from missing its backups in the meantime
    expect((await retentionRun(s.deps)).purged).toBe(1);
    await alertSweep(s.deps);
    await alertSweep(s.deps);
    const texts = hook.accepted;
    expect(texts).toHaveLength(2);
    expect(texts[1]).toContain(`recovery point ${older} of VM vm1 (resource group rg, subscription`);
    expect(texts[1]).toContain('was purged');
  });
});
