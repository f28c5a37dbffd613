import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import path from 'node:path';
import { ComputeManagementClient } from '@azure/arm-compute';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorCredential } from '../../../src/emulator/server';

/**
 * Memory is given back when resources are deleted: in Azure a deleted disk or snapshot stops costing, so the
 * emulator must not keep its pages. The emulator runs in its own process with --expose-gc; the real ARM
 * client creates and deletes the same VMs, disks, snapshots, SAS grants and a copied disk ten times.
 */
const ROOT = path.resolve(__dirname, '../../..');
const MIB = 1024 ** 2,
  GIB = 1024 ** 3;
const SUB = '00000000-0000-0000-0000-0000000000ee';

let child: ChildProcess;
let endpoints: { armEndpoint: string; caCert: string };

function admin(route: string, method = 'GET', body?: unknown): Promise<any> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = request(`${endpoints.armEndpoint}${route}`, { method, ca: endpoints.caCert, headers: { 'content-type': 'application/json' } }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => {
        s += c.toString();
      });
      res.on('end', () => (res.statusCode! < 300 ? resolve(JSON.parse(s)) : reject(new Error(`${res.statusCode} ${s}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('emulator memory across create and delete rounds', () => {
  beforeAll(async () => {
    child = spawn(process.execPath, ['--expose-gc', path.join(ROOT, 'dist/bench/emulator-child.js')], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    endpoints = await new Promise((resolve) => child.stdout!.once('data', (c: Buffer) => resolve(JSON.parse(c.toString().split('\n')[0]!))));
  });
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('holds the same memory after the 10th round as after the 1st, and no pages once everything is deleted', { timeout: 240_000 }, async () => {
    const compute = new ComputeManagementClient(emulatorCredential, SUB, { endpoint: endpoints.armEndpoint, tlsOptions: { ca: endpoints.caCert } });
    const rounds: { held: number; rss: number }[] = [];
    for (let round = 1; round <= 10; round++) {
      for (const n of ['m1', 'm2']) {
        const vm = await admin('/_emulator/vms', 'POST', {
          subscriptionId: SUB,
          resourceGroup: 'mem',
          name: n,
          disks: [
            { name: `${n}-os`, sizeBytes: GIB, lun: -1 },
            { name: `${n}-data`, sizeBytes: 2 * GIB, lun: 0 },
          ],
        });
        expect(vm.id).toContain(n);
        for (const disk of [`${n}-os`, `${n}-data`]) {
          const id = encodeURIComponent(`/subscriptions/${SUB}/resourceGroups/mem/providers/Microsoft.Compute/disks/${disk}`);
          await admin(`/_emulator/guest/fill?id=${id}`, 'POST', { offset: 0, length: 32 * MIB, seed: round });
          const diskId = `/subscriptions/${SUB}/resourceGroups/mem/providers/Microsoft.Compute/disks/${disk}`;
          await compute.snapshots.beginCreateOrUpdateAndWait('mem', `${disk}-s1`, { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } });
          await admin(`/_emulator/guest/fill?id=${id}`, 'POST', { offset: 64 * MIB, length: 8 * MIB, seed: round + 100 });
          const s2 = await compute.snapshots.beginCreateOrUpdateAndWait('mem', `${disk}-s2`, {
            location: 'westeurope',
            incremental: true,
            creationData: { createOption: 'Copy', sourceResourceId: diskId },
          });
          const grant = await compute.snapshots.beginGrantAccessAndWait('mem', `${disk}-s2`, { access: 'Read', durationInSeconds: 600 });
          const read = await fetch(grant.accessSAS!, { headers: { 'x-ms-range': `bytes=${64 * MIB}-${72 * MIB - 1}`, 'x-ms-version': '2021-12-02' } });
          expect((await read.arrayBuffer()).byteLength).toBe(8 * MIB);
          await compute.snapshots.beginRevokeAccessAndWait('mem', `${disk}-s2`);
          await compute.disks.beginCreateOrUpdateAndWait('mem', `${disk}-copy`, { location: 'westeurope', creationData: { createOption: 'Copy', sourceResourceId: s2.id } });
        }
        await compute.virtualMachines.beginDeleteAndWait('mem', n);
        for (const disk of [`${n}-os`, `${n}-data`]) {
          for (const s of ['s1', 's2']) await compute.snapshots.beginDeleteAndWait('mem', `${disk}-${s}`);
          await compute.disks.beginDeleteAndWait('mem', disk);
          await compute.disks.beginDeleteAndWait('mem', `${disk}-copy`);
        }
      }
      const stats = await admin('/_emulator/stats?gc=true');
      expect(stats.resources).toEqual({ vms: 0, disks: 0, snapshots: 0 });
      expect(stats.storedBytes, `round ${round}`).toBe(0);
      rounds.push({ held: stats.memory.heapUsed + stats.memory.arrayBuffers, rss: stats.memory.rss });
    }
    console.log(
      `emulator memory after rounds 1 and 10: held ${(rounds[0]!.held / MIB).toFixed(1)} / ${(rounds[9]!.held / MIB).toFixed(1)} MiB, rss ${(rounds[0]!.rss / MIB).toFixed(0)} / ${(rounds[9]!.rss / MIB).toFixed(0)} MiB`,
    );
    expect(rounds[9]!.held).toBeLessThanOrEqual(rounds[0]!.held * 1.1);
    // Each round writes about 320 MiB of pages (fills and copies): a leak of even one round's pages shows as far more
    // than this bound, while the allocator's own growth (measured up to 11% of a 190 MiB RSS under load) does not.
    expect(rounds[9]!.rss).toBeLessThanOrEqual(rounds[0]!.rss + 64 * MIB);
  });
});
