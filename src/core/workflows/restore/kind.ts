import { QUEUES } from '../../config';
import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { restoreStep } from './restore';

export const restoreKind: Kind = {
  type: 'Restore',
  steps: [{ name: 'restoreDisks', queue: QUEUES.restore, message: JobMessage, run: restoreStep }],
  cancellable: true,
};
