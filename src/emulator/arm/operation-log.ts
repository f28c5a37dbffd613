import { Router, sendJson } from '../http-util';

/**
 * One ARM request as Azure RBAC sees it: the resource type the URL addresses and what is done to it. ARM derives
 * the permission from the request the same way ("{Company}.{ProviderName}/{resourceType}/{action}", with read for
 * GET, write for PUT and PATCH, delete for DELETE, and `<name>/action` for a POST to a child action;
 * https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions-format).
 */
export interface RecordedOperation {
  method: string;
  path: string;
  /** e.g. `Microsoft.Compute/virtualMachines`, `Microsoft.Compute/locations/operations`. */
  resourceType: string;
  /** `read`, `write` or `delete`, or the POST action's name (`start`, `beginGetAccess`, `runCommand`). */
  action: string;
}

/**
 * Every ARM operation the emulator served, in order, so a test can derive the least set of permissions the app
 * needs from what it really called. Not an Azure API: exposed as `emulator.operations` and GET /_emulator/operations.
 */
export class OperationLog {
  readonly list: RecordedOperation[] = [];

  record(method: string, path: string): void {
    const parsed = classify(method.toUpperCase(), path);
    if (parsed) this.list.push({ method: method.toUpperCase(), path, ...parsed });
  }

  clear(): void {
    this.list.length = 0;
  }

  router(): Router {
    return new Router().add('GET', '/_emulator/operations', (c) => sendJson(c.res, 200, { value: this.list }));
  }
}

const VERB: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' };

/**
 * ARM's URL grammar: after `/providers/{Namespace}` come `{type}/{name}` pairs; a trailing odd segment is a
 * collection (GET) or an action (POST) of the resource before it.
 */
function classify(method: string, path: string): Omit<RecordedOperation, 'method' | 'path'> | undefined {
  const m = /\/providers\/([^/]+)\/(.+)$/i.exec(path);
  if (!m) return undefined;
  const segs = m[2]!.split('/').filter(Boolean);
  // The emulator hands out `.../operations/{id}/result` as an LRO's Location; Compute's own Location URL is the
  // same operation resource (`.../operations/{id}?monitor=true`), so it counts as a read of that resource.
  if (method === 'GET' && segs.length === 5 && segs[2]!.toLowerCase() === 'operations' && segs[4] === 'result') segs.pop();
  const types = segs.filter((_, i) => i % 2 === 0);
  const trailing = segs.length % 2 === 1 ? types[types.length - 1] : undefined;
  if (method === 'POST' && trailing && types.length > 1) {
    return { resourceType: [m[1], ...types.slice(0, -1)].join('/'), action: trailing };
  }
  const verb = VERB[method];
  return verb ? { resourceType: [m[1], ...types].join('/'), action: verb } : undefined;
}
