#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../core/config';
import { VmBackupError } from '../core/errors';
import { createAzureDeps, ensureResources } from '../core/composition';
import type { Deps } from '../core/jobs/deps';
import type { Job } from '../core/domain/model';
import type { PackageLocation } from '../core/ports/packages';
import { getJob, isTerminal } from '../core/jobs/jobs';
import { runStep } from '../core/jobs/run-step';
import { requestExport, requestImport, type SeedProgress } from '../core/workflows/seeding/seeding';
import { exportStep } from '../core/workflows/seeding/export';
import { importStep } from '../core/workflows/seeding/import';
import { redact } from '../core/redact';
import { KINDS } from '../core/workflows/kinds';

const USAGE = `Usage:
  vmbackup export --item <itemKey> (--folder <path> | --container <name> [--prefix <path>]) [--point <pointId>] [--settings <file>]
  vmbackup import --item <itemKey> (--folder <path> | --container <name> [--prefix <path>]) [--settings <file>]
  vmbackup export|import --resume <jobId> [--settings <file>]

export   writes the item's first backup (new snapshots; the item must have no recovery points yet) or, with
         --point, one of its recovery points, as a compressed package.
import   makes a package the item's first recovery point; the next scheduled backup continues incrementally.
Settings come from the environment, or from a local.settings.json given with --settings (its "Values").`;

class UsageError extends Error {}

const MAX_ATTEMPTS = 5;

function settings(file: string | undefined): Record<string, string | undefined> {
  if (!file) return process.env;
  let values: Record<string, string>;
  try {
    values = (JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> }).Values ?? {};
  } catch (err) {
    throw new UsageError(`cannot read settings file '${file}': ${(err as Error).message}`);
  }
  return { ...values, ...process.env };
}

function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A bar redrawn in place on a terminal; one plain line every few seconds otherwise (logs, CI). */
function progressPrinter(out: NodeJS.WriteStream): { update(p: SeedProgress): void; end(): void } {
  let lastLine = 0;
  let drawn = false;
  return {
    update(p) {
      const pct = Math.min(100, Math.floor(p.fraction * 100));
      const text = `${p.phase} disk ${p.disksDone + 1}/${p.disksTotal} ${p.disk}: ${p.chunks} chunks, ${human(p.dataBytes)} data, ${human(p.packageBytes)} package`;
      if (out.isTTY) {
        const width = 30;
        const fill = Math.round((pct / 100) * width);
        out.write(`\r[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${text}\x1b[K`);
        drawn = true;
      } else if (Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        out.write(`${pct}% ${text}\n`);
      }
    },
    end() {
      if (drawn) out.write('\n');
    },
  };
}

async function run(deps: Deps, job: Job, step: typeof exportStep): Promise<Job> {
  const bar = progressPrinter(process.stdout);
  // Like the queue: retry what may pass on a second try; the last attempt fails the job with its reason.
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    try {
      await runStep(deps, job.jobId, { dequeueCount: attempt, maxDequeueCount: MAX_ATTEMPTS }, () => step(deps, { jobId: job.jobId }, { onProgress: (p) => bar.update(p) }));
      break;
    } catch (err) {
      process.stderr.write(`\nattempt ${attempt} failed (${redact((err as Error).message ?? String(err)).slice(0, 200)}); retrying\n`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
  bar.end();
  return getJob(deps, job.jobId);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      item: { type: 'string' },
      folder: { type: 'string' },
      container: { type: 'string' },
      prefix: { type: 'string' },
      point: { type: 'string' },
      settings: { type: 'string' },
      resume: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || (command !== 'export' && command !== 'import')) throw new UsageError(values.help ? '' : `unknown command '${command ?? ''}'`);
  const deps = createAzureDeps(loadConfig(settings(values.settings)));
  await ensureResources(deps, [...KINDS.queues]);
  let job: Job;
  if (values.resume) {
    job = await getJob(deps, values.resume);
    if (job.type.toLowerCase() !== command) throw new UsageError(`job ${job.jobId} is an ${job.type} job`);
    if (isTerminal(job)) throw new UsageError(`job ${job.jobId} already ended ${job.status}; start a new ${command}`);
  } else {
    if (!values.item) throw new UsageError('--item is required');
    if (!!values.folder === !!values.container) throw new UsageError('give exactly one of --folder and --container');
    const location: PackageLocation = values.folder ? { kind: 'folder', path: path.resolve(values.folder) } : { kind: 'container', container: values.container!, prefix: values.prefix };
    job =
      command === 'export'
        ? await requestExport(deps, { itemKey: values.item, location, pointId: values.point }, { enqueue: false })
        : await requestImport(deps, { itemKey: values.item, location }, { enqueue: false });
    process.stdout.write(`${command} job ${job.jobId} started (resume it with --resume ${job.jobId} if interrupted)\n`);
  }
  const done = await run(deps, job, command === 'export' ? exportStep : importStep);
  for (const w of done.warnings) process.stdout.write(`warning: ${w}\n`);
  if (done.status === 'Completed' || done.status === 'CompletedWithWarnings') {
    const p = (done.result.progress ?? done.result) as { dataBytes?: number; packageBytes?: number };
    process.stdout.write(
      `${command} ${done.status}: job ${done.jobId}${p.dataBytes !== undefined ? `, ${human(p.dataBytes)} data, ${human(p.packageBytes ?? 0)} package` : ''}${done.result.recoveryPointId ? `, recovery point ${String(done.result.recoveryPointId)}` : ''}\n`,
    );
    return 0;
  }
  process.stderr.write(`${command} ${done.status}: ${done.error?.code ?? ''}: ${done.error?.message ?? ''}\nRecommended action: ${done.error?.recommendedAction ?? 'see the job'}\n`);
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) {
        if (err.message) process.stderr.write(`error: ${err.message}\n\n`);
        process.stderr.write(`${USAGE}\n`);
        process.exit(2);
      }
      if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
      else if (err instanceof VmBackupError) process.stderr.write(`error ${err.code}: ${err.message}\nRecommended action: ${err.recommendedAction}\n`);
      else process.stderr.write(`error: ${redact((err as Error)?.message ?? String(err))}\n`);
      process.exit(1);
    },
  );
}
