import type { DataPlaneOptions } from '../emulator/data/handler';
import { MAX_RESULTS_LIMIT } from '../emulator/data/page-list';

/**
 * How Azure-like the local stack is, in one place. With timeScale f every Azure duration d is d/f locally and
 * every Azure rate r (bytes/s, requests/s) is r/f, so what one invocation can move (Azure: 10 min x 60 MiB/s, about
 * 35 GiB per blob) shrinks by f^2 and a few hundred MiB of local disk stand for a disk 10-100x bigger than that.
 * The emulator takes plain numbers; this module maps the profile onto its options and onto the Azurite shim.
 * The host's functionTimeout and HTTP cut-off read `timeScale` from here too.
 */
export interface AzureProfile {
  timeScale: number;
  /** Get Page Ranges entries per answer before a NextMarker, on both the disk and the backup-account side. */
  pageRangesPerAnswer: number;
  /** Fault mode: a seed; answers are then cut at random points up to pageRangesPerAnswer. */
  randomPageCuts?: number;
  /** Per-blob throughput and request-rate caps (503 ServerBusy, 500 OperationTimedOut). */
  blobCaps: boolean;
  /** Bucket depth in seconds of the target rate (Azure seconds). */
  burstSeconds: number;
  /** The longest queue (Azure seconds) a blob's server holds a request in before answering 503. */
  maxQueueSeconds: number;
}

/** The test suite's default: Azure's real numbers (f = 1), answers cut every 64 ranges, caps on. */
export function strictProfile(overrides: Partial<AzureProfile> = {}): AzureProfile {
  const p: AzureProfile = { timeScale: 1, pageRangesPerAnswer: 64, blobCaps: true, burstSeconds: 1, maxQueueSeconds: 1, ...overrides };
  if (!(p.timeScale > 0) || !Number.isFinite(p.timeScale)) throw new RangeError(`timeScale must be a positive number, not ${p.timeScale}`);
  if (!Number.isSafeInteger(p.pageRangesPerAnswer) || p.pageRangesPerAnswer < 1) throw new RangeError(`pageRangesPerAnswer must be a positive integer, not ${p.pageRangesPerAnswer}`);
  return p;
}

/**
 * `npm start`: unscaled caps, and answers cut only where Azure certainly may cut them (10,000 ranges, the
 * `maxresults` ceiling), so the demo keeps working while the product still ignores NextMarker (AZURE-FIDELITY B1).
 */
export function demoProfile(): AzureProfile {
  return strictProfile({ pageRangesPerAnswer: MAX_RESULTS_LIMIT });
}

export function emulatorDataPlaneOptions(p: AzureProfile): DataPlaneOptions {
  return {
    pageRangesPerAnswer: p.pageRangesPerAnswer,
    randomPageCutSeed: p.randomPageCuts,
    blobCaps: p.blobCaps,
    timeScale: p.timeScale,
    burstSeconds: p.burstSeconds,
    maxQueueSeconds: p.maxQueueSeconds,
  };
}

/** The local Functions host's options from the profile: functionTimeout and the HTTP cut-off divided by timeScale. */
export function hostTimeOptions(p: AzureProfile): { timeScale: number } {
  return { timeScale: p.timeScale };
}
