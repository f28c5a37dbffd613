import { z } from 'zod';

const MIB = 1024 * 1024;

/** Queue names are fixed: the trigger registrations name them and the host creates them. */
export const QUEUES = {
  snapshot: 'vmb-backup-snapshot',
  copy: 'vmb-backup-copy',
  finalize: 'vmb-backup-finalize',
  restore: 'vmb-restore',
  register: 'vmb-register',
  protect: 'vmb-protect',
  export: 'vmb-export',
  import: 'vmb-import',
} as const;

const int = (min: number, max: number, def: number) =>
  z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').min(min).max(max).default(def);

const cron = z
  .string()
  .trim()
  .regex(/^\S+(\s+\S+){5}$/, 'must be a six-field NCRONTAB schedule (seconds minutes hours days months weekdays)')
  .optional();

const SettingsSchema = z.object({
  VMBACKUP_SUBSCRIPTION_IDS: z
    .string({ message: 'is required: the comma-separated subscription ids whose VMs are discovered' })
    .trim()
    .min(1, 'is required: the comma-separated subscription ids whose VMs are discovered'),
  VMBACKUP_STORAGE: z.string().optional(),
  VMBACKUP_STORAGE__blobServiceUri: z.url().optional(),
  VMBACKUP_STORAGE__queueServiceUri: z.url().optional(),
  VMBACKUP_STORAGE__tableServiceUri: z.url().optional(),
  VMBACKUP_BACKUP_CONTAINER: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name (3-63 lowercase letters, digits, dashes)').default('vmbackup'),
  VMBACKUP_TABLE_PREFIX: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,20}$/, 'must be letters and digits, starting with a letter').default('vmb'),
  VMBACKUP_ARM_ENDPOINT: z.url().optional(),
  VMBACKUP_ARM_CA_FILE: z.string().optional(),
  /** Local emulator only: it runs Azure's ARM durations this many times faster, so Run Command waits must too. */
  VMBACKUP_ARM_TIME_SCALE: int(1, 1_000_000, 1),
  // The timers bind these by name (%VMBACKUP_*_CRON%) and the host refuses an unset one, so a default here
  // would never apply; the command line needs none. Checked when set.
  VMBACKUP_SCHEDULER_CRON: cron,
  VMBACKUP_DISCOVERY_CRON: cron,
  VMBACKUP_RETENTION_CRON: cron,
  VMBACKUP_RECONCILE_CRON: cron,
  /** Must equal host.json queues.maxDequeueCount: a step knows its last delivery and fails the job cleanly. */
  VMBACKUP_MAX_DEQUEUE_COUNT: int(1, 100, 5),
  /** A caller sending this key (operators set the host's master key) skips the two-step confirmation. */
  VMBACKUP_ADMIN_KEY: z.string().optional(),
  VMBACKUP_COPY_CONCURRENCY: int(1, 256, 16),
  VMBACKUP_SEGMENT_SIZE_MIB: int(4, 1024 * 1024, 4096),
  VMBACKUP_SHARD_SIZE_MIB: int(4, 8 * 1024 * 1024, 1024 * 1024),
  VMBACKUP_DIFF_WINDOW_MIB: int(4, 1024 * 1024, 512),
  VMBACKUP_SAS_DURATION_SECONDS: int(300, 86_400, 3600),
  /**
   * How long one queue invocation of a long step (a restore segment) works before it checkpoints and queues
   * its own continuation: host.json's functionTimeout (10 min) less a margin for the checkpoint and the send.
   */
  VMBACKUP_STEP_BUDGET_SECONDS: int(10, 86_400, 480),
  /** Optional cap on the bytes one such invocation reads (0: none, only the time budget). */
  VMBACKUP_STEP_BUDGET_MIB: int(0, 1024 * 1024, 0),
  VMBACKUP_LOCK_TTL_SECONDS: int(60, 86_400, 900),
  /**
   * Azure's incremental snapshots per disk at any time (500 today, 200 before: includes/virtual-machines-disks-
   * incremental-snapshots-restrictions.md). Azure's error for it is undocumented, so a refused snapshot on a disk
   * with this many is what SnapshotLimitReached means.
   */
  VMBACKUP_SNAPSHOTS_PER_DISK: int(1, 100_000, 500),
  VMBACKUP_SOFT_DELETE_DAYS: int(1, 90, 14),
  VMBACKUP_SEED_WAIT_DAYS: int(1, 365, 30),
  VMBACKUP_CONFIRMATION_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
});

/** Every setting loadConfig reads, for checks that a deployment sets them (test/infra/template.test.ts). */
export const SETTING_NAMES = Object.keys(SettingsSchema.shape) as readonly (keyof typeof SettingsSchema.shape)[];

export interface Config {
  subscriptionIds: string[];
  storage:
    | { kind: 'connectionString'; connectionString: string }
    | { kind: 'identity'; blobUrl: string; queueUrl: string; tableUrl: string };
  backupContainer: string;
  tablePrefix: string;
  arm: { endpoint?: string; caFile?: string; timeScale: number };
  copy: { concurrency: number; segmentSize: number; shardSize: number; diffWindow: number };
  sasDurationSeconds: number;
  /** Per-invocation work budget of resumable steps: seconds, and bytes (0 = no byte cap). */
  stepBudget: { seconds: number; bytes: number };
  lockTtlSeconds: number;
  snapshotsPerDisk: number;
  softDeleteDays: number;
  /** How long the scheduler waits for the import of an exported first backup before copying the item itself. */
  seedWaitDays: number;
  confirmationSecret?: string;
  maxDequeueCount: number;
  adminKey?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`The app settings are incomplete or invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSet them in the Function App's configuration (or local.settings.json) and restart.`);
    this.name = 'ConfigError';
  }
}

/** Validates every setting at once and lists all the problems together, so one restart fixes them all. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = SettingsSchema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  const s = parsed.success ? parsed.data : undefined;
  const hasConn = !!env.VMBACKUP_STORAGE;
  const identityKeys = ['VMBACKUP_STORAGE__blobServiceUri', 'VMBACKUP_STORAGE__queueServiceUri', 'VMBACKUP_STORAGE__tableServiceUri'];
  if (!hasConn && identityKeys.some((k) => !env[k])) {
    problems.push(`VMBACKUP_STORAGE: is required (a connection string), or set ${identityKeys.join(', ')} to use the managed identity`);
  }
  if (s && (s.VMBACKUP_SHARD_SIZE_MIB * MIB) % (4 * MIB) !== 0) problems.push('VMBACKUP_SHARD_SIZE_MIB: must be a multiple of 4');
  if (s && s.VMBACKUP_SEGMENT_SIZE_MIB % 4 !== 0) problems.push('VMBACKUP_SEGMENT_SIZE_MIB: must be a multiple of 4');
  if (problems.length > 0 || !s) throw new ConfigError(problems);

  return {
    subscriptionIds: s.VMBACKUP_SUBSCRIPTION_IDS.split(',').map((x) => x.trim()).filter(Boolean),
    storage: hasConn
      ? { kind: 'connectionString', connectionString: env.VMBACKUP_STORAGE! }
      : { kind: 'identity', blobUrl: s.VMBACKUP_STORAGE__blobServiceUri!, queueUrl: s.VMBACKUP_STORAGE__queueServiceUri!, tableUrl: s.VMBACKUP_STORAGE__tableServiceUri! },
    backupContainer: s.VMBACKUP_BACKUP_CONTAINER,
    tablePrefix: s.VMBACKUP_TABLE_PREFIX,
    arm: { endpoint: s.VMBACKUP_ARM_ENDPOINT, caFile: s.VMBACKUP_ARM_CA_FILE, timeScale: s.VMBACKUP_ARM_TIME_SCALE },
    copy: {
      concurrency: s.VMBACKUP_COPY_CONCURRENCY,
      segmentSize: s.VMBACKUP_SEGMENT_SIZE_MIB * MIB,
      shardSize: s.VMBACKUP_SHARD_SIZE_MIB * MIB,
      diffWindow: s.VMBACKUP_DIFF_WINDOW_MIB * MIB,
    },
    sasDurationSeconds: s.VMBACKUP_SAS_DURATION_SECONDS,
    stepBudget: { seconds: s.VMBACKUP_STEP_BUDGET_SECONDS, bytes: s.VMBACKUP_STEP_BUDGET_MIB * MIB },
    lockTtlSeconds: s.VMBACKUP_LOCK_TTL_SECONDS,
    snapshotsPerDisk: s.VMBACKUP_SNAPSHOTS_PER_DISK,
    softDeleteDays: s.VMBACKUP_SOFT_DELETE_DAYS,
    seedWaitDays: s.VMBACKUP_SEED_WAIT_DAYS,
    confirmationSecret: s.VMBACKUP_CONFIRMATION_SECRET,
    maxDequeueCount: s.VMBACKUP_MAX_DEQUEUE_COUNT,
    adminKey: s.VMBACKUP_ADMIN_KEY || undefined,
  };
}
