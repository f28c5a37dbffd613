import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { DISCOVERY_QUEUE, discoveryStep } from './discovery';
import { discoveryParams } from './params';

/** One step, re-run whole on redelivery (the default re-drive): the step skips the subscriptions already listed. */
export const discoveryKind: Kind = {
  type: 'Discovery',
  params: discoveryParams,
  steps: [{ name: 'discoverVms', queue: DISCOVERY_QUEUE, message: JobMessage, run: discoveryStep }],
  cancellable: false,
};
