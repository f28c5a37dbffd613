import { expect } from 'vitest';
import { createHash } from 'node:crypto';
import type { Job, RecoveryPoint } from '../../src/core/domain/model';
import { getJob } from '../../src/core/jobs/jobs';
import { requestRegistration } from '../../src/core/workflows/protection/protection';
import { itemKeyFor } from '../../src/core/store/layout';
import { MIB, SUB, type MemoryStack } from './memory-deps';

/** Deterministic bytes that are never all zero, so every written page is data. */
export function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

export interface TestVm {
  vmId: string;
  itemKey: string;
  osDiskId: string;
  dataDiskId: string;
}

/**
 * A VM with a 32 MiB OS disk and a 24 MiB data disk (direct upload needs at least 20 MiB), a few MiB written
 * across cell, segment and shard lines, registered through its Register job.
 */
export async function registeredVm(s: MemoryStack, name = 'vm1', opts: { policyName?: string } = {}): Promise<TestVm> {
  const vm = s.cloud.createVm({
    subscriptionId: SUB,
    resourceGroup: 'rg',
    name,
    disks: [
      { name: `${name}-os`, sizeBytes: 32 * MIB, lun: -1 },
      { name: `${name}-d0`, sizeBytes: 24 * MIB, lun: 0 },
    ],
  });
  const osDiskId = vm.osDiskId,
    dataDiskId = vm.dataDisks[0]!.diskId;
  s.cloud.writeDisk(osDiskId, 0, pattern(MIB, 1));
  s.cloud.writeDisk(osDiskId, 7 * MIB + 512, pattern(2 * MIB, 2)); // crosses the 8 MiB segment line
  s.cloud.writeDisk(osDiskId, 16 * MIB - 4096, pattern(8192, 3)); // crosses the 16 MiB shard line
  s.cloud.writeDisk(dataDiskId, 3 * MIB, pattern(512, 4)); // one page
  const [job] = await requestRegistration(s.deps, [vm.id], opts.policyName);
  await s.drain();
  expect((await getJob(s.deps, job!.jobId)).status).toBe('Completed');
  return { vmId: vm.id, itemKey: itemKeyFor(vm.id), osDiskId, dataDiskId };
}

export async function finished(s: MemoryStack, jobId: string, status: Job['status'] = 'Completed'): Promise<Job> {
  const j = await getJob(s.deps, jobId);
  expect(j.status, JSON.stringify(j.error ?? j.warnings)).toBe(status);
  return j;
}

/** A recovery point's disk image, read back from its shard blob snapshots. */
export async function pointImage(s: MemoryStack, point: RecoveryPoint, diskKey: string): Promise<Buffer> {
  const d = point.disks.find((x) => x.diskKey === diskKey)!;
  const parts: Buffer[] = [];
  for (const [i, shard] of d.shards.entries()) {
    const len = Math.min(d.shardSize, d.sizeBytes - i * d.shardSize);
    parts.push(await s.store.readShardSnapshot(shard.name, shard.snapshot, { start: 0, end: len }));
  }
  return Buffer.concat(parts);
}

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export const DAILY_POLICY = { name: 'daily', timeZone: 'UTC', schedule: { frequency: 'Daily', times: ['02:00'] }, retention: { dailyDays: 7 } };
