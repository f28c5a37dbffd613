import { describe, expect, it } from 'vitest';
import { parsePolicy, snapshotsKeptPerDisk } from '../../../src/core/domain/policy';
import { createPolicy } from '../../../src/core/workflows/protection/policies';
import { httpStatusFor, ValidationError } from '../../../src/core/errors';
import type { Deps } from '../../../src/core/jobs/deps';

// Azure keeps at most 500 incremental snapshots per disk (includes/virtual-machines-disks-incremental-snapshots-restrictions.md);
// a policy that would keep more fails every backup once it is reached (AZURE-FIDELITY m3).
const times = (n: number): string[] => Array.from({ length: n }, (_, i) => `${String(i).padStart(2, '0')}:00`);
const policy = (n: number, days: number) => ({ name: 'p', timeZone: 'UTC', schedule: { frequency: 'Daily', times: times(n) }, retention: { dailyDays: 30 }, instantRestoreDays: days });

describe('a policy keeps at most 500 snapshots per disk (incremental-snapshots restrictions)', () => {
  it('refuses 24 daily times x 30 instant-restore days (720) with the numbers and the fix', () => {
    const r = parsePolicy(policy(24, 30));
    expect(r.ok).toBe(false);
    const issues = (r as { issues: string[] }).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^instantRestoreDays: keeps up to 722 snapshots per disk .*limit of 500.*lower it to 20 or fewer/);
  });

  it('accepts the largest policy under the limit, and counts hourly schedules by their slots', () => {
    expect(parsePolicy(policy(24, 20)).ok).toBe(true); // 482
    expect(snapshotsKeptPerDisk({ schedule: { frequency: 'Hourly', intervalHours: 4, windowStart: '00:00', windowHours: 22 }, instantRestoreDays: 30 })).toBe(6 * 30 + 2);
    expect(parsePolicy({ ...policy(1, 30), schedule: { frequency: 'Hourly', intervalHours: 1, windowStart: '00:00', windowHours: 24 } }).ok).toBe(false);
  });

  it('is a 400 ValidationError when the policy is saved, before anything is stored', async () => {
    const deps = {
      repos: {
        policies: {
          insert: () => {
            throw new Error('must not be stored');
          },
        },
      },
    } as unknown as Deps;
    await expect(createPolicy(deps, policy(24, 30))).rejects.toBeInstanceOf(ValidationError);
    const err = await createPolicy(deps, policy(24, 30)).catch((e: unknown) => e);
    expect(httpStatusFor(err)).toBe(400);
    expect((err as Error).message).toMatch(/limit of 500 incremental snapshots per disk/);
  });
});
