import type { Config } from '../config';
import type { ComputePort } from '../ports/compute';
import type { ProvisioningPort } from '../ports/provisioning';
import type { QueueFactory } from '../ports/queues';
import type { BackupStore, DataPlane } from '../ports/storage';
import type { Repos } from '../store/repos';
import type { PackageStoreFactory } from '../ports/packages';
import type { JobKind, KindRegistry, StepDef } from './kind';
import type { Logger } from '../ports/logger';
import type { Telemetry } from '../ports/telemetry';
import type { AlertChannel } from '../ports/alerts';
import type { Job } from '../domain/model';

/** Everything a service needs, chosen once by the composition root. */
export interface Deps {
  config: Config;
  repos: Repos;
  queues: QueueFactory;
  compute: ComputePort;
  /** The NIC and VM of a restore to a new VM (ports/provisioning.ts); absent: that mode is refused. */
  provisioning?: ProvisioningPort;
  dataPlane: DataPlane;
  store: BackupStore;
  clock: () => Date;
  log: Logger;
  /** Every kind of job: its steps, cancel rule, cleanup and re-drive (workflows/kinds.ts). */
  kinds: KindRegistry<Deps>;
  /** Staging locations of recovery-point packages (export / import). */
  packages?: PackageStoreFactory;
  /** Traces and metrics (ports/telemetry.ts); absent: none. */
  telemetry?: Telemetry;
  /** Where alerts are posted (a Teams or Slack webhook); absent: alerts are recorded and counted, not posted. */
  alertChannel?: AlertChannel;
  /** Called once when a job reaches a terminal status (the alerts of src/core/ops); must not throw. */
  onJobEnded?: (job: Job) => Promise<void>;
}

export type Kind = JobKind<Deps>;
export type Step<M extends { jobId: string } = { jobId: string }> = StepDef<Deps, M>;
