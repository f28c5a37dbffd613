import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm start` as a newcomer meets it: the built start script (what `npm start` runs after its build) on free
 * loopback ports with its own data folder, every line it prints run in order in one bash, then a restart.
 */
const ROOT = path.resolve(__dirname, '../..');
const MIB = 1024 ** 2;

interface Started {
  child: ChildProcess;
  out: () => string;
  summary: string;
  lines: string[];
}

function startNpmStart(dataDir: string): Promise<Started> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/local/start.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      VMBACKUP_DATA_DIR: dataDir,
      PORT: '0',
      AZURITE_BLOB_PORT: '0',
      AZURITE_QUEUE_PORT: '0',
      AZURITE_TABLE_PORT: '0',
      EMULATOR_ARM_PORT: '0',
      EMULATOR_DATA_PORT: '0',
      // Ticks every 2 s instead of every minute, so a slot wrongly due right after registration would show.
      VMBACKUP_DEMO_SCHEDULER_CRON: '*/2 * * * * *',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`npm start exited:\n${out}`));
      }
      if (!out.includes('Ctrl-C stops everything.')) return;
      clearInterval(timer);
      const start = out.indexOf('Try (paste into bash, in order):\n');
      const block = out.slice(start).split('\n').slice(1);
      const lines = block.slice(0, block.indexOf('')).map((l) => l.replace(/^ {2}/, ''));
      resolve({ child, out: () => out, summary: out.slice(0, start), lines });
    }, 100);
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

/** One bash for all lines, so the variables a line sets are there for the next, as in a terminal. */
function bash(): { run(line: string): Promise<{ status: number; out: string; err: string }>; close(): void } {
  const sh = spawn('bash', ['--noprofile', '--norc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '',
    err = '';
  sh.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  sh.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  return {
    run(line) {
      out = '';
      err = '';
      sh.stdin!.write(`${line}\necho "__STATUS_$?__"\n`);
      return new Promise((resolve) => {
        const t = setInterval(() => {
          const m = /__STATUS_(\d+)__\n$/.exec(out);
          if (!m) return;
          clearInterval(t);
          resolve({ status: Number(m[1]), out: out.slice(0, m.index).trim(), err });
        }, 50);
      });
    },
    close: () => {
      sh.stdin!.end();
      sh.kill();
    },
  };
}

function emulatorGet(arm: string, ca: string, route: string, method = 'GET', body?: unknown): Promise<any> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = request(`${arm}${route}`, { method, ca: readFileSync(ca), headers: { 'content-type': 'application/json' } }, (res) => {
      let s = '';
      res.on('data', (c: Buffer) => {
        s += c.toString();
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(s));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const field = (summary: string, re: RegExp): string => re.exec(summary)![1]!;

describe('npm start, as printed', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vmb-newcomer-'));
  const children: ChildProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map(stop));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints progress, then lines that each run in bash as printed and answer as they say; a restart keeps keys and incremental backups', { timeout: 300_000 }, async () => {
    const first = await startNpmStart(dataDir);
    children.push(first.child);
    for (const step of ['starting Azurite', 'starting the compute emulator', 'creating demo VMs', 'starting the Functions host'])
      expect(first.summary).toMatch(new RegExp(`\\[ *\\d+\\.\\d s\\] ${step}`));
    expect(first.summary).toMatch(/WARNING: the admin key skips every confirmation/);
    expect(first.lines.join('\n')).not.toMatch(/<\w+>/); // no placeholder for bash to read as a redirection
    const arm = field(first.summary, /Compute emulator: (https:\/\/\S+)/);
    const ca = field(first.summary, /curl --cacert (\S+)\)/);
    const fnKey = field(first.summary, /Function key: (\S+)/);

    const sh = bash();
    const answers: { line: string; out: string }[] = [];
    let readBefore = 0;
    for (const line of first.lines) {
      if (line.includes('/backup') && answers.some((a) => a.line.includes('guest/fill'))) readBefore = (await emulatorGet(arm, ca, '/_emulator/stats')).dataPlane.readBytes;
      const r = await sh.run(line);
      expect(r.status, `${line}\n${r.out}\n${r.err}`).toBe(0);
      expect(r.err, line).toBe('');
      if (line.startsWith('#') || /^\w+\(\) \{|^K=/.test(line)) expect(r.out, line).toBe('');
      else if (/^(POINT|JOB=.*RESTORED)/.test(line)) expect(r.out, line).toMatch(/^\S+$/);
      else expect(() => JSON.parse(r.out), `${line}\n${r.out}`).not.toThrow();
      answers.push({ line, out: r.out });
    }
    sh.close();
    const answer = (re: RegExp, nth = 0): any => {
      // eslint-disable-line @typescript-eslint/no-explicit-any
      const a = answers.filter((x) => re.test(x.line))[nth]!;
      return /^(POINT|JOB=.*RESTORED)/.test(a.line) ? a.out : JSON.parse(a.out);
    };
    expect(
      answer(/\/vms"$/)
        .items.map((v: { name: string }) => v.name)
        .sort(),
    ).toEqual(['app-windows', 'db-linux', 'web-linux']);
    expect(answer(/items\/register/)).toMatchObject({ type: 'Register', status: 'Completed' });
    const full = answer(/\/backup/, 0);
    expect(full).toMatchObject({ type: 'Backup', status: 'Completed' });
    expect(full.disks.every((d: { full: boolean }) => d.full)).toBe(true);
    expect(answer(/guest\/fill/)).toEqual({ ok: true });
    // The try-it path: the guest wrote 1 MiB, the next backup read exactly that, by its job and by the emulator.
    const incr = answer(/\/backup/, 1);
    expect(incr).toMatchObject({ status: 'Completed', bytesDone: MIB });
    expect(incr.disks).toEqual(['db-linux-os incremental', 'db-linux-data incremental', 'db-linux-log incremental']);
    expect((await emulatorGet(arm, ca, '/_emulator/stats')).dataPlane.readBytes - readBefore, 'data-plane bytes read by the incremental backup').toBe(MIB);
    expect(answer(/^POINT/)).toBe(incr.jobId);
    expect(answer(/_emulator\/compare/)).toMatchObject({ equal: true });
    expect(answer(/jobs\?top/).items.length).toBeGreaterThanOrEqual(4);
    expect(answer(/\/dashboard"$/)).toHaveProperty('storage');
    expect(answer(/\/health"$/)).toMatchObject({ status: 'Healthy' });

    // The host's own answers and a 400 for a value in the URL have the documented error shape and say where.
    const api = field(first.summary, /App: +(\S+)/);
    const errorOf = async (url: string, init: RequestInit = {}) => {
      const r = await fetch(url, init);
      return { status: r.status, allow: r.headers.get('allow'), body: JSON.parse(await r.text()) };
    };
    const auth = { headers: { 'x-functions-key': fnKey } };
    for (const [url, init, status, code] of [
      [`${api}/vms`, {}, 401, 'Unauthorized'],
      [`${api}/no-such-route`, auth, 404, 'NotFound'],
      [`${api}/health`, { method: 'DELETE', ...auth }, 405, 'MethodNotAllowed'],
    ] as const) {
      const e = await errorOf(url, init);
      expect(e.status, url).toBe(status);
      expect(e.body.error).toMatchObject({ code, message: expect.any(String), recommendedAction: expect.any(String) });
      if (status === 405) expect(e.allow).toBe('GET');
    }
    const bad = await errorOf(`${api}/items/${encodeURIComponent('vm;a;b;c')}/recoveryPoints/${encodeURIComponent('<pointId>')}/restore`, {
      method: 'POST',
      headers: { ...auth.headers, 'content-type': 'application/json' },
      body: '{"mode":"newDisks"}',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/\(path\)/);
    expect(bad.body.error.message).not.toMatch(/\(body\)/);
    expect(bad.body.error.details.issues).toContainEqual(expect.objectContaining({ in: 'path', path: 'pointId' }));

    // Noise: the steps above raise no failure lines, and the scheduler (ticking every 2 s) started no backup
    // for a slot that passed before db-linux got its policy.
    expect(first.out()).not.toMatch(/failed \(delivery|unhandled/);
    const jobs = JSON.parse(await (await fetch(`${field(first.summary, /App: +(\S+)/)}/jobs?top=50&type=Backup`, { headers: { 'x-functions-key': fnKey } })).text()).items as {
      trigger: string;
      itemKey: string;
    }[];
    expect(jobs.filter((j) => j.trigger === 'Scheduled')).toEqual([]);

    // Restart: same keys, the emulator's disks and snapshots are back, the next backup is incremental.
    await stop(first.child);
    const second = await startNpmStart(dataDir);
    children.push(second.child);
    expect(second.summary).toMatch(/State: +kept from the last run/);
    expect(field(second.summary, /Function key: (\S+)/)).toBe(fnKey);
    const arm2 = field(second.summary, /Compute emulator: (https:\/\/\S+)/);
    const disk = encodeURIComponent('/subscriptions/00000000-0000-0000-0000-00000000demo/resourceGroups/demo-db/providers/Microsoft.Compute/disks/db-linux-data');
    expect(await emulatorGet(arm2, ca, `/_emulator/guest/fill?id=${disk}`, 'POST', { offset: 2 * 1024 * MIB, length: 3 * MIB, seed: 9 })).toEqual({ ok: true });
    const sh2 = bash();
    for (const line of second.lines.slice(0, 4)) expect((await sh2.run(line)).status).toBe(0);
    const again = await sh2.run(second.lines.find((l) => l.includes('/backup') && l.includes("json '({"))!);
    sh2.close();
    expect(again.status).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ status: 'Completed', bytesDone: 3 * MIB, disks: ['db-linux-os incremental', 'db-linux-data incremental', 'db-linux-log incremental'] });
    expect(second.out()).not.toMatch(/failed \(delivery|unhandled/);
  });
});
