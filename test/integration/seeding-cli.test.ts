import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppStack, type AppStack } from '../support/app-stack';
import { QUEUES } from '../../src/core/config';
import { exportStep } from '../../src/core/workflows/seeding/export';
import { importStep } from '../../src/core/workflows/seeding/import';

const SEED_STEPS = { [QUEUES.export]: exportStep, [QUEUES.import]: importStep };
import { SUB } from '../support/emulator';
import { EmulatorState } from '../../src/emulator/arm/state';
import { contentDigest, fill, fingerprint } from '../../src/emulator/guest';
import { requestRestore } from '../../src/core/workflows/restore/restore';
import { getJob } from '../../src/core/jobs/jobs';
import { requestRegistration } from '../../src/core/workflows/protection/protection';
import { itemKeyFor } from '../../src/core/store/layout';

const MIB = 1024 ** 2;
const CLI = path.resolve('dist/src/cli/vmbackup.js');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the vmbackup command line (an operator with a disk in hand)', () => {
  let stack: AppStack;
  const dir = mkdtempSync(path.join(tmpdir(), 'vmb-cli-'));
  const settingsFile = path.join(dir, 'local.settings.json');
  const exportSettings = path.join(dir, 'site.settings.json');

  beforeAll(async () => {
    stack = await startAppStack({}, [], SEED_STEPS);
    writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: stack.env }));
    // The exporting site may run with other settings: its shard size must not leak into the backup account.
    writeFileSync(exportSettings, JSON.stringify({ IsEncrypted: false, Values: { ...stack.env, VMBACKUP_SHARD_SIZE_MIB: '8' } }));
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports to a folder and imports it with the settings file, and explains what went wrong', { timeout: 120_000 }, async () => {
    const vm = stack.emulator.createVm({ subscriptionId: SUB, resourceGroup: 'site', name: 'pos1', disks: [{ name: 'pos1-os', sizeBytes: 512 * MIB, lun: -1 }] });
    fill(stack.emulator.store, EmulatorState.key(vm.osDiskId), 100 * MIB, 9 * MIB, 3);
    await stack.deps.repos.policies.insert({
      name: 'p',
      timeZone: 'UTC',
      schedule: { frequency: 'Daily', times: ['02:00'] },
      retention: { dailyDays: 7 },
      instantRestoreDays: 2,
      consistency: { mode: 'CrashConsistent', scriptTimeoutSeconds: 60 },
    });
    await requestRegistration(stack.deps, [vm.id], 'p');
    await stack.drain();
    const itemKey = itemKeyFor(vm.id);
    const pkg = path.join(dir, 'pkg');

    const usage = await cli(['export', '--settings', settingsFile]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--item is required[\s\S]*Usage:/);

    const exp = await cli(['export', '--item', itemKey, '--folder', pkg, '--settings', exportSettings]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stdout).toMatch(/export Completed: job \S+, 12\.0 MiB data, 9\.\d MiB package/); // three 4 MiB cells, random data
    expect(exp.stdout).not.toMatch(/\r|\x1b\[/); // not a terminal: plain lines only

    const imp = await cli(['import', '--item', itemKey, '--folder', pkg, '--settings', settingsFile]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/import Completed: .*recovery point/);
    const [point] = await stack.deps.repos.points.all(itemKey);
    const exportJob = (await stack.deps.repos.jobs.all()).find((j) => j.type === 'Export')!;
    expect(point!.disks[0]!.digest).toBe(contentDigest(stack.emulator.store, EmulatorState.key(exportJob.plan![0]!.snapshotId)));

    expect(point!.disks[0]!.shardSize).toBe(48 * MIB);
    const restore = await requestRestore(stack.deps, { itemKey, pointId: point!.pointId, mode: 'newDisks', source: 'vault', targetResourceGroup: 'restored' });
    await stack.drain();
    const restored = await getJob(stack.deps, restore.jobId);
    expect(restored.status, JSON.stringify(restored.error)).toBe('Completed');
    const diskId = (restored.result.disks as { diskId: string }[])[0]!.diskId;
    expect(fingerprint(stack.emulator.store, EmulatorState.key(diskId))).toBe(fingerprint(stack.emulator.store, EmulatorState.key(exportJob.plan![0]!.snapshotId)));

    const again = await cli(['import', '--item', itemKey, '--folder', pkg, '--settings', settingsFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ItemHasRecoveryPoints[\s\S]*Recommended action/);
    expect(again.stderr + again.stdout).not.toMatch(/AccountKey=/);
  });
});
