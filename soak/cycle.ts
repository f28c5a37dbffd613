import { EmulatorState } from '../src/emulator/arm/state';
import { contentDigest, fill, fingerprint, trim } from '../src/emulator/guest';
import { httpStatusFor, VmBackupError } from '../src/core/errors';
import { backupNow, requestProtection, requestRegistration } from '../src/core/workflows/protection/protection';
import { createPolicy } from '../src/core/workflows/protection/policies';
import { requestRestore } from '../src/core/workflows/restore/restore';
import { getJob, isTerminal } from '../src/core/jobs/jobs';
import type { Job } from '../src/core/domain/model';
import { CLIENT_FAULT_KINDS, type FaultMode } from './faults';
import { SUB, type DrainOptions, type ReliabilityStack } from './stack';
import { itemKeyFor } from '../src/core/store/layout';

const MIB = 1024 ** 2;

export interface SoakItem {
  vmId: string;
  itemKey: string;
}

export interface Tally {
  backups: number;
  restores: number;
  lostPoints: number;
  corruptRestores: number;
  http500: number;
  leakedSas: number;
  orphans: number;
  stuckLocks: number;
  /** Guests left with a frozen file system after their backup ended (a production outage on Azure). */
  frozenGuests: number;
  failedJobs: number;
  /** A second point made when a client retried backup-now whose answer was lost (the first job had started). */
  extraPoints: number;
  clientFaults: number;
  serverFaults: number;
  lroFaults: number;
  problems: string[];
}

export function newTally(): Tally {
  return {
    backups: 0,
    restores: 0,
    lostPoints: 0,
    corruptRestores: 0,
    http500: 0,
    leakedSas: 0,
    orphans: 0,
    stuckLocks: 0,
    frozenGuests: 0,
    failedJobs: 0,
    extraPoints: 0,
    clientFaults: 0,
    serverFaults: 0,
    lroFaults: 0,
    problems: [],
  };
}

/**
 * A VM with its disks; `fragments` small written ranges per disk, 64 KiB apart, give Get Page Ranges answers long
 * enough to be cut (the strict profile cuts every 64 ranges) and a per-fragment request count that meets the
 * per-blob request-rate cap.
 */
export async function registerVm(s: ReliabilityStack, name: string, sizesMiB: number[], fragments = 0, consistent = false): Promise<SoakItem> {
  const vmId = s.emulator.createVm({
    subscriptionId: SUB,
    resourceGroup: 'rg',
    name,
    disks: sizesMiB.map((mib, i) => ({ name: `${name}-d${i}`, sizeBytes: mib * MIB, lun: i === 0 ? -1 : i - 1 })),
  }).id;
  for (const d of diskIds(s, vmId)) for (let f = 0; f < fragments; f++) fill(s.emulator.store, d, f * 65536, 4096, 7919 * (f + 1));
  await requestRegistration(s.deps, [vmId]);
  await s.drain();
  if (consistent) {
    // The Run Command fault modes need backups that freeze: a file-system-consistent policy with the shortest timeout.
    const name = 'soak-fs';
    if (!(await s.deps.repos.policies.get(name))) {
      await createPolicy(s.deps, {
        name,
        timeZone: 'UTC',
        schedule: { frequency: 'Daily', times: ['00:00'] },
        retention: { dailyDays: 7 },
        consistency: { mode: 'FileSystemConsistent', scriptTimeoutSeconds: 30 },
      });
    }
    await requestProtection(s.deps, [itemKeyFor(vmId)], name);
    await s.drain();
  }
  return { vmId, itemKey: itemKeyFor(vmId) };
}

export function diskIds(s: ReliabilityStack, vmId: string): string[] {
  const vm = s.emulator.state.vm(vmId)!;
  return [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)].map(EmulatorState.key);
}

/** A guest that writes and trims at seeded places between backups. */
export function mutate(s: ReliabilityStack, vmId: string, rnd: () => number, seed: number): void {
  for (const d of diskIds(s, vmId)) {
    const size = s.emulator.store.get(d)!.sizeBytes;
    const writes = 1 + Math.floor(rnd() * 3);
    for (let w = 0; w < writes; w++) {
      const len = 512 * (1 + Math.floor(rnd() * 1024));
      const off = 512 * Math.floor(rnd() * ((size - len) / 512));
      fill(s.emulator.store, d, off, len, seed * 31 + w);
    }
    if (rnd() < 0.3) trim(s.emulator.store, d, 65536 * Math.floor(rnd() * (size / 65536 - 1)), 65536);
  }
}

/**
 * Seeded faults for the next operation: client-side (all planes), server-side on ARM and disk data, LRO failures.
 * The random draws are the same whichever modes are on, so a seed names the same plan in every mix of modes.
 */
export function planFaults(s: ReliabilityStack, rnd: () => number, span: number, modes?: ReadonlySet<FaultMode>): void {
  const on = (m: FaultMode): boolean => !modes || modes.has(m);
  const n = 1 + Math.floor(rnd() * 3);
  const client = Array.from({ length: n }, () => ({ position: 1 + Math.floor(rnd() * span), kind: CLIENT_FAULT_KINDS[Math.floor(rnd() * CLIENT_FAULT_KINDS.length)]! }));
  if (on('clientFaults')) s.faults.plan(client);
  const data = rnd() < 0.5 ? { plane: 'data' as const, status: [500, 503, 0][Math.floor(rnd() * 3)]!, retryAfter: 0, after: Math.floor(rnd() * 12), times: 1 + Math.floor(rnd() * 2) } : undefined;
  if (data && on('serverFaults')) s.emulator.faults.inject(data);
  const arm = rnd() < 0.4 ? { plane: 'arm' as const, status: rnd() < 0.5 ? 503 : 500, retryAfter: 0, after: Math.floor(rnd() * 10) } : undefined;
  if (arm && on('serverFaults')) s.emulator.faults.inject(arm);
  const lro = rnd() < 0.25 ? { after: Math.floor(rnd() * 4) } : undefined;
  if (lro && on('lroFailures')) s.emulator.faults.failLro(lro);
  // Drawn last and always, so the earlier draws of a seed stay what they were.
  const slow = rnd() < 0.3;
  const never = rnd() < 0.2;
  // Past the policy's 10 s client timeout: the client aborts, the script runs on (Run Command is not cancellable).
  if (slow && on('runCommandSlow')) s.emulator.runCommands.slow({ extraMs: 12_000, times: 1 });
  if (never && on('runCommandNeverAnswers')) s.emulator.runCommands.neverAnswer({ times: 1 });
}

export function clearFaults(s: ReliabilityStack, t: Tally): void {
  const seen = faultCounts(s);
  t.clientFaults += seen.client;
  t.serverFaults += seen.server;
  t.lroFaults += seen.lro;
  s.faults.clear();
  s.emulator.faults.clear();
  s.emulator.runCommands.clearFaults();
  counted.set(s, faultCounts(s, true));
}

const counted = new WeakMap<ReliabilityStack, { client: number; server: number; lro: number }>();
function faultCounts(s: ReliabilityStack, absolute = false): { client: number; server: number; lro: number } {
  const now = { client: Object.values(s.faults.injected).reduce((a, b) => a + b, 0), server: s.emulator.faults.injected, lro: s.emulator.faults.lroFailed };
  if (absolute) return now;
  const was = counted.get(s) ?? { client: 0, server: 0, lro: 0 };
  return { client: now.client - was.client, server: now.server - was.server, lro: now.lro - was.lro };
}

/** A client that retries a request the service could not take (a 503 at the HTTP layer), as callers do. */
async function asClient<T>(t: Tally, fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      // What the HTTP layer would answer: a 500 is a defect, a 503 is retried by the caller.
      if (httpStatusFor(err) === 500) {
        t.http500++;
        const e = err as { name?: string; code?: string; statusCode?: number; message?: string };
        t.problems.push(`a request would answer 500: ${e.name} ${e.code} ${e.statusCode} ${String(e.message).slice(0, 160)}`);
      }
      if (err instanceof VmBackupError || i >= 8) throw err;
    }
  }
}

/** Runs the queues until the job is terminal; a planning lease left by a failed delivery is waited out. */
export async function settle(s: ReliabilityStack, jobId: string, opts: DrainOptions = {}): Promise<Job> {
  for (let i = 0; i < 6; i++) {
    // Until the job has ended: a duplicate delivery's delayed no-op (a lost lease, looked at again when it runs
    // out) is delivered by a later drain instead of being waited for.
    await s.drain({ ...opts, until: async () => isTerminal(await getJob(s.observer, jobId)) });
    const j = await getJob(s.observer, jobId);
    if (isTerminal(j)) return j;
    s.emulator.clock.advance(61_000);
  }
  return getJob(s.observer, jobId);
}

/** One backup, optionally a restore of it, under faults; then every invariant is checked. */
export async function backupRestoreCycle(
  s: ReliabilityStack,
  item: SoakItem,
  rnd: () => number,
  seed: number,
  t: Tally,
  opts: { restore: boolean; faults: boolean; drain?: DrainOptions; modes?: ReadonlySet<FaultMode> },
): Promise<void> {
  const label = `seed ${seed}`;
  mutate(s, item.vmId, rnd, seed);
  s.emulator.clock.advance(60_000);
  const before = await s.observer.repos.points.all(item.itemKey);
  if (opts.faults) planFaults(s, rnd, 80, opts.modes);
  // A client that retries sends the same Idempotency-Key, so a lost answer costs no second backup.
  const backupKey = `soak-${seed}-${item.itemKey}-backup`;
  const job = await asClient(t, () => backupNow(s.deps, item.itemKey, undefined, backupKey));
  const done = await settle(s, job.jobId, opts.drain);
  t.backups++;
  lateFreezes(s, t, label);
  // Re-plan for the restore: the faults may not have all fired during the backup.
  if (opts.faults && opts.restore) {
    s.faults.clear();
    planFaults(s, rnd, 40, opts.modes);
  }
  const after = await s.observer.repos.points.all(item.itemKey);
  if (done.status !== 'Completed' && done.status !== 'CompletedWithWarnings') {
    t.failedJobs++;
    t.problems.push(`${label}: backup ${done.status} ${JSON.stringify(done.error)}`);
  } else if (after.length > before.length + 1 && after.some((p) => p.pointId === done.result.recoveryPointId) && before.every((b) => after.some((p) => p.pointId === b.pointId))) {
    t.extraPoints += after.length - before.length - 1;
    t.problems.push(`${label}: ${after.length - before.length} points from one backup-now (the client's retry made a second backup)`);
  } else if (after.length !== before.length + 1 || !after.some((p) => p.pointId === done.result.recoveryPointId)) {
    t.lostPoints++;
    t.problems.push(`${label}: ${before.length} points before, ${after.length} after`);
  } else {
    const point = after.find((p) => p.pointId === done.result.recoveryPointId)!;
    for (const d of point.disks) {
      if (d.digest !== contentDigest(s.emulator.store, EmulatorState.key(d.sourceSnapshotId))) {
        t.lostPoints++;
        t.problems.push(`${label}: point digest of ${d.diskKey} differs from its snapshot`);
      }
    }
    if (opts.restore) {
      // Mostly from the vault (every byte through the app, where faults bite); one in four takes the API's default
      // (auto: the point's source snapshots while they exist).
      const source = seed % 4 === 0 ? undefined : 'vault';
      const r = await asClient(t, () => requestRestore(s.deps, { itemKey: item.itemKey, pointId: point.pointId, mode: 'newDisks', source, idempotencyKey: `soak-${seed}-${item.itemKey}-restore` }));
      const rj = await settle(s, r.jobId, opts.drain);
      t.restores++;
      if (rj.status !== 'Completed') {
        t.failedJobs++;
        t.problems.push(`${label}: restore ${rj.status} ${JSON.stringify(rj.error)}`);
      } else {
        for (const x of rj.result.disks as { diskKey: string; diskId: string }[]) {
          const src = point.disks.find((p) => p.diskKey === x.diskKey)!.sourceSnapshotId;
          if (fingerprint(s.emulator.store, EmulatorState.key(x.diskId)) !== fingerprint(s.emulator.store, EmulatorState.key(src))) {
            t.corruptRestores++;
            t.problems.push(`${label}: restored ${x.diskKey} differs (content fingerprint)`);
          }
          // The restored disk has been checked; drop it so a long soak stays small.
          const rec = s.emulator.state.disk(x.diskId);
          if (rec) s.emulator.resources.deleteDisk(rec);
        }
      }
    }
  }
  if (opts.faults) clearFaults(s, t);
  await audit(s, [item], t, label);
}

/**
 * A freeze still running once its job has ended freezes the guest later, with no thaw of the job's after it: only
 * the watchdog would undo it. The thaw is sent on while it is refused as busy, so this must never be.
 */
function lateFreezes(s: ReliabilityStack, t: Tally, label: string): void {
  const late = s.emulator.runCommands.inFlight().filter((r) => r.script.some((l) => /fsfreeze -f/.test(l)));
  if (late.length === 0) return;
  t.frozenGuests += late.length;
  t.problems.push(`${label}: ${late.length} freeze(s) still running after the job ended: ${late.map((r) => r.vmId).join(', ')}`);
}

/** Nothing left behind: no guest frozen, no open SAS, no item lock, no source snapshot that nothing references. */
export async function audit(s: ReliabilityStack, items: SoakItem[], t: Tally, label: string): Promise<void> {
  // No guest may be frozen once its job has ended: the thaw is sent until one answers, and a thaw that answers ran
  // after the freeze (one script at a time). The short wait only lets the last thaw's own answer settle.
  await new Promise((r) => setTimeout(r, 200));
  const frozen = s.emulator.guests.allFrozen();
  if (frozen.length > 0) {
    t.frozenGuests += frozen.length;
    t.problems.push(`${label}: ${frozen.length} guest file system(s) left frozen: ${JSON.stringify(frozen).slice(0, 200)}`);
  }
  lateFreezes(s, t, label);
  const open = [...s.emulator.state.grants.values()];
  if (open.length > 0) {
    t.leakedSas += open.length;
    t.problems.push(`${label}: ${open.length} SAS still open`);
    for (const g of open) s.emulator.state.grants.delete(g.id); // count each leak once
  }
  for (const item of items) {
    const row = (await s.observer.repos.items.get(item.itemKey))?.doc;
    if (row?.lockOwner) {
      const owner = await getJob(s.observer, row.lockOwner).catch(() => undefined);
      if (!owner || isTerminal(owner)) {
        t.stuckLocks++;
        t.problems.push(`${label}: lock held by ${owner ? owner.status : 'a missing'} job`);
      }
    }
    const referenced = new Set<string>();
    for (const d of row?.disks ?? []) if (d.baseSnapshotId) referenced.add(EmulatorState.key(d.baseSnapshotId));
    for (const p of await s.observer.repos.points.all(item.itemKey)) for (const d of p.disks) referenced.add(EmulatorState.key(d.sourceSnapshotId));
    for (const snap of s.emulator.state.snapshots.values()) {
      if (snap.tags['vmbackup-item'] !== item.itemKey.slice(0, 256) || referenced.has(EmulatorState.key(snap.id))) continue;
      const owner = await getJob(s.observer, snap.tags['vmbackup-job'] ?? '').catch(() => undefined);
      if (owner && !isTerminal(owner)) continue;
      t.orphans++;
      t.problems.push(`${label}: orphaned snapshot ${snap.name} of ${owner ? owner.status : 'an unknown'} job`);
      s.emulator.resources.deleteSnapshot(snap);
    }
  }
}
