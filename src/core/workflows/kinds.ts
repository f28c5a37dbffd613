import { kindRegistry } from '../jobs/kind';
import type { Deps } from '../jobs/deps';
import { backupKind } from './backup/kind';
import { protectKind, registerKind } from './protection/kind';
import { restoreKind } from './restore/kind';
import { exportKind, importKind } from './seeding/kind';
import { verifyKind } from './verify/kind';
import { mountKind } from './mount/kind';
import { discoveryKind } from './discovery/kind';

/** The one list of job kinds: registrations, the local drain, the reconciler and the step runtime read it. */
export const KINDS = kindRegistry<Deps>([backupKind, restoreKind, registerKind, protectKind, exportKind, importKind, verifyKind, mountKind, discoveryKind]);
