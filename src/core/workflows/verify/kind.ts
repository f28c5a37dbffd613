import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { VERIFY_QUEUE, verifyProgressAt, verifyStep } from './verify';
import { verifyParams } from './params';

/**
 * One step that queues its own continuation until the point is read. Re-driven by its first step's message (the
 * default), which starts at the saved checkpoint; a stall is counted from the checkpoint's last save, so a long
 * verify that keeps moving is never taken for a dead one.
 */
export const verifyKind: Kind = {
  type: 'Verify',
  params: verifyParams,
  steps: [{ name: 'verifyPoint', queue: VERIFY_QUEUE, message: JobMessage, run: verifyStep }],
  cancellable: false,
  progressAt: verifyProgressAt,
};
