import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { generate } from 'selfsigned';
import { createDiskStore, type MemoryDiskStore } from './disk/store';
import { readBody, sendJson, type RequestContext } from './http-util';
import { ArmError } from './arm/errors';
import { armRouter, sendArmError } from './arm/routes';
import { AZURE_LIMITS, ComputeResources, type Limits } from './arm/resources';
import { EmulatorState } from './arm/state';
import { SasIssuer } from './data/sas';
import { DEFAULT_DATA_PLANE, dataPlaneHandler, newDataPlaneStats, type DataPlaneOptions, type DataPlaneStats } from './data/handler';
import { adminRouter, createVm, type VmSpec } from './admin';
import { FaultInjector } from './faults';
import { inspectRouter } from './inspect';
import { resolveFidelity, newArmFidelityStats, type ArmFidelityOptions, type ArmFidelityStats } from './arm/fidelity';
import { ArmThrottle } from './arm/throttle';
import { RunCommandEngine } from './arm/run-command';
import { GuestFileSystems } from './guest-fs';
import { OperationLog } from './arm/operation-log';
import { NetworkResources, networkRouter } from './arm/network';
import { SkuCatalog, skuRouter } from './arm/skus';

export interface ComputeEmulatorOptions {
  host?: string;
  armPort?: number;
  dataPort?: number;
  lroDelayMs?: number;
  pageSize?: number;
  /** Milliseconds since the epoch; injectable so rate limits and SAS expiry can be tested. */
  clock?: () => number;
  limits?: Partial<Limits>;
  store?: MemoryDiskStore;
  /** Resources to start from (persist.ts loads them with their store). */
  state?: EmulatorState;
  /** Get Page Ranges paging and per-blob caps; Azure's numbers (and a cut every 64 ranges) unless set. */
  dataPlane?: Partial<DataPlaneOptions>;
  /**
   * Azure-strict ARM behaviour (arm/fidelity.ts): timeScale, Run Command minimum, background snapshot copy,
   * upper-cased resource groups, default SKU, token buckets. All on by default.
   */
  fidelity?: Partial<ArmFidelityOptions>;
  /** OS disk swaps must keep the disk size (os-disk-swap.md); default true. */
  osDiskSwapSameSize?: boolean;
}

export interface ComputeEmulator {
  armEndpoint: string;
  dataEndpoint: string;
  caCert: string;
  credential: TokenCredential;
  state: EmulatorState;
  store: MemoryDiskStore;
  resources: ComputeResources;
  /** Microsoft.Network virtual networks, subnets and NICs (arm/network.ts). */
  network: NetworkResources;
  /** VM sizes and zones per region (arm/skus.ts): tests restrict a size or zone here. */
  skus: SkuCatalog;
  faults: FaultInjector;
  /** The guests' file systems: frozen mounts, blocked writes. `guests.allFrozen()` is empty when no guest is left frozen. */
  guests: GuestFileSystems;
  /** Run Command: fault modes (`neverAnswer`, `slow`) and results nobody collected. */
  runCommands: RunCommandEngine;
  /** What the strict ARM side refused or lost on purpose: 429s, busy Run Commands, never-answered results. */
  armStats: ArmFidelityStats & { runCommandsUncollected: number };
  fidelity: ArmFidelityOptions;
  /** Counts of data-plane traffic: what efficiency tests compare with the changed bytes. */
  dataStats: DataPlaneStats;
  /** Every ARM operation served (method, resource type, action), also at GET /_emulator/operations. */
  operations: OperationLog;
  clock: { now(): number; advance(ms: number): void };
  createVm(spec: VmSpec): ReturnType<typeof createVm>;
  close(): Promise<void>;
}

/** A fixed bearer token: the emulator checks that one is sent, as ARM does, not what it says. */
export const emulatorCredential: TokenCredential = {
  async getToken(): Promise<AccessToken> {
    return { token: 'local-emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
};

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Starts the Microsoft.Compute emulator: ARM over HTTPS with a certificate generated now (trust it with
 * `tlsOptions: { ca: caCert }`), and the managed-disk data plane over HTTP on its own port.
 */
export async function startComputeEmulator(options: ComputeEmulatorOptions = {}): Promise<ComputeEmulator> {
  const host = options.host ?? '127.0.0.1';
  let skew = 0;
  const baseClock = options.clock ?? Date.now;
  const now = (): number => baseClock() + skew;
  const state = options.state ?? new EmulatorState();
  const store = options.store ?? createDiskStore();
  let dataEndpoint = '';
  let armEndpoint = '';
  const sas = new SasIssuer(state, () => dataEndpoint, now);
  const fidelity = resolveFidelity(options.fidelity);
  const stats = newArmFidelityStats();
  const resources = new ComputeResources(state, store, sas, now, { ...AZURE_LIMITS, ...options.limits }, fidelity, stats, options.osDiskSwapSameSize ?? true);
  const faults = new FaultInjector();
  const guests = new GuestFileSystems((key) => state.vm(key), fidelity.timeScale);
  const runCommands = new RunCommandEngine(state, guests, fidelity, stats, now);
  const throttle = fidelity.throttle ? new ArmThrottle(fidelity.throttle, fidelity.timeScale, now) : undefined;
  const skus = new SkuCatalog();
  const network = new NetworkResources(state, skus);
  const arm = armRouter({ resources, lroDelayMs: options.lroDelayMs ?? 10, pageSize: options.pageSize ?? 2, origin: () => armEndpoint, faults, runCommands, network });
  const others = [networkRouter(network, () => armEndpoint), skuRouter(skus)];
  const admin = adminRouter(resources, { advance: (ms) => (skew += ms) }, guests);
  const armStatsNow = (): ArmFidelityStats & { runCommandsUncollected: number } => Object.assign(stats, { runCommandsUncollected: runCommands.uncollected().length });
  const dataStats = newDataPlaneStats();
  const data = dataPlaneHandler(state, store, sas, dataStats, { ...DEFAULT_DATA_PLANE, ...options.dataPlane });
  const inspect = inspectRouter(resources, dataStats, () => armStatsNow());
  const operations = new OperationLog();
  const operationsRoute = operations.router();

  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    days: 30,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  } as Parameters<typeof generate>[1]);

  const sockets = new Set<import('node:net').Socket>();
  const track = (s: Server): Server => {
    s.on('connection', (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    return s;
  };

  const armServer = track(createHttpsServer({ key: pems.private, cert: pems.cert }, (req, res) => void handleArm(req, res)));
  const dataServer = track(createHttpServer((req, res) => void handleData(req, res)));

  async function handleArm(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', armEndpoint);
    try {
      const body = await readBody(req);
      if (url.pathname.startsWith('/_emulator/')) {
        const found = admin.match(req.method ?? 'GET', url.pathname);
        const seen = inspect.match(req.method ?? 'GET', url.pathname);
        const m = found && found !== 'method' ? found : seen && seen !== 'method' ? seen : operationsRoute.match(req.method ?? 'GET', url.pathname);
        if (!m || m === 'method') return sendJson(res, 404, { error: { code: 'NotFound', message: 'no such admin route' } });
        return await m.handler({ req, res, url, body, params: m.params });
      }
      const lag = faults.lagOf('arm', req.method ?? 'GET', url.pathname);
      if (lag > 0) await new Promise((r) => setTimeout(r, lag));
      const fault = faults.take('arm', req.method ?? 'GET', url.pathname);
      if (fault) return sendJson(res, fault.status, { error: { code: fault.code, message: 'Injected fault.' } }, fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {});
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
      const verdict = throttle?.check(req, url.pathname);
      for (const [k, v] of Object.entries(verdict?.headers ?? {})) res.setHeader(k, v);
      if (verdict?.refused) {
        stats.throttled++;
        const r = verdict.refused;
        return sendJson(
          res,
          429,
          { error: { code: r.code, message: r.message } },
          { 'retry-after': String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))), 'retry-after-ms': String(r.retryAfterMs), 'x-ms-error-code': r.code },
        );
      }
      if (!url.searchParams.get('api-version')) throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      const m = [arm, ...others].map((x) => x.match(req.method ?? 'GET', url.pathname)).find((x) => x && x !== 'method') ?? arm.match(req.method ?? 'GET', url.pathname);
      if (m === 'method') throw new ArmError(405, 'MethodNotAllowed', `The method ${req.method} is not allowed on this resource.`);
      if (!m) throw new ArmError(404, 'InvalidResourceType', `The resource type of '${url.pathname}' could not be found in the namespace 'Microsoft.Compute'.`);
      operations.record(req.method ?? 'GET', url.pathname);
      const ctx: RequestContext = { req, res, url, body, params: m.params };
      await m.handler(ctx);
    } catch (err) {
      if (err instanceof ArmError) return sendArmError(res, err);
      const code = (err as { code?: string }).code;
      if (code && /^[A-Z]/.test(code)) return sendArmError(res, new ArmError(400, 'InvalidParameter', (err as Error).message));
      sendArmError(res, new ArmError(500, 'InternalServerError', `The emulator failed: ${(err as Error).message}`));
    }
  }

  async function handleData(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', dataEndpoint);
    let body: Buffer;
    try {
      body = await readBody(req, 5 * 1024 * 1024);
    } catch {
      res.writeHead(413, { 'x-ms-error-code': 'RequestBodyTooLarge' });
      return void res.end();
    }
    const fault = faults.take('data', req.method ?? 'GET', url.pathname);
    if (fault) {
      if (fault.status === 0) return void req.socket.destroy(); // a connection reset
      res.writeHead(fault.status, { 'x-ms-error-code': fault.code, ...(fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {}) });
      return void res.end();
    }
    data(req, res, url, body);
  }

  const armPort = await listen(armServer, host, options.armPort ?? 0);
  const dataPort = await listen(dataServer, host, options.dataPort ?? 0);
  armEndpoint = `https://${host}:${armPort}`;
  dataEndpoint = `http://${host}:${dataPort}`;

  return {
    armEndpoint,
    dataEndpoint,
    caCert: pems.cert,
    credential: emulatorCredential,
    state,
    store,
    resources,
    network,
    skus,
    faults,
    guests,
    runCommands,
    get armStats() {
      return armStatsNow();
    },
    fidelity,
    dataStats,
    operations,
    clock: { now, advance: (ms) => void (skew += ms) },
    createVm: (spec) => createVm(resources, spec, guests),
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([armServer, dataServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
