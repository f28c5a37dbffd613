import { app, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { QUEUES } from '../core/config';
import type { Deps } from '../core/jobs/deps';
import { runStep } from '../core/jobs/run-step';
import { snapshotStep } from '../core/workflows/backup/plan';
import { copyStep } from '../core/workflows/backup/copy';
import { finalizeStep } from '../core/workflows/backup/finalize';
import { restoreStep } from '../core/workflows/restore/restore';
import { protectStep, registerStep } from '../core/workflows/protection/protection';
import { exportStep } from '../core/workflows/seeding/export';
import { importStep } from '../core/workflows/seeding/import';
import { getDeps, maxDequeueCount } from './lib/runtime';

const JobMessage = z.object({ jobId: z.string().min(1).max(100) });
const CopyMessage = JobMessage.extend({ diskKey: z.string().min(1).max(64), segment: z.number().int().min(0) });

/** Each step: validate the message (a malformed one is dropped with a log line, never retried forever). */
function step<T extends z.ZodType<{ jobId: string }>>(name: string, queueName: string, schema: T, run: (deps: Deps, msg: z.infer<T>) => Promise<void>): void {
  app.storageQueue(name, {
    queueName,
    connection: 'VMBACKUP_STORAGE',
    handler: async (message: unknown, ctx: InvocationContext) => {
      const parsed = schema.safeParse(message);
      if (!parsed.success) {
        ctx.error(`${name}: dropping a malformed message: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
        return;
      }
      const deps = await getDeps();
      const dequeueCount = Number(ctx.triggerMetadata?.dequeueCount ?? 1);
      await runStep(deps, parsed.data.jobId, { dequeueCount, maxDequeueCount: maxDequeueCount() }, () => run(deps, parsed.data));
    },
  });
}

step('backupSnapshot', QUEUES.snapshot, JobMessage, snapshotStep);
step('backupCopy', QUEUES.copy, CopyMessage, copyStep);
step('backupFinalize', QUEUES.finalize, JobMessage, finalizeStep);
step('restoreDisks', QUEUES.restore, JobMessage, restoreStep);
step('registerVm', QUEUES.register, JobMessage, registerStep);
step('configureProtection', QUEUES.protect, JobMessage, protectStep);
step('exportPackage', QUEUES.export, JobMessage, (deps, msg) => exportStep(deps, msg));
step('importPackage', QUEUES.import, JobMessage, (deps, msg) => importStep(deps, msg));
