import { startComputeEmulator } from '../src/emulator/server';

/** The compute emulator in its own process, so benchmarks measure the app, not a shared event loop. */
async function main(): Promise<void> {
  const emu = await startComputeEmulator({ lroDelayMs: 0 });
  process.stdout.write(`${JSON.stringify({ armEndpoint: emu.armEndpoint, dataEndpoint: emu.dataEndpoint, caCert: emu.caCert })}\n`);
  process.on('message', () => undefined);
  process.once('SIGTERM', () => void emu.close().then(() => process.exit(0)));
}

void main();
