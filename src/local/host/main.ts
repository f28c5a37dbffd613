import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startHost } from './host';

/** `node dist/src/local/host/main.js [--appDir .] [--settings local.settings.json] [--port 7071]` */
async function main(): Promise<void> {
  const arg = (name: string, def: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
  };
  const appDir = path.resolve(arg('appDir', '.'));
  const settingsFile = path.resolve(appDir, arg('settings', 'local.settings.json'));
  let settings: Record<string, string>;
  try {
    settings = (JSON.parse(readFileSync(settingsFile, 'utf8')) as { Values: Record<string, string> }).Values;
  } catch {
    console.error(`Cannot read ${settingsFile}. Copy local.settings.sample.json to local.settings.json and adjust it.`);
    process.exit(2);
  }
  const host = await startHost({ appDir, settings, port: Number(arg('port', '7071')) });
  console.log(`Functions host: ${host.registrations.length} functions, HTTP on ${host.url}/api`);
  const stop = async (): Promise<void> => {
    await host.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

void main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
