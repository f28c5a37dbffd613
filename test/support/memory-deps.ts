import { loadConfig, type Config } from '../../src/core/config';
import type { Deps } from '../../src/core/jobs/deps';
import { createRepos } from '../../src/core/store/repos';
import { MemoryTableFactory } from '../../src/core/adapters/memory/tables';
import { MemoryBackupStore } from '../../src/core/adapters/memory/backup-store';
import { MemoryCloud, type CloudLimits, AZURE_SNAPSHOT_LIMITS } from '../../src/core/adapters/memory/cloud';
import { MemoryCompute } from '../../src/core/adapters/memory/compute';
import { MemoryDataPlane } from '../../src/core/adapters/memory/data-plane';
import { MemoryProvisioning } from '../../src/core/adapters/memory/provisioning';
import { silentLogger } from '../../src/core/ports/logger';
import { KINDS } from '../../src/core/workflows/kinds';
import { DrainableQueues, drainMemory, type MemoryDrainOptions } from './memory-drain';

export const SUB = '00000000-0000-0000-0000-00000000aaaa';
export const MIB = 1024 * 1024;

/** A clock the test moves: lock TTLs, SAS expiry, retention and snapshot windows all read it. */
export class FakeClock {
  constructor(public ms = Date.parse('2026-03-02T10:00:00Z')) {}
  now = (): number => this.ms;
  date = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}

/**
 * Small sizes so a backup of a 32 MiB disk fans out over several segments and shards in milliseconds: 8 MiB
 * segments, 16 MiB shards, 4 MiB diff windows (the smallest loadConfig allows).
 */
export const FAST_SETTINGS: Record<string, string> = {
  VMBACKUP_SUBSCRIPTION_IDS: SUB,
  VMBACKUP_STORAGE: 'UseDevelopmentStorage=true',
  VMBACKUP_SEGMENT_SIZE_MIB: '8',
  VMBACKUP_SHARD_SIZE_MIB: '16',
  VMBACKUP_DIFF_WINDOW_MIB: '4',
  VMBACKUP_COPY_CONCURRENCY: '4',
  VMBACKUP_LOCK_TTL_SECONDS: '60',
};

export interface MemoryStack {
  deps: Deps;
  clock: FakeClock;
  cloud: MemoryCloud;
  /** Subnets, NICs and VM size offers of a restore to a new VM. */
  provisioning: MemoryProvisioning;
  store: MemoryBackupStore;
  queues: DrainableQueues;
  config: Config;
  /** Delivers queued step messages through the kinds' steps until no queue holds one. */
  drain(opts?: MemoryDrainOptions): Promise<number>;
}

export interface MemoryOverrides {
  settings?: Record<string, string>;
  limits?: Partial<CloudLimits>;
  clock?: FakeClock;
  /** Replace any dependency (a failing store, a wrapped compute...) after the defaults are built. */
  deps?: (d: Deps) => Partial<Deps>;
}

/** What src/core/composition.ts builds for Azure, on the memory adapters: the same kinds, the same config. */
export function memoryDeps(o: MemoryOverrides = {}): MemoryStack {
  const clock = o.clock ?? new FakeClock();
  const config = loadConfig({ ...FAST_SETTINGS, ...o.settings });
  const cloud = new MemoryCloud(clock.now, { ...AZURE_SNAPSHOT_LIMITS, ...o.limits });
  const store = new MemoryBackupStore(clock.now);
  const queues = new DrainableQueues(clock);
  const provisioning = new MemoryProvisioning(cloud);
  const base: Deps = {
    config,
    repos: createRepos(new MemoryTableFactory(), config.tablePrefix),
    queues,
    compute: new MemoryCompute(cloud),
    provisioning,
    dataPlane: new MemoryDataPlane(cloud),
    store,
    clock: clock.date,
    log: silentLogger,
    kinds: KINDS,
  };
  const deps: Deps = { ...base, ...o.deps?.(base) };
  return { deps, clock, cloud, provisioning, store, queues, config, drain: (opts) => drainMemory(deps, queues, clock, opts) };
}

/** A copy of `target` whose `method` throws `error` the next `left` calls (set `left` to 0 to heal it). */
export function failing<T extends object>(target: T, method: keyof T & string, error: () => unknown, times = Infinity): T & { calls: number; left: number } {
  const out = Object.create(target) as T & { calls: number; left: number };
  out.calls = 0;
  out.left = times;
  (out as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    out.calls++;
    if (out.left-- > 0) throw error();
    return (target[method] as (...a: unknown[]) => unknown).apply(target, args);
  };
  return out;
}
