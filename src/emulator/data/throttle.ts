/**
 * Per-blob scalability targets as token buckets, one for bytes and one for requests.
 *
 * Azure's numbers: "Target request rate for a single page blob: Up to 500 requests per second" and "Target
 * throughput for a single page blob: Up to 60 MiB per second"; past them the service answers "503 (Server
 * Busy) or 500 (Operation Timeout)" (MicrosoftDocs/azure-docs includes/storage-blob-scale-targets.md;
 * https://learn.microsoft.com/azure/storage/blobs/scalability-targets). Direct upload to a managed disk runs at
 * the Standard HDD tier of the disk's size (azure-compute-docs articles/virtual-machines/linux/
 * disks-upload-vhd-to-managed-disk-cli.md: "your bandwidth would be the same as standard HDDs"; the tier table is
 * MicrosoftDocs/azure-docs includes/disk-storage-standard-hdd-sizes.md).
 *
 * The model, since Azure publishes targets but not its shedding rule: a request beyond the request rate is
 * refused with 503 at once; a request whose bytes are not in the bucket waits in the server's queue (its answer is
 * delayed) unless the queue is longer than `maxQueueSeconds` (then 503), or the wait plus its own transfer would
 * outlast its server timeout (then 500 OperationTimedOut, answered when that timeout ends). Timeouts follow
 * https://learn.microsoft.com/rest/api/storageservices/setting-timeouts-for-blob-service-operations: 30 s
 * (the `timeout` parameter lowers it), except reads "2 minutes per megabyte" and writes "10 minutes per megabyte".
 *
 * Compressed time: with timeScale f every rate is divided by f and every duration too.
 */
export interface BlobRates {
  bytesPerSecond: number;
  requestsPerSecond: number;
}

export interface ThrottleOptions {
  timeScale: number;
  /** Bucket depth, in seconds of the target rate: the small burst Azure tolerates above its targets. */
  burstSeconds: number;
  /** The longest queue (Azure seconds) the server holds a request in before it sheds with 503. */
  maxQueueSeconds: number;
  /** Monotonic milliseconds; real time, since the rates are real. */
  now?: () => number;
}

export const MIB = 1024 * 1024;
/** One standard page blob, and so one incremental snapshot (they live on Standard HDD storage). */
export const PAGE_BLOB_TARGETS: BlobRates = { bytesPerSecond: 60 * MIB, requestsPerSecond: 500 };

/** Standard HDD tiers S4..S80 (disk-storage-standard-hdd-sizes.md): the size limit in GiB, IOPS, MB/s. */
const HDD_TIERS: [maxGiB: number, iops: number, mbps: number][] = [
  [4096, 500, 60], // S4..S50
  [8192, 1300, 300], // S60
  [16384, 2000, 500], // S70
  [32767, 2000, 500], // S80
];

export function uploadTargets(diskBytes: number): BlobRates {
  const gib = Math.ceil(diskBytes / 1024 ** 3);
  const [, iops, mbps] = HDD_TIERS.find(([max]) => gib <= max) ?? HDD_TIERS[HDD_TIERS.length - 1]!;
  return { bytesPerSecond: mbps * MIB, requestsPerSecond: iops };
}

export type Admission =
  | { ok: true; delayMs: number }
  | { ok: false; status: 503; code: 'ServerBusy'; message: string; afterMs: 0 }
  | { ok: false; status: 500; code: 'OperationTimedOut'; message: string; afterMs: number };

/** The messages of the Storage common error codes (https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes). */
export const SERVER_BUSY_MESSAGE = 'The server is currently unable to receive requests. Please retry your request.';
export const OPERATION_TIMED_OUT_MESSAGE = 'The operation could not be completed within the permitted time.';

interface Bucket {
  bytes: number;
  requests: number;
  at: number;
}

/** The server timeout in Azure seconds for one request (see the module comment). */
export function serverTimeoutSeconds(kind: 'read' | 'write' | 'other', bytes: number, timeoutParam?: number): number {
  const perMiB = kind === 'read' ? 120 : kind === 'write' ? 600 : 0;
  const max = Math.max(30, (perMiB * bytes) / MIB);
  return timeoutParam !== undefined && timeoutParam > 0 ? Math.min(timeoutParam, max) : max;
}

export class BlobThrottle {
  private buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  busy = 0;
  timedOut = 0;
  delayed = 0;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  admit(key: string, azureRates: BlobRates, bytes: number, kind: 'read' | 'write' | 'other', timeoutParam?: number): Admission {
    const f = this.options.timeScale;
    const rate = { bytes: azureRates.bytesPerSecond / f, requests: azureRates.requestsPerSecond / f };
    const depth = { bytes: rate.bytes * this.options.burstSeconds, requests: Math.max(1, rate.requests * this.options.burstSeconds) };
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = { bytes: depth.bytes, requests: depth.requests, at: t }));
    const dt = Math.max(0, t - b.at) / 1000;
    b.at = t;
    b.bytes = Math.min(depth.bytes, b.bytes + dt * rate.bytes);
    b.requests = Math.min(depth.requests, b.requests + dt * rate.requests);

    if (b.requests < 1) return this.refuse();
    b.requests -= 1;
    if (bytes <= 0 || b.bytes >= bytes) {
      b.bytes -= Math.max(0, bytes);
      return { ok: true, delayMs: 0 };
    }
    const queueS = Math.max(0, -b.bytes) / rate.bytes;
    const doneS = (bytes - b.bytes) / rate.bytes;
    if (queueS > this.options.maxQueueSeconds / f) return this.refuse();
    const budgetS = serverTimeoutSeconds(kind, bytes, timeoutParam) / f;
    if (doneS > budgetS) {
      this.timedOut++;
      return { ok: false, status: 500, code: 'OperationTimedOut', message: OPERATION_TIMED_OUT_MESSAGE, afterMs: budgetS * 1000 };
    }
    b.bytes -= bytes; // into debt: the requests behind this one wait for it
    this.delayed++;
    return { ok: true, delayMs: doneS * 1000 };
  }

  private refuse(): Admission {
    this.busy++;
    return { ok: false, status: 503, code: 'ServerBusy', message: SERVER_BUSY_MESSAGE, afterMs: 0 };
  }
}
