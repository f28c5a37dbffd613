import { describe, expect, it } from 'vitest';
import { backupNow } from '../../src/core/workflows/protection/protection';
import { backupReport, CSV_COLUMNS, reportCsv, reportFormat } from '../../src/core/views/report';
import { ValidationError } from '../../src/core/errors';
import { memoryDeps } from '../support/memory-deps';
import { finished, registeredVm } from '../support/memory-fixtures';

const HOUR = 3_600_000,
  GIB = 1024 ** 3;

async function seeded() {
  const s = memoryDeps({ settings: { VMBACKUP_PRICE_GIB_MONTH_VAULT: '0.5', VMBACKUP_PRICE_GIB_MONTH_SNAPSHOT: '0.25', VMBACKUP_REPORT_CURRENCY: 'EUR' } });
  await s.deps.repos.policies.insert({
    name: 'twice-daily',
    timeZone: 'UTC',
    schedule: { frequency: 'Daily', times: ['02:00', '08:00'] },
    retention: { dailyDays: 7 },
    instantRestoreDays: 2,
    consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60, thawAfterSeconds: 120 },
  });
  const a = await registeredVm(s, 'vm-a', { policyName: 'twice-daily' });
  const b = await registeredVm(s, 'vm-b');
  for (let n = 0; n < 2; n++) {
    const job = await backupNow(s.deps, a.itemKey);
    await s.drain();
    await finished(s, job.jobId);
    s.clock.advance(HOUR);
  }
  return { s, a, b };
}

describe('backup report', () => {
  it('reports last backup, RPO against the longest gap of the schedule, points by tier, stored bytes and cost', async () => {
    const { s, a, b } = await seeded();
    const points = await s.deps.repos.points.all(a.itemKey);
    const uploaded = points.flatMap((p) => p.disks).reduce((n, d) => n + d.bytesUploaded, 0);
    const changed = points.flatMap((p) => p.disks).reduce((n, d) => n + d.changedBytes, 0);
    expect(uploaded).toBeGreaterThan(0);
    const r = await backupReport(s.deps);
    const ra = r.items.find((i) => i.itemKey === a.itemKey)!;
    const rb = r.items.find((i) => i.itemKey === b.itemKey)!;
    // 02:00 and 08:00 every day: the longest gap is 08:00 -> 02:00, 18 hours.
    expect(ra).toMatchObject({ policyName: 'twice-daily', rpoHours: 18, rpoMet: true, points: { snapshotTier: 2, vault: 2, softDeleted: 0, immutable: 0 } });
    expect(ra.lastSuccessfulBackupAt).toBe(points[0]!.createdAt.toISOString());
    expect(ra.storedBytes).toEqual({ vault: uploaded, snapshotTier: changed, estimate: true });
    expect(ra.monthlyCost.total).toBeCloseTo((uploaded / GIB) * 0.5 + (changed / GIB) * 0.25, 4);
    expect(ra.monthlyCost.currency).toBe('EUR');
    expect(rb).toMatchObject({ policyName: null, rpoHours: null, rpoMet: null, lastSuccessfulBackupAt: null, points: { vault: 0 } });
    expect(r.totals).toMatchObject({ items: 2, rpoMissed: 0, vaultBytes: uploaded });

    // Past the RPO the item misses it; past the instant-restore days its points are in the vault only.
    s.clock.advance(3 * 24 * HOUR);
    const later = (await backupReport(s.deps)).items.find((i) => i.itemKey === a.itemKey)!;
    expect(later).toMatchObject({ rpoMet: false, points: { snapshotTier: 0, vault: 2 }, storedBytes: { snapshotTier: 0 } });
  });

  it('writes CSV with a header and one row per item, quoting as RFC 4180 says', async () => {
    const { s } = await seeded();
    const r = await backupReport(s.deps);
    r.items[0]!.vmName = 'has,comma "and quotes"';
    const csv = reportCsv(r);
    expect(csv.endsWith('\r\n')).toBe(true);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines).toHaveLength(1 + r.items.length);
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines[1]).toContain('"has,comma ""and quotes"""');
    const cells = lines[2]!.split(',');
    expect(cells).toHaveLength(CSV_COLUMNS.length);
    expect(cells[CSV_COLUMNS.indexOf('currency')]).toBe('EUR');
  });

  it('accepts json and csv and refuses any other format with 400 InvalidReportFormat', () => {
    expect(reportFormat(undefined)).toBe('json');
    expect(reportFormat('CSV')).toBe('csv');
    let err: unknown;
    try {
      reportFormat('xml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('InvalidReportFormat');
  });
});
