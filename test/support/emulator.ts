import { ComputeManagementClient } from '@azure/arm-compute';
import { startComputeEmulator, type ComputeEmulator, type ComputeEmulatorOptions } from '../../src/emulator/server';

export const SUB = '00000000-0000-0000-0000-00000000aaaa';

/** The real ARM client, pointed at the emulator and trusting its generated certificate. */
export function computeClientFor(emu: ComputeEmulator, subscriptionId = SUB): ComputeManagementClient {
  return new ComputeManagementClient(emu.credential, subscriptionId, { endpoint: emu.armEndpoint, tlsOptions: { ca: emu.caCert } });
}

export async function withEmulator(options: ComputeEmulatorOptions = {}): Promise<ComputeEmulator> {
  return startComputeEmulator({ lroDelayMs: 5, ...options });
}
