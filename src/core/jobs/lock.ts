import { ConflictError, NotFoundError } from '../errors';
import type { Deps } from './deps';

export function itemNotFound(itemKey: string): NotFoundError {
  return new NotFoundError('ProtectedItemNotFound', `No protected item '${itemKey}' exists.`, 'List the protected items and use one of their keys, or register the VM first.');
}

export function busy(itemKey: string): ConflictError {
  return new ConflictError(
    'AnotherOperationInProgress',
    `Another operation is in progress on '${itemKey}'.`,
    'Wait for the running job to finish (see the jobs list), then try again.',
  );
}

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
