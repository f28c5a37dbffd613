import type { ReliabilityStack } from './stack';
import { strictProfile, type AzureProfile } from '../src/local/azure-profile';
import type { FaultMode } from './faults';

/** What a soak injected, counted where it was injected: the client policy, the emulator and the Azurite shim. */
export interface Injected {
  client503: number;
  client500: number;
  clientReset: number;
  clientTimeout: number;
  clientLostResponse: number;
  emulatorServerFaults: number;
  emulatorLroFailures: number;
  /** emulator.dataStats: the disk side's Get Page Ranges cuts and per-blob caps. */
  diskPageListCuts: number;
  diskServerBusy: number;
  diskOperationTimedOut: number;
  diskDelayedRequests: number;
  /** shim.stats: the backup account's. */
  backupPageListCuts: number;
  backupServerBusy: number;
  backupOperationTimedOut: number;
  backupDelayedRequests: number;
  /** emulator.armStats: 429s from the ARM buckets, Run Commands whose result never came back or nobody collected. */
  arm429: number;
  runCommandsNeverAnswered: number;
  runCommandsUncollected: number;
}

export function newInjected(): Injected {
  return {
    client503: 0,
    client500: 0,
    clientReset: 0,
    clientTimeout: 0,
    clientLostResponse: 0,
    emulatorServerFaults: 0,
    emulatorLroFailures: 0,
    diskPageListCuts: 0,
    diskServerBusy: 0,
    diskOperationTimedOut: 0,
    diskDelayedRequests: 0,
    backupPageListCuts: 0,
    backupServerBusy: 0,
    backupOperationTimedOut: 0,
    backupDelayedRequests: 0,
    arm429: 0,
    runCommandsNeverAnswered: 0,
    runCommandsUncollected: 0,
  };
}

/** Adds one stack's counters (they count from the stack's start) to the total. */
export function addStackCounters(total: Injected, s: ReliabilityStack): void {
  const c = s.faults.injected;
  const d = s.emulator.dataStats;
  const b = s.shim?.stats ?? { pageListCuts: 0, serverBusy: 0, operationTimedOut: 0, delayedRequests: 0 };
  const part: Injected = {
    client503: c['503'],
    client500: c['500'],
    clientReset: c.reset,
    clientTimeout: c.timeout,
    clientLostResponse: c.lostResponse,
    emulatorServerFaults: s.emulator.faults.injected,
    emulatorLroFailures: s.emulator.faults.lroFailed,
    diskPageListCuts: d.pageListCuts,
    diskServerBusy: d.serverBusy,
    diskOperationTimedOut: d.operationTimedOut,
    diskDelayedRequests: d.delayedRequests,
    backupPageListCuts: b.pageListCuts,
    backupServerBusy: b.serverBusy,
    backupOperationTimedOut: b.operationTimedOut,
    backupDelayedRequests: b.delayedRequests,
    arm429: s.emulator.armStats.throttled,
    runCommandsNeverAnswered: s.emulator.armStats.runCommandsNeverAnswered,
    runCommandsUncollected: s.emulator.armStats.runCommandsUncollected,
  };
  addInjected(total, part);
}

export function addInjected(total: Injected, part: Injected): void {
  for (const k of Object.keys(total) as (keyof Injected)[]) total[k] += part[k] ?? 0;
}

/**
 * The strict profile the soak runs on. Paging cuts: seeded random points (per stack) up to `pageRangesPerAnswer`,
 * else fixed cuts every `pageRangesPerAnswer` ranges (64, the suite's default; a larger number is a control run). Caps: Azure's per-blob targets divided by the time scale, so the soak's small disks meet them.
 */
export function soakProfile(modes: ReadonlySet<FaultMode>, stackSeed: number, timeScale: number, pageRangesPerAnswer = 64): AzureProfile {
  return strictProfile({
    timeScale,
    pageRangesPerAnswer,
    ...(modes.has('randomPageCuts') ? { randomPageCuts: stackSeed } : {}),
    blobCaps: modes.has('blobCaps'),
  });
}
