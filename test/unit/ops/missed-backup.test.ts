import { describe, expect, it } from 'vitest';
import type { ProtectedItem } from '../../../src/core/domain/model';
import { PolicySchema, type Policy } from '../../../src/core/domain/policy';
import { missedSlot } from '../../../src/core/ops/sweep';
import { HOUR_MS } from '../../../src/core/domain/time';

const policy = (schedule: unknown, timeZone = 'UTC'): Policy => PolicySchema.parse({ name: 'p', timeZone, schedule, retention: { dailyDays: 7 } });
const item = (o: Partial<ProtectedItem> = {}): ProtectedItem => ({
  itemKey: 'vm;s;rg;vm1',
  vmId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
  vmName: 'vm1',
  resourceGroup: 'rg',
  subscriptionId: 's',
  location: 'westeurope',
  osType: 'Linux',
  state: 'Protected',
  policyName: 'p',
  disks: [],
  createdAt: new Date('2026-03-01T00:00:00Z'),
  protectedAt: new Date('2026-03-01T00:00:00Z'),
  ...o,
});
const at = (iso: string) => new Date(iso);
const GRACE = 3 * HOUR_MS;

describe('missed backup: no point since half the gap before the last due slot, after the grace', () => {
  const weekly = policy({ frequency: 'Weekly', daysOfWeek: ['Monday'], times: ['02:00'] });

  it('weekly: Monday 02:00 is missed at 05:01 without a point, covered by one taken after Thursday 14:00 (half the week before)', () => {
    // 2026-03-09 is a Monday.
    expect(missedSlot(item({ lastBackupAt: at('2026-03-02T02:10:00Z') }), weekly, at('2026-03-09T04:59:00Z'), GRACE)).toBeUndefined();
    expect(missedSlot(item({ lastBackupAt: at('2026-03-02T02:10:00Z') }), weekly, at('2026-03-09T05:01:00Z'), GRACE)).toEqual(at('2026-03-09T02:00:00Z'));
    expect(missedSlot(item({ lastBackupAt: at('2026-03-05T14:00:00Z') }), weekly, at('2026-03-09T05:01:00Z'), GRACE)).toBeUndefined();
    expect(missedSlot(item({ lastBackupAt: at('2026-03-05T13:59:00Z') }), weekly, at('2026-03-09T05:01:00Z'), GRACE)).toEqual(at('2026-03-09T02:00:00Z'));
  });

  it('hourly in a window: each 4-hour slot must be backed up; the gap across the night is judged by its own length', () => {
    const hourly = policy({ frequency: 'Hourly', intervalHours: 4, windowStart: '08:00', windowHours: 12 }); // 08, 12, 16
    expect(missedSlot(item({ lastBackupAt: at('2026-03-02T12:05:00Z') }), hourly, at('2026-03-02T19:01:00Z'), GRACE)).toEqual(at('2026-03-02T16:00:00Z'));
    expect(missedSlot(item({ lastBackupAt: at('2026-03-02T16:05:00Z') }), hourly, at('2026-03-03T07:59:00Z'), GRACE)).toBeUndefined();
  });

  it("follows the policy's time zone", () => {
    const berlin = policy({ frequency: 'Daily', times: ['02:00'] }, 'Europe/Berlin'); // 01:00 UTC in March
    expect(missedSlot(item(), berlin, at('2026-03-03T04:01:00Z'), GRACE)).toEqual(at('2026-03-03T01:00:00Z'));
    expect(missedSlot(item(), berlin, at('2026-03-03T03:59:00Z'), GRACE)).toEqual(at('2026-03-02T01:00:00Z'));
  });

  it('misses nothing for items not under a policy, stopped, waiting for a seed import, or protected after the slot', () => {
    const daily = policy({ frequency: 'Daily', times: ['02:00'] });
    const now = at('2026-03-05T12:00:00Z');
    expect(missedSlot(item(), undefined, now, GRACE)).toBeUndefined();
    expect(missedSlot(item({ state: 'ProtectionStopped' }), daily, now, GRACE)).toBeUndefined();
    expect(missedSlot(item({ seed: { exportJobId: 'j', exportedAt: '2026-03-01T00:00:00Z' } }), daily, now, GRACE)).toBeUndefined();
    expect(missedSlot(item({ protectedAt: at('2026-03-05T03:00:00Z') }), daily, now, GRACE)).toBeUndefined();
    expect(missedSlot(item({ state: 'ProtectionPending' }), daily, now, GRACE)).toEqual(at('2026-03-05T02:00:00Z'));
  });
});
