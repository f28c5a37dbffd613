import type { ProtectedItem, RecoveryPoint } from '../domain/model';
import type { Policy } from '../domain/policy';
import { DEFAULT_INSTANT_RESTORE_DAYS } from '../domain/policy';
import { slotsBetween } from '../domain/schedule';
import { DAY_MS, HOUR_MS } from '../domain/time';
import { ValidationError } from '../errors';
import type { Deps } from '../jobs/deps';

const GIB = 1024 ** 3;
/** Average month for a GiB-month price (365.25 / 12 days). */
export const MONTH_DAYS = 30.4375;

export interface ItemReport {
  itemKey: string;
  vmName: string;
  policyName: string | null;
  state: string;
  lastSuccessfulBackupAt: string | null;
  /** The longest gap between two of the policy's scheduled backups: the item's recovery point objective. */
  rpoHours: number | null;
  /** Whether the newest backup is at most rpoHours old; null without a policy (nothing is promised). */
  rpoMet: boolean | null;
  points: { snapshotTier: number; vault: number; softDeleted: number; immutable: number };
  /** Bytes written for the points kept (vault) and changed on the disks over the instant-restore days (snapshot tier). */
  storedBytes: { vault: number; snapshotTier: number; estimate: true };
  monthlyCost: { vault: number; snapshotTier: number; total: number; currency: string };
}

export interface BackupReport {
  generatedAt: string;
  prices: { vaultGiBMonth: number; snapshotGiBMonth: number; currency: string };
  notes: string[];
  items: ItemReport[];
  totals: { items: number; rpoMissed: number; vaultBytes: number; snapshotTierBytes: number; monthlyCost: number };
}

/** The longest gap between consecutive slots of the last two weeks (a weekly schedule repeats within that). */
export function rpoHoursOf(policy: Policy, now: Date): number {
  const slots = slotsBetween(policy.schedule, policy.timeZone, new Date(now.getTime() - 15 * DAY_MS), now);
  let gap = 0;
  for (let i = 1; i < slots.length; i++) gap = Math.max(gap, slots[i]!.getTime() - slots[i - 1]!.getTime());
  return (gap || 7 * DAY_MS) / HOUR_MS;
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

function itemReport(deps: Deps, item: ProtectedItem, policy: Policy | undefined, points: RecoveryPoint[], now: Date): ItemReport {
  const prices = deps.config.prices;
  const instantMs = (policy?.instantRestoreDays ?? DEFAULT_INSTANT_RESTORE_DAYS) * DAY_MS;
  const kept = points.filter((p) => p.state !== 'Corrupt');
  // Azure stores a blob snapshot's and an incremental disk snapshot's unique pages only: what each backup wrote
  // (bytesUploaded) and changed (changedBytes) as the finalize step recorded them, not a page-range listing.
  const vaultBytes = kept.reduce((n, p) => n + p.disks.reduce((m, d) => m + d.bytesUploaded, 0), 0);
  const recent = kept.filter((p) => p.state === 'Available' && now.getTime() - p.createdAt.getTime() <= instantMs);
  const snapshotBytes = recent.reduce((n, p) => n + p.disks.reduce((m, d) => m + d.changedBytes, 0), 0);
  const rpoHours = policy ? rpoHoursOf(policy, now) : null;
  const last = item.lastBackupAt;
  const vaultCost = (vaultBytes / GIB) * prices.vaultGiBMonth;
  const snapshotCost = (snapshotBytes / GIB) * prices.snapshotGiBMonth;
  return {
    itemKey: item.itemKey,
    vmName: item.vmName,
    policyName: item.policyName ?? null,
    state: item.state,
    lastSuccessfulBackupAt: last ? last.toISOString() : null,
    rpoHours: rpoHours === null ? null : round(rpoHours, 2),
    rpoMet: rpoHours === null ? null : !!last && now.getTime() - last.getTime() <= rpoHours * HOUR_MS,
    points: {
      snapshotTier: recent.length,
      vault: kept.filter((p) => p.state === 'Available').length,
      softDeleted: kept.filter((p) => p.state === 'SoftDeleted').length,
      immutable: kept.filter((p) => p.immutableUntil && p.immutableUntil > now).length,
    },
    storedBytes: { vault: vaultBytes, snapshotTier: snapshotBytes, estimate: true },
    monthlyCost: { vault: round(vaultCost, 4), snapshotTier: round(snapshotCost, 4), total: round(vaultCost + snapshotCost, 4), currency: prices.currency },
  };
}

export async function backupReport(deps: Deps, now = deps.clock()): Promise<BackupReport> {
  const policies = new Map((await deps.repos.policies.all()).map((p) => [p.name, p]));
  const items: ItemReport[] = [];
  for (const item of await deps.repos.items.all()) {
    const points = await deps.repos.points.all(item.itemKey);
    items.push(itemReport(deps, item, item.policyName ? policies.get(item.policyName) : undefined, points, now));
  }
  items.sort((a, b) => a.itemKey.localeCompare(b.itemKey));
  const sum = (f: (i: ItemReport) => number): number => items.reduce((n, i) => n + f(i), 0);
  return {
    generatedAt: now.toISOString(),
    prices: deps.config.prices,
    notes: [
      'Stored bytes are estimates: the bytes each backup wrote (vault) and the bytes changed on the disks over the instant-restore days (snapshot tier), as recorded when the points were made; transactions and egress are not included.',
      'Prices are the VMBACKUP_PRICE_GIB_MONTH_VAULT and VMBACKUP_PRICE_GIB_MONTH_SNAPSHOT settings per GiB-month.',
    ],
    items,
    totals: {
      items: items.length,
      rpoMissed: items.filter((i) => i.rpoMet === false).length,
      vaultBytes: sum((i) => i.storedBytes.vault),
      snapshotTierBytes: sum((i) => i.storedBytes.snapshotTier),
      monthlyCost: round(
        sum((i) => i.monthlyCost.total),
        4,
      ),
    },
  };
}

export const REPORT_FORMATS = ['json', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export function reportFormat(raw: string | null | undefined): ReportFormat {
  const f = (raw ?? 'json').toLowerCase();
  if ((REPORT_FORMATS as readonly string[]).includes(f)) return f as ReportFormat;
  throw new ValidationError(`The report format '${String(raw).slice(0, 20)}' is not known.`, 'Use format=json or format=csv.', { parameter: 'format' }, 'InvalidReportFormat');
}

export const CSV_COLUMNS = [
  'itemKey',
  'vmName',
  'policyName',
  'state',
  'lastSuccessfulBackupAt',
  'rpoHours',
  'rpoMet',
  'pointsSnapshotTier',
  'pointsVault',
  'pointsSoftDeleted',
  'pointsImmutable',
  'storedBytesVault',
  'storedBytesSnapshotTier',
  'monthlyCostVault',
  'monthlyCostSnapshotTier',
  'monthlyCostTotal',
  'currency',
] as const;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled; a leading =+-@ is defused for spreadsheets. */
function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@]/.test(s) && Number.isNaN(Number(s))) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(r: BackupReport): string {
  const rows = r.items.map((i) => [
    i.itemKey,
    i.vmName,
    i.policyName,
    i.state,
    i.lastSuccessfulBackupAt,
    i.rpoHours,
    i.rpoMet,
    i.points.snapshotTier,
    i.points.vault,
    i.points.softDeleted,
    i.points.immutable,
    i.storedBytes.vault,
    i.storedBytes.snapshotTier,
    i.monthlyCost.vault,
    i.monthlyCost.snapshotTier,
    i.monthlyCost.total,
    i.monthlyCost.currency,
  ]);
  return [[...CSV_COLUMNS], ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
