import { QUEUES } from '../../config';
import { JobMessage } from '../../jobs/kind';
import type { Kind } from '../../jobs/deps';
import { protectStep, registerStep } from './protection';
import { protectParams, registerParams } from './params';

export const registerKind: Kind = {
  type: 'Register',
  params: registerParams,
  steps: [{ name: 'registerVm', queue: QUEUES.register, message: JobMessage, run: registerStep }],
  cancellable: false,
};

export const protectKind: Kind = {
  type: 'ConfigureProtection',
  params: protectParams,
  steps: [{ name: 'configureProtection', queue: QUEUES.protect, message: JobMessage, run: protectStep }],
  cancellable: false,
};
