import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { recomputeExpiries } from '../../src/core/domain/retention';
import type { Retention } from '../../src/core/domain/policy';
import type { ProtectedItem, RecoveryPoint } from '../../src/core/domain/model';
import { createRepos } from '../../src/core/store/repos';
import { MemoryTableFactory } from '../../src/core/adapters/memory/tables';
import { MemoryQueueFactory } from '../../src/core/adapters/memory/queues';
import { retentionRun } from '../../src/core/workflows/protection/retention';
import type { Deps } from '../../src/core/jobs/deps';
import { newestFirstKey } from '../../src/core/store/layout';
import { silentLogger } from '../../src/core/ports/logger';

const DAY = 86_400_000,
  HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

const retentionArb: fc.Arbitrary<Retention> = fc.record(
  {
    dailyDays: fc.integer({ min: 1, max: 60 }),
    weekly: fc.option(fc.record({ weeks: fc.integer({ min: 1, max: 12 }), dayOfWeek: fc.constantFrom('Monday', 'Sunday') as fc.Arbitrary<'Monday' | 'Sunday'> }), { nil: undefined }),
    monthly: fc.option(fc.record({ months: fc.integer({ min: 1, max: 24 }), dayOfMonth: fc.constantFrom(1, 15, 'Last' as const) }), { nil: undefined }),
  },
  { requiredKeys: ['dailyDays'] },
);

/** Point times: a few dozen backups with gaps from an hour to a few days, oldest first. */
const timesArb = fc.array(fc.integer({ min: HOUR, max: 4 * DAY }), { minLength: 1, maxLength: 40 }).map((gaps) => {
  let t = T0;
  return gaps.map((g) => (t += g));
});

describe('retention properties', () => {
  it('keeps every point of the last dailyDays days, whatever the other tiers (property)', () => {
    fc.assert(
      fc.property(timesArb, retentionArb, fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'), fc.integer({ min: 0, max: 90 * DAY }), (times, r, tz, after) => {
        const expiries = recomputeExpiries(
          times.map((t) => new Date(t)),
          r,
          tz,
        );
        const now = times[times.length - 1]! + after;
        const kept = times.filter((_t, i) => expiries[i]!.getTime() > now);
        // One hour of slack: a day across a DST change is 23 hours long.
        const recent = times.filter((t) => t > now - r.dailyDays * DAY + HOUR);
        for (const t of recent) expect(kept).toContain(t);
        expect(kept.length).toBeGreaterThanOrEqual(recent.length);
        // Extra tiers only ever lengthen a point's life.
        const dailyOnly = recomputeExpiries(
          times.map((t) => new Date(t)),
          { dailyDays: r.dailyDays },
          tz,
        );
        expiries.forEach((e, i) => expect(e.getTime()).toBeGreaterThanOrEqual(dailyOnly[i]!.getTime()));
      }),
      { numRuns: 150, seed: 61 },
    );
  });

  it('never soft-deletes the newest available point, nor any point not yet expired (property, retention service)', async () => {
    await fc.assert(
      fc.asyncProperty(
        timesArb,
        fc.array(fc.integer({ min: -30 * DAY, max: 30 * DAY }), { minLength: 40, maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
        async (times, offsets, deleted) => {
          const now = new Date(times[times.length - 1]! + 10 * DAY);
          const deps = {
            config: { softDeleteDays: 14 },
            repos: createRepos(new MemoryTableFactory(), 'vmb'),
            queues: new MemoryQueueFactory(),
            compute: {
              async *listSnapshots() {
                /* none */
              },
              async deleteSnapshot() {},
            },
            store: { async deleteShardSnapshot() {}, async deleteObject() {} },
            clock: () => now,
            log: silentLogger,
          } as unknown as Deps;
          const itemKey = 'vm;s;rg;prop';
          await deps.repos.items.insert({
            itemKey,
            vmId: 'x',
            vmName: 'prop',
            resourceGroup: 'rg',
            subscriptionId: 's',
            location: 'l',
            osType: 'Linux',
            state: 'Protected',
            disks: [],
            createdAt: new Date(T0),
          } as ProtectedItem);
          const points: RecoveryPoint[] = times.map((t, i) => ({
            itemKey,
            pointId: `${newestFirstKey(new Date(t))}-p${i}`,
            createdAt: new Date(t),
            consistency: 'CrashConsistent',
            disks: [],
            expiresAt: new Date(now.getTime() + offsets[i]!),
            state: deleted[i] ? 'SoftDeleted' : 'Available',
            deletedAt: deleted[i] ? now : undefined,
            jobId: `j${i}`,
          }));
          for (const p of points) await deps.repos.points.insert(p);
          await retentionRun(deps, now);
          const after = new Map((await deps.repos.points.all(itemKey)).map((p) => [p.pointId, p]));
          const newest = [...points].reverse().find((p) => p.state === 'Available');
          if (newest) expect(after.get(newest.pointId)?.state).toBe('Available');
          for (const p of points) {
            const a = after.get(p.pointId);
            if (p.state === 'Available' && p.expiresAt! > now) expect(a?.state).toBe('Available');
            if (p.state === 'Available' && p.expiresAt! <= now && p !== newest) expect(a?.state).toBe('SoftDeleted');
            // Soft-deleted points are kept for the whole soft-delete window before they are purged.
            if (p.state === 'SoftDeleted') expect(a?.state).toBe('SoftDeleted');
          }
        },
      ),
      { numRuns: 60, seed: 62 },
    );
  });
});
