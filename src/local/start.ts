import { randomBytes } from 'node:crypto';
import { startLocalStack } from './stack';
import { startHost } from './host/host';
import { localAppSettings } from './settings';
import { fill, randomWorkload } from '../emulator/guest';
import { EmulatorState } from '../emulator/arm/state';

const SUB = '00000000-0000-0000-0000-00000000demo';
const GIB = 1024 ** 3, MIB = 1024 ** 2;

/** `npm start`: the local Azure stack, three demo VMs whose guests keep writing, and the app in the local host. */
async function main(): Promise<void> {
  const stack = await startLocalStack();
  const { emulator, azurite } = stack;
  const vms = [
    emulator.createVm({ subscriptionId: SUB, resourceGroup: 'demo-web', name: 'web-linux', osType: 'Linux', tags: { 'vmbackup-policy': 'demo' }, disks: [{ name: 'web-linux-os', sizeBytes: 2 * GIB, lun: -1 }] }),
    emulator.createVm({ subscriptionId: SUB, resourceGroup: 'demo-db', name: 'db-linux', osType: 'Linux', disks: [{ name: 'db-linux-os', sizeBytes: 2 * GIB, lun: -1 }, { name: 'db-linux-data', sizeBytes: 8 * GIB, lun: 0 }, { name: 'db-linux-log', sizeBytes: 4 * GIB, lun: 1 }] }),
    emulator.createVm({ subscriptionId: SUB, resourceGroup: 'demo-app', name: 'app-windows', osType: 'Windows', disks: [{ name: 'app-windows-os', sizeBytes: 4 * GIB, lun: -1 }, { name: 'app-windows-data', sizeBytes: 2 * GIB, lun: 0 }] }),
  ];
  const disks = vms.flatMap((vm) => [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)]).map(EmulatorState.key);
  disks.forEach((d, i) => fill(emulator.store, d, 0, 64 * MIB, i + 1));
  let seed = 1;
  const guests = setInterval(() => {
    for (const d of disks) randomWorkload(emulator.store, d, { seed: seed++, ops: 3, maxWriteBytes: 2 * MIB });
  }, 10_000);

  const keys = { master: randomBytes(18).toString('base64url'), fn: randomBytes(18).toString('base64url') };
  const settings: Record<string, string> = {
    ...localAppSettings({ storage: azurite.connectionString, armEndpoint: emulator.armEndpoint, caFile: stack.caFile, subscriptionIds: SUB }),
    VMBACKUP_SCHEDULER_CRON: '0 * * * * *',
    VMBACKUP_DISCOVERY_CRON: '0 0 * * * *',
    VMBACKUP_RETENTION_CRON: '0 30 * * * *',
    VMBACKUP_RECONCILE_CRON: '0 */5 * * * *',
    VMBACKUP_SEGMENT_SIZE_MIB: '1024',
    FUNCTIONS_MASTER_KEY: keys.master,
    FUNCTIONS_FUNCTION_KEY: keys.fn,
    VMBACKUP_ADMIN_KEY: keys.master,
  };
  const host = await startHost({ appDir: process.cwd(), settings, port: Number(process.env.PORT ?? 7071), log: (l) => { if (/failed|unhandled/i.test(l)) console.log(l); } });
  const api = `${host.url}/api`;
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${api}/${route}`, { method, headers: { 'content-type': 'application/json', 'x-functions-key': keys.fn }, body: body === undefined ? undefined : JSON.stringify(body) });
    return res.json().catch(() => undefined);
  };
  await call('POST', 'policies', {
    name: 'demo', timeZone: 'UTC', schedule: { frequency: 'Hourly', intervalHours: 1, windowStart: '00:00', windowHours: 24 },
    retention: { dailyDays: 7, weekly: { weeks: 4, dayOfWeek: 'Sunday' } }, instantRestoreDays: 1,
  });
  await call('POST', 'discovery');
  const k = `-H "x-functions-key: ${keys.fn}"`;
  const item = encodeURIComponent(`vm;${SUB};demo-db;db-linux`);
  console.log(`
vmbackup is running on the local stack.
  App:       ${api}   (function key: ${keys.fn}   admin key: ${keys.master})
  Dashboard: ${api}/ui/   (in a browser; enter the function key)
  Azurite:   ${azurite.blobEndpoint}   Compute emulator: ${emulator.armEndpoint}
  Demo VMs:  web-linux (tagged vmbackup-policy=demo: protected by discovery), db-linux (3 disks), app-windows
  The guests write every 10 s; the scheduler ticks every minute and the 'demo' policy has a slot every hour,
  so web-linux gets its first backup within a minute.

Try:
  curl ${k} ${api}/vms
  curl ${k} -X POST ${api}/items/register -d '{"vmIds":["${vms[1]!.id}"],"policyName":"demo"}'
  curl ${k} -X POST ${api}/items/${item}/backup -d '{}'
  curl ${k} "${api}/jobs?top=10"
  curl ${k} ${api}/items/${item}/recoveryPoints
  curl ${k} -X POST ${api}/items/${item}/recoveryPoints/<pointId>/restore -d '{"mode":"newDisks"}'
  curl ${k} ${api}/dashboard
  curl ${api}/health

Ctrl-C stops everything.`);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(guests);
    await host.stop();
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

void main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
