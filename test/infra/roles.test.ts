import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { startAppStack, type AppStack } from '../support/app-stack';
import { restoreCanceller, runProductFlows, type Feature } from './product-flows';
import { OperationLog } from '../../src/emulator/arm/operation-log';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const template: Json = JSON.parse(readFileSync('infra/azuredeploy.json', 'utf8'));
const roles = (): Record<Feature, string[]> =>
  Object.fromEntries(template.variables.customRoles.map((r: Json) => [r.key === 'backup' ? 'core' : r.key, [...r.actions].sort()])) as Record<Feature, string[]>;

describe('least privilege, derived from the ARM operations the app makes', () => {
  let s: AppStack;
  let seen: Record<Feature, Set<string>>;
  let cancelledRestore: string;
  beforeAll(async () => {
    // Operations answer after a delay, so every long-running one is polled as on Azure (locations/operations).
    const canceller = restoreCanceller();
    s = await startAppStack({ VMBACKUP_SEGMENT_SIZE_MIB: '32' }, [canceller.policy], {}, { lroDelayMs: 2 });
    ({ seen, cancelledRestore } = await runProductFlows(s, canceller));
  }, 240_000);
  afterAll(async () => s?.stop());

  it('the template\'s backup role grants exactly what register, protect, discovery, backup, restore to new disks, retention and reconcile call', () => {
    expect(roles().core).toEqual([...seen.core].sort());
  });

  it('Run Command and Replace Disks are separate roles holding exactly what those flows add', () => {
    const core = new Set(seen.core);
    const run = [...seen.runCommand].filter((a) => !core.has(a)).sort();
    const replace = [...seen.replaceDisks].filter((a) => !core.has(a) && !run.includes(a)).sort();
    expect(roles().runCommand).toEqual(run);
    expect(roles().replaceDisks).toEqual(replace);
    // Each role is needed: no feature's actions hide inside another's.
    for (const r of Object.values(roles())) expect(r.length).toBeGreaterThan(0);
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

  it('the recorder names operations in ARM\'s URL grammar and serves them at /_emulator/operations', async () => {
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

  it('the README\'s permission table lists exactly the template\'s roles (node scripts/roles.mjs writes it)', () => {
    const readme = readFileSync('README.md', 'utf8');
    const table = /<!-- roles:start -->([\s\S]*?)<!-- roles:end -->/.exec(readme)?.[1] ?? '';
    const rows = [...table.matchAll(/^\| `(\w+)` \| `([^`]+)` \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const want = template.variables.customRoles.flatMap((r: Json) => r.actions.map((a: string) => `${r.key} ${a}`)).sort();
    expect(rows).toEqual(want);
  });
});

async function getJson(url: string, ca: string): Promise<Json> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    }).on('error', reject);
  });
}
