import { z } from 'zod';
import * as S from './schemas';

type Op = { method: string; path: string; summary: string; body?: z.ZodType; query?: z.ZodType; params?: string[]; anonymous?: boolean; idempotent?: boolean };

/** The HTTP API, described from the same zod schemas that validate the requests. */
const OPERATIONS: Op[] = [
  { method: 'get', path: '/health', summary: 'Whether storage and compute are reachable', anonymous: true },
  { method: 'post', path: '/discovery', summary: 'Discover the VMs of the configured subscriptions (202 + Discovery job; while one is queued or running, that job with running: true)' },
  { method: 'get', path: '/vms', summary: 'Discovered VMs with their registration state' },
  { method: 'post', path: '/items/register', summary: 'Register VMs (one Register job each)', body: S.RegisterBody },
  { method: 'post', path: '/items/protect', summary: 'Protect items with a policy', body: S.ProtectBody },
  { method: 'get', path: '/items', summary: 'Protected items' },
  { method: 'get', path: '/items/{itemKey}', summary: 'One protected item', params: ['itemKey'] },
  { method: 'post', path: '/items/{itemKey}/backup', summary: 'Back up now (202 + job)', body: S.BackupNowBody, params: ['itemKey'], idempotent: true },
  { method: 'post', path: '/items/{itemKey}/export', summary: 'Export the first backup or a recovery point as a package (202 + job)', body: S.ExportBody, params: ['itemKey'] },
  { method: 'post', path: '/items/{itemKey}/import', summary: 'Import a package as the first recovery point (202 + job)', body: S.ImportBody, params: ['itemKey'] },
  { method: 'post', path: '/items/{itemKey}/stop', summary: 'Stop protection (retain or delete data)', body: S.StopProtectionBody, params: ['itemKey'] },
  { method: 'get', path: '/items/{itemKey}/recoveryPoints', summary: 'Recovery points, newest first, with whether each can restore instantly and until when', query: S.PageQuery, params: ['itemKey'] },
  { method: 'get', path: '/items/{itemKey}/recoveryPoints/{pointId}', summary: 'One recovery point', params: ['itemKey', 'pointId'] },
  {
    method: 'post',
    path: '/items/{itemKey}/recoveryPoints/{pointId}/restore',
    summary: 'Restore to new disks, into the original VM, or to a new VM, from the source snapshots (instant) or the backup storage (202 + job)',
    body: S.RestoreBody,
    params: ['itemKey', 'pointId'],
    idempotent: true,
  },
  { method: 'post', path: '/items/{itemKey}/recoveryPoints/{pointId}/verify', summary: 'Verify against the manifest (202 + Verify job, read in budgeted slices)', params: ['itemKey', 'pointId'] },
  { method: 'post', path: '/items/{itemKey}/recoveryPoints/{pointId}/undelete', summary: 'Undelete a soft-deleted point', params: ['itemKey', 'pointId'] },
  { method: 'delete', path: '/items/{itemKey}/recoveryPoints/{pointId}', summary: 'Soft-delete a recovery point', params: ['itemKey', 'pointId'] },
  {
    method: 'post',
    path: '/items/{itemKey}/recoveryPoints/{pointId}/mount',
    summary: "Mount the point's disks on a helper VM for file recovery, read-only cached, until a deadline (202 + mount)",
    body: S.MountBody,
    params: ['itemKey', 'pointId'],
    idempotent: true,
  },
  { method: 'get', path: '/mounts/{mountId}', summary: 'One mount: state, disks at their LUNs, deadline, and the commands to read the files on the helper VM', params: ['mountId'] },
  { method: 'post', path: '/mounts/{mountId}/unmount', summary: 'Detach and delete the mounted disks now (202 + mount)', params: ['mountId'] },
  { method: 'get', path: '/policies', summary: 'Policies' },
  { method: 'post', path: '/policies', summary: 'Create a policy' },
  { method: 'post', path: '/policies/preview', summary: 'Preview a policy without saving it: next runs in its time zone, points kept over the next year' },
  { method: 'get', path: '/policies/{name}', summary: 'One policy', params: ['name'] },
  { method: 'put', path: '/policies/{name}', summary: 'Replace a policy', params: ['name'] },
  { method: 'delete', path: '/policies/{name}', summary: 'Delete an unused policy (two-step)', query: S.DeletePolicyQuery, params: ['name'] },
  { method: 'get', path: '/jobs', summary: 'Jobs, newest first, filtered and paged', query: S.JobsQuery },
  { method: 'get', path: '/jobs/{jobId}', summary: 'One job with progress', params: ['jobId'] },
  { method: 'post', path: '/jobs/{jobId}/cancel', summary: 'Cancel a queued or running job', params: ['jobId'] },
  { method: 'get', path: '/dashboard', summary: 'Items by state, jobs of the last 24 h, storage' },
  { method: 'get', path: '/me', summary: 'The caller (signed-in principal or key), its app roles and what they allow' },
  { method: 'get', path: '/report', summary: 'Backup report per item (last backup, RPO, points by tier, stored bytes, monthly estimate); ?format=json (default) or csv' },
];

export function openApiDocument(policySchema?: z.ZodType): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters: unknown[] = (op.params ?? []).map((p) => ({ name: p, in: 'path', required: true, schema: { type: 'string' } }));
    if (op.query) {
      const js = z.toJSONSchema(op.query, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> };
      for (const [name, schema] of Object.entries(js.properties ?? {})) if (name !== 'code') parameters.push({ name, in: 'query', schema });
    }
    if (op.idempotent) {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' },
        description:
          'A value unique to this operation (e.g. a UUID). Retrying with the same key within 24 h answers with the job of the first call instead of starting another; the same key with a different request answers 409 IdempotencyKeyReused.',
      });
    }
    const body = op.body ?? (op.path.startsWith('/policies') && (op.method === 'post' || op.method === 'put') ? policySchema : undefined);
    (paths[op.path] ??= {})[op.method] = {
      summary: op.summary,
      parameters,
      ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(body, { io: 'input', unrepresentable: 'any' }) } } } } : {}),
      security: op.anonymous ? [] : [{ functionKey: [] }],
      responses: { default: { description: 'Errors: { error: { code, message, recommendedAction } } with 400, 401, 403, 404, 409 or 413' } },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'vmbackup', version: '0.1.0', description: 'Incremental Azure VM disk backup and restore' },
    servers: [{ url: '/api' }],
    components: { securitySchemes: { functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' } } },
    paths,
  };
}
