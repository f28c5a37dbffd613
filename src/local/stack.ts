import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite, type AzuriteInstance } from './azurite';
import { startComputeEmulator, type ComputeEmulator } from '../emulator/server';
import { demoProfile, emulatorDataPlaneOptions } from './azure-profile';

export interface LocalStack {
  azurite: AzuriteInstance;
  emulator: ComputeEmulator;
  caFile: string;
  stop(): Promise<void>;
}

/**
 * Azurite (blobs, queues, tables, persisted under .data/azurite) and the compute emulator (ARM over HTTPS on
 * 8443, disk data plane on 8444; its state lives for the process), with the emulator's CA written to a file.
 */
export async function startLocalStack(dataDir = '.data'): Promise<LocalStack> {
  const azurite = await startAzurite({
    location: path.join(dataDir, 'azurite'),
    blobPort: Number(process.env.AZURITE_BLOB_PORT ?? 10000),
    queuePort: Number(process.env.AZURITE_QUEUE_PORT ?? 10001),
    tablePort: Number(process.env.AZURITE_TABLE_PORT ?? 10002),
  });
  const emulator = await startComputeEmulator({
    armPort: Number(process.env.EMULATOR_ARM_PORT ?? 8443),
    dataPort: Number(process.env.EMULATOR_DATA_PORT ?? 8444),
    lroDelayMs: 0,
    dataPlane: emulatorDataPlaneOptions(demoProfile()),
  });
  mkdirSync(path.join(dataDir, 'compute'), { recursive: true });
  const caFile = path.resolve(dataDir, 'compute', 'ca.pem');
  writeFileSync(caFile, emulator.caCert);
  return {
    azurite, emulator, caFile,
    async stop() {
      await emulator.close();
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
  Seed a VM:                 POST ${s.emulator.armEndpoint}/_emulator/vms {"subscriptionId":"...","resourceGroup":"rg","name":"vm1","disks":[{"name":"os","sizeBytes":134217728,"lun":-1}]}

  From TypeScript:
    import { ComputeManagementClient } from '@azure/arm-compute';
    import { readFileSync } from 'node:fs';
    const ca = readFileSync('${s.caFile}', 'utf8');
    const compute = new ComputeManagementClient({ getToken: async () => ({ token: 'local', expiresOnTimestamp: Date.now() + 3.6e6 }) }, '<subscription>', { endpoint: '${s.emulator.armEndpoint}', tlsOptions: { ca } });
    for await (const vm of compute.virtualMachines.listAll()) console.log(vm.name);

Press Ctrl-C to stop.`);
  const stop = async (): Promise<void> => {
    await s.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module) void main().catch((err) => { console.error(err); process.exit(1); });
