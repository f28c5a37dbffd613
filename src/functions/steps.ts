import { app, type InvocationContext } from '@azure/functions';
import { runStep } from '../core/jobs/run-step';
import type { Step } from '../core/jobs/deps';
import { KINDS } from '../core/workflows/kinds';
import { depsFor } from './lib/runtime';
import { armWaitsOf } from '../core/jobs/arm-wait';

/** Each step: validate the message (a malformed one is dropped with a log line, never retried forever). */
function register(step: Step): void {
  app.storageQueue(step.name, {
    queueName: step.queue,
    connection: 'VMBACKUP_STORAGE',
    handler: async (message: unknown, ctx: InvocationContext) => {
      const parsed = step.message.safeParse(message);
      if (!parsed.success) {
        ctx.error(`${step.name}: dropping a malformed message: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
        return;
      }
      const deps = await depsFor(ctx);
      const dequeueCount = Number(ctx.triggerMetadata?.dequeueCount ?? 1);
      const attempt = { dequeueCount, maxDequeueCount: deps.config.maxDequeueCount, step: step.name, message: parsed.data, queue: step.queue, armWaits: armWaitsOf(message) };
      await runStep(deps, parsed.data.jobId, attempt, () => step.run(deps, parsed.data));
    },
  });
}

for (const kind of KINDS.kinds) for (const step of kind.steps) register(step);
