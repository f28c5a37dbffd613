import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { ComputeManagementClient } from '@azure/arm-compute';
import { emulatorCredential } from '../src/emulator/server';

export interface EmulatorProcess {
  pid: number;
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
  const admin = (route: string, body: unknown, query: Record<string, string> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
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
  let stopping = false;
  // A bench that lost its emulator would wait forever on requests nobody answers: end it as an error.
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`the compute emulator exited unexpectedly (code ${code}, signal ${signal})`);
    process.exit(1);
  });
  return {
    ...info,
    pid: child.pid!,
    compute: (sub) => new ComputeManagementClient(emulatorCredential, sub, { endpoint: info.armEndpoint, tlsOptions: { ca: info.caCert } }),
    admin,
    stop: () =>
      new Promise((r) => {
        stopping = true;
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

export interface ChildCopy {
  ms: number;
  /** CPU time (user + system) of the copy process during the copy: less noisy than wall time on a shared machine. */
  cpuMs: number;
  bytes: number;
  base: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  peak: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
}

/** Runs one copy in a child process (bench/copy-child.ts); `execArgv` e.g. ['--cpu-prof'] to profile it. */
export function copyInChild(job: { connectionString: string; container: string; shard: string; sas: string; size: number; concurrency: number }, execArgv: string[] = []): Promise<ChildCopy> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every copy run this way (open it in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF;
  if (prof) execArgv = [...execArgv, '--cpu-prof', '--cpu-prof-dir', prof];
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'copy-child.js'), [JSON.stringify(job)], { execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`copy child exited ${code}`))));
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc; undefined where /proc is missing. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime in USER_HZ ticks (100/s)
  } catch {
    return undefined;
  }
}

export interface CpuSplit {
  bench: number;
  emulator: number;
  azurite: number;
}

/** Wall time of fn and the CPU time each of the three processes spent meanwhile. */
export async function timedCpu<T>(pids: { emulator: number; azurite: number }, fn: () => Promise<T>): Promise<{ ms: number; cpu: CpuSplit; value: T }> {
  const e0 = processCpuMs(pids.emulator) ?? 0,
    a0 = processCpuMs(pids.azurite) ?? 0,
    b0 = process.cpuUsage();
  const { ms, value } = await timed(fn);
  const b = process.cpuUsage(b0);
  return { ms, value, cpu: { bench: (b.user + b.system) / 1000, emulator: (processCpuMs(pids.emulator) ?? 0) - e0, azurite: (processCpuMs(pids.azurite) ?? 0) - a0 } };
}
