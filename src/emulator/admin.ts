import { Router, sendJson } from './http-util';
import type { ComputeResources } from './arm/resources';
import { EmulatorState, resourceId, type VmRecord } from './arm/state';
import { contentDigest, fill, randomWorkload, sha256, trim } from './guest';

export interface VmSpec {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location?: string;
  osType?: 'Linux' | 'Windows';
  powerState?: VmRecord['powerState'];
  agentReady?: boolean;
  tags?: Record<string, string>;
  /** lun -1 (or the first entry) is the OS disk. */
  disks: { name: string; sizeBytes: number; lun: number; sku?: string }[];
}

/** Seeds a VM with its disks in one call (what a real subscription already has). */
export function createVm(r: ComputeResources, spec: VmSpec): VmRecord {
  const location = spec.location ?? 'westeurope';
  const made = spec.disks.map((d) => r.putDisk(spec.subscriptionId, spec.resourceGroup, d.name, {
    location, sku: { name: d.sku ?? 'Premium_LRS' }, properties: { creationData: { createOption: 'Empty' }, diskSizeBytes: d.sizeBytes, osType: d.lun < 0 ? spec.osType ?? 'Linux' : undefined },
  }));
  const os = spec.disks.findIndex((d) => d.lun < 0);
  const osDisk = made[os >= 0 ? os : 0]!;
  const vm = r.putVm(spec.subscriptionId, spec.resourceGroup, spec.name, {
    location,
    tags: spec.tags ?? {},
    properties: {
      storageProfile: {
        osDisk: { osType: spec.osType ?? 'Linux', managedDisk: { id: osDisk.id } },
        dataDisks: spec.disks.map((d, i) => ({ d, i })).filter(({ d, i }) => d.lun >= 0 && made[i] !== osDisk).map(({ d, i }) => ({ lun: d.lun, managedDisk: { id: made[i]!.id } })),
      },
    },
  });
  vm.powerState = spec.powerState ?? 'running';
  vm.agentReady = spec.agentReady ?? true;
  return vm;
}

/**
 * Test and demo controls under /_emulator: seed VMs, act as the guest on a disk, read digests, see Run Command
 * history, move the clock. Resource ids travel URL-encoded in the `id` query parameter.
 */
export function adminRouter(r: ComputeResources, clock: { advance(ms: number): void }): Router {
  const id = (u: URL): string => {
    const v = u.searchParams.get('id');
    if (!v || !r.store.get(EmulatorState.key(v))) throw Object.assign(new Error(`unknown resource ${v}`), { status: 404 });
    return EmulatorState.key(v);
  };
  const body = (b: Buffer): Record<string, any> => (b.length ? JSON.parse(b.toString()) : {}); // eslint-disable-line @typescript-eslint/no-explicit-any
  const safe = (fn: (c: Parameters<Parameters<Router['add']>[2]>[0]) => void) => (c: Parameters<Parameters<Router['add']>[2]>[0]) => {
    try {
      fn(c);
    } catch (err) {
      sendJson(c.res, (err as { status?: number }).status ?? 400, { error: { code: 'BadRequest', message: (err as Error).message } });
    }
  };
  return new Router()
    .add('POST', '/_emulator/vms', safe((c) => sendJson(c.res, 201, { id: createVm(r, body(c.body) as VmSpec).id })))
    .add('POST', '/_emulator/guest/fill', safe((c) => { const b = body(c.body); fill(r.store, id(c.url), b.offset, b.length, b.seed ?? 1); sendJson(c.res, 200, { ok: true }); }))
    .add('POST', '/_emulator/guest/trim', safe((c) => { const b = body(c.body); trim(r.store, id(c.url), b.offset, b.length); sendJson(c.res, 200, { ok: true }); }))
    .add('POST', '/_emulator/guest/workload', safe((c) => { const b = body(c.body); sendJson(c.res, 200, { ops: randomWorkload(r.store, id(c.url), { seed: b.seed ?? 1, ops: b.ops ?? 10, maxWriteBytes: b.maxWriteBytes }).length }); }))
    .add('GET', '/_emulator/digest', safe((c) => {
      const key = id(c.url);
      const full = c.url.searchParams.get('sha256') === 'true';
      sendJson(c.res, 200, { contentDigest: contentDigest(r.store, key), ...(full ? { sha256: sha256(r.store, key) } : {}), sizeBytes: r.store.get(key)!.sizeBytes });
    }))
    .add('GET', '/_emulator/runcommands', (c) => sendJson(c.res, 200, { items: r.state.runCommands }))
    .add('POST', '/_emulator/clock', safe((c) => { clock.advance(Number(body(c.body).advanceMs ?? 0)); sendJson(c.res, 200, { now: r.clock() }); }))
    .add('GET', '/_emulator/snapshots', (c) => sendJson(c.res, 200, { items: [...r.state.snapshots.values()].map((s) => ({ id: s.id, sourceDiskId: s.sourceDiskId, openSas: r.state.grantsOf(s.id).length })) }));
}

export { resourceId };
