import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { VERIFY_QUEUE, verifyStep } from './verify';

export const verifyKind: Kind = {
  type: 'Verify',
  steps: [{ name: 'verifyPoint', queue: VERIFY_QUEUE, message: JobMessage, run: verifyStep }],
  cancellable: false,
};
