import { Router, sendJson } from './http-util';
import type { ComputeResources } from './arm/resources';
import type { DataPlaneStats } from './data/handler';
import { EmulatorState } from './arm/state';
import { contentDigest } from './guest';

/**
 * Read-only controls under /_emulator for people trying the local stack: is a restored disk the same as its
 * source, how many bytes did the data plane serve, how much memory do the disks hold. Not an Azure API.
 */
export function inspectRouter(r: ComputeResources, stats: DataPlaneStats, armStats: () => object = () => ({})): Router {
  const known = (u: URL, name: string): string => {
    const v = u.searchParams.get(name);
    if (!v || !r.store.get(EmulatorState.key(v))) throw Object.assign(new Error(`unknown disk or snapshot '${v ?? ''}' in query parameter '${name}'`), { status: 404 });
    return EmulatorState.key(v);
  };
  const safe = (fn: (u: URL) => unknown) => (c: { res: import('node:http').ServerResponse; url: URL }) => {
    try {
      sendJson(c.res, 200, fn(c.url));
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      sendJson(c.res, status, { error: { code: status === 404 ? 'NotFound' : 'BadRequest', message: (err as Error).message } });
    }
  };
  return (
    new Router()
      // Equal content digests (SHA-256 over the SHA-256 of every non-zero 4 MiB cell, see digest.ts) mean equal
      // bytes, zeros included, in time proportional to the data rather than to the nominal size.
      .add(
        'GET',
        '/_emulator/compare',
        safe((u) => {
          const a = known(u, 'a'),
            b = known(u, 'b');
          const side = (k: string) => ({ id: r.store.get(k)!.id, sizeBytes: r.store.get(k)!.sizeBytes, contentDigest: contentDigest(r.store, k) });
          const x = side(a),
            y = side(b);
          return { equal: x.sizeBytes === y.sizeBytes && x.contentDigest === y.contentDigest, a: x, b: y };
        }),
      )
      .add(
        'GET',
        '/_emulator/stats',
        safe((u) => {
          // ?gc=true collects first when the process runs with --expose-gc: what is left is what is still held.
          const gc = (globalThis as { gc?: () => void }).gc;
          if (u.searchParams.get('gc') === 'true' && gc) {
            gc();
            gc();
          }
          const m = process.memoryUsage();
          return {
            ...armStats(), // the ARM side's counters (429s, Run Commands), for the soak and the fidelity tests
            dataPlane: { ...stats },
            resources: { vms: r.state.vms.size, disks: r.state.disks.size, snapshots: r.state.snapshots.size },
            storedBytes: r.store.storedBytes(),
            memory: { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers },
          };
        }),
      )
  );
}
