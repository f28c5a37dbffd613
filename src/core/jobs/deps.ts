import type { Config } from '../config';
import type { ComputePort } from '../ports/compute';
import type { QueueFactory } from '../ports/queues';
import type { BackupStore, DataPlane } from '../ports/storage';
import type { Repos } from '../store/repos';
import type { PackageStoreFactory } from '../ports/packages';

export interface Logger {
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
  error(msg: string, data?: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Everything a service needs, chosen once by the composition root. */
export interface Deps {
  config: Config;
  repos: Repos;
  queues: QueueFactory;
  compute: ComputePort;
  dataPlane: DataPlane;
  store: BackupStore;
  clock: () => Date;
  log: Logger;
  /** Staging locations of recovery-point packages (export / import). */
  packages?: PackageStoreFactory;
}
