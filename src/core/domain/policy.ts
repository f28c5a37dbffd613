import { z } from 'zod';
import { IANAZone } from 'luxon';

/** Days a point's source snapshots are kept for instant restore when the policy does not say. */
export const DEFAULT_INSTANT_RESTORE_DAYS = 2;

export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export type DayOfWeek = (typeof DAYS)[number];

const TimeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'is not a time of day; use HH:mm, 00:00-23:59');
const Day = z.enum(DAYS, { message: `must be one of ${DAYS.join(', ')}` });
const unique = <T>(a: T[]): boolean => new Set(a).size === a.length;

export const ScheduleSchema = z.discriminatedUnion(
  'frequency',
  [
    z.strictObject({ frequency: z.literal('Daily'), times: z.array(TimeOfDay).min(1).max(24).refine(unique, 'times must be distinct') }),
    z.strictObject({
      frequency: z.literal('Weekly'),
      daysOfWeek: z.array(Day).min(1).max(7).refine(unique, 'days must be distinct'),
      times: z.array(TimeOfDay).min(1).max(4).refine(unique, 'times must be distinct'),
    }),
    z.strictObject({
      frequency: z.literal('Hourly'),
      intervalHours: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(6), z.literal(8), z.literal(12)], { message: 'must be 1, 2, 4, 6, 8 or 12' }),
      windowStart: TimeOfDay,
      windowHours: z.number().int().min(4).max(24),
    }),
  ],
  { message: 'frequency must be Daily, Weekly or Hourly' },
);
export type Schedule = z.infer<typeof ScheduleSchema>;

const DayOfMonth = z.union([z.number().int().min(1).max(31), z.literal('Last')], { message: "must be 1-31 or 'Last'" });

export const RetentionSchema = z.strictObject({
  dailyDays: z.number().int().min(1).max(9999),
  weekly: z.strictObject({ weeks: z.number().int().min(1).max(5163), dayOfWeek: Day }).optional(),
  monthly: z.strictObject({ months: z.number().int().min(1).max(1188), dayOfMonth: DayOfMonth }).optional(),
  yearly: z.strictObject({ years: z.number().int().min(1).max(99), month: z.number().int().min(1).max(12), dayOfMonth: DayOfMonth }).optional(),
});
export type Retention = z.infer<typeof RetentionSchema>;

const Script = z.strictObject({ linux: z.string().min(1).max(8000).optional(), windows: z.string().min(1).max(8000).optional() });

export const ConsistencySchema = z.strictObject({
  mode: z.enum(['CrashConsistent', 'FileSystemConsistent', 'ApplicationConsistent']),
  preScript: Script.optional(),
  postScript: Script.optional(),
  // Run Command takes 20 s at least (azure-compute-docs articles/virtual-machines/linux/run-command.md), so a
  // shorter wait always gives up on the script, which then runs on unobserved.
  scriptTimeoutSeconds: z.number().int().min(30, 'must be at least 30: Run Command takes 20 s or more').max(600).default(60),
  // The guest's watchdog thaws the file systems this long after the pre-script whatever happens to vmbackup;
  // bounded to stay well inside the 10-minute step that takes the snapshots (workflows/backup/guest-scripts.ts).
  thawAfterSeconds: z.number().int().min(60).max(300).default(120),
});

/**
 * Azure keeps at most 500 incremental snapshots per disk at any time
 * (includes/virtual-machines-disks-incremental-snapshots-restrictions.md); past that every backup fails. A
 * policy keeps one source snapshot per backup for instantRestoreDays, plus the current diff base and the one a
 * running backup takes.
 */
export const MAX_SNAPSHOTS_PER_DISK = 500;

/** Backups a schedule can take in one day, at most (a weekly schedule counted as if every day were chosen). */
export function backupsPerDay(s: Schedule): number {
  return s.frequency === 'Hourly' ? Math.ceil(s.windowHours / s.intervalHours) : s.times.length;
}

export function snapshotsKeptPerDisk(p: { schedule: Schedule; instantRestoreDays: number }): number {
  return backupsPerDay(p.schedule) * p.instantRestoreDays + 2;
}

const PolicyFields = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'use 1-64 letters, digits, "-" or "_"'),
  timeZone: z
    .string()
    .min(1)
    .max(64)
    .refine((tz) => IANAZone.isValidZone(tz), 'is not a time zone; use an IANA name such as Europe/Berlin or UTC'),
  schedule: ScheduleSchema,
  retention: RetentionSchema,
  instantRestoreDays: z.number().int().min(1).max(30).default(DEFAULT_INSTANT_RESTORE_DAYS),
  consistency: ConsistencySchema.default({ mode: 'CrashConsistent', scriptTimeoutSeconds: 60, thawAfterSeconds: 120 }),
  /** Immutability of the points this policy makes; absent: the app's VMBACKUP_IMMUTABILITY. */
  immutability: z.enum(['Off', 'Unlocked', 'Locked'], { message: 'must be Off, Unlocked or Locked' }).optional(),
});

export const PolicySchema = PolicyFields.superRefine((p, ctx) => {
  const kept = snapshotsKeptPerDisk(p);
  if (kept <= MAX_SNAPSHOTS_PER_DISK) return;
  const perDay = backupsPerDay(p.schedule);
  ctx.addIssue({
    code: 'custom',
    path: ['instantRestoreDays'],
    message: `keeps up to ${kept} snapshots per disk (${perDay} backups a day x ${p.instantRestoreDays} days, plus the diff base and the running backup's), over Azure's limit of ${MAX_SNAPSHOTS_PER_DISK} incremental snapshots per disk; lower it to ${Math.floor((MAX_SNAPSHOTS_PER_DISK - 2) / perDay)} or fewer, or take fewer backups a day`,
  });
});
export type Policy = z.infer<typeof PolicySchema>;

export type ParsedPolicy = { ok: true; policy: Policy } | { ok: false; issues: string[] };

/** Validates a policy and words every problem with its path, so one round trip fixes them all. */
export function parsePolicy(input: unknown): ParsedPolicy {
  const r = PolicySchema.safeParse(input);
  if (r.success) return { ok: true, policy: r.data };
  return { ok: false, issues: r.error.issues.map((i) => `${i.path.join('.') || '(policy)'}: ${i.message}`) };
}
