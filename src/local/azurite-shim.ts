import { createHttpHeaders, type Pipeline, type PipelinePolicy, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';

type AddPolicyOptions = NonNullable<Parameters<Pipeline['addPolicy']>[1]>;
import { PageListPager, PagingError, pageListXml, parsePageListXml } from '../emulator/data/page-list';
import { BlobThrottle, PAGE_BLOB_TARGETS, type Admission } from '../emulator/data/throttle';
import { strictProfile, type AzureProfile } from './azure-profile';
import { completeSetPolicy, refuseIfImmutable, takeSetPolicy, withPolicyHeaders, type Answer } from './azurite-immutability';

/**
 * Azurite answers the backup account's page-blob calls as a single, unthrottled server: Get Page Ranges never
 * pages (and has no diff, Azurite#812) and no blob has a throughput target. This pipeline shim, in every
 * backup-account client next to the strict-limits policy, answers as Azure would: Get Page Ranges cut with a
 * NextMarker and continued from `marker` (https://learn.microsoft.com/rest/api/storageservices/get-page-ranges),
 * and the per-page-blob targets of 60 MiB/s and 500 requests/s with 503 ServerBusy / 500 OperationTimedOut
 * (includes/storage-blob-scale-targets.md), using the emulator's own pager and buckets.
 *
 * It also gives Azurite version-level immutability policies, which it lacks (./azurite-immutability.ts).
 *
 * It acts only on servers that name themselves Azurite-Blob (the compute emulator's data plane has its own).
 * It sits below the SDK's deserialization and retry policies, so its answers are parsed, and retried where the
 * client retries, exactly as the service's would be.
 */
export interface ShimStats {
  pageListCuts: number;
  serverBusy: number;
  operationTimedOut: number;
  delayedRequests: number;
}

export type AzureShimPolicy = PipelinePolicy & { placement: AddPolicyOptions; stats: ShimStats };

export const AZURE_SHIM_POLICY_NAME = 'azuriteAsAzurePageBlobShim';

function errorResponse(req: PipelineRequest, status: number, code: string, message: string): PipelineResponse {
  const bodyAsText = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${req.requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
  return {
    request: req,
    status,
    bodyAsText,
    headers: createHttpHeaders({
      'content-type': 'application/xml',
      'x-ms-error-code': code,
      'x-ms-request-id': req.requestId,
      'content-length': String(Buffer.byteLength(bodyAsText)),
      'x-ms-version': req.headers.get('x-ms-version') ?? '',
    }),
  };
}

function answerFor(req: PipelineRequest): Answer {
  return (status, code, message, headers = {}) => {
    if (code) return errorResponse(req, status, code, message ?? code);
    return { request: req, status, headers: createHttpHeaders({ 'x-ms-request-id': req.requestId, 'x-ms-version': req.headers.get('x-ms-version') ?? '', 'content-length': '0', ...headers }) };
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rangeBytes(req: PipelineRequest): number {
  const m = /bytes=(\d+)-(\d+)/.exec(req.headers.get('x-ms-range') ?? req.headers.get('range') ?? '');
  return m ? Number(m[2]) - Number(m[1]) + 1 : 0;
}

function bodyBytes(req: PipelineRequest): number {
  const b = req.body;
  if (typeof b === 'string') return Buffer.byteLength(b);
  if (b instanceof Uint8Array) return b.length;
  return Number(req.headers.get('content-length') ?? 0);
}

/** Origins that answered as Azurite-Blob, shared by every shim: a server is Azurite for every client of it. */
const azurite = new Set<string>();

export function azuriteAsAzureShim(profile: AzureProfile = strictProfile()): AzureShimPolicy {
  const pager = new PageListPager({ rangesPerAnswer: profile.pageRangesPerAnswer, randomSeed: profile.randomPageCuts });
  const throttle = new BlobThrottle({ timeScale: profile.timeScale, burstSeconds: profile.burstSeconds, maxQueueSeconds: profile.maxQueueSeconds });
  const stats: ShimStats = { pageListCuts: 0, serverBusy: 0, operationTimedOut: 0, delayedRequests: 0 };

  /** One bucket per blob, shared by its snapshots: Storage partitions by account, container and blob name. */
  function admit(req: PipelineRequest, url: URL): Admission {
    const segments = url.pathname.split('/').filter(Boolean);
    if (!profile.blobCaps || segments.length < 3) return { ok: true, delayMs: 0 };
    const comp = url.searchParams.get('comp');
    let bytes = 0;
    let kind: 'read' | 'write' | 'other' = 'other';
    if (req.method === 'GET' && !comp) {
      kind = 'read';
      bytes = rangeBytes(req);
    }
    if (req.method === 'PUT' && comp === 'page') {
      kind = 'write';
      bytes = req.headers.get('x-ms-page-write') === 'update' ? bodyBytes(req) : 0;
    }
    const t = Number(url.searchParams.get('timeout') ?? NaN);
    return throttle.admit(`${url.origin}${url.pathname}`, PAGE_BLOB_TARGETS, bytes, kind, Number.isFinite(t) ? t : undefined);
  }

  return {
    name: AZURE_SHIM_POLICY_NAME,
    placement: { phase: 'Retry', afterPolicies: ['storageRetryPolicy'] },
    stats,
    async sendRequest(req, next) {
      const url = new URL(req.url);
      const known = azurite.has(url.origin);
      if (known) {
        const answer = answerFor(req);
        const refused = refuseIfImmutable(req, url, answer);
        if (refused) return refused;
        const { refused: badPolicy, pending } = takeSetPolicy(req, url, answer);
        if (badPolicy) return badPolicy;
        if (pending) return completeSetPolicy(await next(req), pending, answer);
      }
      const pageList = req.method === 'GET' && url.searchParams.get('comp') === 'pagelist';
      let query: { marker: string | null; maxresults: string | null } = { marker: null, maxresults: null };
      if (known) {
        const a = admit(req, url);
        if (!a.ok) {
          if (a.status === 503) stats.serverBusy++;
          else stats.operationTimedOut++;
          if (a.afterMs > 0) await sleep(a.afterMs);
          return errorResponse(req, a.status, a.code, a.message);
        }
        if (a.delayMs > 0) {
          stats.delayedRequests++;
          await sleep(a.delayMs);
        }
        if (pageList) {
          // Azurite answers in full; the continuation is served from that full answer.
          query = { marker: url.searchParams.get('marker'), maxresults: url.searchParams.get('maxresults') };
          url.searchParams.delete('marker');
          url.searchParams.delete('maxresults');
          req.url = url.toString();
        }
      }
      const res = await next(req);
      if ((res.headers.get('server') ?? '').startsWith('Azurite-Blob')) azurite.add(url.origin);
      withPolicyHeaders(req, url, res);
      if (!pageList || res.status !== 200 || !azurite.has(url.origin) || res.bodyAsText == null) return res;
      try {
        const before = pager.cuts;
        const { entries, nextMarker } = pager.page(parsePageListXml(res.bodyAsText), query);
        stats.pageListCuts += pager.cuts - before;
        const bodyAsText = pageListXml(entries, nextMarker);
        res.headers.set('content-length', String(Buffer.byteLength(bodyAsText)));
        return { ...res, bodyAsText };
      } catch (err) {
        if (err instanceof PagingError) return errorResponse(req, err.status, err.code, err.message);
        throw err;
      }
    },
  };
}
