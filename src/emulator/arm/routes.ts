import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson, Router, type RequestContext } from '../http-util';
import { ArmError, invalid } from './errors';
import { diskJson, instanceViewJson, snapshotJson, vmJson } from './format';
import type { ComputeResources } from './resources';
import type { Operation } from './state';
import type { FaultInjector } from '../faults';
import type { RunCommandEngine } from './run-command';
import type { NetworkResources } from './network';

const RG = '/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute';

export interface ArmRouteOptions {
  resources: ComputeResources;
  lroDelayMs: number;
  pageSize: number;
  origin: () => string;
  /** Injected LRO failures (only operations that are polled, i.e. lroDelayMs > 0, can fail this way). */
  faults?: FaultInjector;
  runCommands: RunCommandEngine;
  /** NICs a VM create must name and attaches (network.ts); absent: VMs are created without a network check. */
  network?: NetworkResources;
}

// biome-ignore lint/suspicious/noExplicitAny: request and response bodies are JSON of any shape
function json(ctx: RequestContext): Record<string, any> {
  if (ctx.body.length === 0) return {};
  try {
    return JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw invalid('The request body is not valid JSON.');
  }
}

/** ARM routes for the Microsoft.Compute subset vmbackup uses, with LROs the way @azure/core-lro polls them. */
export function armRouter(o: ArmRouteOptions): Router {
  const r = o.resources;
  const state = r.state;

  const startLro = (ctx: RequestContext, status: number, body: unknown, run: () => unknown, delayMs = o.lroDelayMs, extra: Partial<Operation> = {}): void => {
    // Validation errors surface synchronously, as ARM does; the work itself completes after the delay.
    const id = randomUUID();
    const op: Operation = { id, doneAt: Date.now() + delayMs, ...extra };
    op.result = run();
    if (delayMs > 0) op.error = o.faults?.takeLro(ctx.req.method ?? 'GET', ctx.url.pathname);
    if (delayMs <= 0) {
      // Completed at once, as ARM answers fast operations: a final 200 and no polling.
      const final = ctx.req.method === 'POST' ? op.result : body;
      if (final === undefined) {
        ctx.res.writeHead(200, { 'content-length': 0 });
        ctx.res.end();
        return;
      }
      return sendJson(ctx.res, 200, final);
    }
    state.operations.set(id, op);
    const base = `${o.origin()}/subscriptions/${ctx.params.sub}/providers/Microsoft.Compute/locations/local/operations/${id}?api-version=${ctx.url.searchParams.get('api-version')}`;
    // PUT and PATCH finish with a GET of the resource itself; POST results come from the operation.
    const method = ctx.req.method;
    const result = method === 'PUT' || method === 'PATCH' ? `${o.origin()}${ctx.url.pathname}${ctx.url.search}` : base.replace(`/operations/${id}?`, `/operations/${id}/result?`);
    sendJson(ctx.res, status, body, { 'azure-asyncoperation': base, location: result, 'retry-after': '0' });
  };

  const snapshotJsonNow = (s: import('./state').SnapshotRecord): Record<string, unknown> => snapshotJson(s, r.clock());

  const page = (ctx: RequestContext, items: unknown[]): void => {
    const skip = Number(ctx.url.searchParams.get('$skiptoken') ?? 0);
    const slice = items.slice(skip, skip + o.pageSize);
    const next = skip + o.pageSize < items.length ? new URL(ctx.url.toString()) : undefined;
    if (next) next.searchParams.set('$skiptoken', String(skip + o.pageSize));
    sendJson(ctx.res, 200, { value: slice, ...(next ? { nextLink: `${o.origin()}${next.pathname}${next.search}` } : {}) });
  };

  const inGroup = <T extends { subscriptionId: string; resourceGroup: string }>(ctx: RequestContext, all: Iterable<T>): T[] =>
    [...all]
      .filter((x) => x.subscriptionId.toLowerCase() === ctx.params.sub!.toLowerCase() && (!ctx.params.rg || x.resourceGroup.toLowerCase() === ctx.params.rg.toLowerCase()))
      .sort((a, b) => ((a as unknown as { name: string }).name < (b as unknown as { name: string }).name ? -1 : 1));

  const seconds = (body: Record<string, unknown>): number => {
    const s = Number(body.durationInSeconds);
    if (!Number.isInteger(s) || s <= 0) throw invalid('durationInSeconds must be a positive number of seconds.');
    return s;
  };

  const p = (c: RequestContext): [string, string] => [c.params.sub!, c.params.rg!];

  return (
    new Router()
      // operations
      .add('GET', '/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{id}', (c) => {
        const op = state.operations.get(c.params.id!);
        if (!op) throw new ArmError(404, 'NotFound', 'The operation was not found.');
        const done = Date.now() >= op.doneAt;
        if (done && !op.completed) {
          op.completed = true;
          op.complete?.();
        }
        sendJson(c.res, 200, { name: op.id, status: !done ? 'InProgress' : op.error ? 'Failed' : 'Succeeded', ...(done && op.error ? { error: op.error } : {}) }, done ? {} : { 'retry-after': '0' });
      })
      .add('GET', '/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{id}/result', (c) => {
        const op = state.operations.get(c.params.id!);
        if (!op) throw new ArmError(404, 'NotFound', 'The operation was not found.');
        if (Date.now() < op.doneAt) return sendJson(c.res, 202, undefined, { 'retry-after': '0', location: c.url.toString() });
        const result = typeof op.result === 'function' ? (op.result as () => unknown)() : op.result;
        op.collected?.();
        if (result === undefined) {
          c.res.writeHead(204);
          c.res.end();
          return;
        }
        sendJson(c.res, 200, result);
      })
      // virtual machines
      // statusOnly=true: "enables fetching run time status of all Virtual Machines in the subscription"
      // (https://learn.microsoft.com/rest/api/compute/virtual-machines/list-all): each VM with its instanceView.
      .add('GET', '/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines', (c) =>
        page(
          c,
          inGroup(c, state.vms.values()).map((v) => vmJson(v, state, c.url.searchParams.get('statusOnly') === 'true')),
        ),
      )
      .add('GET', `${RG}/virtualMachines`, (c) =>
        page(
          c,
          inGroup(c, state.vms.values()).map((v) => vmJson(v, state, false)),
        ),
      )
      .add('GET', `${RG}/virtualMachines/{name}`, (c) => {
        const vm = r.requireVm(...p(c), c.params.name!);
        sendJson(c.res, 200, vmJson(vm, state, (c.url.searchParams.get('$expand') ?? '').toLowerCase() === 'instanceview'));
      })
      .add('GET', `${RG}/virtualMachines/{name}/instanceView`, (c) =>
        sendJson(
          c.res,
          200,
          (() => {
            const vm = r.requireVm(...p(c), c.params.name!);
            return instanceViewJson(vm, state.disk(vm.osDiskId)?.hyperVGeneration);
          })(),
        ),
      )
      .add('PUT', `${RG}/virtualMachines/{name}`, (c) => {
        const body = json(c);
        const id = `/subscriptions/${c.params.sub}/resourceGroups/${c.params.rg}/providers/Microsoft.Compute/virtualMachines/${c.params.name}`;
        const existed = !!state.vm(id);
        // A new VM names existing NICs and a size its region and zone offer (network.ts), checked before it exists.
        if (!existed) o.network?.checkVmCreate(id, c.params.sub!, body);
        const vm = r.putVm(...p(c), c.params.name!, body);
        if (!existed) o.network?.attach(vm, body);
        startLro(c, existed ? 200 : 201, vmJson(vm, state, false), () => undefined);
      })
      .add('PATCH', `${RG}/virtualMachines/{name}`, (c) => {
        const vm = r.patchVm(r.requireVm(...p(c), c.params.name!), json(c));
        startLro(c, 200, vmJson(vm, state, false), () => undefined);
      })
      .add('DELETE', `${RG}/virtualMachines/{name}`, (c) => {
        const vm = r.requireVm(...p(c), c.params.name!);
        startLro(c, 202, undefined, () => {
          o.network?.detach(vm);
          r.deleteVm(vm);
        });
      })
      .add('POST', `${RG}/virtualMachines/{name}/start`, (c) => power(c, 'running'))
      .add('POST', `${RG}/virtualMachines/{name}/deallocate`, (c) => power(c, 'deallocated'))
      .add('POST', `${RG}/virtualMachines/{name}/powerOff`, (c) => power(c, 'stopped'))
      .add('POST', `${RG}/virtualMachines/{name}/runCommand`, (c) => {
        const vm = r.requireVm(...p(c), c.params.name!);
        const run = o.runCommands.start(vm, json(c));
        // Always a polled LRO: the script takes its minimum time even when other operations complete at once.
        startLro(c, 202, undefined, () => run.result, Math.max(1, run.doneInMs));
      })
      // disks
      .add('GET', '/subscriptions/{sub}/providers/Microsoft.Compute/disks', (c) => page(c, inGroup(c, visibleDisks()).map(diskJson)))
      .add('GET', `${RG}/disks`, (c) => page(c, inGroup(c, visibleDisks()).map(diskJson)))
      .add('GET', `${RG}/disks/{name}`, (c) => sendJson(c.res, 200, diskJson(r.requireDisk(...p(c), c.params.name!))))
      .add('PUT', `${RG}/disks/{name}`, (c) => {
        const d = r.putDisk(...p(c), c.params.name!, json(c));
        startLro(c, 200, diskJson(d), () => undefined);
      })
      .add('PATCH', `${RG}/disks/{name}`, (c) => {
        const d = r.patchDisk(r.requireDisk(...p(c), c.params.name!), json(c));
        startLro(c, 200, diskJson(d), () => undefined);
      })
      .add('DELETE', `${RG}/disks/{name}`, (c) => {
        const d = state.disk(`/subscriptions/${c.params.sub}/resourceGroups/${c.params.rg}/providers/Microsoft.Compute/disks/${c.params.name}`);
        if (!d || d.ephemeral) {
          c.res.writeHead(204);
          c.res.end();
          return;
        }
        r.deleteDisk(d);
        startLro(c, 202, undefined, () => undefined);
      })
      .add('POST', `${RG}/disks/{name}/beginGetAccess`, (c) => {
        const d = r.requireDisk(...p(c), c.params.name!);
        const body = json(c);
        const grant = r.grantDisk(d, String(body.access), seconds(body), body.getSecureVMGuestStateSAS === true);
        startLro(c, 202, undefined, () => grant);
      })
      .add('POST', `${RG}/disks/{name}/endGetAccess`, (c) => {
        const d = r.requireDisk(...p(c), c.params.name!);
        r.revokeDisk(d);
        startLro(c, 202, undefined, () => undefined);
      })
      // snapshots
      .add('GET', '/subscriptions/{sub}/providers/Microsoft.Compute/snapshots', (c) => page(c, inGroup(c, state.snapshots.values()).map(snapshotJsonNow)))
      .add('GET', `${RG}/snapshots`, (c) => page(c, inGroup(c, state.snapshots.values()).map(snapshotJsonNow)))
      .add('GET', `${RG}/snapshots/{name}`, (c) => sendJson(c.res, 200, snapshotJsonNow(r.requireSnapshot(...p(c), c.params.name!))))
      .add('PUT', `${RG}/snapshots/{name}`, (c) => {
        const s = r.putSnapshot(...p(c), c.params.name!, json(c));
        startLro(c, 200, snapshotJsonNow(s), () => undefined);
      })
      .add('DELETE', `${RG}/snapshots/{name}`, (c) => {
        const s = state.snapshot(`/subscriptions/${c.params.sub}/resourceGroups/${c.params.rg}/providers/Microsoft.Compute/snapshots/${c.params.name}`);
        if (!s) {
          c.res.writeHead(204);
          c.res.end();
          return;
        }
        r.deleteSnapshot(s);
        startLro(c, 202, undefined, () => undefined);
      })
      .add('POST', `${RG}/snapshots/{name}/beginGetAccess`, (c) => {
        const s = r.requireSnapshot(...p(c), c.params.name!);
        const body = json(c);
        const grant = r.grantSnapshot(s, String(body.access), seconds(body), body.getSecureVMGuestStateSAS === true, body.fileFormat);
        startLro(c, 202, undefined, () => grant);
      })
      .add('POST', `${RG}/snapshots/{name}/endGetAccess`, (c) => {
        const s = r.requireSnapshot(...p(c), c.params.name!);
        r.revokeSnapshot(s);
        startLro(c, 202, undefined, () => undefined);
      })
  );

  function visibleDisks(): Iterable<import('./state').DiskRecord> {
    return [...state.disks.values()].filter((d) => !d.ephemeral);
  }

  function power(c: RequestContext, target: 'running' | 'deallocated' | 'stopped'): void {
    const vm = r.requireVm(c.params.sub!, c.params.rg!, c.params.name!);
    startLro(c, 202, undefined, () => {
      vm.powerState = target;
      return undefined;
    });
  }
}

export function sendArmError(res: ServerResponse, err: ArmError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, { 'x-ms-error-code': err.code });
}
