import { afterEach, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, fingerprint, trim } from '../../src/emulator/guest';
import { requestRegistration, backupNow } from '../../src/core/workflows/protection/protection';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { verifyPoint } from '../../src/core/workflows/verify/verify';
import { getJob } from '../../src/core/jobs/jobs';
import type { Job } from '../../src/core/domain/model';
import { azuriteAsAzureShim } from '../../src/local/azurite-shim';
import { strictProfile } from '../../src/local/azure-profile';
import { itemKeyFor } from '../../src/core/store/layout';

// Get Page Ranges may answer any window in pieces, each but the last ending in a NextMarker to send back as
// `marker` (https://learn.microsoft.com/rest/api/storageservices/get-page-ranges; AZURE-FIDELITY B1). Here both
// sides cut their answers: the disk snapshots' data plane (emulator `dataPlane`) and the backup account (the
// Azurite shim's profile): once after every single range, and once at seeded random points.

const MIB = 1024 ** 2;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const CUTS = [
  { name: 'one range per answer', perAnswer: 1, seed: undefined },
  { name: 'random cut points', perAnswer: 7, seed: 11 },
];

let stack: AppStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe('backups and restores when every Get Page Ranges answer is cut (get-page-ranges NextMarker, AZURE-FIDELITY B1)', () => {
  for (const cut of CUTS) {
    it(`10 generations of scattered writes and trims: every point restores exact and verifies (${cut.name})`, { timeout: 1_200_000 }, async () => {
      const profile = strictProfile({ pageRangesPerAnswer: cut.perAnswer, randomPageCuts: cut.seed });
      // 48 MiB shards and 64 MiB segments: the 100 MiB disk spans 3 shards and 2 segments.
      stack = await startAppStack({}, [azuriteAsAzureShim(profile)], {}, { dataPlane: { pageRangesPerAnswer: cut.perAnswer, randomPageCutSeed: cut.seed } });
      const s = stack;
      const vm = s.emulator.createVm({
        subscriptionId: SUB,
        resourceGroup: 'prod',
        name: 'app1',
        osType: 'Linux',
        disks: [
          { name: 'app1-os', sizeBytes: 32 * MIB, lun: -1 },
          { name: 'app1-data', sizeBytes: 100 * MIB, lun: 0 },
        ],
      });
      await s.deps.repos.policies.insert({
        name: 'daily',
        timeZone: 'UTC',
        schedule: { frequency: 'Daily', times: ['02:00'] },
        retention: { dailyDays: 30 },
        instantRestoreDays: 2,
        consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
      });
      await requestRegistration(s.deps, [vm.id], 'daily');
      await s.drain();
      const itemKey = itemKeyFor(vm.id);
      const disks = [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)].map((id) => ({ key: EmulatorState.key(id), size: s.emulator.state.disk(id)!.sizeBytes }));
      const rand = rng(99);
      const backups: Job[] = [];
      for (let gen = 0; gen < 10; gen++) {
        for (const d of disks) {
          const pages = d.size / 512;
          // Many small fragments, so that every listing window needs several answers.
          for (let k = 0; k < 12; k++) {
            const start = Math.floor(rand() * pages);
            const n = Math.min(pages - start, rand() < 0.5 ? 1 : 1 + Math.floor(rand() * 40));
            if (rand() < 0.75) fill(s.emulator.store, d.key, start * 512, n * 512, Math.floor(rand() * 1e9));
            else trim(s.emulator.store, d.key, start * 512, n * 512);
          }
        }
        const job = await backupNow(s.deps, itemKey);
        await s.drain();
        const done = await getJob(s.deps, job.jobId);
        expect(done.status, JSON.stringify(done.error)).toBe('Completed');
        backups.push(done);
        s.emulator.clock.advance(60_000); // 7 incremental snapshots per disk per 5 minutes
      }
      for (const job of backups) {
        const pointId = job.result.recoveryPointId as string;
        expect((await verifyPoint(s.deps, itemKey, pointId)).state).toBe('Verified');
        const restore = await requestRestore(s.deps, { itemKey, pointId, mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
        await s.drain();
        const r = await getJob(s.deps, restore.jobId);
        expect(r.status, JSON.stringify(r.error)).toBe('Completed');
        const restored = r.result.disks as { diskKey: string; diskId: string }[];
        for (const d of job.plan!) {
          const src = EmulatorState.key(d.snapshotId),
            dst = EmulatorState.key(restored.find((x) => x.diskKey === d.diskKey)!.diskId);
          expect(fingerprint(s.emulator.store, dst), `generation ${backups.indexOf(job)} disk ${d.diskKey}`).toBe(fingerprint(s.emulator.store, src));
          expect(contentDigest(s.emulator.store, dst)).toBe(contentDigest(s.emulator.store, src));
        }
      }
    });
  }
});
