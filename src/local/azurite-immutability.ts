import type { PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

/**
 * Version-level immutability for Azurite, which has none: its Set Blob Immutability Policy, Delete Immutability
 * Policy and Set Legal Hold answer 501 NotImplemented (azurite 3.35 dist/src/blob/handlers/BlobHandler.js). So
 * the backup account's shim answers them and refuses what Azure refuses under an active policy:
 *
 * - Set Blob Immutability Policy (PUT ?comp=immutabilityPolicies, optional `snapshot`/`versionid`):
 *   `x-ms-immutability-policy-until-date` is required, RFC 1123, and a time in the past is invalid;
 *   `x-ms-immutability-policy-mode` is Unlocked (default) or Locked
 *   (https://learn.microsoft.com/rest/api/storageservices/set-blob-immutability-policy). An unlocked policy may be
 *   shortened, extended or locked; a locked one only extended
 *   (https://learn.microsoft.com/azure/storage/blobs/immutable-version-level-worm-policies). The status and code
 *   Azure gives a refused shortening are not documented; this answers 409 BlobImmutableDueToPolicy.
 * - Delete Blob of a protected blob or snapshot, and of a base blob with `x-ms-delete-snapshots` while one of its
 *   snapshots is protected: 409 BlobImmutableDueToPolicy, "This operation is not permitted as the blob is
 *   immutable due to a policy." (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes).
 * - Put Page and Set Blob Metadata on a protected version are prohibited (immutable-version-level-worm-policies,
 *   "Scenarios"). Put Blob / Put Block List / Copy Blob over a protected current version: Azure (versioning on)
 *   keeps the protected bytes as a previous version and writes a new current one. Azurite has no versions, so
 *   an overwrite would destroy them; the shim refuses it instead (409), which keeps the same guarantee (the
 *   protected bytes survive) and is stricter than Azure. The app never overwrites a manifest (it writes one
 *   only when absent), so the difference cannot hide an app bug.
 * - Delete Container holding a protected blob: Azure refuses the delete of a version-level WORM container that
 *   is not empty (same page, "Scenarios"); the code is not documented, this answers 409 BlobImmutableDueToPolicy.
 * - Get Blob / Get Blob Properties of a protected blob answer its `x-ms-immutability-policy-until-date` and
 *   `-mode`, as the SDK reads them (immutabilityPolicyExpiresOn, immutabilityPolicyMode).
 *
 * The policies live in this process (shared by every client that carries the shim, like the service's state is
 * shared by all its clients) and are compared with `clock`, Azure's clock, which a test may move.
 */
export interface StoredPolicy {
  until: Date;
  mode: 'unlocked' | 'locked';
}

const policies = new Map<string, StoredPolicy>();

export const shimImmutability = {
  clock: (): number => Date.now(),
  /** For tests: the policy the shim holds for a blob path (`/account/container/blob`) and snapshot. */
  get(path: string, snapshot = ''): StoredPolicy | undefined {
    return policies.get(key(path, snapshot));
  },
};

const key = (path: string, snapshot: string): string => `${path}\n${snapshot}`;
const blobPath = (url: URL): string => decodeURIComponent(url.pathname);
const active = (p: StoredPolicy | undefined): p is StoredPolicy => !!p && p.until.getTime() > shimImmutability.clock();

export type Answer = (status: number, code?: string, message?: string, headers?: Record<string, string>) => PipelineResponse;

const IMMUTABLE = 'This operation is not permitted as the blob is immutable due to a policy.';

function anySnapshotProtected(path: string): boolean {
  for (const [k, p] of policies) if (k.startsWith(`${path}\n`) && !k.endsWith('\n') && active(p)) return true;
  return false;
}

function containerProtected(path: string): boolean {
  for (const [k, p] of policies) if (k.startsWith(`${path}/`) && active(p)) return true;
  return false;
}

/** What the shim answers instead of Azurite, or undefined to let the request through. */
export function refuseIfImmutable(req: PipelineRequest, url: URL, answer: Answer): PipelineResponse | undefined {
  const segments = url.pathname.split('/').filter(Boolean);
  const comp = url.searchParams.get('comp');
  const restype = url.searchParams.get('restype');
  const path = blobPath(url);
  if (segments.length === 2 && req.method === 'DELETE' && restype === 'container' && containerProtected(path)) {
    return answer(409, 'BlobImmutableDueToPolicy', 'The container holds blobs protected by an immutability policy and cannot be deleted.');
  }
  if (segments.length < 3) return undefined;
  const snapshot = url.searchParams.get('snapshot') ?? url.searchParams.get('versionid') ?? '';
  const own = policies.get(key(path, snapshot));
  if (comp === 'immutabilityPolicies' && req.method === 'DELETE') {
    if (active(own) && own.mode === 'locked') return answer(409, 'BlobImmutableDueToPolicy', 'A locked immutability policy cannot be deleted.');
    policies.delete(key(path, snapshot));
    return answer(200);
  }
  if (req.method === 'DELETE' && !comp) {
    const withSnapshots = !snapshot && !!req.headers.get('x-ms-delete-snapshots');
    if (active(own) || (withSnapshots && anySnapshotProtected(path))) return answer(409, 'BlobImmutableDueToPolicy', IMMUTABLE);
  }
  const write = req.method === 'PUT' && (!comp || comp === 'page' || comp === 'metadata' || comp === 'blocklist');
  if (write && !snapshot && active(own)) return answer(409, 'BlobImmutableDueToPolicy', IMMUTABLE);
  return undefined;
}

/** A Set Blob Immutability Policy the shim will answer once Azurite confirms the blob exists (see below). */
export interface PendingPolicy {
  path: string;
  snapshot: string;
  policy: StoredPolicy;
}

/**
 * Validates a Set Blob Immutability Policy. If valid, the request is turned into Get Blob Properties of the same
 * blob (the SDK signs after this policy runs), so Azurite answers 404 for a blob that does not exist.
 */
export function takeSetPolicy(req: PipelineRequest, url: URL, answer: Answer): { refused?: PipelineResponse; pending?: PendingPolicy } {
  if (req.method !== 'PUT' || url.searchParams.get('comp') !== 'immutabilityPolicies') return {};
  const raw = req.headers.get('x-ms-immutability-policy-until-date');
  const until = raw ? new Date(raw) : undefined;
  if (!raw) return { refused: answer(400, 'MissingRequiredHeader', 'An HTTP header that is mandatory for this request is not specified.') };
  if (!until || Number.isNaN(until.getTime()) || until.getTime() <= shimImmutability.clock()) {
    return { refused: answer(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.') };
  }
  const modeRaw = (req.headers.get('x-ms-immutability-policy-mode') ?? 'Unlocked').toLowerCase();
  if (modeRaw !== 'unlocked' && modeRaw !== 'locked') return { refused: answer(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.') };
  const path = blobPath(url);
  const snapshot = url.searchParams.get('snapshot') ?? url.searchParams.get('versionid') ?? '';
  const cur = policies.get(key(path, snapshot));
  if (active(cur) && cur.mode === 'locked' && (modeRaw !== 'locked' || until < cur.until)) {
    return { refused: answer(409, 'BlobImmutableDueToPolicy', 'A locked immutability policy can only be extended.') };
  }
  url.searchParams.delete('comp');
  req.url = url.toString();
  req.method = 'HEAD';
  req.headers.delete('x-ms-immutability-policy-until-date');
  req.headers.delete('x-ms-immutability-policy-mode');
  return { pending: { path, snapshot, policy: { until, mode: modeRaw } } };
}

/** Completes a pending Set Blob Immutability Policy from Azurite's answer to the existence check. */
export function completeSetPolicy(res: PipelineResponse, pending: PendingPolicy, answer: Answer): PipelineResponse {
  if (res.status !== 200) return res; // 404 BlobNotFound (HEAD carries the code in x-ms-error-code), 403...
  policies.set(key(pending.path, pending.snapshot), pending.policy);
  return answer(200, undefined, undefined, policyHeaders(pending.policy));
}

function policyHeaders(p: StoredPolicy): Record<string, string> {
  return { 'x-ms-immutability-policy-until-date': p.until.toUTCString(), 'x-ms-immutability-policy-mode': p.mode };
}

/** Adds the policy headers to Get Blob / Get Blob Properties of a protected blob. */
export function withPolicyHeaders(req: PipelineRequest, url: URL, res: PipelineResponse): PipelineResponse {
  if ((req.method !== 'GET' && req.method !== 'HEAD') || url.searchParams.get('comp') || res.status >= 300) return res;
  const p = policies.get(key(blobPath(url), url.searchParams.get('snapshot') ?? url.searchParams.get('versionid') ?? ''));
  if (p) for (const [k, v] of Object.entries(policyHeaders(p))) res.headers.set(k, v);
  return res;
}
