import { createHttpHeaders, createPipelineRequest, type PipelinePolicy, type PipelineRequest, type SendRequest } from '@azure/core-rest-pipeline';

/**
 * Azurite accepts requests that Azure rejects (Put Page over 4 MiB, writes past a blob's end, table keys with
 * '/', oversized entities and messages...). This policy, added to every SDK client the tests and the local
 * stack create, rejects them before they are sent, so a bug Azure would surface fails locally too.
 */
export class StrictLimitViolation extends Error {
  constructor(
    readonly rule: string,
    message: string,
  ) {
    super(`Azure would reject this request (${rule}): ${message}`);
    this.name = 'StrictLimitViolation';
  }
}

const violations: StrictLimitViolation[] = [];
export const strictLimitViolations = (): readonly StrictLimitViolation[] => violations;
export const clearStrictLimitViolations = (): void => void violations.splice(0);

const MIB = 1024 * 1024;
const BAD_KEY = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

function header(req: PipelineRequest, name: string): string | undefined {
  return req.headers.get(name) ?? undefined;
}

function range(req: PipelineRequest): { start: number; end: number } | undefined {
  const v = header(req, 'x-ms-range') ?? header(req, 'range');
  const m = v && /bytes=(\d+)-(\d+)/.exec(v);
  return m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
}

function bodyLength(req: PipelineRequest): number | undefined {
  const b = req.body;
  if (typeof b === 'string') return Buffer.byteLength(b);
  if (b instanceof Uint8Array) return b.length;
  const cl = header(req, 'content-length');
  return cl !== undefined ? Number(cl) : undefined;
}

function bodyText(req: PipelineRequest): string | undefined {
  const b = req.body;
  if (typeof b === 'string') return b;
  if (b instanceof Uint8Array) return Buffer.from(b).toString('utf8');
  return undefined;
}

function entitySize(e: Record<string, unknown>): { total: number; biggest?: [string, number] } {
  let total = 4;
  let biggest: [string, number] | undefined;
  for (const [k, v] of Object.entries(e)) {
    if (k.startsWith('odata.') || k.endsWith('@odata.type')) continue;
    const size = typeof v === 'string' ? 2 * v.length : typeof v === 'number' || typeof v === 'boolean' ? 8 : JSON.stringify(v ?? '').length;
    total += 8 + 2 * k.length + size;
    if (!biggest || size > biggest[1]) biggest = [k, size];
  }
  return { total, biggest };
}

export function strictAzureLimitsPolicy(): PipelinePolicy {
  const sizes = new Map<string, number>();
  const fail = (rule: string, message: string): never => {
    const v = new StrictLimitViolation(rule, message);
    violations.push(v);
    throw v;
  };

  const checkKey = (what: string, key: unknown): void => {
    if (typeof key !== 'string') return;
    if (BAD_KEY.test(key)) fail('TableKeyCharacters', `${what} '${key.slice(0, 80)}' contains / \\ # ? or a control character`);
    if (Buffer.byteLength(key) > 1024) fail('TableKeyLength', `${what} is longer than 1 KiB`);
  };

  const checkEntity = (e: Record<string, unknown>): void => {
    checkKey('PartitionKey', e.PartitionKey);
    checkKey('RowKey', e.RowKey);
    if (Object.keys(e).length > 255) fail('TableEntityProperties', 'an entity has more than 255 properties');
    const { total, biggest } = entitySize(e);
    if (total > MIB) fail('TableEntitySize', `the entity is about ${total} bytes; the limit is 1 MiB`);
    if (biggest && biggest[1] > 64 * 1024) fail('TablePropertySize', `property '${biggest[0]}' is ${biggest[1]} bytes; the limit is 64 KiB`);
  };

  async function blobSize(req: PipelineRequest, next: SendRequest, blobUrl: string): Promise<number | undefined> {
    if (sizes.has(blobUrl)) return sizes.get(blobUrl);
    const head = createPipelineRequest({
      url: req.url.replace(/([?&])comp=page&?/, '$1'),
      method: 'HEAD',
      headers: createHttpHeaders(),
      allowInsecureConnection: req.allowInsecureConnection ?? new URL(req.url).protocol === 'http:',
    });
    for (const [k, v] of req.headers) if (/^(authorization|x-ms-version|x-ms-date)$/i.test(k)) head.headers.set(k, v);
    const res = await next(head);
    const len = res.status === 200 ? Number(res.headers.get('content-length')) : undefined;
    if (len !== undefined) sizes.set(blobUrl, len);
    return len;
  }

  return {
    name: 'strictAzureLimitsPolicy',
    async sendRequest(req, next) {
      const url = new URL(req.url);
      const blobUrl = `${url.origin}${url.pathname}`;
      const comp = url.searchParams.get('comp');
      const blobType = header(req, 'x-ms-blob-type');
      const newSize = header(req, 'x-ms-blob-content-length');

      if (req.method === 'PUT' && blobType === 'PageBlob' && newSize !== undefined) {
        const n = Number(newSize);
        if (n % 512 !== 0) fail('PageBlobSize', `page blob size ${n} is not a multiple of 512`);
        if (n > 8 * 1024 ** 4) fail('PageBlobSize', `page blob size ${n} is over 8 TiB`);
        sizes.set(blobUrl, n);
      }
      if (req.method === 'PUT' && comp === 'properties' && newSize !== undefined) {
        const n = Number(newSize);
        if (n % 512 !== 0 || n > 8 * 1024 ** 4) fail('PageBlobSize', `page blob size ${n} is not a multiple of 512 or over 8 TiB`);
        sizes.set(blobUrl, n);
      }
      if (req.method === 'PUT' && comp === 'page') {
        const r = range(req);
        if (!r) fail('PutPageRange', `Put Page without a range on ${url.pathname}`);
        const len = r!.end - r!.start + 1;
        if (r!.start % 512 !== 0 || len % 512 !== 0) fail('PutPageAlignment', `range ${r!.start}-${r!.end} on ${url.pathname} is not 512-byte aligned`);
        const write = header(req, 'x-ms-page-write');
        if (write === 'update') {
          if (len > 4 * MIB) fail('PutPageSize', `Put Page of ${len} bytes on ${url.pathname}; the limit is 4 MiB`);
          const body = bodyLength(req);
          if (body !== undefined && body !== len) fail('PutPageBody', `body of ${body} bytes for a range of ${len}`);
        }
        if (header(req, 'x-ms-copy-source') && len > 4 * MIB) fail('PutPageFromUrlSize', `Put Page From URL of ${len} bytes; the limit is 4 MiB`);
        const size = await blobSize(req, next, blobUrl);
        if (size !== undefined && r!.end >= size) fail('PageBeyondEnd', `range ${r!.start}-${r!.end} is past the end (${size}) of ${url.pathname}`);
      }
      if (req.method === 'POST' && /\/messages$/.test(url.pathname)) {
        const text = /<MessageText>([\s\S]*)<\/MessageText>/.exec(bodyText(req) ?? '')?.[1] ?? '';
        if (Buffer.byteLength(text) > 64 * 1024) fail('QueueMessageSize', `queue message of ${Buffer.byteLength(text)} bytes; the limit is 64 KiB`);
      }
      const keyInUrl = /\(PartitionKey='((?:[^']|'')*)',RowKey='((?:[^']|'')*)'\)/.exec(decodeURIComponent(url.pathname));
      if (keyInUrl) {
        checkKey('PartitionKey', keyInUrl[1]!.replace(/''/g, "'"));
        checkKey('RowKey', keyInUrl[2]!.replace(/''/g, "'"));
      }
      const ct = header(req, 'content-type') ?? '';
      if (/\/\$batch$/.test(url.pathname)) {
        const text = bodyText(req) ?? '';
        const ops = text.match(/^(GET|POST|PUT|PATCH|MERGE|DELETE) https?:\/\//gm) ?? [];
        if (ops.length > 100) fail('TableBatchSize', `a transaction of ${ops.length} operations; the limit is 100`);
        const pks = new Set<string>();
        for (const m of text.matchAll(/PartitionKey='((?:[^']|'')*)'|"PartitionKey":"((?:[^"\\]|\\.)*)"/g)) pks.add(m[1] ?? m[2] ?? '');
        if (pks.size > 1) fail('TableBatchPartitions', `a transaction across ${pks.size} partitions; it must stay in one`);
        for (const m of text.matchAll(/^\{[\s\S]*?\}$/gm)) {
          try {
            checkEntity(JSON.parse(m[0]) as Record<string, unknown>);
          } catch (e) {
            if (e instanceof StrictLimitViolation) throw e;
          }
        }
      } else if (ct.includes('json') && ['POST', 'PUT', 'PATCH', 'MERGE'].includes(req.method)) {
        const text = bodyText(req);
        if (text) {
          try {
            const e = JSON.parse(text) as Record<string, unknown>;
            if (e && typeof e === 'object' && !Array.isArray(e) && !('TableName' in e)) checkEntity(e);
          } catch (err) {
            if (err instanceof StrictLimitViolation) throw err;
          }
        }
      }
      return next(req);
    },
  };
}
