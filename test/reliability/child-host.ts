import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../src/local/azurite';
import { startComputeEmulator, type ComputeEmulator } from '../../src/emulator/server';
import { loadConfig } from '../../src/core/config';
import { createAzureDeps } from '../../src/core/composition';
import type { Deps } from '../../src/core/jobs/deps';
import { SUB } from '../support/emulator';
import { DORMANT_TIMERS, localAppSettings, privateEndpoints } from '../../src/local/settings';
import { TEST_KEYS } from '../support/host-stack';

export interface ChildHost {
  url: string;
  proc: ChildProcess;
  /** Everything the process wrote: scanned for secrets. */
  output: string[];
  call(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface OutsideStack {
  azurite: AzuriteInstance;
  emulator: ComputeEmulator;
  settings: Record<string, string>;
  settingsFile: string;
  /** The test's own view of storage and compute, independent of any host process. */
  deps: Deps;
  spawnHost(): Promise<ChildHost>;
  stop(): Promise<void>;
}

/**
 * Azurite and the compute emulator in the test process, and the built app in the local Functions host in child
 * processes (`node dist/src/local/host/main.js`): a host can be SIGKILLed and another started, while storage
 * and compute live on, as they do in Azure.
 */
export async function startOutsideStack(extra: Record<string, string> = {}): Promise<OutsideStack> {
  const azurite = await startAzurite();
  const emulator = await startComputeEmulator({ lroDelayMs: 0 });
  const endpoints = privateEndpoints(azurite, emulator, SUB, 'vmb-child-');
  const dir = path.dirname(endpoints.caFile);
  const settings: Record<string, string> = {
    ...localAppSettings(endpoints),
    ...DORMANT_TIMERS,
    VMBACKUP_SEGMENT_SIZE_MIB: '4',
    VMBACKUP_SHARD_SIZE_MIB: '16',
    VMBACKUP_DIFF_WINDOW_MIB: '4',
    VMBACKUP_COPY_CONCURRENCY: '2',
    VMBACKUP_LOCK_TTL_SECONDS: '60',
    VMBACKUP_SAS_DURATION_SECONDS: '300',
    ...TEST_KEYS,
    ...extra,
  };
  const settingsFile = path.join(dir, 'local.settings.json');
  writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: settings }));
  const deps = createAzureDeps(loadConfig(settings));
  const children = new Set<ChildProcess>();

  async function spawnHost(): Promise<ChildHost> {
    const proc = spawn(process.execPath, ['dist/src/local/host/main.js', '--appDir', process.cwd(), '--settings', settingsFile, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(proc);
    proc.on('exit', () => children.delete(proc));
    const output: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (b: Buffer): void => {
        for (const line of b.toString('utf8').split('\n')) {
          if (line) output.push(line);
          const m = /HTTP on (http:\/\/\S+)\/api/.exec(line);
          if (m) resolve(m[1]!);
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`host exited with ${code}: ${output.join('\n')}`)));
    });
    return {
      url,
      proc,
      output,
      async call(method, route, body) {
        const res = await fetch(`${url}/api/${route}`, {
          method,
          headers: { 'content-type': 'application/json', 'x-functions-key': settings.FUNCTIONS_FUNCTION_KEY! },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        return { status: res.status, body: parsed };
      },
      async kill(signal = 'SIGKILL') {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill(signal);
        await gone;
      },
    };
  }

  return {
    azurite,
    emulator,
    settings,
    settingsFile,
    deps,
    spawnHost,
    async stop() {
      for (const c of children) c.kill('SIGKILL');
      await emulator.close();
      await azurite.stop();
    },
  };
}
