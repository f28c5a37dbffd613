import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestId } from '../http-util';
import type { MemoryDiskStore } from '../disk/store';
import { DiskStoreError } from '../disk/types';
import { EmulatorState } from '../arm/state';
import { guestStateOwner, isGuestStateId } from '../arm/guest-state';
import type { SasIssuer } from './sas';
import { PageListPager, PagingError, pageListXml, type PageEntry } from './page-list';
import { BlobThrottle, PAGE_BLOB_TARGETS, uploadTargets, type Admission } from './throttle';
import { newDataPlaneStats, type DataPlaneStats } from './stats';
export { newDataPlaneStats, type DataPlaneStats };

const MAX_PUT_PAGE = 4 * 1024 * 1024;

class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parseRange(value: string | undefined): { start: number; end: number } | undefined {
  if (!value) return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(value.trim());
  if (!m) throw new StorageError(400, 'InvalidHeaderValue', `The range header '${value}' is invalid.`);
  return { start: Number(m[1]), end: m[2] === '' ? Number.MAX_SAFE_INTEGER : Number(m[2]) };
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
}

/** Plain numbers, so the emulator stays independent of whoever configures it. Durations and rates are Azure's. */
export interface DataPlaneOptions {
  /** Get Page Ranges entries per answer before a NextMarker (Azure publishes no number; see page-list.ts). */
  pageRangesPerAnswer: number;
  /** Fault mode: cut answers at seeded random points instead. */
  randomPageCutSeed?: number;
  /** Per-blob throughput and request-rate caps (throttle.ts). */
  blobCaps: boolean;
  /** Compressed time: local rates and durations are Azure's divided by this. */
  timeScale: number;
  burstSeconds: number;
  maxQueueSeconds: number;
}

/**
 * 64 ranges: small enough that the suite's disks (tens of MiB, fragmented by the page model) are cut several times
 * in one window, so a client that ignores NextMarker loses data in ordinary tests; large enough that a correct
 * client's listings stay a few requests.
 */
export const DEFAULT_DATA_PLANE: DataPlaneOptions = { pageRangesPerAnswer: 64, blobCaps: true, timeScale: 1, burstSeconds: 1, maxQueueSeconds: 1 };

/**
 * The managed-disk data plane behind SAS URLs, as Azure Storage answers page-blob calls: properties, ranged
 * reads, Get Page Ranges (with x-ms-previous-snapshot-url diffs, inclusive ends) and Put Page on upload disks.
 */
export function dataPlaneHandler(state: EmulatorState, store: MemoryDiskStore, sas: SasIssuer, stats: DataPlaneStats = newDataPlaneStats(), options: DataPlaneOptions = DEFAULT_DATA_PLANE) {
  const pager = new PageListPager({ rangesPerAnswer: options.pageRangesPerAnswer, randomSeed: options.randomPageCutSeed });
  const throttle = new BlobThrottle({ timeScale: options.timeScale, burstSeconds: options.burstSeconds, maxQueueSeconds: options.maxQueueSeconds });
  return (req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void =>
    guard(req, res, () => {
      const admitted = admit(req, url, body);
      if (admitted.ok && admitted.delayMs <= 0) return handle(req, res, url, body);
      if (admitted.ok) {
        stats.delayedRequests++;
        return void setTimeout(() => guard(req, res, () => handle(req, res, url, body)), admitted.delayMs);
      }
      if (admitted.status === 503) stats.serverBusy++;
      else stats.operationTimedOut++;
      const refusal = new StorageError(admitted.status, admitted.code, admitted.message);
      if (admitted.afterMs <= 0) throw refusal;
      setTimeout(
        () =>
          guard(req, res, () => {
            throw refusal;
          }),
        admitted.afterMs,
      );
    });

  /** Charges the request to its blob's buckets: a disk at its upload tier, a snapshot to its family's page blob. */
  function admit(req: IncomingMessage, url: URL, body: Buffer): Admission {
    if (!options.blobCaps) return { ok: true, delayMs: 0 };
    const grant = sas.verify(url.pathname, url.searchParams, req.method === 'PUT');
    if (typeof grant === 'string') return { ok: true, delayMs: 0 }; // refused below, at no cost to the blob
    const disk = state.disk(grant.resourceId);
    const snap = disk ? undefined : state.snapshot(grant.resourceId);
    if (!disk && !snap) return { ok: true, delayMs: 0 };
    const size = disk?.sizeBytes ?? snap!.sizeBytes;
    const comp = url.searchParams.get('comp');
    let bytes = 0;
    let kind: 'read' | 'write' | 'other' = 'other';
    if (req.method === 'GET' && !comp) {
      kind = 'read';
      const r = safeRange(req);
      bytes = r ? Math.max(0, Math.min(r.end, size - 1) - r.start + 1) : size;
    } else if (req.method === 'PUT' && comp === 'page') {
      kind = 'write';
      bytes = req.headers['x-ms-page-write'] === 'update' ? body.length : 0;
    }
    const key = disk ? `disk:${EmulatorState.key(disk.id)}` : `family:${EmulatorState.key(snap!.sourceDiskId)}`;
    const rates = disk ? uploadTargets(disk.uploadSizeBytes ?? size) : PAGE_BLOB_TARGETS;
    const t = Number(url.searchParams.get('timeout') ?? NaN);
    return throttle.admit(key, rates, bytes, kind, Number.isFinite(t) ? t : undefined);
  }

  function guard(req: IncomingMessage, res: ServerResponse, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const e =
        err instanceof StorageError
          ? err
          : err instanceof PagingError
            ? new StorageError(err.status, err.code, err.message)
            : err instanceof DiskStoreError
              ? new StorageError(err.code === 'NotFound' ? 404 : 416, err.code === 'NotFound' ? 'BlobNotFound' : 'InvalidPageRange', err.message)
              : new StorageError(500, 'InternalError', 'The server encountered an internal error.');
      const xml = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error>`;
      res.writeHead(e.status, { 'content-type': 'application/xml', 'x-ms-error-code': e.code, 'x-ms-request-id': requestId(), 'content-length': Buffer.byteLength(xml) });
      res.end(req.method === 'HEAD' ? undefined : xml);
    }
  }

  function safeRange(req: IncomingMessage): { start: number; end: number } | undefined {
    try {
      return parseRange((req.headers['x-ms-range'] as string | undefined) ?? req.headers.range);
    } catch {
      return undefined;
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    const comp = url.searchParams.get('comp');
    const write = req.method === 'PUT';
    const grant = sas.verify(url.pathname, url.searchParams, write);
    if (grant === 'AuthenticationFailed') throw new StorageError(403, 'AuthenticationFailed', 'Server failed to authenticate the request. The SAS is invalid, expired or revoked.');
    if (grant === 'AuthorizationPermissionMismatch') throw new StorageError(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.');
    // dataAccessAuthMode AzureActiveDirectory: the SAS alone is not enough, the caller must also send an Entra
    // token for the disk audience (azure-compute-docs articles/virtual-machines/disks-secure-upload-download.md;
    // storage-blob StorageBlobAudience.DiskComputeOAuthScopes). Azure's exact answer is not documented: 403
    // AuthorizationFailure is the Storage shape for an authorization that does not hold. The emulator cannot
    // validate Entra tokens: any bearer token passes, its absence does not.
    const bearer = /^Bearer\s+\S+/i.test(String(req.headers.authorization ?? ''));
    const family = (state.disk(grant.resourceId)?.id ?? state.snapshot(grant.resourceId)?.sourceDiskId ?? grant.resourceId).toLowerCase();
    const tally = (stats.bearerByDisk[family] ??= { withToken: 0, withoutToken: 0 });
    if (bearer) tally.withToken++;
    else tally.withoutToken++;
    if (grant.requires?.bearerAudience && !bearer) {
      throw new StorageError(
        403,
        'AuthorizationFailure',
        `This request is not authorized to perform this operation: the disk requires an Entra ID bearer token for ${grant.requires.bearerAudience} as well as the SAS.`,
      );
    }
    // A securityDataAccessSAS names the VM guest state kept beside its disk or snapshot (arm/guest-state.ts).
    const guest = isGuestStateId(grant.resourceId);
    const owner = guest ? guestStateOwner(grant.resourceId) : grant.resourceId;
    const rec = state.disk(owner) ?? state.snapshot(owner);
    if (grant.requires?.bearerAudience) {
      const action = `Microsoft.Compute/${state.snapshot(owner) ? 'snapshots' : 'disks'}/${write ? 'upload' : 'download'}/action`;
      stats.dataActions[action] = (stats.dataActions[action] ?? 0) + 1;
    }
    const key = EmulatorState.key(guest ? grant.resourceId : owner);
    if (!rec || !store.get(key)) throw new StorageError(404, 'BlobNotFound', 'The specified blob does not exist.');
    const size = store.get(key)!.sizeBytes;
    const common = { 'x-ms-request-id': requestId(), 'x-ms-version': '2021-12-02', etag: '"0x8D0000000000001"', 'last-modified': new Date(0).toUTCString() };

    if ((req.method === 'GET' || req.method === 'HEAD') && !comp) {
      const range = parseRange((req.headers['x-ms-range'] as string | undefined) ?? req.headers.range);
      const headers = { ...common, 'x-ms-blob-type': 'PageBlob', 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
      if (!range) {
        res.writeHead(200, { ...headers, 'content-length': size });
        if (req.method === 'HEAD') return void res.end();
        stats.readRequests++;
        stats.readBytes += size;
        const chunk = 4 * 1024 * 1024;
        for (let o = 0; o < size; o += chunk) res.write(store.read(key, o, Math.min(chunk, size - o)));
        return void res.end();
      }
      if (range.start >= size) throw new StorageError(416, 'InvalidRange', 'The range specified is invalid for the current size of the resource.');
      const end = Math.min(range.end, size - 1);
      const data = store.read(key, range.start, end - range.start + 1);
      if (req.method === 'GET') {
        stats.readRequests++;
        stats.readBytes += data.length;
      }
      res.writeHead(206, { ...headers, 'content-length': data.length, 'content-range': `bytes ${range.start}-${end}/${size}` });
      return void res.end(req.method === 'HEAD' ? undefined : data);
    }

    if (req.method === 'GET' && comp === 'pagelist') {
      const r = parseRange((req.headers['x-ms-range'] as string | undefined) ?? req.headers.range) ?? { start: 0, end: size - 1 };
      if (r.start % 512 !== 0 || (r.end !== Number.MAX_SAFE_INTEGER && (r.end + 1) % 512 !== 0))
        throw new StorageError(416, 'InvalidPageRange', 'The page range specified is invalid: ranges must be 512-byte aligned.');
      const window = { start: Math.min(r.start, size), end: Math.min(r.end + 1, size) };
      stats.pageListRequests++;
      const prevUrl = req.headers['x-ms-previous-snapshot-url'] as string | undefined;
      let changed,
        cleared: { start: number; end: number }[] = [];
      if (prevUrl) {
        const prev = new URL(prevUrl);
        const pg = sas.verify(prev.pathname, prev.searchParams, false);
        if (typeof pg === 'string') throw new StorageError(403, 'CannotVerifyCopySource', 'The previous snapshot URL is not a valid, current SAS of a snapshot.');
        const prevRec = state.snapshot(pg.resourceId);
        if (!prevRec) throw new StorageError(404, 'PreviousSnapshotNotFound', 'The previous snapshot does not exist.');
        try {
          ({ changed, cleared } = store.diff(key, EmulatorState.key(prevRec.id), window));
        } catch (err) {
          if (err instanceof DiskStoreError && err.code !== 'NotFound')
            throw new StorageError(409, 'PreviousSnapshotOperationNotSupported', `The previous snapshot cannot be diffed with this one: ${err.message}`);
          throw err;
        }
      } else {
        changed = store.validRanges(key, window);
      }
      const all: PageEntry[] = [...changed.map((x) => ({ ...x, tag: 'PageRange' as const })), ...cleared.map((x) => ({ ...x, tag: 'ClearRange' as const }))].sort((a, b) => a.start - b.start);
      const cutsBefore = pager.cuts;
      const { entries, nextMarker } = pager.page(all, { marker: url.searchParams.get('marker'), maxresults: url.searchParams.get('maxresults') });
      stats.pageListCuts += pager.cuts - cutsBefore;
      const xml = pageListXml(entries, nextMarker);
      res.writeHead(200, { ...common, 'content-type': 'application/xml', 'x-ms-blob-content-length': size, 'content-length': Buffer.byteLength(xml) });
      return void res.end(xml);
    }

    if (req.method === 'PUT' && comp === 'page') {
      const disk = state.disk(owner);
      if (disk?.state !== 'ActiveUpload') throw new StorageError(409, 'OperationNotAllowed', 'Pages can only be written to a disk in upload state.');
      const r = parseRange((req.headers['x-ms-range'] as string | undefined) ?? req.headers.range);
      if (!r || r.end === Number.MAX_SAFE_INTEGER) throw new StorageError(400, 'MissingRequiredHeader', 'x-ms-range is required.');
      const len = r.end - r.start + 1;
      if (r.start % 512 !== 0 || len % 512 !== 0) throw new StorageError(416, 'InvalidPageRange', 'The page range specified is invalid: start and length must be multiples of 512.');
      if (r.end >= size) throw new StorageError(416, 'InvalidPageRange', 'The page range specified is outside the disk.');
      const op = req.headers['x-ms-page-write'];
      if (op === 'clear') {
        store.clear(key, r.start, len);
      } else if (op === 'update') {
        if (len > MAX_PUT_PAGE || body.length > MAX_PUT_PAGE) throw new StorageError(413, 'RequestBodyTooLarge', 'The request body is too large: a Put Page writes at most 4 MiB.');
        if (body.length !== len) throw new StorageError(400, 'InvalidHeaderValue', `The body length ${body.length} does not match the range length ${len}.`);
        const md5 = (req.headers['content-md5'] ?? req.headers['x-ms-content-md5']) as string | undefined;
        if (md5 && createHash('md5').update(body).digest('base64') !== md5)
          throw new StorageError(400, 'Md5Mismatch', 'The MD5 value specified in the request did not match the MD5 value calculated by the server.');
        store.write(key, r.start, body);
        stats.putPageRequests++;
        stats.putPageBytes += body.length;
      } else {
        throw new StorageError(400, 'InvalidHeaderValue', 'x-ms-page-write must be update or clear.');
      }
      res.writeHead(201, { ...common, 'content-length': 0, 'x-ms-request-server-encrypted': 'true' });
      return void res.end();
    }
    throw new StorageError(400, 'UnsupportedHttpVerb', `The emulator does not support ${req.method} ${comp ?? ''} on a disk.`);
  }
}
