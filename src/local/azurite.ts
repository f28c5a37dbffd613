import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** Azurite's well-known development account: public, documented, and only valid against the emulator. */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Folder for on-disk persistence; omitted means in-memory (tests). */
  location?: string;
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  host?: string;
}

export interface AzuriteInstance {
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  connectionString: string;
  pid: number;
  stop(): Promise<void>;
}

const READY = /Azurite (Blob|Queue|Table) service is successfully listening at (http:\/\/\S+)/;

export function connectionStringFor(blob: string, queue: string, table: string): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_KEY}`,
    `BlobEndpoint=${blob}/${DEV_ACCOUNT}`,
    `QueueEndpoint=${queue}/${DEV_ACCOUNT}`,
    `TableEndpoint=${table}/${DEV_ACCOUNT}`,
  ].join(';');
}

function azuriteEntry(): string {
  return require.resolve('azurite/dist/src/azurite.js');
}

/**
 * Starts blob, queue and table services in one child process on loopback.
 * Port 0 lets the OS pick free ports; we read the real ones from Azurite's own readiness lines,
 * so there is no probe-then-bind race.
 */
export async function startAzurite(opts: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const host = opts.host ?? '127.0.0.1';
  const args = [
    azuriteEntry(),
    '--blobHost',
    host,
    '--queueHost',
    host,
    '--tableHost',
    host,
    '--blobPort',
    String(opts.blobPort ?? 0),
    '--queuePort',
    String(opts.queuePort ?? 0),
    '--tablePort',
    String(opts.tablePort ?? 0),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    // No access log: a line per request that nobody reads, which costs Azurite a fifth of its CPU in the suite.
    '--silent',
  ];
  if (opts.location) {
    mkdirSync(opts.location, { recursive: true });
    args.push('--location', path.resolve(opts.location));
  } else {
    args.push('--inMemoryPersistence');
  }
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const endpoints: Record<string, string> = {};
  // Only the start-up output is kept (for the error message) and its lines are read once each: whatever
  // Azurite writes later (warnings, a debug log) costs nothing here.
  let output = '';
  let partial = '';
  const ready = (): boolean => Boolean(endpoints.blob && endpoints.queue && endpoints.table);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Azurite did not become ready within 30 s. Output:\n${output}`));
    }, 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      output += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = READY.exec(line);
        if (m?.[1] && m[2]) endpoints[m[1].toLowerCase()] = m[2];
      }
      if (ready()) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited early with code ${code}. Output:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  // Stop reading the access log but keep draining, so a full pipe never blocks Azurite.
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();

  const blob = endpoints.blob!,
    queue = endpoints.queue!,
    table = endpoints.table!;
  return {
    blobEndpoint: `${blob}/${DEV_ACCOUNT}`,
    queueEndpoint: `${queue}/${DEV_ACCOUNT}`,
    tableEndpoint: `${table}/${DEV_ACCOUNT}`,
    connectionString: connectionStringFor(blob, queue, table),
    pid: child.pid ?? -1,
    stop: () => stopChild(child),
  };
}

export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
