import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite, type AzuriteInstance } from './azurite';
import { startComputeEmulator, type ComputeEmulator } from '../emulator/server';
import { loadEmulatorState, saveEmulatorState } from '../emulator/persist';
import { demoProfile, emulatorDataPlaneOptions } from './azure-profile';

export interface LocalStack {
  azurite: AzuriteInstance;
  emulator: ComputeEmulator;
  caFile: string;
  /** True when the emulator started from the state a previous run saved in the data folder. */
  restored: boolean;
  /** Writes the emulator's resources and disks to the data folder (stop does it too). */
  save(): { blocks: number; bytes: number };
  stop(): Promise<void>;
}

export interface StackPorts {
  blob: number;
  queue: number;
  table: number;
  arm: number;
  data: number;
}

/** The fixed ports of `npm start` and `npm run stack`, each overridable from the environment; 0 picks free ones. */
export function defaultPorts(env = process.env): StackPorts {
  return {
    blob: Number(env.AZURITE_BLOB_PORT ?? 10000),
    queue: Number(env.AZURITE_QUEUE_PORT ?? 10001),
    table: Number(env.AZURITE_TABLE_PORT ?? 10002),
    arm: Number(env.EMULATOR_ARM_PORT ?? 8443),
    data: Number(env.EMULATOR_DATA_PORT ?? 8444),
  };
}

/**
 * Azurite (blobs, queues, tables, persisted under <dataDir>/azurite) and the compute emulator (ARM over HTTPS,
 * disk data plane over HTTP; its resources and disks are saved under <dataDir>/compute at stop and loaded at
 * start), with the emulator's CA written to <dataDir>/compute/ca.pem.
 */
export async function startLocalStack(dataDir = '.data', ports: StackPorts = defaultPorts(), progress: (step: string) => void = () => {}): Promise<LocalStack> {
  progress('starting Azurite (blobs, queues, tables)...');
  const azurite = await startAzurite({ location: path.join(dataDir, 'azurite'), blobPort: ports.blob, queuePort: ports.queue, tablePort: ports.table });
  const computeDir = path.join(dataDir, 'compute');
  progress('starting the compute emulator...');
  let saved;
  try {
    saved = loadEmulatorState(computeDir);
  } catch (err) {
    await azurite.stop();
    throw new Error(`The compute emulator's saved state in ${computeDir} cannot be read (${(err as Error).message}). Delete that folder to start from empty disks.`);
  }
  const emulator = await startComputeEmulator({
    armPort: ports.arm,
    dataPort: ports.data,
    lroDelayMs: 0,
    state: saved?.state,
    store: saved?.store,
    dataPlane: emulatorDataPlaneOptions(demoProfile()),
  });
  mkdirSync(computeDir, { recursive: true });
  const caFile = path.resolve(computeDir, 'ca.pem');
  writeFileSync(caFile, emulator.caCert);
  const save = () => saveEmulatorState(computeDir, emulator.state, emulator.store);
  return {
    azurite,
    emulator,
    caFile,
    restored: saved !== undefined,
    save,
    async stop() {
      await emulator.close();
      save();
      await azurite.stop();
    },
  };
}

async function main(): Promise<void> {
  const s = await startLocalStack();
  console.log(`Local Azure stack is up.

  Azurite blob/queue/table: ${s.azurite.blobEndpoint}  ${s.azurite.queueEndpoint}  ${s.azurite.tableEndpoint}
  Azurite connection string: the well-known development one (UseDevelopmentStorage=true works on default ports)
  Compute emulator (ARM):    ${s.emulator.armEndpoint}   CA certificate: ${s.caFile}
  Disk data plane (SAS):     ${s.emulator.dataEndpoint}
  Seed a VM:                 curl --cacert '${s.caFile}' -H 'Content-Type: application/json' -X POST '${s.emulator.armEndpoint}/_emulator/vms' -d '{"subscriptionId":"00000000-0000-0000-0000-000000000001","resourceGroup":"rg","name":"vm1","disks":[{"name":"os","sizeBytes":134217728,"lun":-1}]}'

  From TypeScript:
    import { ComputeManagementClient } from '@azure/arm-compute';
    import { readFileSync } from 'node:fs';
    const ca = readFileSync('${s.caFile}', 'utf8');
    const compute = new ComputeManagementClient({ getToken: async () => ({ token: 'local', expiresOnTimestamp: Date.now() + 3.6e6 }) }, '<subscription>', { endpoint: '${s.emulator.armEndpoint}', tlsOptions: { ca } });
    for await (const vm of compute.virtualMachines.listAll()) console.log(vm.name);

Press Ctrl-C to stop (the emulator's state is saved under .data/compute).`);
  const stop = async (): Promise<void> => {
    await s.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module)
  void main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
