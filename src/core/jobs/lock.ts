import { busy, itemNotFound } from '../errors';
import type { Deps } from './deps';

/**
 * The per-item lock: one backup or restore at a time. Lease-like: it expires, so a crashed holder never
 * blocks the item for longer than the lock TTL; holders extend it while they work.
 */
export async function acquireItemLock(deps: Deps, itemKey: string, owner: string): Promise<void> {
  const now = deps.clock();
  let conflict = false;
  const item = await deps.repos.items.update(itemKey, (i) => {
    conflict = false;
    if (i.lockOwner && i.lockOwner !== owner && i.lockExpiresAt && i.lockExpiresAt > now) {
      conflict = true;
      return false;
    }
    i.lockOwner = owner;
    i.lockExpiresAt = new Date(now.getTime() + deps.config.lockTtlSeconds * 1000);
  });
  if (!item) throw itemNotFound(itemKey);
  if (conflict) throw busy(itemKey);
}

export async function extendItemLock(deps: Deps, itemKey: string, owner: string): Promise<boolean> {
  let mine = false;
  await deps.repos.items.update(itemKey, (i) => {
    mine = i.lockOwner === owner;
    if (!mine) return false;
    i.lockExpiresAt = new Date(deps.clock().getTime() + deps.config.lockTtlSeconds * 1000);
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
