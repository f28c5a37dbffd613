import type { ProtectedItem, RecoveryPoint } from '../domain/model';
import type { Deps } from '../jobs/deps';
import { getPoint } from '../workflows/restore/plan';
import { instantAvailability, instantRestoreDays, listedSnapshots, snapshotGetter, type SnapshotLookup } from '../workflows/restore/instant-availability';
import { getItem, listPoints, pointView } from './queries';

/**
 * A point's view with whether it can be restored instantly (from its source snapshots, no data copied) and until
 * when: `instantRestore` and `instantRestoreUntil` (absent when unknown or past the window), with the reason
 * when it cannot. When Compute cannot be asked (throttled, down), the fields are left out and the view stays.
 */
async function withInstant(deps: Deps, item: ProtectedItem, points: RecoveryPoint[], lookup: () => Promise<SnapshotLookup>): Promise<Record<string, unknown>[]> {
  let find: SnapshotLookup | undefined;
  try {
    find = await lookup();
  } catch (err) {
    deps.log.warn('could not list source snapshots; recovery points are shown without instant-restore availability', { itemKey: item.itemKey, error: String((err as Error)?.message ?? err) });
  }
  const days = await instantRestoreDays(deps, item);
  const now = deps.clock();
  return Promise.all(
    points.map(async (p) => {
      const view = pointView(p);
      if (!find) return view;
      try {
        const a = await instantAvailability(p, days, find, now, item.location);
        return { ...view, instantRestore: a.available, instantRestoreUntil: a.until, ...(a.reason ? { instantRestoreNote: a.reason } : {}) };
      } catch {
        return view;
      }
    }),
  );
}

export async function pointViewsWithInstant(deps: Deps, itemKey: string, includeDeleted: boolean): Promise<Record<string, unknown>[]> {
  const points = await listPoints(deps, itemKey, includeDeleted);
  const item = await getItem(deps, itemKey);
  // One paged list of the item's snapshots for the whole page rather than one GET per disk of every point.
  return withInstant(deps, item, points, () => listedSnapshots(deps, item));
}

export async function pointViewWithInstant(deps: Deps, itemKey: string, pointId: string): Promise<Record<string, unknown>> {
  const point = await getPoint(deps, itemKey, pointId);
  const item = await getItem(deps, itemKey);
  return (await withInstant(deps, item, [point], async () => snapshotGetter(deps)))[0]!;
}
