import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { VERIFY_QUEUE, verifyStep } from './verify';
import { verifyParams } from './params';

export const verifyKind: Kind = {
  type: 'Verify',
  params: verifyParams,
  steps: [{ name: 'verifyPoint', queue: VERIFY_QUEUE, message: JobMessage, run: verifyStep }],
  cancellable: false,
};
