import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { expireMounts, unmountStep } from './mount';
import { MOUNT_QUEUES } from './plan';
import { mountStep } from './steps';
import { teardown } from './teardown';
import { mountParamsSchema } from './params';

export const mountKind: Kind = {
  type: 'Mount',
  params: mountParamsSchema,
  steps: [
    { name: 'mount', queue: MOUNT_QUEUES.mount, message: JobMessage, run: mountStep },
    { name: 'unmount', queue: MOUNT_QUEUES.unmount, message: JobMessage, run: unmountStep },
  ],
  cancellable: true,
  // A mount that fails or is cancelled halfway leaves nothing attached or created; the sweep does it again.
  cleanup: (deps, job) => teardown(deps, job, 'Failed'),
  sweep: (deps, job) => teardown(deps, job, job.status === 'Cancelled' ? 'Cancelled' : 'Failed'),
  async tick(deps, now) {
    await expireMounts(deps, now);
  },
};
