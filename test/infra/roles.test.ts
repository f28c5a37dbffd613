import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startAppStack, type AppStack } from '../support/app-stack';
import { restoreCanceller, runProductFlows, strictLimitsWithoutDiskToken, type Feature } from './product-flows';
import { OperationLog } from '../../src/emulator/arm/operation-log';
import { SUB } from '../support/emulator';
import { MOUNT_QUEUES } from '../../src/core/workflows/mount/plan';
import { mountStep } from '../../src/core/workflows/mount/steps';
import { unmountStep } from '../../src/core/workflows/mount/mount';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const template: Json = JSON.parse(readFileSync('infra/azuredeploy.json', 'utf8'));
const byFeature = (field: 'actions' | 'dataActions'): Record<Feature, string[]> =>
  Object.fromEntries(template.variables.customRoles.map((r: Json) => [r.key === 'backup' ? 'core' : r.key, [...r[field]].sort()])) as Record<Feature, string[]>;
const roles = (): Record<Feature, string[]> => byFeature('actions');
const dataRoles = (): Record<Feature, string[]> => byFeature('dataActions');
const MIB = 1024 ** 2;

describe('least privilege, derived from the ARM operations the app makes', () => {
  let s: AppStack;
  let seen: Record<Feature, Set<string>>;
  let data: Record<Feature, Set<string>>;
  let cancelledRestore: string;
  beforeAll(async () => {
    // Operations answer after a delay, so every long-running one is polled as on Azure (locations/operations).
    const canceller = restoreCanceller();
    s = await startAppStack(
      { VMBACKUP_SEGMENT_SIZE_MIB: '32' },
      [canceller.policy, strictLimitsWithoutDiskToken()],
      { [MOUNT_QUEUES.mount]: mountStep, [MOUNT_QUEUES.unmount]: unmountStep },
      { lroDelayMs: 2 },
    );
    ({ seen, data, cancelledRestore } = await runProductFlows(s, canceller));
  }, 240_000);
  afterAll(async () => s?.stop());

  it("the template's backup role grants exactly what register, protect, discovery, backup, restore to new disks, retention and reconcile call", () => {
    expect(roles().core).toEqual([...seen.core].sort());
  });

  it('Run Command and Replace Disks are separate roles holding exactly what those flows add', () => {
    const core = new Set(seen.core);
    const run = [...seen.runCommand].filter((a) => !core.has(a)).sort();
    const replace = [...seen.replaceDisks].filter((a) => !core.has(a) && !run.includes(a)).sort();
    expect(roles().runCommand).toEqual(run);
    expect(roles().replaceDisks).toEqual(replace);
    // Each role is needed: no feature's permissions hide inside another's.
    for (const [f, r] of Object.entries(roles())) expect(r.length + dataRoles()[f as Feature].length, f).toBeGreaterThan(0);
  });

  // Two permissions ARM checks on the resources a request links to, not on the URL it addresses: creating a NIC in
  // a subnet needs `subnets/join/action` on the subnet, a VM that takes a NIC needs `networkInterfaces/join/action`
  // on the NIC (https://learn.microsoft.com/azure/virtual-network/virtual-network-network-interface#permissions).
  const LINKED = ['Microsoft.Network/networkInterfaces/join/action', 'Microsoft.Network/virtualNetworks/subnets/join/action'];

  it('New VM is a separate role holding what a restore to a new VM adds to the backup role, with the join actions its references need', () => {
    const core = new Set(seen.core);
    expect(roles().newVm).toEqual([...new Set([...seen.newVm, ...LINKED])].filter((a) => !core.has(a)).sort());
    expect(roles().newVm).toEqual(expect.arrayContaining(['Microsoft.Network/networkInterfaces/write', 'Microsoft.Compute/virtualMachines/write', 'Microsoft.Compute/skus/read']));
  });

  // Mount needs two actions beyond the backup role: the helper VM's update that attaches the restored disks and
  // the one that detaches them (the restore that makes the disks is the backup role's), and the Resource SKUs
  // read that gives the helper size's MaxDataDiskCount. New VM holds both, so a deployment with it can already
  // mount; Mount's own role is for file recovery without the power to create VMs and NICs, join subnets, or
  // deallocate and start VMs.
  it("Mount is a separate role holding exactly what mounting and unmounting add: the helper VM's update and its size's limits", () => {
    const core = new Set(seen.core);
    expect(roles().mount).toEqual([...seen.mount].filter((a) => !core.has(a)).sort());
    expect(roles().mount).toEqual(['Microsoft.Compute/skus/read', 'Microsoft.Compute/virtualMachines/write']);
  });

  // Entra-only disks add no ARM operation (the backup role grants and revokes their SAS); what they add is the
  // data actions Azure checks on their data requests, which only a role's dataActions can hold
  // (https://learn.microsoft.com/azure/role-based-access-control/role-definitions#dataactions).
  it("Entra Disks is a separate role holding exactly the data actions of the Entra-only disks' reads and writes, and no action", () => {
    const core = new Set(seen.core);
    expect([...seen.entraDisks].filter((a) => !core.has(a))).toEqual([]);
    expect(roles().entraDisks).toEqual([]);
    expect(dataRoles().entraDisks).toEqual([...data.entraDisks].sort());
    expect(dataRoles().entraDisks).toEqual(['Microsoft.Compute/disks/upload/action', 'Microsoft.Compute/snapshots/download/action']);
    // No other flow touches an Entra-only disk's data, and no other role holds a data action.
    for (const f of Object.keys(data) as Feature[]) if (f !== 'entraDisks') expect([...data[f]], f).toEqual([]);
    for (const f of Object.keys(dataRoles()) as Feature[]) if (f !== 'entraDisks') expect(dataRoles()[f], f).toEqual([]);
  });

  // The RBAC data action for a data request on a disk's or snapshot's SAS: "Perform read data operations on Disk
  // SAS Uri" (download) and "write data operations" (upload), checked when the disk's dataAccessAuthMode is
  // AzureActiveDirectory (https://learn.microsoft.com/azure/role-based-access-control/permissions/compute#microsoftcompute;
  // azure-compute-docs articles/virtual-machines/disks-secure-upload-download.md).
  it('the data plane names the data action of each request on an Entra-only grant, and none on a SAS-only grant', async () => {
    const r = s.emulator.resources;
    const upload = (name: string, mode?: string) =>
      r.putDisk(SUB, 'probe', name, {
        location: 'westeurope',
        properties: { creationData: { createOption: 'Upload', uploadSizeBytes: 32 * MIB + 512 }, ...(mode ? { dataAccessAuthMode: mode } : {}) },
      });
    const empty = (name: string, mode?: string) =>
      r.putDisk(SUB, 'probe', name, { location: 'westeurope', properties: { creationData: { createOption: 'Empty' }, diskSizeBytes: 32 * MIB, ...(mode ? { dataAccessAuthMode: mode } : {}) } });
    const aadRead = empty('aad-read', 'AzureActiveDirectory');
    const snap = r.putSnapshot(SUB, 'probe', 'aad-snap', { location: 'westeurope', properties: { incremental: true, creationData: { createOption: 'Copy', sourceResourceId: aadRead.id } } });
    const urls = {
      diskRead: r.grantDisk(aadRead, 'Read', 600).accessSAS,
      snapshotRead: r.grantSnapshot(snap, 'Read', 600).accessSAS,
      diskWrite: r.grantDisk(upload('aad-up', 'AzureActiveDirectory'), 'Write', 600).accessSAS,
      plainRead: r.grantDisk(empty('plain-read'), 'Read', 600).accessSAS,
      plainWrite: r.grantDisk(upload('plain-up'), 'Write', 600).accessSAS,
    };
    const auth = { authorization: 'Bearer local-disk-audience-token', 'x-ms-version': '2021-12-02' };
    const read = (url: string) => fetch(url, { headers: { ...auth, 'x-ms-range': 'bytes=0-511' } });
    const write = (url: string) => fetch(`${url}&comp=page`, { method: 'PUT', body: Buffer.alloc(512, 1), headers: { ...auth, 'x-ms-range': 'bytes=0-511', 'x-ms-page-write': 'update' } });
    const actions = s.emulator.dataStats.dataActions;
    const delta = async (call: () => Promise<Response>): Promise<string[]> => {
      const before = { ...actions };
      const res = await call();
      expect(res.status, await res.text()).toBeLessThan(300);
      return Object.keys(actions).filter((a) => actions[a] !== before[a]);
    };
    expect(await delta(() => read(urls.diskRead))).toEqual(['Microsoft.Compute/disks/download/action']);
    expect(await delta(() => read(urls.snapshotRead))).toEqual(['Microsoft.Compute/snapshots/download/action']);
    expect(await delta(() => write(urls.diskWrite))).toEqual(['Microsoft.Compute/disks/upload/action']);
    expect(await delta(() => read(urls.plainRead))).toEqual([]);
    expect(await delta(() => write(urls.plainWrite))).toEqual([]);
  });

  it("the recorder names operations in ARM's URL grammar and serves them at /_emulator/operations", async () => {
    const log = new OperationLog();
    log.record('POST', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/runCommand');
    log.record('GET', '/subscriptions/s/providers/Microsoft.Compute/virtualMachines');
    log.record('GET', '/subscriptions/s/providers/Microsoft.Compute/locations/westeurope/operations/abc/result');
    log.record('PATCH', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d');
    expect(log.list.map((o) => [o.resourceType, o.action])).toEqual([
      ['Microsoft.Compute/virtualMachines', 'runCommand'],
      ['Microsoft.Compute/virtualMachines', 'read'],
      ['Microsoft.Compute/locations/operations', 'read'],
      ['Microsoft.Compute/disks', 'write'],
    ]);
    // The ARM endpoint is HTTPS with the emulator's own CA; read it through node:https trusting that CA.
    const body = await getJson(`${s.emulator.armEndpoint}/_emulator/operations`, s.emulator.caCert);
    expect(body.value).toEqual(JSON.parse(JSON.stringify(s.emulator.operations.list)));
  });

  // Was a product bug (restore-cancel-masked-by-revoke): the old restore's revoke in a `finally` answered 400
  // InvalidVhd for a disk without its footer (AzureStorageExplorer#8800) and hid the cancel, so the half-written
  // disk stayed. The segmented restore's cancel cleanup deletes unfinished disks.
  it('a restore cancelled while writing a disk leaves no half-written disk behind', () => {
    const left = [...s.emulator.state.disks.values()].filter((d) => d.name.endsWith(`-r${cancelledRestore.slice(-8)}`));
    expect(left.map((d) => d.name)).toEqual([]);
  });

  it("the README's permission table lists exactly the template's roles (node scripts/roles.mjs writes it)", () => {
    const readme = readFileSync('README.md', 'utf8');
    const table = /<!-- roles:start -->([\s\S]*?)<!-- roles:end -->/.exec(readme)?.[1] ?? '';
    const rows = [...table.matchAll(/^\| `(\w+)` \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const want = template.variables.customRoles.flatMap((r: Json) => [...r.actions, ...r.dataActions].map((a: string) => `${r.key} ${a}`)).sort();
    expect(rows).toEqual(want);
  });
});

async function getJson(url: string, ca: string): Promise<Json> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      })
      .on('error', reject);
  });
}
