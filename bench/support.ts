import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import https from 'node:https';
import { ComputeManagementClient } from '@azure/arm-compute';
import { emulatorCredential } from '../src/emulator/server';

export interface EmulatorProcess {
  armEndpoint: string;
  dataEndpoint: string;
  caCert: string;
  compute(sub: string): ComputeManagementClient;
  admin(route: string, body: unknown, query?: Record<string, string>): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(): Promise<EmulatorProcess> {
  const child: ChildProcess = fork(path.join(__dirname, 'emulator-child.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const info = await new Promise<{ armEndpoint: string; dataEndpoint: string; caCert: string }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (c) => reject(new Error(`emulator exited ${c}`)));
  });
  const admin = (route: string, body: unknown, query: Record<string, string> = {}): Promise<unknown> => new Promise((resolve, reject) => {
    const url = new URL(`${info.armEndpoint}/_emulator/${route}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const req = https.request(url, { method: body === undefined ? 'GET' : 'POST', ca: info.caCert, headers: { 'content-type': 'application/json' } }, (res) => {
      let t = '';
      res.on('data', (d) => (t += d));
      res.on('end', () => (res.statusCode! < 300 ? resolve(JSON.parse(t || '{}')) : reject(new Error(`${route}: ${res.statusCode} ${t}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
  return {
    ...info,
    compute: (sub) => new ComputeManagementClient(emulatorCredential, sub, { endpoint: info.armEndpoint, tlsOptions: { ca: info.caCert } }),
    admin,
    stop: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

export interface ChildCopy {
  ms: number;
  bytes: number;
  base: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  peak: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
}

/** Runs one copy in a child process (bench/copy-child.ts); `execArgv` e.g. ['--cpu-prof'] to profile it. */
export function copyInChild(job: { connectionString: string; container: string; shard: string; sas: string; size: number; concurrency: number }, execArgv: string[] = []): Promise<ChildCopy> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'copy-child.js'), [JSON.stringify(job)], { execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`copy child exited ${code}`))));
  });
}
