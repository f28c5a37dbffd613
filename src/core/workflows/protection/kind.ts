import { QUEUES } from '../../config';
import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { protectStep, registerStep } from './protection';

export const registerKind: Kind = {
  type: 'Register',
  steps: [{ name: 'registerVm', queue: QUEUES.register, message: JobMessage, run: registerStep }],
  cancellable: false,
};

export const protectKind: Kind = {
  type: 'ConfigureProtection',
  steps: [{ name: 'configureProtection', queue: QUEUES.protect, message: JobMessage, run: protectStep }],
  cancellable: false,
};
