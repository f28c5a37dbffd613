import { startLocalStack, defaultPorts, type LocalStack, type StackPorts } from './stack';
import { startHost, type RunningHost } from './host/host';
import { localAppSettings } from './settings';
import { loadOrCreateKeys, type LocalKeys } from './keys';
import { tryLines } from './demo-lines';
import { fill, randomWorkload } from '../emulator/guest';
import { EmulatorState, resourceId } from '../emulator/arm/state';
import type { VmSpec } from '../emulator/admin';

export const DEMO_SUB = '00000000-0000-0000-0000-00000000demo';
const GIB = 1024 ** 3,
  MIB = 1024 ** 2;
/** The subnet a restore to a new VM can put its NIC in (the dashboard's restore wizard suggests it). */
export const DEMO_SUBNET_ID = `/subscriptions/${DEMO_SUB}/resourceGroups/demo-net/providers/Microsoft.Network/virtualNetworks/demo-vnet/subnets/default`;

/** web-linux and app-windows keep writing; db-linux writes only when asked, so its backups show exact figures. */
const DEMO_VMS: (VmSpec & { busy: boolean })[] = [
  {
    subscriptionId: DEMO_SUB,
    resourceGroup: 'demo-web',
    name: 'web-linux',
    osType: 'Linux',
    tags: { 'vmbackup-policy': 'demo' },
    disks: [{ name: 'web-linux-os', sizeBytes: 2 * GIB, lun: -1 }],
    busy: true,
  },
  {
    subscriptionId: DEMO_SUB,
    resourceGroup: 'demo-db',
    name: 'db-linux',
    osType: 'Linux',
    disks: [
      { name: 'db-linux-os', sizeBytes: 2 * GIB, lun: -1 },
      { name: 'db-linux-data', sizeBytes: 8 * GIB, lun: 0 },
      { name: 'db-linux-log', sizeBytes: 4 * GIB, lun: 1 },
    ],
    busy: false,
  },
  {
    subscriptionId: DEMO_SUB,
    resourceGroup: 'demo-app',
    name: 'app-windows',
    osType: 'Windows',
    disks: [
      { name: 'app-windows-os', sizeBytes: 4 * GIB, lun: -1 },
      { name: 'app-windows-data', sizeBytes: 2 * GIB, lun: 0 },
    ],
    busy: true,
  },
];

export interface DemoOptions {
  dataDir?: string;
  appDir?: string;
  ports?: StackPorts;
  hostPort?: number;
  /** What it is doing now ("starting Azurite..."): `npm start` prints these with the elapsed time. */
  progress?: (step: string) => void;
  /** The host's log lines worth showing (failures, errors). */
  log?: (line: string) => void;
  /** How often the busy guests write; 0 turns them off. */
  guestIntervalMs?: number;
  /** NCRONTAB of the scheduler timer (every minute by default). */
  schedulerCron?: string;
  /** The bytes the printed "guest writes" line makes db-linux write. */
  tryWriteBytes?: number;
}

export interface RunningDemo {
  stack: LocalStack;
  host: RunningHost;
  keys: LocalKeys;
  api: string;
  /** The lines to paste into bash, in order. */
  commands: string[];
  summary: string;
  tryWrite: { diskId: string; offset: number; bytes: number };
  stop(): Promise<void>;
}

/** `npm start` without the printing: the stack, the demo VMs, the app in the local host, and what to try. */
export async function startDemo(o: DemoOptions = {}): Promise<RunningDemo> {
  const dataDir = o.dataDir ?? '.data';
  const progress = o.progress ?? (() => {});
  const stack = await startLocalStack(dataDir, o.ports ?? defaultPorts(), progress);
  const { emulator, azurite } = stack;
  progress(stack.restored ? 'demo VMs: kept from the last run (.data/compute)' : 'creating demo VMs and writing 64 MiB on each disk...');
  const vms = DEMO_VMS.map((spec) => {
    const kept = emulator.state.vm(resourceId(spec.subscriptionId, spec.resourceGroup, 'virtualMachines', spec.name));
    const vm = kept ?? emulator.createVm(spec);
    const disks = [vm.osDiskId, ...vm.dataDisks.map((d) => d.diskId)].map(EmulatorState.key);
    return { spec, vm, disks, kept: kept !== undefined };
  });
  vms
    .filter((v) => !v.kept)
    .flatMap((v) => v.disks)
    .forEach((d, i) => fill(emulator.store, d, 0, 64 * MIB, i + 1));
  // One vnet in the demo VMs' region, so a restore to a new VM has a subnet for its NIC.
  if (!emulator.network.subnet(DEMO_SUBNET_ID)) {
    emulator.network.putVnet(DEMO_SUB, 'demo-net', 'demo-vnet', {
      location: 'westeurope',
      properties: { addressSpace: { addressPrefixes: ['10.20.0.0/16'] }, subnets: [{ name: 'default', properties: { addressPrefix: '10.20.0.0/24' } }] },
    });
  }
  let seed = Date.now() % 1_000_000;
  const busyDisks = vms.filter((v) => v.spec.busy).flatMap((v) => v.disks);
  const interval = o.guestIntervalMs ?? 10_000;
  const guests =
    interval > 0
      ? setInterval(() => {
          for (const d of busyDisks) randomWorkload(emulator.store, d, { seed: seed++, ops: 3, maxWriteBytes: 2 * MIB });
        }, interval)
      : undefined;

  const keys = loadOrCreateKeys(dataDir);
  const settings: Record<string, string> = {
    ...localAppSettings({ storage: azurite.connectionString, armEndpoint: emulator.armEndpoint, caFile: stack.caFile, subscriptionIds: DEMO_SUB, armTimeScale: emulator.fidelity.timeScale }),
    VMBACKUP_SCHEDULER_CRON: o.schedulerCron ?? '0 * * * * *',
    VMBACKUP_DISCOVERY_CRON: '0 0 * * * *',
    VMBACKUP_RETENTION_CRON: '0 30 * * * *',
    VMBACKUP_RECONCILE_CRON: '0 */5 * * * *',
    VMBACKUP_SEGMENT_SIZE_MIB: '1024',
    FUNCTIONS_MASTER_KEY: keys.master,
    FUNCTIONS_FUNCTION_KEY: keys.function,
    VMBACKUP_ADMIN_KEY: keys.master,
  };
  progress('starting the Functions host with the app...');
  let host: RunningHost;
  try {
    host = await startHost({ appDir: o.appDir ?? process.cwd(), settings, port: o.hostPort ?? Number(process.env.PORT ?? 7071), log: o.log ?? (() => {}) });
  } catch (err) {
    if (guests) clearInterval(guests);
    await stack.stop();
    throw err;
  }
  const api = `${host.url}/api`;
  const call = async (method: string, route: string, body?: unknown): Promise<number> => {
    const res = await fetch(`${api}/${route}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-functions-key': keys.function },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    await res.arrayBuffer();
    return res.status;
  };
  progress("creating the 'demo' policy and running discovery...");
  // 409 on a restart: the policy is kept in Azurite.
  await call('POST', 'policies', {
    name: 'demo',
    timeZone: 'UTC',
    schedule: { frequency: 'Hourly', intervalHours: 1, windowStart: '00:00', windowHours: 24 },
    retention: { dailyDays: 7, weekly: { weeks: 4, dayOfWeek: 'Sunday' } },
    instantRestoreDays: 1,
  });
  // Discovery is a job (202 + Location): the VMs are listed once it is done, so the printed lines find them.
  await waitForDiscovery(api, keys.function);

  const db = vms[1]!.vm;
  const tryWrite = { diskId: db.dataDisks[0]!.diskId, offset: GIB, bytes: o.tryWriteBytes ?? MIB };
  const commands = tryLines({
    api,
    functionKey: keys.function,
    armEndpoint: emulator.armEndpoint,
    caFile: stack.caFile,
    itemKey: `vm;${DEMO_SUB};demo-db;db-linux`,
    vmId: db.id,
    dataDiskId: tryWrite.diskId,
    writeOffset: tryWrite.offset,
    writeBytes: tryWrite.bytes,
  });
  const summary = `
vmbackup is running on the local stack.
  App:        ${api}
  Function key: ${keys.function}
  Admin key:    ${keys.master}
    WARNING: the admin key skips every confirmation (replaceDisks, deleting data or a policy happen at once).
    Use it only on this machine and never share it. Both keys are kept in ${dataDir}/keys.json.
  Dashboard:  ${api}/ui/   (in a browser; enter the function key)
  Azurite:    ${azurite.blobEndpoint}
  Compute emulator: ${emulator.armEndpoint}   (HTTPS; trust its CA: curl --cacert ${stack.caFile})
  Demo VMs:   web-linux (tagged vmbackup-policy=demo: protected by discovery), db-linux (3 disks), app-windows.
    web-linux and app-windows keep writing every ${interval / 1000} s; db-linux writes only when you ask (below).
    The 'demo' policy has a slot every hour: web-linux's first scheduled backup runs at the next full hour.
  State:      ${stack.restored ? 'kept from the last run' : 'new'}; Azurite and the emulator keep theirs in ${dataDir} (delete it to start over).

Try (paste into bash, in order):
${commands.map((l) => `  ${l}`).join('\n')}

Ctrl-C stops everything.`;
  let stopped = false;
  return {
    stack,
    host,
    keys,
    api,
    commands,
    summary,
    tryWrite,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (guests) clearInterval(guests);
      await host.stop();
      await stack.stop();
    },
  };
}

/** Starts a discovery and waits (bounded) for its job, so `GET /vms` lists the demo VMs when the lines are printed. */
async function waitForDiscovery(api: string, functionKey: string): Promise<void> {
  const headers = { 'x-functions-key': functionKey };
  const started = await fetch(`${api}/discovery`, { method: 'POST', headers });
  // A refusal is printed by the dashboard and the try lines' own GET /vms; the demo still starts.
  if (!started.ok) return;
  const { jobId } = (await started.json()) as { jobId?: string };
  for (let i = 0; jobId && i < 120; i++) {
    const job = (await (await fetch(`${api}/jobs/${encodeURIComponent(jobId)}`, { headers })).json()) as { status?: string };
    if (job.status && !['Queued', 'InProgress', 'Cancelling'].includes(job.status)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
