import { busy, itemNotFound } from '../errors';
import type { Deps } from './deps';
import { isTerminal } from './jobs';

/**
 * The per-item lock: one backup or restore at a time. Lease-like: it expires, so a crashed holder never
 * blocks the item for longer than the lock TTL; holders extend it while they work.
 */
export async function acquireItemLock(deps: Deps, itemKey: string, owner: string): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const now = deps.clock();
    let holder: { owner: string; since: number } | undefined;
    const item = await deps.repos.items.update(itemKey, (i) => {
      holder = undefined;
      if (i.lockOwner && i.lockOwner !== owner && i.lockExpiresAt && i.lockExpiresAt > now) {
        holder = { owner: i.lockOwner, since: i.lockExpiresAt.getTime() - deps.config.lockTtlSeconds * 1000 };
        return false;
      }
      i.lockOwner = owner;
      i.lockExpiresAt = new Date(now.getTime() + deps.config.lockTtlSeconds * 1000);
    });
    if (!item) throw itemNotFound(itemKey);
    if (!holder) return;
    if (attempt > 0 || !(await holderIsDead(deps, holder, now))) throw busy(itemKey);
    await deps.repos.items.update(itemKey, (i) => {
      if (i.lockOwner !== holder!.owner) return false;
      i.lockOwner = undefined;
      i.lockExpiresAt = undefined;
    });
  }
}

/**
 * A lock whose job has ended, or whose job row never appeared (admission takes the lock just before it writes
 * the job, and a process can die in between), protects nothing: the next caller takes it at once instead of
 * answering 409 until the lock's TTL runs out.
 */
async function holderIsDead(deps: Deps, holder: { owner: string; since: number }, now: Date): Promise<boolean> {
  const job = (await deps.repos.jobs.get(holder.owner))?.doc;
  if (job) return isTerminal(job);
  return now.getTime() - holder.since > ADMISSION_GRACE_MS;
}

/** How long a lock may wait for its job row: admission writes it right after taking the lock. */
const ADMISSION_GRACE_MS = 30_000;

/** `waitMs`: the holder sleeps that long first (a step waiting for ARM), so the lock lasts the TTL beyond it. */
export async function extendItemLock(deps: Deps, itemKey: string, owner: string, waitMs = 0): Promise<boolean> {
  let mine = false;
  await deps.repos.items.update(itemKey, (i) => {
    mine = i.lockOwner === owner;
    if (!mine) return false;
    i.lockExpiresAt = new Date(deps.clock().getTime() + waitMs + deps.config.lockTtlSeconds * 1000);
  });
  return mine;
}

export async function releaseItemLock(deps: Deps, itemKey: string, owner: string): Promise<void> {
  await deps.repos.items.update(itemKey, (i) => {
    if (i.lockOwner !== owner) return false;
    i.lockOwner = undefined;
    i.lockExpiresAt = undefined;
  });
}

export async function isItemBusy(deps: Deps, itemKey: string): Promise<boolean> {
  const cur = await deps.repos.items.get(itemKey);
  if (!cur) throw itemNotFound(itemKey);
  const i = cur.doc;
  return !!(i.lockOwner && i.lockExpiresAt && i.lockExpiresAt > deps.clock());
}
