import { z } from 'zod';
import { MINUTE_MS } from './domain/time';

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

const int = (min: number, max: number, def: number) => z.coerce.number({ message: 'must be a whole number' }).int('must be a whole number').min(min).max(max).default(def);

const price = (def: number) => z.coerce.number({ message: 'must be a number' }).min(0, 'must not be negative').max(1000).default(def);

const cron = z
  .string()
  .trim()
  .regex(/^\S+(\s+\S+){5}$/, 'must be a six-field NCRONTAB schedule (seconds minutes hours days months weekdays)')
  .optional();

export const AUTH_MODES = ['keys', 'entra', 'local'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
// Empty is unset, as the template's default for an optional secure parameter is ''.
const secret = z.union([z.literal(''), z.string().min(32, 'must be at least 32 characters')]).optional();

const SettingsSchema = z.object({
  VMBACKUP_SUBSCRIPTION_IDS: z
    .string({ message: 'is required: the comma-separated subscription ids whose VMs are discovered' })
    .trim()
    .min(1, 'is required: the comma-separated subscription ids whose VMs are discovered'),
  VMBACKUP_STORAGE: z.string().optional(),
  VMBACKUP_STORAGE__blobServiceUri: z.url().optional(),
  VMBACKUP_STORAGE__queueServiceUri: z.url().optional(),
  VMBACKUP_STORAGE__tableServiceUri: z.url().optional(),
  VMBACKUP_BACKUP_CONTAINER: z
    .string()
    .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'must be a valid container name (3-63 lowercase letters, digits, dashes)')
    .default('vmbackup'),
  VMBACKUP_TABLE_PREFIX: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{0,20}$/, 'must be letters and digits, starting with a letter')
    .default('vmb'),
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
  VMBACKUP_SHARD_SIZE_MIB: int(4, 8 * 1024 * 1024, 256 * 1024),
  VMBACKUP_DIFF_WINDOW_MIB: int(4, 1024 * 1024, 512),
  VMBACKUP_SAS_DURATION_SECONDS: int(300, 86_400, 3600),
  /**
   * How long one queue invocation of a long step (a restore segment, a verify slice) works before it checkpoints and queues
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
  /**
   * Who may call the API: 'keys' (function keys checked by the host, as before), 'entra' (App Service
   * Authentication in front: the x-ms-client-principal header and its app roles) or 'local' (the same header,
   * signed with VMBACKUP_LOCAL_PRINCIPAL_KEY, for the local stack and its tests).
   */
  VMBACKUP_AUTH_MODE: z.enum(AUTH_MODES).default('keys'),
  /** Local stack only: the HMAC key of signed test principals (VMBACKUP_AUTH_MODE=local). */
  VMBACKUP_LOCAL_PRINCIPAL_KEY: secret,
  /** With entra or local, the host no longer checks keys: automation sends this key (a function key) instead. */
  VMBACKUP_AUTOMATION_KEY: secret,
  /**
   * Version-level immutability on each recovery point's shard snapshots and manifests until the point expires
   * (docs/ARCHITECTURE.md, Immutable recovery points). Off by default: the container must support version-level
   * immutability first (the template enables it and sets Unlocked).
   */
  VMBACKUP_IMMUTABILITY: z.enum(['Off', 'Unlocked', 'Locked'], { message: 'must be Off, Unlocked or Locked' }).default('Off'),
  /** Prices for the report's monthly estimate, per GiB-month stored (examples; use your region's price list). */
  VMBACKUP_PRICE_GIB_MONTH_VAULT: price(0.045),
  VMBACKUP_PRICE_GIB_MONTH_SNAPSHOT: price(0.05),
  VMBACKUP_REPORT_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be a three-letter currency code such as USD')
    .default('USD'),
  /** Set by the Functions platform when Application Insights is attached: turns on OpenTelemetry traces and metrics. */
  APPLICATIONINSIGHTS_CONNECTION_STRING: z.string().optional(),
  /** A Teams or Slack incoming webhook (empty: no webhook alerts). It is a credential: never logged. */
  VMBACKUP_ALERT_WEBHOOK_URL: z
    .string()
    .trim()
    .refine((v) => v === '' || webhookUrlOk(v), 'must be an https URL (http only on a loopback address), or empty')
    .optional(),
  /** How long after a due slot a backup may still be running before the item counts as having missed it. */
  VMBACKUP_MISSED_BACKUP_GRACE_MINUTES: int(0, 7 * 24 * 60, 180),
});

function webhookUrlOk(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || (u.protocol === 'http:' && /^(localhost|127\.[\d.]+|\[::1\])$/.test(u.hostname));
  } catch {
    return false;
  }
}

/** Every setting loadConfig reads, for checks that a deployment sets them (test/infra/template.test.ts). */
export const SETTING_NAMES = Object.keys(SettingsSchema.shape) as readonly (keyof typeof SettingsSchema.shape)[];

export interface Config {
  subscriptionIds: string[];
  storage: { kind: 'connectionString'; connectionString: string } | { kind: 'identity'; blobUrl: string; queueUrl: string; tableUrl: string };
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
  /** Immutability given to new recovery points when their policy does not say. */
  immutability: ImmutabilityMode;
  /** The backup report's prices per GiB-month: the vault (shard snapshots) and the source-disk snapshot tier. */
  prices: { vaultGiBMonth: number; snapshotGiBMonth: number; currency: string };
  auth: AuthConfig;
  /** Application Insights; absent: no telemetry beyond the log lines. */
  telemetry: { connectionString?: string };
  alerts: { webhookUrl?: string; missedBackupGraceMs: number };
}

export interface AuthConfig {
  mode: AuthMode;
  /**
   * WEBSITE_AUTH_ENABLED=True: App Service injects it when its authentication is on, and only then does it strip
   * client-sent x-ms-client-principal headers (https://learn.microsoft.com/azure/app-service/reference-app-settings,
   * https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities).
   */
  platformAuthEnabled: boolean;
  localPrincipalKey?: string;
  automationKey?: string;
}

/**
 * The mode alone, for the HTTP registrations (read at load, before loadConfig runs): a mode it cannot read is
 * 'keys', so a typo keeps the routes keyed by the host while loadConfig reports the problem.
 */
export function authModeOf(env: Record<string, string | undefined>): AuthMode {
  const m = env.VMBACKUP_AUTH_MODE;
  return (AUTH_MODES as readonly string[]).includes(m ?? '') ? (m as AuthMode) : 'keys';
}

export type ImmutabilityMode = 'Off' | 'Unlocked' | 'Locked';

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
  problems.push(...authProblems(env, s));
  if (problems.length > 0 || !s) throw new ConfigError(problems);

  return {
    subscriptionIds: s.VMBACKUP_SUBSCRIPTION_IDS.split(',')
      .map((x) => x.trim())
      .filter(Boolean),
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
    auth: {
      mode: s.VMBACKUP_AUTH_MODE,
      platformAuthEnabled: (env.WEBSITE_AUTH_ENABLED ?? '').toLowerCase() === 'true',
      localPrincipalKey: s.VMBACKUP_LOCAL_PRINCIPAL_KEY || undefined,
      automationKey: s.VMBACKUP_AUTOMATION_KEY || undefined,
    },
    immutability: s.VMBACKUP_IMMUTABILITY,
    prices: { vaultGiBMonth: s.VMBACKUP_PRICE_GIB_MONTH_VAULT, snapshotGiBMonth: s.VMBACKUP_PRICE_GIB_MONTH_SNAPSHOT, currency: s.VMBACKUP_REPORT_CURRENCY },
    telemetry: { connectionString: s.APPLICATIONINSIGHTS_CONNECTION_STRING || undefined },
    alerts: { webhookUrl: s.VMBACKUP_ALERT_WEBHOOK_URL || undefined, missedBackupGraceMs: s.VMBACKUP_MISSED_BACKUP_GRACE_MINUTES * MINUTE_MS },
  };
}

function authProblems(env: Record<string, string | undefined>, s: { VMBACKUP_AUTH_MODE: AuthMode; VMBACKUP_LOCAL_PRINCIPAL_KEY?: string } | undefined): string[] {
  if (s?.VMBACKUP_AUTH_MODE !== 'local') return [];
  const out: string[] = [];
  if (!s.VMBACKUP_LOCAL_PRINCIPAL_KEY) out.push('VMBACKUP_LOCAL_PRINCIPAL_KEY: is required with VMBACKUP_AUTH_MODE=local (the key that signs test principals)');
  // WEBSITE_SITE_NAME is set by App Service on every app: a signed test principal has no place there.
  if (env.WEBSITE_SITE_NAME) out.push('VMBACKUP_AUTH_MODE: local is for the local stack only; in Azure use entra (App Service Authentication) or keys');
  return out;
}
